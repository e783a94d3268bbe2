from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule

DOC = doc(
    "DH-D119",
    "no-healthcheck",
    "No HEALTHCHECK is defined",
    Severity.LOW,
    ("C13",),
    "Without a healthcheck, Docker and orchestrators only know the process is alive, not that it "
    "serves; a hung app keeps receiving traffic.",
    "Add a HEALTHCHECK that exercises the app, e.g. "
    '`HEALTHCHECK --interval=30s --timeout=3s CMD ["/app", "healthcheck"]` (exec form, no shell needed).',
    target="dockerfile",
    bad="FROM nginx:1.27-alpine\nCOPY site/ /usr/share/nginx/html/",
    good="FROM nginx:1.27-alpine\nCOPY site/ /usr/share/nginx/html/\nHEALTHCHECK CMD wget -q --spider http://127.0.0.1/ || exit 1",
    refs=(
        "hadolint:DL3057",
        "dockle:CIS-DI-0006",
        "cis:4.6",
        "trivy:DS-0026",
        "checkov:CKV_DOCKER_2",
    ),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    final = model.final
    if final is None:
        return
    # BuildKit reads the type case-insensitively: `HEALTHCHECK none` turns checks off too.
    checks = [
        i for i in model.instructions("HEALTHCHECK") if i.value and i.value[0].upper() != "NONE"
    ]
    if checks:
        ctx.evidence.setdefault("C13", f"HEALTHCHECK at {model.path}:{checks[-1].line}")
        return
    if ctx.image is not None:
        return  # the built image knows whether its base defines one: DH-I211 decides
    yield ctx.finding(DOC, "no HEALTHCHECK instruction in the Dockerfile", line=final.from_line)
