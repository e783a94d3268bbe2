"""The fast JSON writer gives byte for byte what json.dumps(ensure_ascii=False) gives, floats
included (Python writes 4.3e-05 with an exponent; msgspec alone would not), and the SARIF of
a report with tiny EPSS scores is the same whichever writes it."""

from __future__ import annotations

import gc
import json

from hardening import codec
from hardening.model import Epss, Finding, Kind, Package, Report, Severity
from hardening.report import sarif


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def test_numbers_and_text_are_written_as_json_dumps_writes_them() -> None:
    floats = [
        0.1,
        1e-05,
        4.3e-05,
        0.00043,
        9.99e-05,
        1e-4,
        8.0,
        1e16,
        1.2345678901234567e19,
        -0.0,
        5e-324,
    ]
    document = {
        "floats": [codec.number(x) for x in floats],
        "text": 'a\u2028b\x00\x1f\x7f"\\/é<>&\n\t',
        "nested": [{"k": [1, True, None, 2**70]}],
    }
    assert codec.encode(document) == _dumps(document)
    assert codec.number(4.3e-05) == 4.3e-05  # still the same float to whoever reads the dict


def test_sarif_with_tiny_epss_scores_is_what_json_dumps_writes() -> None:
    findings = tuple(
        Finding(
            rule_id=f"CVE-2024-{i:04d}",
            kind=Kind.VULNERABILITY,
            severity=Severity.LOW,
            title="t",
            message="m",
            package=Package(f"p{i}", "1.0"),
            tools=("grype",),
            epss=Epss(score, score * 10, "2026-01-01", "grype"),
        )  # fmt: skip
        for i, score in enumerate((4.3e-05, 0.00012, 1e-05))
    )
    document, text = sarif.build_sarif_text(Report(findings=findings), {})
    assert text.encode() == _dumps(document)
    assert '"score":4.3e-05' in text and '"percentile":0.00043' in text


def test_paused_gc_nests_and_restores() -> None:
    assert gc.isenabled()
    with codec.paused_gc():
        with codec.paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
