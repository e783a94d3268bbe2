from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import base_reference, external_stages

DOC = doc(
    "DH-D106",
    "base-image-latest-or-untagged",
    "A base image is `latest` or has no tag",
    Severity.MEDIUM,
    ("C08",),
    "`latest` (or no tag) moves with every upstream push: the same Dockerfile builds a different "
    "image tomorrow, and a compromised or broken push reaches you silently.",
    "Pin a version tag and its digest: `FROM node:20.11-alpine@sha256:...`; let Renovate or "
    "Dependabot keep the pin fresh.",
    target="dockerfile",
    owasp="A08",
    bad="FROM python",
    good="FROM python:3.12-slim@sha256:<digest>",
    refs=(
        "hadolint:DL3006",
        "hadolint:DL3007",
        "dockle:DKL-DI-0006",
        "trivy:DS-0001",
        "checkov:CKV_DOCKER_7",
    ),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for stage in external_stages(model):
        base = base_reference(stage)
        if base.digest or base.tag is None or not base.tag_known:
            continue  # pinned, or the tag is not known from the file
        if base.tag in ("", "latest"):
            what = "the `latest` tag" if base.tag else "no tag (so `latest`)"
            yield ctx.finding(
                DOC, f"FROM {base.ref} uses {what}{base.why()}", line=stage.from_line, key=base.ref
            )
