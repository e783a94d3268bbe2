from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import MINIMAL_BASES, base_reference

DOC = doc(
    "DH-D104",
    "base-image-not-minimal",
    "The final image starts from a full OS image",
    Severity.MEDIUM,
    ("C01",),
    "Every package in the base is a potential vulnerability and a tool for an attacker. Full "
    "ubuntu, debian, node or python images carry hundreds of packages the app never uses.",
    "Start the final stage from scratch, a distroless or Chainguard image, Alpine, or a -slim variant.",
    target="dockerfile",
    owasp="A06",
    bad="FROM node:20\nCOPY . /app",
    good="FROM gcr.io/distroless/nodejs20-debian12\nCOPY . /app",
    refs=("dockle:DKL-DI-0006",),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    root = model.root_base()
    final = model.final
    if root is None or final is None or root.is_scratch:
        return
    base = root.base_resolved
    reference = base_reference(root)
    minimal = MINIMAL_BASES.search(base) or any(base.startswith(m) for m in ctx.minimal_bases)
    if not base or reference.tag is None or (not reference.tag_known and not minimal):
        return  # a FROM without an image, or an ARG with no default where it matters
    if not minimal:
        yield ctx.finding(
            DOC,
            f"the final image is based on {base}, a full OS image",
            line=final.from_line,
            key=base,
        )
