from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.image._locate import from_line

DOC = doc(
    "DH-I204",
    "secret-file-in-image",
    "A secret file is in the image's layers",
    Severity.HIGH,
    ("C10",),
    "Private keys, .env files and credential files in any layer can be extracted from the image, "
    "even when a later layer deletes them.",
    "Keep them out of the build context (.dockerignore) and out of COPY; mount them with "
    "`RUN --mount=type=secret` when a build step needs them; rotate what was exposed.",
    target="image",
    owasp="A02",
    kind=Kind.SECRET,
    bad="COPY . /app   # with .env in the folder",
    good="# .dockerignore lists .env",
    refs=("dockle:CIS-DI-0010", "cis:4.10"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.image
    assert image is not None
    if not image.layers_read:
        return
    for fact in image.secret_files:
        state = "deleted in a later layer but still in the history" if fact.deleted else "present"
        # Placed on the line whose layer added the file (the FROM line when the base image
        # did) once the layers are mapped to the Dockerfile; without a layer, on FROM.
        yield ctx.finding(
            DOC,
            f"{fact.path} is a secret file ({state}; layer {fact.layer[:19]})",
            line=0 if fact.layer else from_line(ctx),
            image_path=fact.path,
            key=fact.path,
            layer=fact.layer,
        )
