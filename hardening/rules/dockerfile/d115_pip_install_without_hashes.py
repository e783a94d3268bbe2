from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import said
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
    "`--generate-hashes`), or use a lockfile tool such as `uv sync --locked` or `poetry install`. "
    "Installing local wheels or folders (what an earlier stage built) is not flagged, nor is "
    "`--no-index`: nothing is fetched by name there.",
    target="dockerfile",
    owasp="A08",
    bad="RUN pip install -r requirements.txt",
    good="RUN pip install --no-cache-dir --require-hashes -r requirements.txt",
    refs=("hadolint:DL3013",),
)


# pip install options that take a value; -e's value is a requirement (editable)
_VALUED = frozenset(
    "-r --requirement -c --constraint -i --index-url --extra-index-url -f --find-links -t "
    "--target --prefix --root --src --upgrade-strategy --platform --python-version "
    "--implementation --abi --cache-dir --log --trusted-host --proxy --timeout --retries "
    "--progress-bar --global-option --config-settings -C --only-binary --no-binary --report "
    "--python".split()
)
_LOCAL_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2")
_LISTING = frozenset({"find", "ls", "echo", "realpath", "readlink"})


def _pip_arguments(words: list[str]) -> list[str] | None:
    """The arguments after ``pip install`` (any pip, ``python -m pip``), or None."""
    words = strip_sudo(words)
    name = program(words)
    if name in ("pip", "pip3") or (name.startswith("pip3.") and name[5:].isdigit()):
        rest = words[1:]
    elif name.startswith("python") and words[1:3] == ["-m", "pip"]:
        rest = words[3:]
    else:
        return None
    return rest[rest.index("install") + 1 :] if "install" in rest else None


def _is_local(requirement: str) -> bool:
    """A requirement that names files or folders here: a path, a wheel or archive, or a
    command substitution that lists a local folder (`find dist/ -name *.whl`)."""
    text = requirement.strip()
    substituted = (text.startswith("$(") and text.endswith(")")) or (
        len(text) > 1 and text[0] == text[-1] == "`"
    )
    if substituted:
        inner = commands(text[2:-1] if text.startswith("$(") else text[1:-1])
        return bool(inner) and all(
            program(w) in _LISTING and any(_is_local(a) for a in w[1:] if a[:1] != "-")
            for w in inner
        )
    if "://" in text or text.startswith(("git+", "hg+", "svn+", "bzr+")):
        return False
    return text.startswith((".", "/", "~")) or "/" in text or text.endswith(_LOCAL_SUFFIXES)


def _fetches_unhashed(args: list[str]) -> bool:
    """Whether ``pip install args`` fetches packages by name from an index without hashes."""
    if any(a == "--require-hashes" or a.startswith("--hash") for a in args) or "--no-index" in args:
        return False
    requirements, files, index = [], False, 0
    while index < len(args):
        word = args[index]
        if word in ("-r", "--requirement") or word.startswith(("--requirement=", "-r")):
            files = True
        if word in ("-e", "--editable") and index + 1 < len(args):
            requirements.append(args[index + 1])
        if word in _VALUED or word in ("-e", "--editable"):
            index += 2
            continue
        if not word.startswith("-"):
            requirements.append(word)
        index += 1
    return files or not requirements or not all(_is_local(r) for r in requirements)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions("RUN", triggers=True):
        for words in commands(instruction.script):
            args = _pip_arguments(words)
            if args is not None and _fetches_unhashed(args):
                yield ctx.finding(
                    DOC,
                    said(instruction, "pip install runs without --require-hashes"),
                    line=instruction.line,
                )
                break
