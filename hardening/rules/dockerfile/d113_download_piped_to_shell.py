from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import said
from hardening.rules.shell import runs_download

DOC = doc(
    "DH-D113",
    "download-piped-to-shell",
    "A download is piped straight into a shell",
    Severity.HIGH,
    ("C18",),
    "`curl ... | sh` runs whatever the server sends, unverified, as root in the build; so do "
    '`sh -c "$(curl ...)"`, `bash <(curl ...)` and pipes into `sudo bash` or `env ... sh`.',
    "Download to a file, check it against a published checksum or signature, then run it.",
    target="dockerfile",
    owasp="A08",
    bad="RUN curl -fsSL https://example.com/install.sh | sh",
    good='RUN curl -fsSLo install.sh https://example.com/install.sh \\\n && echo "<sha256>  install.sh" | sha256sum -c - \\\n && sh install.sh',
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions("RUN", triggers=True):
        if runs_download(instruction.script):
            yield ctx.finding(
                DOC,
                said(instruction, "a curl/wget download is run by a shell without verification"),
                line=instruction.line,
            )
