"""Checklist item C17 in the scorecard: an SBOM and every configured signature check passed;
an SBOM alone is never a pass."""

from __future__ import annotations

from dataclasses import replace

from hardening.model import Report, RunStatus, SbomFacts, SignatureOutcome, StageResult
from hardening.report.scorecard import Row, Verdict, scorecard
from tests.rules.cases.signatures import checked

SBOM = SbomFacts(path="app.cdx.json", tool="syft", format="cyclonedx", packages=12,
                 by_type=(("deb", 12),))  # fmt: skip


def c17(**fields: object) -> Row:
    report = Report(findings=(), **fields)  # type: ignore[arg-type]
    (row,) = [r for r in scorecard(report) if r.item == "C17"]
    return row


def test_an_sbom_without_signature_checks_is_not_a_pass() -> None:
    row = c17(sbom=SBOM)
    assert row.verdict is Verdict.NOT_CHECKED
    assert row.evidence.startswith("cyclonedx SBOM by syft: 12 packages (12 deb); ")
    assert "not checked: signatures not configured (add a signatures: entry" in row.evidence
    assert "docs/signatures.md" in row.evidence


def test_every_configured_check_passed_with_an_sbom_is_a_pass() -> None:
    row = c17(sbom=SBOM, signatures_configured=True, signatures=(checked(), checked(line=0)))
    assert row.verdict is Verdict.PASS
    assert "signatures verified: debian:12-slim@sha256:aaaa" in row.evidence
    assert "signed by the key debian.pub, provenance signed by" in row.evidence


def test_a_check_that_failed_fails_it() -> None:
    failed = replace(checked(), signature=SignatureOutcome.MISSING)
    row = c17(sbom=SBOM, signatures_configured=True, signatures=(checked(line=0), failed))
    assert row.verdict is Verdict.FAIL and "1 of 2 image(s) not verified" in row.evidence


def test_configured_but_nothing_checked_is_not_a_pass() -> None:
    assert c17(sbom=SBOM, signatures_configured=True).verdict is Verdict.NOT_CHECKED
    stage = StageResult("signatures", RunStatus.FAILED, "signatures could not be checked: x")
    row = c17(sbom=SBOM, signatures_configured=True, stages=(stage,), signatures=(checked(),))
    assert row.verdict is Verdict.NOT_CHECKED and "the signatures stage failed" in row.evidence


def test_no_sbom_is_never_a_pass_and_a_failed_sbom_fails() -> None:
    row = c17(signatures_configured=True, signatures=(checked(),))
    assert row.verdict is Verdict.NOT_CHECKED and row.evidence.startswith("no SBOM made; ")
    assert c17(sbom=SbomFacts(error="syft failed")).verdict is Verdict.FAIL
