"""Fail closed: a stage that does not complete makes the run incomplete (exit 3), named in the
SARIF file and the summary, and never costs the findings of the stages that did complete."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from hardening.pipeline import run_scan, stages
from hardening.request import ScanRequest
from hardening.settings import Settings
from tests.support.cli import run_cli

pytestmark = pytest.mark.docker


def _corrupt_layers(archive: Path, out: Path) -> Path:
    """The same docker-archive with every layer's content replaced by bytes that are no tar."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        manifest = json.load(src.extractfile("manifest.json"))  # type: ignore[arg-type]
        layers = set(manifest[0]["Layers"])
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name in layers:
                garbage = b"\x00not a tar\xff" * 700
                member.size = len(garbage)
                dst.addfile(member, io.BytesIO(garbage))
            else:
                dst.addfile(member, data)
    return out


def test_unreadable_layers_are_an_incomplete_run_and_the_dockerfile_checks_stay(
    tmp_path: Path, busybox_image: str
) -> None:
    saved = tmp_path / "saved.tar"
    subprocess.run(["docker", "save", "-o", str(saved), busybox_image], check=True)
    archive = _corrupt_layers(saved, tmp_path / "corrupt.tar")
    (tmp_path / "Dockerfile").write_text(f"FROM {busybox_image}\nUSER root\n")
    result = run_cli(
        "scan", ".", "--image-archive", str(archive), "--no-probes", "--sbom", "none",
        "--scanners", "grype", "--no-pin-lookup",
        "--sarif", "out.sarif", "--summary", "out.md", "--fail-on", "none",
        cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.code == 3, result.output
    summary = (tmp_path / "out.md").read_text()
    assert "hardening checks" in summary and "could not be read" in summary
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    run = sarif["runs"][0]
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any("hardening checks" in n and "could not be read" in n for n in notes)
    assert run["invocations"][0]["executionSuccessful"] is False
    assert any(r["ruleId"].startswith("DH-D") for r in run["results"])  # Dockerfile checks ran


def test_an_unexpected_error_in_any_stage_is_incomplete_never_a_pass(
    tmp_path: Path, busybox_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "image.tar"
    subprocess.run(["docker", "save", "-o", str(archive), busybox_image], check=True)
    (tmp_path / "Dockerfile").write_text(f"FROM {busybox_image}\n")

    def broken(ctx: object, info: object) -> None:
        raise TypeError("'int' object is not iterable")

    for name in ("scanners", "merge", "policy", "sbom"):
        monkeypatch.setattr(stages, name, broken)
        request = ScanRequest(
            workspace=tmp_path, context=tmp_path, dockerfile=tmp_path / "Dockerfile",
            image_archive=archive, scanners=(), resolve_pins=False,
            settings=Settings(fail_on=None, probes=False), sarif_path=tmp_path / f"{name}.sarif", summary_path=tmp_path / f"{name}.md",
        )  # fmt: skip
        result = run_scan(request, log=lambda _m: None)
        monkeypatch.undo()
        if name == "sbom":  # an extra output, reported but not a check: the verdict stands
            assert result.exit_code == 0, result.gate.reason
            continue
        assert result.exit_code == 3, (name, result.gate.reason)
        assert f"the {name} stage" in result.gate.reason
        assert "internal error: TypeError" in (tmp_path / f"{name}.md").read_text()
