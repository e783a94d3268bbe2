"""The published files, read: CISA's KEV catalog and FIRST's EPSS scores (real snapshots,
trimmed; tests/fixtures/enrich/SOURCES.md), and what Grype's own report says."""

from __future__ import annotations

import gzip
import json

import pytest

from hardening.enrich.apply import cve_ids, mark, wanted
from hardening.enrich.data import EpssScores, KevCatalog, parse_epss, parse_kev
from hardening.model import Epss, Finding, Kev, Kind, Package, Severity
from hardening.scanners.load import load_report
from tests.conftest import shared_dir
from tests.enrich.scenario import EPSS_FILE, KEV_FILE

SCANNERS = shared_dir() / "fixtures" / "scanners"


def _vuln(rule_id: str, aliases: tuple[str, ...] = (), **kw: object) -> Finding:
    return Finding(rule_id, Kind.VULNERABILITY, Severity.HIGH, rule_id, rule_id,
                   package=Package("pkg", "1.0"), aliases=aliases, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_the_kev_catalog_snapshot() -> None:
    catalog = parse_kev(KEV_FILE.read_bytes())
    assert (catalog.version, catalog.released) == ("2025.08.25", "2025-08-25")
    assert set(catalog.entries) == {
        "CVE-2023-46604", "CVE-2023-4911", "CVE-2021-44228", "CVE-2014-6271"
    }  # fmt: skip
    assert catalog.entries["CVE-2023-46604"] == Kev(
        "2023-11-02", "2023-11-23", "Known", "CISA KEV catalog 2025.08.25"
    )


def test_the_epss_snapshot_gzipped_as_published_or_plain() -> None:
    data = EPSS_FILE.read_bytes()
    scores = parse_epss(data)
    assert (scores.model, scores.date) == ("v2026.06.15", "2026-09-29")
    assert scores.scores["CVE-2023-46604"] == Epss(
        0.99891, 0.99964, "2026-09-29", "EPSS scores of 2026-09-29"
    )
    only = parse_epss(gzip.decompress(data), frozenset({"CVE-2023-45853"}))
    assert list(only.scores) == ["CVE-2023-45853"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"<html>captive portal</html>", "not JSON"),
        (json.dumps({"title": "x"}).encode(), "no vulnerabilities list"),
    ],
)
def test_what_is_not_the_catalog_is_refused(data: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_kev(data)


@pytest.mark.parametrize(
    "data",
    [b"<html>captive portal</html>", b"\x1f\x8bnot really gzip", gzip.compress(b"cve,score\n")],
)
def test_what_is_not_an_epss_file_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_epss(data)


def test_grype_reports_epss_and_risk_real_v0_94() -> None:
    parsed = load_report(SCANNERS / "grype-busybox-1.32.1-defectdojo-v0.94.0-epss.json")
    scored = [f for f in parsed.findings if f.epss is not None]
    assert len(scored) == len(parsed.findings) == 15
    top = max(scored, key=lambda f: f.epss.percentile if f.epss else 0)
    assert top.rule_id == "CVE-2022-28391"
    assert top.epss == Epss(0.0719, 0.91123, "2025-06-18", "grype")


def test_grype_reports_known_exploited_synthetic_golden() -> None:
    parsed = load_report(SCANNERS / "grype-synthetic-image-grypegolden-2026.json")
    by_id = {f.rule_id: f for f in parsed.findings}
    assert by_id["CVE-1999-0002"].kev == Kev("", "", "Known", "grype")
    assert by_id["CVE-1999-0001"].kev is None
    # Go's zero time ("0001-01-01") is no date at all.
    assert by_id["CVE-1999-0001"].epss == Epss(0.03, 0.42, "", "grype")


def test_a_finding_is_looked_up_by_its_cve_or_a_cve_alias() -> None:
    advisory = _vuln("GHSA-abcd-efgh-ijkl", ("CVE-2023-46604",))
    assert cve_ids(advisory) == ("CVE-2023-46604",)
    assert wanted([advisory, _vuln("DH-D108")]) == {"CVE-2023-46604"}
    catalog = parse_kev(KEV_FILE.read_bytes())
    [marked] = mark([advisory], catalog, None)
    assert marked.kev is not None and marked.kev.date_added == "2023-11-02"


def test_the_catalog_wins_and_the_newer_score_is_kept() -> None:
    grype_kev = Kev("", "", "Unknown", "grype")
    older = Epss(0.5, 0.9, "2026-09-01", "grype")
    newer = Epss(0.6, 0.95, "2026-10-30", "grype")
    catalog = KevCatalog("v", "2025-08-25", {"CVE-2099-0001": Kev("2023-01-01", "", "", "CISA")})
    scores = EpssScores("m", "2026-10-01", {"CVE-2099-0001": Epss(0.7, 0.97, "2026-10-01", "EPSS")})
    findings = [
        _vuln("CVE-2099-0001", kev=grype_kev, epss=older),
        _vuln("CVE-2099-0001", kev=grype_kev, epss=newer),
        _vuln("CVE-2099-0002", kev=grype_kev, epss=older),  # not in either file: Grype's marks stay
    ]  # fmt: skip
    first, second, third = mark(findings, catalog, scores)
    assert first.kev is not None and first.kev.source == "CISA"
    assert first.epss is not None and first.epss.source == "EPSS"
    assert second.epss == newer
    assert (third.kev, third.epss) == (grype_kev, older)
