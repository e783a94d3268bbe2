"""A repeat scan with the cache persisted (db-cache-dir) exports nothing and catalogues nothing
again, and reports exactly what the first scan reported.

The first scan exports the image once (Trivy, Grype and the image checks read that archive) and
keeps each layer's facts by diff id; the second finds every layer known, so Trivy reads the
image from the engine with its layer cache, the checks read the cached facts, the SBOM comes
from Trivy's package list, and no archive is written at all. Real trivy (behind the fault
wrapper, which logs its command lines), the Grype stand-in, the real engine.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from hardening.adapters.image_source import LayerCache, history_from_engine
from hardening.model import ImageInfo, LayerInfo, RunStatus
from hardening.pipeline import run_scan
from hardening.request import ScanRequest
from hardening.settings import Settings
from hardening.targets.image import facts_from_layers, read_image_facts, read_layer_records
from tests.conftest import shared_dir
from tests.support import trivy_db

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "tests" / "standins"
FIXTURE = shared_dir() / "fixtures" / "scanners" / "grype-nginx-latest-msusel-v0.62.3.json"
DOCKERFILE = """\
FROM {base}
ENV API_TOKEN=ghp_{token}
COPY app.pem /app/app.pem
RUN chmod 4755 /bin/true
USER 1000
"""


@pytest.fixture
def tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "trivy").symlink_to(STANDINS / "trivy_faults.py")
    grype = bin_dir / "grype"
    grype.write_text(f'#!/bin/sh\nSTANDIN_FIXTURE="{FIXTURE}" exec "{STANDINS / "grype"}" "$@"\n')
    grype.chmod(0o755)
    monkeypatch.setenv("FAULTS_TRIVY_REAL", trivy_db.trivy_binary())
    monkeypatch.setenv("FAULTS_TRIVY_LOG", str(tmp_path / "trivy-calls.jsonl"))
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return tmp_path


def _scan(project: Path, out: Path) -> tuple[dict[str, str], list[str], str]:
    from tests.scanners.conftest import FAKE_KEY

    (project / "app.pem").write_text(FAKE_KEY)
    request = ScanRequest(
        workspace=project, context=project, dockerfile=project / "Dockerfile",
        scanners=("trivy", "grype"), scanners_explicit=True, settings=Settings(probes=False),
        sarif_path=out / "out.sarif", summary_path=out / "out.md", resolve_pins=False,
        db_cache_dir=project / "cache", trivy_db_repositories=("127.0.0.1:9/aquasec/trivy-db:2",),
    )  # fmt: skip
    result = run_scan(request, log=lambda _m: None)
    stages = {s.name: s.detail for s in result.report.stages if s.status is not RunStatus.FAILED}
    assert all(r.status is RunStatus.OK for r in result.report.tool_runs), result.report.tool_runs
    results = json.loads((out / "out.sarif").read_text())["runs"][0]["results"]
    sbom = json.loads((out / "out.cdx.json").read_text())
    names = sorted(c["name"] for c in sbom.get("components") or [])
    return stages, sorted(r["partialFingerprints"]["dockerHardeningFinding/v1"] for r in results), str(names)


def test_second_scan_exports_nothing_and_reports_the_same(tools: Path, debian_image: str) -> None:
    project = tools / "project"
    project.mkdir()
    (project / "Dockerfile").write_text(DOCKERFILE.format(base=debian_image, token="x1Y2z3" * 6))
    trivy_db.write_db(project / "cache" / "trivy")
    calls = tools / "trivy-calls.jsonl"

    first, first_results, first_sbom = _scan(project, tools / "one")
    cold = [json.loads(line) for line in calls.read_text().splitlines()]
    calls.unlink()
    second, second_results, second_sbom = _scan(project, tools / "two")
    warm = [json.loads(line) for line in calls.read_text().splitlines()]

    assert "no export" not in first["export"]
    assert "no export" in second["export"], second["export"]
    assert any("--input" in argv for argv in cold)  # the one archive, shared
    scans = [argv for argv in warm if "--download-db-only" not in argv and argv[0] == "image"]
    assert scans and all("--input" not in argv for argv in scans)
    assert all(argv[argv.index("--image-src") + 1] == "docker" for argv in scans)
    assert any(argv[0] == "convert" for argv in warm)
    assert "by trivy" in second["sbom"]  # from the scan's package list, not a second catalogue
    assert first_results == second_results and first_results
    assert first_sbom == second_sbom


def _layer(files: dict[str, tuple[int, bytes, dict[str, str]]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, (mode, data, pax) in files.items():
            info = tarfile.TarInfo(name)
            info.mode, info.size, info.pax_headers = mode, len(data), pax
            if name.endswith("/"):
                info.type, info.size = tarfile.DIRTYPE, 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def test_cached_layer_facts_are_the_facts_read_from_the_archive(tmp_path: Path) -> None:
    """Each layer's record, written to the cache and read back, combines into exactly the
    facts that reading the archive gives: whiteouts, setuid, capabilities, secrets, os-release."""
    from tests.scanners.conftest import FAKE_KEY

    cap = {"SCHILY.xattr.security.capability": "x"}
    layers = [
        _layer({"etc/": (0o755, b"", {}), "etc/os-release": (0o644, b'ID=debian\nVERSION_ID="12"\n', {}),
                "tmp/": (0o777, b"", {}), "bin/sh": (0o755, b"x", {}), "bin/ping": (0o755, b"x", cap),
                "old/": (0o755, b"", {}), "old/a": (0o644, b"a", {}), "root/.ssh/id_rsa": (0o600, b"k", {})}),
        _layer({"usr/bin/sudo": (0o4755, b"x", {}), "app/deploy.pem": (0o600, FAKE_KEY.encode(), {}),
                "old/.wh..wh..opq": (0o644, b"", {}), "root/.ssh/.wh.id_rsa": (0o644, b"", {})}),
    ]  # fmt: skip
    diff_ids = ["sha256:" + hashlib.sha256(data).hexdigest() for data in layers]
    config = {"rootfs": {"diff_ids": diff_ids}, "config": {"User": "0"}, "history": []}
    archive = tmp_path / "image.tar"
    with tarfile.open(archive, "w") as tar:
        members = {"config.json": json.dumps(config).encode(), **{f"l{i}.tar": d for i, d in enumerate(layers)}}
        members["manifest.json"] = json.dumps([{"Config": "config.json", "Layers": ["l0.tar", "l1.tar"]}]).encode()
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    image = ImageInfo(reference="t", config=config["config"], layers=tuple(LayerInfo(d) for d in diff_ids))
    cache = LayerCache(tmp_path / "cache")
    for record in read_layer_records(archive):
        cache.put(record)
    cached = [cache.get(d) for d in diff_ids]
    assert all(record is not None for record in cached)
    from_cache = facts_from_layers(image, [r for r in cached if r is not None])
    assert from_cache == read_image_facts(image, archive)
    assert [f.path for f in from_cache.setuid] == ["/usr/bin/sudo"]
    assert [f.path for f in from_cache.file_capabilities] == ["/bin/ping"]
    assert [f.path for f in from_cache.world_writable] == ["/tmp"]
    assert [(f.path, f.deleted) for f in from_cache.secret_files] == [
        ("/app/deploy.pem", False), ("/root/.ssh/id_rsa", True)]  # fmt: skip
    assert "old/a" not in from_cache.files and from_cache.os_release is not None


def test_history_from_the_engine_only_when_unambiguous() -> None:
    entries = [  # newest first, as the engine answers
        {"Created": 1700000300, "CreatedBy": "CMD [\"sh\"]", "Size": 0, "Comment": ""},
        {"Created": 1700000200, "CreatedBy": "RUN make # buildkit", "Size": 10, "Comment": "buildkit.dockerfile.v0"},
        {"Created": 1700000100, "CreatedBy": "ENV A=b", "Size": 0, "Comment": ""},
        {"Created": 1700000000, "CreatedBy": "", "Size": 99, "Comment": "Imported from -"},
    ]  # fmt: skip
    history = history_from_engine(entries, 2)
    assert history is not None
    assert [h.get("empty_layer", False) for h in history] == [False, True, False, True]
    assert history[0] == {"created": "2023-11-14T22:13:20Z", "created_by": "", "comment": "Imported from -"}
    # A layer with no size (BuildKit's RUN that changed only metadata) makes it ambiguous.
    assert history_from_engine(entries, 3) is None
