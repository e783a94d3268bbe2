"""The "exploit data" stage: every vulnerability of a merged Trivy + Grype report marked from
the real KEV and EPSS snapshots served locally; a KEV or EPSS gate without data younger than
three days makes the run incomplete (exit 3), never a silent pass."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from hardening.enrich import stage
from hardening.errors import ExitCode
from hardening.gate import decide
from hardening.model import Finding
from hardening.pipeline import stages
from hardening.pipeline.context import ScanContext
from hardening.pipeline.finish import incomplete_stages
from hardening.pipeline.recorder import Recorder
from hardening.request import ScanRequest
from hardening.scanners.grype import parse_grype
from hardening.scanners.merge import merge_findings
from hardening.scanners.trivy import parse_trivy
from hardening.settings import Settings
from tests.enrich import scenario

SCORE_DAY = datetime.datetime(2026, 9, 30, 9, 0, tzinfo=datetime.UTC)  # the scores are of 09-29


def merged() -> list[Finding]:
    trivy = parse_trivy(scenario.trivy_report())
    grype = parse_grype(scenario.grype_report())
    return merge_findings([*trivy.findings, *grype.findings])


def serve(server: HTTPServer) -> tuple[str, str]:
    server.expect_request("/kev.json").respond_with_data(scenario.KEV_FILE.read_bytes())
    server.expect_request("/epss.csv.gz").respond_with_data(scenario.EPSS_FILE.read_bytes())
    return server.url_for("/kev.json"), server.url_for("/epss.csv.gz")


def _options(
    urls: tuple[str, str], cache: Path, now: datetime.datetime, **gates: bool
) -> stage.Options:
    return stage.Options(cache, urls[0], urls[1], now, **gates)


def test_every_vulnerability_is_marked_trivy_only_ones_too(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    outcome = stage.run(merged(), _options(serve(httpserver), tmp_path, SCORE_DAY))
    by_id = {(f.rule_id, f.package.name if f.package else ""): f for f in outcome.findings}
    activemq = by_id["CVE-2023-46604", "org.apache.activemq:activemq-client"]
    assert activemq.tools == ("trivy",)  # Grype did not see it; the catalog still marks it
    assert activemq.kev is not None and activemq.kev.source == "CISA KEV catalog 2025.08.25"
    assert (activemq.kev.date_added, activemq.kev.due_date) == ("2023-11-02", "2023-11-23")
    assert activemq.epss is not None and activemq.epss.percentile == 0.99964
    libc = by_id["CVE-2023-4911", "libc6"]
    assert libc.kev is not None and libc.kev.source.startswith("CISA")  # the catalog's own entry
    curl = by_id["CVE-2023-46218", "curl"]
    assert curl.kev is None and curl.epss is not None and curl.epss.score == 0.01685
    assert outcome.marked == (2, 7) and not outcome.stale and not outcome.data.problems
    assert outcome.data.kev == "CISA KEV catalog 2025.08.25, fetched 2026-09-30"
    assert outcome.data.epss == "EPSS scores of 2026-09-29 (model v2026.06.15)"


def test_gates_with_fresh_data_are_not_stale(httpserver: HTTPServer, tmp_path: Path) -> None:
    options = _options(serve(httpserver), tmp_path, SCORE_DAY, gate_kev=True, gate_epss=True)
    assert stage.run(merged(), options).stale == ()


def test_scores_older_than_three_days_make_the_epss_gate_stale(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    later = SCORE_DAY + datetime.timedelta(days=4)  # the server still serves the 09-29 file
    outcome = stage.run(merged(), _options(serve(httpserver), tmp_path, later, gate_epss=True))
    assert outcome.stale == ("fail-on-epss needs EPSS scores of the last 3 days",)
    assert "the EPSS scores held are of 2026-09-29" in outcome.data.problems
    marked = [f for f in outcome.findings if f.epss is not None]
    assert len(marked) == 7  # still marked: the scores are shown, only the gate cannot trust them


def test_an_unreachable_catalog_with_an_old_copy_makes_the_kev_gate_stale(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    urls = serve(httpserver)
    stage.run(merged(), _options(urls, tmp_path, SCORE_DAY))  # a run five days ago filled the cache
    httpserver.clear()
    httpserver.expect_request("/kev.json").respond_with_data("down", status=502)
    httpserver.expect_request("/epss.csv.gz").respond_with_data("down", status=502)
    later = SCORE_DAY + datetime.timedelta(days=5)
    outcome = stage.run(merged(), _options(urls, tmp_path, later, gate_kev=True))
    assert outcome.stale == ("fail-on-kev needs a KEV catalog fetched in the last 3 days",)
    assert any(
        "HTTP 502" in p and "using the copy fetched 2026-09-30" in p for p in outcome.data.problems
    )
    assert outcome.marked[0] == 2  # the old copy still marks what it knows


def test_without_gates_unreachable_sources_are_notes_and_grypes_marks_stay(tmp_path: Path) -> None:
    nowhere = ("http://127.0.0.1:9/kev.json", "http://127.0.0.1:9/epss.csv.gz")
    outcome = stage.run(merged(), _options(nowhere, tmp_path, SCORE_DAY))
    assert outcome.stale == () and len(outcome.data.problems) == 2
    assert outcome.data.kev == "" and outcome.data.epss == ""
    assert outcome.marked == (1, 1)  # what Grype's report said: CVE-2023-4911, CVE-2023-45288


def _context(tmp_path: Path, settings: Settings, findings: list[Finding]) -> ScanContext:
    request = ScanRequest(workspace=tmp_path, db_cache_dir=tmp_path / "cache", settings=settings)
    ctx = ScanContext(request=request, rec=Recorder(log_sink=lambda message: None))
    ctx.started = SCORE_DAY + datetime.timedelta(days=10)
    ctx.findings = findings
    return ctx


@pytest.mark.parametrize("gate", ["fail_on_kev", "fail_on_epss"])
def test_the_stage_fails_and_the_run_is_incomplete_when_a_gate_lacks_data(
    httpserver: HTTPServer, tmp_path: Path, gate: str
) -> None:
    httpserver.expect_request("/kev.json").respond_with_data("down", status=503)
    httpserver.expect_request("/epss.csv.gz").respond_with_data("down", status=503)
    settings = Settings(
        fail_on=None, kev_url=httpserver.url_for("/kev.json"),
        epss_url=httpserver.url_for("/epss.csv.gz"),
        **({"fail_on_kev": True} if gate == "fail_on_kev" else {"fail_on_epss": 0.5}),
    )  # fmt: skip
    ctx = _context(tmp_path, settings, merged())
    assert not ctx.rec.run("exploit data", lambda info: stages.exploit_data(ctx, info))
    [failed] = [s for s in ctx.rec.stages if s.name == "exploit data"]
    assert "and none could be had" in failed.detail
    result = decide(ctx.findings, (), settings.gate_policy(), incomplete_stages(ctx))
    assert result.exit_code is ExitCode.TOOL_FAILURE and "exploit data" in result.reason
    assert ctx.extras["exploit-data"].problems  # said in the report too


def test_the_stage_records_what_it_marked(httpserver: HTTPServer, tmp_path: Path) -> None:
    kev, epss = serve(httpserver)
    settings = Settings(fail_on_kev=True, kev_url=kev, epss_url=epss)
    ctx = _context(tmp_path, settings, merged())
    ctx.started = SCORE_DAY
    assert ctx.rec.run("exploit data", lambda info: stages.exploit_data(ctx, info))
    [done] = ctx.rec.stages
    assert done.detail == "2 on CISA's KEV catalog, 7 with an EPSS score"
    assert (tmp_path / "cache" / "exploit-data" / "known_exploited_vulnerabilities.json").is_file()
