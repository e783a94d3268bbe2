import re
from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import said
from hardening.targets.dockerfile import pairs

RUN_PATTERNS = (
    (re.compile(r"\bcurl\b[^\n;&|]*\s(-k|--insecure)\b"), "curl --insecure"),
    (re.compile(r"\bwget\b[^\n;&|]*\s--no-check-certificate\b"), "wget --no-check-certificate"),
    (re.compile(r"\bpip3?\b[^\n;&|]*\s--trusted-host\b"), "pip --trusted-host"),
    (re.compile(r"\bapk\b[^\n;&|]*\s--allow-untrusted\b"), "apk --allow-untrusted"),
    (re.compile(r"\bapt(-get)?\b[^\n;&|]*\s(--allow-unauthenticated|--force-yes)\b"), "apt-get --allow-unauthenticated"),
    (re.compile(r"\b(yum|dnf|microdnf|zypper)\b[^\n;&|]*\s--nogpgcheck\b"), "--nogpgcheck"),
    (re.compile(r"\brpm\b[^\n;&|]*\s--(nosignature|nodigest)\b"), "rpm --nosignature"),
    (re.compile(r"\bnpm\s+config\s+set\s+strict-ssl\s+false\b"), "npm strict-ssl false"),
    (re.compile(r"\bgit\s+config\b[^\n;&|]*http\.sslVerify\s+false\b", re.IGNORECASE), "git http.sslVerify false"),
)  # fmt: skip
ENV_SETTINGS = {
    "NODE_TLS_REJECT_UNAUTHORIZED": "0", "PYTHONHTTPSVERIFY": "0", "GIT_SSL_NO_VERIFY": "*",
    "NPM_CONFIG_STRICT_SSL": "false", "PIP_TRUSTED_HOST": "*", "CURL_INSECURE": "*",
}  # fmt: skip

DOC = doc(
    "DH-D114",
    "tls-verification-disabled",
    "TLS or signature verification is turned off",
    Severity.HIGH,
    ("C18",),
    "With verification off, anyone on the network path can swap the packages or files the build "
    "downloads.",
    "Remove the flag or setting; install the CA certificate you need instead.",
    target="dockerfile",
    owasp="A08",
    bad="RUN curl -k https://example.com/app.tgz -o app.tgz",
    good="COPY corp-ca.crt /usr/local/share/ca-certificates/\nRUN update-ca-certificates && curl -fsSLO https://example.com/app.tgz",
    refs=("checkov:CKV2_DOCKER_2", "checkov:CKV2_DOCKER_3", "cis:4.11"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions(triggers=True):
        if instruction.cmd == "RUN":
            for pattern, label in RUN_PATTERNS:
                if pattern.search(instruction.script):
                    yield ctx.finding(
                        DOC,
                        said(instruction, f"RUN disables verification ({label})"),
                        line=instruction.line,
                        key=label,
                    )
        elif instruction.cmd == "ENV":
            for name, value in pairs(instruction):
                expected = ENV_SETTINGS.get(name.upper())
                if expected and (expected == "*" or (value or "").lower() == expected):
                    yield ctx.finding(
                        DOC,
                        said(instruction, f"ENV {name}={value} disables TLS verification"),
                        line=instruction.line,
                        key=name,
                    )
