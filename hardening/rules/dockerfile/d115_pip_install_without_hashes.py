from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.shell import commands, program, strip_sudo

DOC = doc(
    "DH-D115",
    "pip-install-without-hashes",
    "pip installs without hash checking",
    Severity.LOW,
    ("C09",),
    "Without hashes pip installs whatever the index serves for those names and versions today; "
    "a compromised or re-uploaded package is installed silently, and builds drift.",
    "Install from a lock with hashes: `pip install --require-hashes -r requirements.txt` (pip-tools "
    "`--generate-hashes`), or use a lockfile tool such as `uv sync --locked` or `poetry install`.",
    target="dockerfile",
    owasp="A08",
    bad="RUN pip install -r requirements.txt",
    good="RUN pip install --no-cache-dir --require-hashes -r requirements.txt",
    refs=("hadolint:DL3013",),
)


def _is_pip_install(words: list[str]) -> bool:
    words = strip_sudo(words)
    name = program(words)
    if name in ("pip", "pip3") or (name.startswith("pip3.") and name[5:].isdigit()):
        return "install" in words[1:]
    if name.startswith("python") and words[1:3] == ["-m", "pip"]:
        return "install" in words[3:]
    return False


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions("RUN"):
        for words in commands(instruction.script):
            if _is_pip_install(words) and not any(
                w == "--require-hashes" or w.startswith("--hash") for w in words
            ):
                yield ctx.finding(
                    DOC, "pip install runs without --require-hashes", line=instruction.line
                )
                break
