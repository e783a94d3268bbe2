"""The base-image recommendation's parts that need no engine: which candidates a tag list
gives, how they rank, what the deltas and notes say, the base a Dockerfile names, and the one
line it degrades to when nothing can be listed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hardening.model import (
    ImageMeasure,
    Severity,
)
from hardening.request import ScanRequest
from hardening.supply.candidates import list_candidates, load_alternatives, parse_tag
from hardening.supply.recommend import (
    Options,
    Target,
    changes,
    notes,
    rank_key,
    recommend,
    recommendation_finding,
    target_from_dockerfile,
)
from hardening.targets.dockerfile import parse_dockerfile
from tests.support.registry import free_port

PYTHON_TAGS = [
    "3.12.0", "3.12.1", "3.12.3", "3.12.4", "3.12.4-slim", "3.12.4-slim-bookworm",
    "3.12.4-bookworm", "3.12.4-alpine", "3.12.4-alpine3.20", "3.12.1-slim", "3.13.0",
    "3.13.1", "3.13.2rc1", "3.14.0-rc1", "4.0.0", "latest", "slim", "3.12", "3.13",
    "20240101", "3.12.4-windowsservercore",
]  # fmt: skip


def refs(candidates: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(c.reference, c.why) for c in candidates]


def test_tags_are_read_as_version_and_suffix() -> None:
    tag = parse_tag("3.12.1-slim-bookworm")
    assert (tag.numbers, tag.suffix, tag.variant, tag.rest) == (
        (3, 12, 1), "slim-bookworm", "slim", frozenset({"bookworm"}),
    )  # fmt: skip
    assert parse_tag("latest").numbers == () and parse_tag("latest").suffix == ""
    assert parse_tag("3.14.0-rc1").prerelease and not parse_tag("3.14.0-alpine").prerelease


def test_newer_patch_smaller_variants_alternatives_then_newer_lines() -> None:
    found = list_candidates("python:3.12.1", PYTHON_TAGS, load_alternatives())
    assert refs(found) == [
        ("python:3.12.4", "newer patch version"),
        ("python:3.12.4-slim", "smaller variant (slim)"),
        ("gcr.io/distroless/python3-debian12:nonroot", "minimal alternative"),
        ("python:3.13.1", "newer minor version"),
        ("python:3.12.4-alpine", "smaller variant (alpine)"),
        ("cgr.dev/chainguard/python:latest", "minimal alternative"),
        ("python:4.0.0", "newer major version"),
    ]


def test_the_distro_word_is_kept_and_a_smaller_current_variant_only_goes_smaller() -> None:
    found = list_candidates("python:3.12.4-bookworm", PYTHON_TAGS, {})
    assert refs(found) == [("python:3.12.4-slim-bookworm", "smaller variant (slim)"),
                           ("python:3.12.4-alpine", "smaller variant (alpine)")]  # fmt: skip
    assert refs(list_candidates("python:3.12.4-slim", PYTHON_TAGS, {})) == [
        ("python:3.12.4-alpine", "smaller variant (alpine)")
    ]
    assert refs(list_candidates("python:latest", PYTHON_TAGS, {})) == [
        ("python:slim", "smaller variant (slim)")
    ]


def test_alternatives_take_the_major_and_the_mirror_and_the_policy_replaces_them() -> None:
    shipped = load_alternatives()
    for name in ("python", "node", "java", "openjdk", "eclipse-temurin", "golang", "go",
                 "debian", "ubuntu"):  # fmt: skip
        assert any("gcr.io/distroless/" in r for r in shipped[name]), name
        assert any("cgr.dev/chainguard/" in r for r in shipped[name]), name
    node = list_candidates("node:22.3.0", ["22.3.0"], shipped, {"gcr.io": "mirror.local:5000/gcr"})
    assert refs(node) == [
        ("mirror.local:5000/gcr/distroless/nodejs22-debian12:nonroot", "minimal alternative"),
        ("cgr.dev/chainguard/node:latest", "minimal alternative"),
    ]
    # Without a version, an alternative that needs the major is left out.
    assert [r for r, _ in refs(list_candidates("eclipse-temurin:latest", [], shipped))] == [
        "cgr.dev/chainguard/jre:latest"
    ]
    mine = {**shipped, "python": ("registry.example.com/base/python:3",)}
    assert refs(list_candidates("python:3.12.1", [], mine)) == [
        ("registry.example.com/base/python:3", "minimal alternative")
    ]


def measure(ref: str, crit: int = 0, high: int = 0, fc: int = 0, fh: int = 0, size: int = 10,
            **fields: object) -> ImageMeasure:  # fmt: skip
    counts = tuple((s, n) for s, n in ((Severity.CRITICAL, crit), (Severity.HIGH, high)) if n)
    return ImageMeasure(ref, "sha256:" + "0" * 64, counts, fc, fh, size, **fields)  # type: ignore[arg-type]


def test_ranking_fixable_critical_then_fixable_high_then_all_then_major_then_size() -> None:
    current = measure("debian:12.1", crit=3, high=5, fc=1, fh=4, size=500)
    items = [
        measure("a:12.9", crit=0, high=9, fc=0, fh=1, size=100),
        measure("b:12.9", crit=1, high=0, fc=1, fh=0, size=1),
        measure("c:12.9", crit=0, high=4, fc=0, fh=1, size=900),
        measure("d:13.0", crit=0, high=1, fc=0, fh=0, size=50),
        measure("e:12.9", crit=0, high=1, fc=0, fh=0, size=60),
        measure("f:12.9", crit=0, high=1, fc=0, fh=0, size=40),
    ]
    ranked = sorted(items, key=lambda m: rank_key(m, current))
    assert [m.reference[0] for m in ranked] == ["f", "e", "d", "c", "a", "b"]


def test_deltas_and_compatibility_notes() -> None:
    current = measure("python:3.12.1", crit=2, high=12, fc=1, fh=10, size=1_000_000_000,
                      packages=400, os="Debian GNU/Linux 12 (bookworm)", os_id="debian 12", shells=("/bin/sh",),
                      package_managers=("apt", "dpkg"))  # fmt: skip
    alpine = measure("python:3.13.1-alpine", crit=0, high=0, size=300_000_000, packages=160,
                     os="Alpine Linux v3.20", os_id="alpine 3.20.1", shells=("/bin/sh",), package_managers=("apk",))  # fmt: skip
    assert changes(current, alpine) == (
        "-2 critical", "-12 high", "-11 fixable critical or high", "-240 packages", "-700 MB",
    )  # fmt: skip
    said = notes(current, alpine, Target("python:3.12.1", runs=2))
    assert said[0].startswith("Alpine uses musl libc") and len(said) == 1
    distroless = measure("gcr.io/distroless/python3-debian12:nonroot", size=55_500_000,
                         packages=30, os="Debian GNU/Linux 12 (bookworm)", os_id="debian 12", user="65532")  # fmt: skip
    assert changes(current, distroless)[-3:] == ("no shell", "no package manager", "runs as 65532")
    said = notes(current, distroless, Target("python:3.12.1", runs=2))
    assert "no shell: the 2 RUN instruction(s) on it" in said[0]
    assert any("no package manager" in n for n in said)
    major = notes(current, measure("python:4.0.0", os=current.os, shells=("/bin/sh",),
                                   package_managers=("apt",)), Target("python:3.12.1"))  # fmt: skip
    assert major == ("a major version change (3 to 4)",)


def test_an_arg_without_default_is_said_and_nothing_is_recommended(tmp_path: Path) -> None:
    model = parse_dockerfile("ARG BASE\nFROM $BASE\nUSER 10001\n", "Dockerfile")
    target = target_from_dockerfile(model)
    assert target.problem
    result = recommend(target, Options(), ScanRequest(workspace=tmp_path), None, tmp_path)
    assert not result.candidates and result.current is None and not result.recommended
    assert "cannot be resolved" in result.note and "nothing to recommend" in result.note
    # The build argument that names the base wins over its default, as in a build.
    model = parse_dockerfile("ARG BASE=debian:11\nFROM ${BASE} AS app\nRUN true\n", "Dockerfile")
    target = target_from_dockerfile(model, (("BASE", "debian:12.1"),))
    assert (target.base, target.line, target.alias, target.runs) == ("debian:12.1", 2, "app", 1)
    assert target_from_dockerfile(parse_dockerfile("FROM scratch\n", "Dockerfile")).problem


@pytest.fixture
def empty_registry() -> Iterator[str]:
    """A registry that holds the image but lists no tags (some mirrors do)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("Docker-Content-Digest", "sha256:" + "c" * 64)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            body = json.dumps({"name": "team/app", "tags": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_an_empty_tag_list_is_one_note(empty_registry: str, tmp_path: Path) -> None:
    target = Target(f"{empty_registry}/team/app:1.0")
    result = recommend(target, Options(), ScanRequest(workspace=tmp_path), None, tmp_path)
    assert result.note == (
        f"no candidates could be listed: team/app in {empty_registry} lists no tags; "
        "nothing recommended"
    )
    assert not result.candidates and recommendation_finding(result) is None


def test_an_unreachable_registry_is_one_note(tmp_path: Path) -> None:
    target = Target(f"127.0.0.1:{free_port()}/library/debian:12.1", "Dockerfile", 1)
    result = recommend(
        target, Options(timeout_s=20), ScanRequest(workspace=tmp_path), None, tmp_path
    )
    assert "could not be reached" in result.note and result.note.endswith("nothing recommended")
    assert result.duration_s < 20 and recommendation_finding(result) is None
