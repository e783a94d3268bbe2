"""`hardening scan` on the bundled examples with the real trivy (the tests' database, offline)
and a Grype stand-in that sleeps a fixed time and replays a recorded report: where the wall
time goes, and what the pipeline itself costs."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import Row
from bench.scale import FIXTURES

ROOT = Path(__file__).resolve().parents[1]
SCANNER_SLEEP = 3.0
GRACE = 2.0


def _standins(folder: Path) -> Path:
    from tests.support import trivy_db

    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (bin_dir / "trivy").symlink_to(trivy_db.trivy_binary())
    trivy_db.write_db(folder / "cache" / "trivy")
    script = bin_dir / "grype"
    script.write_text(
        f'#!/bin/sh\nSTANDIN_SLEEP={SCANNER_SLEEP} '
        f'STANDIN_FIXTURE="{FIXTURES / "grype-nginx-latest-msusel-v0.62.3.json"}" '
        f'exec "{ROOT / "tests" / "standins" / "grype"}" "$@"\n'
    )
    script.chmod(0o755)
    return bin_dir


def _once(example: str, folder: Path) -> dict[str, float]:
    from hardening.model import RunStatus
    from hardening.pipeline import run_scan
    from hardening.request import ScanRequest
    from hardening.settings import Settings
    from tests.support.engine import BUSYBOX_IMAGE, DEBIAN_IMAGE

    os.environ["HARDENING_HELPER_IMAGE"] = BUSYBOX_IMAGE
    context = ROOT / "examples" / example
    request = ScanRequest(
        workspace=ROOT, context=context, dockerfile=context / "Dockerfile",
        build_args=(("BASE_IMAGE", DEBIAN_IMAGE),), scanners_explicit=True, settings=Settings(grace_s=GRACE),
        sarif_path=folder / "out.sarif", summary_path=folder / "out.md", keep_image=False,
        db_cache_dir=folder / "cache", trivy_db_repositories=("127.0.0.1:9/aquasec/trivy-db:2",),
    )  # fmt: skip
    started = time.perf_counter()
    result = run_scan(request, log=lambda _m: None)
    wall = time.perf_counter() - started
    stages = {s.name: s.duration_s for s in result.report.stages}
    scanners = [
        r.duration_s
        for r in result.report.tool_runs
        if r.name in ("trivy", "grype") and r.status is RunStatus.OK
    ]
    assert len(scanners) == 2, result.report.tool_runs
    return {
        "wall": wall, "build": stages.get("build", 0.0), "scanner_sum": sum(scanners),
        "slowest": max(scanners),
        "scanners_stage": stages.get("scanners", 0.0), "probes": stages.get("runtime probes", 0.0),
    }  # fmt: skip


def run(runs: int = 5) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bin_dir = _standins(folder)
        old_path = os.environ["PATH"]
        os.environ["PATH"] = f"{bin_dir}:{old_path}"
        try:
            for example in ("insecure", "hardened"):
                _once(example, folder)  # warm-up: build cache, imports
                samples = [_once(example, folder) for _ in range(runs)]

                def series(fn, samples=samples):  # type: ignore[no-untyped-def]
                    values = [fn(s) for s in samples]
                    return statistics.median(values), min(values), max(values)

                wall = series(lambda s: s["wall"])
                # Side by side, the stage lasts as long as the slowest scanner (plus the
                # version probes); one after another, it would last their sum.
                overlap = series(lambda s: s["scanners_stage"] / s["slowest"])
                # Checks, SBOM and probes (with the grace period) run beside the scanners: what is
                # left after the build and the scanner stage is the pipeline's own work.
                rest = series(
                    lambda s: (s["wall"] - s["build"] - s["scanners_stage"]) / (s["wall"] - GRACE)
                )
                rows.append(Row("pipeline", f"examples/{example}: wall time", "s", *wall, "", None,
                                f"real trivy; grype stand-in sleeps {SCANNER_SLEEP:.0f} s; trial grace {GRACE:.0f} s"))  # fmt: skip
                rows.append(
                    Row(
                        "pipeline",
                        f"examples/{example}: build",
                        "s",
                        *series(lambda s: s["build"]),
                        "",
                        None,
                        "BuildKit, warm cache",
                    )
                )
                rows.append(
                    Row(
                        "pipeline",
                        f"examples/{example}: scanners' own time (sum)",
                        "s",
                        *series(lambda s: s["scanner_sum"]),
                        "",
                        None,
                    )
                )
                rows.append(Row("pipeline", f"examples/{example}: scanner stage / slowest scanner", "ratio", *overlap,
                                "<= 1.10 (they overlap)", overlap[0] <= 1.10,
                                "a warm cache: Trivy reads the engine (no export); the Grype stand-in exports the image itself"))  # fmt: skip
                rows.append(Row("pipeline", f"examples/{example}: the rest, share of wall time without grace", "ratio", *rest,
                                "< 0.10", rest[0] < 0.10, "export, and checks or probes beyond the scanners' time, merge, SARIF, report"))  # fmt: skip
        finally:
            os.environ["PATH"] = old_path
    return rows
