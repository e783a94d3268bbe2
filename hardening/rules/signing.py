"""What the signature rules share: the findings for one outcome of the signature checks.

Base images (DH-D124..D127) are reported on their FROM line, the scanned image
(DH-I230..I233) at no line. The checks themselves are made by the ``signatures`` stage
(``hardening/supply/signatures.py``); the rules only read them.
"""

from __future__ import annotations

from collections.abc import Iterator

from hardening.model import Finding, RuleDoc, SignatureOutcome
from hardening.rules.base import LintContext

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:
    from hardening.model import SignatureCheck

HOW = "see docs/signatures.md"


def _checks(ctx: LintContext, base: bool) -> list[SignatureCheck]:
    assert ctx.signatures is not None
    return [c for c in ctx.signatures if (c.line > 0) == base]


def _finding(ctx: LintContext, doc: RuleDoc, check: SignatureCheck, what: str) -> Finding:
    digest = f" ({check.digest[:19]}…)" if check.digest else ""
    return ctx.finding(
        doc,
        f"{check.image}{digest}: {what}; the policy {check.policy} requires it {check.requirement}",
        line=check.line,
        key=check.image,
        properties=(("digest", check.digest), ("policy", check.policy)),
    )


def signature_findings(
    ctx: LintContext, doc: RuleDoc, outcome: SignatureOutcome, *, base: bool
) -> Iterator[Finding]:
    for check in _checks(ctx, base):
        if check.signature is outcome:
            yield _finding(ctx, doc, check, check.detail)


def provenance_findings(ctx: LintContext, doc: RuleDoc, *, base: bool) -> Iterator[Finding]:
    for check in _checks(ctx, base):
        if not check.provenance.passed:
            yield _finding(ctx, doc, check, check.provenance_detail)
