"""The KEV catalog and the EPSS scores, downloaded from a local HTTP server (pytest-httpserver)
serving the real snapshots, at most once a day, into the cache; and the same server failing."""

from __future__ import annotations

import datetime
from pathlib import Path

from pytest_httpserver import HTTPServer

from hardening.enrich.data import parse_epss, parse_kev
from hardening.enrich.sources import Source, fetch
from tests.enrich.scenario import EPSS_FILE, KEV_FILE

NOW = datetime.datetime(2026, 9, 30, 8, 0, tzinfo=datetime.UTC)
KEV_PATH = "/feeds/known_exploited_vulnerabilities.json"


def _source(server: HTTPServer) -> Source:
    return Source(
        "the KEV catalog", server.url_for(KEV_PATH), "known_exploited_vulnerabilities.json"
    )


def _serve(server: HTTPServer) -> None:
    server.expect_request(KEV_PATH).respond_with_data(
        KEV_FILE.read_bytes(), content_type="application/json"
    )


def test_downloaded_once_a_day_into_the_cache(httpserver: HTTPServer, tmp_path: Path) -> None:
    _serve(httpserver)
    first = fetch(_source(httpserver), tmp_path, NOW, parse_kev)
    assert first.data == KEV_FILE.read_bytes() and first.fetched == NOW and not first.problem
    assert (tmp_path / "known_exploited_vulnerabilities.json").read_bytes() == first.data
    later = fetch(_source(httpserver), tmp_path, NOW + datetime.timedelta(hours=20), parse_kev)
    assert later.data == first.data and later.fetched == NOW
    assert len(httpserver.log) == 1  # the second run of the day asked nothing
    tomorrow = NOW + datetime.timedelta(hours=25)
    fetch(_source(httpserver), tmp_path, tomorrow, parse_kev)
    assert len(httpserver.log) == 2


def test_a_failing_server_falls_back_to_the_cached_copy_and_says_so(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    _serve(httpserver)
    fetch(_source(httpserver), tmp_path, NOW, parse_kev)
    httpserver.clear()
    httpserver.expect_request(KEV_PATH).respond_with_data("unavailable", status=503)
    later = NOW + datetime.timedelta(days=2)
    got = fetch(_source(httpserver), tmp_path, later, parse_kev)
    assert got.data == KEV_FILE.read_bytes() and got.fetched == NOW
    assert "could not be had" in got.problem and "HTTP 503" in got.problem
    assert "using the copy fetched 2026-09-30" in got.problem


def test_without_a_cached_copy_the_problem_is_said(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request(KEV_PATH).respond_with_data("nope", status=500)
    got = fetch(_source(httpserver), tmp_path, NOW, parse_kev)
    assert got.data is None and got.problem.endswith("no copy in the cache")


def test_an_answer_that_is_not_the_file_is_not_cached(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request(KEV_PATH).respond_with_data("<html>sign in to the Wi-Fi</html>")
    got = fetch(_source(httpserver), tmp_path, NOW, parse_kev)
    assert got.data is None and "the answer is not usable: not JSON" in got.problem
    assert not list(tmp_path.iterdir())


def test_a_new_url_is_downloaded_even_within_the_day(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    _serve(httpserver)
    httpserver.expect_request("/mirror/epss.csv.gz").respond_with_data(EPSS_FILE.read_bytes())
    fetch(_source(httpserver), tmp_path, NOW, parse_kev)
    mirror = Source("the EPSS scores", httpserver.url_for("/mirror/epss.csv.gz"), "epss.csv.gz")
    got = fetch(mirror, tmp_path, NOW, parse_epss)
    assert got.data == EPSS_FILE.read_bytes()
    moved = Source(
        "the KEV catalog", httpserver.url_for(KEV_PATH) + "?v=2", _source(httpserver).filename
    )
    fetch(moved, tmp_path, NOW, parse_kev)
    assert [entry[0].path for entry in httpserver.log] == [
        KEV_PATH,
        "/mirror/epss.csv.gz",
        KEV_PATH,
    ]


def test_an_unreachable_host_is_one_line(tmp_path: Path) -> None:
    gone = Source("the KEV catalog", "http://127.0.0.1:9/kev.json", "kev.json")
    got = fetch(gone, tmp_path, NOW, parse_kev, timeout_s=5)
    assert got.data is None and "http://127.0.0.1:9/kev.json" in got.problem
    assert "\n" not in got.problem
