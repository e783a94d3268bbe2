"""Parse + de-duplicate + SARIF write at 1k, 10k and 100k findings; peak memory; and
Microsoft's `Sarif.Multitool merge` of the tools' own SARIF files of the same size (a
reference for "merge into one file": it concatenates, it does not de-duplicate)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row, child_env
from bench.scale import FIXTURES, write_scaled

ROOT = Path(__file__).resolve().parents[1]
SIZES = (1_000, 10_000, 100_000)
MULTITOOL = (
    Path.home()
    / ".cache/docker-hardening/npm/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
)


def _measure(trivy: Path, grype: Path, out: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "bench._measure_merge", str(trivy), str(grype), str(out)],
        capture_output=True, text=True, check=True, cwd=ROOT, env=child_env(PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    return json.loads(result.stdout)


def _scaled_sarif(source: Path, total: int, out: Path) -> None:
    document = json.loads(source.read_text())
    results = document["runs"][0]["results"]
    copies = max(1, total // max(1, len(results)))
    scaled = []
    for i in range(copies):  # distinct results, as a real large report has
        for r in results:
            copy = json.loads(json.dumps(r))
            copy["message"]["text"] = f"{copy['message']['text']} (#{i})"
            copy.setdefault("properties", {})["copy"] = i
            scaled.append(copy)
    document["runs"][0]["results"] = scaled
    out.write_text(json.dumps(document))


def _results(path: Path) -> int:
    document = json.loads(path.read_text())
    return sum(len(run.get("results") or []) for run in document.get("runs") or [])


def _multitool(folder: Path, total: int) -> tuple[float, str] | None:
    """(seconds, "") when the reference really merged both files, else (0, why it failed)."""
    if not MULTITOOL.exists():
        return None
    a, b = folder / f"t-{total}.sarif", folder / f"g-{total}.sarif"
    _scaled_sarif(FIXTURES / "trivy-alpine-310-trivyrepo-golden-2026.sarif", total // 2, a)
    _scaled_sarif(FIXTURES / "grype-synthetic-image-grypegolden-2026.sarif", total // 2, b)
    out = folder / f"m-{total}.sarif"
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    result = subprocess.run(
        [str(MULTITOOL), "merge", str(a), str(b), "--output-directory", str(folder),
         "--output-file", out.name, "--log", "ForceOverwrite"],
        capture_output=True, text=True, check=False,
        env=dict(os.environ, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1"),
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tail = " ".join((result.stdout + result.stderr).split())[-160:]
        return 0.0, f"failed: exit {result.returncode}: {tail}"
    if not out.is_file():
        return 0.0, "failed: wrote no merged file"
    expected = _results(a) + _results(b)
    if _results(out) != expected:
        return 0.0, f"failed: {_results(out)} results merged, {expected} expected"
    return elapsed, ""


def run(runs: int = 5) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in SIZES:
            trivy, grype = write_scaled(size, folder)
            _measure(trivy, grype, folder / "warm.sarif")
            samples = [_measure(trivy, grype, folder / "out.sarif") for _ in range(runs)]
            n = samples[0]["in"]

            def stat(
                key: str, samples: list[dict[str, float]] = samples
            ) -> tuple[float, float, float]:
                values = [s[key] for s in samples]
                return statistics.median(values), min(values), max(values)

            pm, total, rss = stat("parse_merge"), stat("total"), stat("rss_mb")
            sarif_t = stat("sarif")
            big = size == 100_000
            note = f"{n} findings in, {int(samples[0]['out'])} after de-duplication"
            rows.append(
                Row("merge", f"parse + de-duplicate, {size // 1000}k", "s", *pm, "", None, note)
            )
            rows.append(Row("sarif", f"SARIF write, {size // 1000}k", "s", *sarif_t, "", None))
            rows.append(Row("merge", f"parse + de-duplicate + SARIF, {size // 1000}k", "s", *total,
                            "< 2 s at 100k" if big else "", (total[0] < 2) if big else None,
                            "one msgspec pass per report; a CVE's parts read, merged and written once"))  # fmt: skip
            rows.append(Row("merge", f"peak memory, {size // 1000}k", "MB", *rss,
                            "< 400 MB at 100k" if big else "", (rss[0] < 400) if big else None,
                            "peak RSS of the whole process, the reports' bytes included"))  # fmt: skip
            reference = _multitool(folder, size)
            if reference is not None:
                seconds, failed = reference
                name = f"reference: Sarif.Multitool merge, {size // 1000}k"
                if failed:  # a reference that did not do the work is never shown as a time
                    rows.append(Row("merge", name, "s", 0, 0, 0, "", False, failed))
                else:
                    rows.append(Row("merge", name, "s", seconds, seconds, seconds, "", None,
                                    "one run; concatenates, no de-duplication"))  # fmt: skip
    return rows
