import posixpath
from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import said, sources

SECRET_FILES = (
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", ".env", ".npmrc", ".pypirc", ".netrc",
    ".git-credentials", "credentials", "credentials.json", ".pgpass", ".dockercfg",
)  # fmt: skip
SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".env")

DOC = doc(
    "DH-D109",
    "secret-file-copied",
    "A secret file is copied into the image",
    Severity.HIGH,
    ("C10",),
    "Files such as private keys, .env files and package-registry credentials stay in the layer "
    "that copied them, even if a later step deletes them. When the built image is scanned, a "
    "file its layers hold is reported once, as DH-I204, on the line that copied it.",
    "Keep the file out of the image: mount it for the one build step that needs it "
    "(`RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci`) and list it in .dockerignore.",
    target="dockerfile",
    owasp="A02",
    kind=Kind.SECRET,
    bad="COPY .npmrc /root/.npmrc\nRUN npm ci",
    good="RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci",
    refs=("dockle:CIS-DI-0010", "cis:4.10"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    # A file the built image's layers hold is reported by DH-I204, with that evidence, on
    # the line whose layer added it: said once, not twice.
    image = ctx.image
    in_image = (
        {posixpath.basename(f.path) for f in image.secret_files}
        if image is not None and image.layers_read
        else set()
    )
    for instruction in model.instructions(triggers=True):
        if instruction.cmd not in ("COPY", "ADD") or instruction.flag("from") is not None:
            continue
        for source in sources(model, instruction):
            base = posixpath.basename(source.rstrip("/"))
            if base in in_image:
                continue
            if base in SECRET_FILES or base.endswith(SECRET_SUFFIXES):
                yield ctx.finding(
                    DOC,
                    said(
                        instruction, f"{instruction.cmd} {source} puts a secret file into a layer"
                    ),
                    line=instruction.line,
                    key=source,
                )
