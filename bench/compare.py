"""The cost of comparing with the base commit: `hardening scan` of the bundled hardened
example in a git repository whose base commit differs by one LABEL line, with and without
`--compare-with`, with the real trivy (the tests' database, offline) and no probes. The two
kinds of run alternate, so a machine whose load drifts weighs on both alike.

The base's work runs beside the head's (its build beside the head's build, its scan as soon
as the head's scanners are done); the last row is how long the run still waits for it after
its own stages (the `base comparison` stage).

Target: the comparison adds at most 60% to the wall time when the base shares most layers."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import Row

ROOT = Path(__file__).resolve().parents[1]
GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}  # fmt: skip


def _repo(folder: Path) -> tuple[Path, str]:
    repo = folder / "repo"
    shutil.copytree(ROOT / "examples" / "hardened", repo / "app")
    dockerfile = repo / "app" / "Dockerfile"
    text = dockerfile.read_text()
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)
    base = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    dockerfile.write_text(text.rstrip() + '\nLABEL org.opencontainers.image.description="head"\n')
    for args in (["add", "-A"], ["commit", "-q", "-m", "head"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)
    return repo, base


def _once(repo: Path, folder: Path, compare: str) -> tuple[float, float]:
    """(wall time, the base comparison stage's time) of one scan."""
    from hardening.pipeline import run_scan
    from hardening.request import ScanRequest
    from hardening.settings import Settings
    from tests.support.engine import DEBIAN_IMAGE

    request = ScanRequest(
        workspace=repo, context=repo / "app", dockerfile=repo / "app" / "Dockerfile",
        build_args=(("BASE_IMAGE", DEBIAN_IMAGE),), scanners=("trivy",), scanners_explicit=True,
        settings=Settings(probes=False), sbom_format="none", resolve_pins=False,
        sarif_path=folder / "out.sarif", summary_path=folder / "out.md", compare_with=compare,
        db_cache_dir=folder / "cache", trivy_db_repositories=("127.0.0.1:9/aquasec/trivy-db:2",),
    )  # fmt: skip
    started = time.perf_counter()
    result = run_scan(request, log=lambda _m: None)
    elapsed = time.perf_counter() - started
    if compare and (result.report.comparison is None or not result.report.comparison.compared):
        raise RuntimeError(f"the comparison did not happen: {result.report.comparison}")
    waited = sum(s.duration_s for s in result.report.stages if s.name == "base comparison")
    return elapsed, waited


def run(runs: int = 5) -> list[Row]:
    from tests.support import trivy_db

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        trivy_db.write_db(folder / "cache" / "trivy")
        os.environ["PATH"] = f"{Path(trivy_db.trivy_binary()).parent}:{os.environ['PATH']}"
        repo, base = _repo(folder)
        alone: list[float] = []
        compared: list[float] = []
        waits: list[float] = []
        try:
            _once(repo, folder, base)  # warm-up: the build cache, the scanner's layer cache
            for _ in range(runs):
                alone.append(_once(repo, folder, "")[0])
                elapsed, waited = _once(repo, folder, base)
                compared.append(elapsed)
                waits.append(waited)
        except RuntimeError as exc:
            return [Row("compare", "base comparison", "s", 0, 0, 0, "", False, f"failed: {exc}")]
    ratio = statistics.median(compared) / statistics.median(alone) - 1
    return [
        Row("compare", "examples/hardened, no comparison: wall time", "s",
            statistics.median(alone), min(alone), max(alone), "", None, "real trivy, no probes"),
        Row("compare", "examples/hardened, compared with its base: wall time", "s",
            statistics.median(compared), min(compared), max(compared), "", None,
            "the base differs by one LABEL line"),
        Row("compare", "time the comparison adds", "ratio", ratio, ratio, ratio, "<= 0.60",
            ratio <= 0.60, "the base built beside the head, scanned after the head's scanners"),
        Row("compare", "the run waiting for the base after its own stages", "s",
            statistics.median(waits), min(waits), max(waits), "", None,
            "the base comparison stage: the base's Trivy run, after the head's"),
    ]  # fmt: skip
