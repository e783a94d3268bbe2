"""`hardening scan` against the peers' way of doing the same job, side by side in one run.

The job: build examples/insecure (Debian with curl and busybox, 330 MB), scan it with Trivy and
Grype, and make an SBOM. The peers' way is a workflow with aquasecurity/trivy-action,
anchore/scan-action and anchore/sbom-action: one step after another, each tool reading the
image from the engine itself (trivy image IMAGE; grype docker:IMAGE; syft docker:IMAGE).
Ours is one `hardening scan` (build, the scanners side by side on one export, the SBOM from
Trivy's package list, the checks, the runtime trial with its grace period, SARIF and report).

Both use the real trivy 0.76 with the tests' offline database (tests/support/trivy_db.py) and
the real syft. Grype is the stand-in (tests/standins/grype): it exports the image from the
engine as the real grype does with a docker: source, then sleeps 1.5 times as long as the real
trivy took to scan the same image from the engine with an empty layer cache (measured at the
start of this group, the median of three runs), and replays a recorded report. Cold: a cache
folder holding only the database; warm: the same folder again (Trivy's layer cache, and ours, kept as actions/cache
keeps them). The BuildKit cache is warm in both.

Targets: ours at most 0.6 of the peers' wall time cold; at most the peers' warm time plus the
runtime trial's grace period warm; and ours beyond the build and the grace period at most the
slowest scanner's own time plus 10%. The runtime trial must start while the scanners run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row
from bench.scale import FIXTURES

NOTE = """\
**peers** rows: `hardening scan` against the peers' way of doing the same job, in one run. The
job is building examples/insecure (Debian with curl and busybox, 330 MB), scanning it with
Trivy and Grype, and making an SBOM. The peers' way is a workflow with trivy-action,
scan-action and sbom-action, one step after another, each tool pulling the image from the engine
itself (`trivy image IMAGE`, `grype docker:IMAGE`, `syft docker:IMAGE`). Both use the real
trivy 0.76 with the tests' offline database and the real syft. **Grype is a stand-in**: it
exports the image from the engine as the real grype does with a `docker:` source, then sleeps
1.5 times as long as the real trivy took on the same image (first row: the median of three
runs) and replays a recorded report. Cold: a cache holding only the database; warm: the same cache again, as
actions/cache keeps db-cache-dir. Ours runs in-process here (no interpreter start-up; see the
start-up rows) and includes the runtime trial with its 2 s grace period, which the peers do
not do.
"""
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "insecure"
GRACE = 2.0
GRYPE_FACTOR = 1.5
REFUSED = "127.0.0.1:9/aquasec/trivy-db:2"  # nothing listens: the cached database is used
PEERS_TAG = "docker-hardening.bench/peers:latest"
BUILDKIT = {**os.environ, "DOCKER_BUILDKIT": "1"}  # the builder `hardening scan` uses here


def _tools(folder: Path) -> tuple[Path, Path]:
    """A bin folder with the real trivy and the grype stand-in; the database template."""
    from tests.support import trivy_db

    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (bin_dir / "trivy").symlink_to(trivy_db.trivy_binary())
    template = folder / "db-template"
    trivy_db.write_db(template / "trivy")
    return bin_dir, template


def _grype(bin_dir: Path, sleep_s: float) -> None:
    script = bin_dir / "grype"
    script.write_text(
        f"#!/bin/sh\nSTANDIN_SLEEP={sleep_s:.3f} "
        f'STANDIN_FIXTURE="{FIXTURES / "grype-nginx-latest-msusel-v0.62.3.json"}" '
        f'exec "{ROOT / "tests" / "standins" / "grype"}" "$@"\n'
    )
    script.chmod(0o755)


def _fresh_cache(template: Path, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(template, folder)
    return folder


def _run(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    env = BUILDKIT if Path(cmd[0]).name == "docker" else None
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return time.perf_counter() - started


def _build(base: str) -> list[str]:
    """docker build with BuildKit, through the client `hardening scan` itself would use."""
    from hardening.adapters.docker_engine import find_build_client

    client = find_build_client()
    verb = ["buildx", "build", "--load"] if client.mode == "buildx" else ["build"]
    return [client.executable or "docker", *verb, "-q", "--build-arg", f"BASE_IMAGE={base}",
            "-t", PEERS_TAG, str(EXAMPLE)]  # fmt: skip


def _trivy_alone(bin_dir: Path, template: Path, folder: Path, tag: str) -> float:
    """The real trivy on the image from the engine, empty layer cache: the stand-in's yardstick."""
    cache = _fresh_cache(template / "trivy", folder / "yardstick")
    return _run([str(bin_dir / "trivy"), "image", "--cache-dir", str(cache), "--skip-db-update",
                 "--scanners", "vuln,secret", "--format", "json", "--output", str(folder / "y.json"),
                 "--quiet", tag], folder)  # fmt: skip


def _peers(bin_dir: Path, cache: Path, folder: Path, base: str) -> dict[str, float]:
    """The workflow's steps, one after another: build, trivy-action, scan-action, sbom-action."""
    tag = PEERS_TAG
    steps = {"build": _run(_build(base), folder)}
    steps["trivy"] = _run([str(bin_dir / "trivy"), "image", "--cache-dir", str(cache / "trivy"),
                           "--skip-db-update", "--scanners", "vuln,secret", "--format", "sarif",
                           "--output", str(folder / "trivy.sarif"), "--quiet", tag], folder)  # fmt: skip
    steps["grype"] = _run([str(bin_dir / "grype"), f"docker:{tag}", "-o", "json", "--file",
                           str(folder / "grype.json"), "--quiet"], folder)  # fmt: skip
    syft = shutil.which("syft") or str(Path(sys.executable).parent / "syft")
    steps["syft"] = _run(
        [syft, f"docker:{tag}", "-o", f"spdx-json={folder / 'sbom.json'}", "-q"], folder
    )
    steps["wall"] = sum(steps.values())
    return steps


def _ours(cache: Path, folder: Path, base: str) -> dict[str, float]:
    from hardening.model import RunStatus
    from hardening.pipeline import run_scan
    from hardening.request import ScanRequest
    from hardening.settings import Settings

    marks: dict[str, float] = {}
    started = time.perf_counter()

    def log(message: str) -> None:
        marks.setdefault(message.removesuffix("..."), time.perf_counter() - started)

    request = ScanRequest(
        workspace=ROOT, context=EXAMPLE, dockerfile=EXAMPLE / "Dockerfile", build_args=(("BASE_IMAGE", base),),
        scanners=("trivy", "grype"), scanners_explicit=True, settings=Settings(grace_s=GRACE),
        sarif_path=folder / "out.sarif", summary_path=folder / "out.md", keep_image=False,
        db_cache_dir=cache, trivy_db_repositories=(REFUSED,),
    )  # fmt: skip
    result = run_scan(request, log=log)
    wall = time.perf_counter() - started
    stages = {s.name: s for s in result.report.stages}
    runs = {r.name: r for r in result.report.tool_runs}
    for name in ("trivy", "grype"):
        if runs[name].status is not RunStatus.OK:
            raise RuntimeError(f"{name}: {runs[name].reason}")
    if (
        stages["sbom"].status is not RunStatus.OK
        or stages["runtime probes"].status is not RunStatus.OK
    ):
        raise RuntimeError(
            f"sbom: {stages['sbom'].detail}; probes: {stages['runtime probes'].detail}"
        )
    scanners_end = marks["scanners"] + stages["scanners"].duration_s
    return {
        "wall": wall, "build": stages["build"].duration_s,
        "slowest": max(runs["trivy"].duration_s or 0.0, runs["grype"].duration_s or 0.0),
        "trial_lead": scanners_end - marks["runtime probes"],  # > 0: it started while they ran
        "export": stages["export"].duration_s,
    }  # fmt: skip


def _series(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def _rows(s: dict[str, list[dict[str, float]]], yardstick: float) -> list[Row]:
    def v(key: str, field: str) -> list[float]:
        return [sample[field] for sample in s[key]]

    rows = [Row("peers", "trivy alone, image from the engine, empty layer cache", "s", yardstick,
                yardstick, yardstick, "", None, f"the Grype stand-in sleeps {GRYPE_FACTOR}x this")]  # fmt: skip
    for mode in ("cold", "warm"):
        ours, theirs = v(f"ours-{mode}", "wall"), v(f"peers-{mode}", "wall")
        steps = ", ".join(
            f"{step} {statistics.median(v(f'peers-{mode}', step)):.1f}"
            for step in ("build", "trivy", "grype", "syft")
        )
        rows.append(Row("peers", f"hardening scan, {mode}: wall time", "s", *_series(ours), "", None,
                        f"export stage {statistics.median(v(f'ours-{mode}', 'export')):.2f} s; "
                        f"includes the {GRACE:.0f} s trial grace"))  # fmt: skip
        rows.append(Row("peers", f"peers' workflow, {mode}: wall time", "s", *_series(theirs), "", None,
                        f"steps (s): {steps}"))  # fmt: skip
        if mode == "cold":
            ratio = statistics.median(ours) / statistics.median(theirs)
            rows.append(
                Row(
                    "peers",
                    "ours / peers, cold",
                    "ratio",
                    ratio,
                    ratio,
                    ratio,
                    "<= 0.60",
                    ratio <= 0.60,
                )
            )
        else:
            extra = statistics.median(ours) - statistics.median(theirs)
            rows.append(Row("peers", "ours - peers, warm", "s", extra, extra, extra,
                            f"<= {GRACE:.0f} s (the trial's grace)", extra <= GRACE))  # fmt: skip
        beyond = [(o["wall"] - o["build"] - GRACE) / o["slowest"] for o in s[f"ours-{mode}"]]
        rows.append(Row("peers", f"ours beyond build and grace / slowest scanner, {mode}", "ratio",
                        *_series(beyond), "<= 1.10", statistics.median(beyond) <= 1.10))  # fmt: skip
    leads = v("ours-cold", "trial_lead") + v("ours-warm", "trial_lead")
    rows.append(Row("peers", "runtime trial: started before the scanners ended, by", "s", *_series(leads),
                    "> 0 in every run", min(leads) > 0, "it runs beside the scanners"))  # fmt: skip
    return rows


def run(runs: int = 5) -> list[Row]:
    from tests.support.engine import BUSYBOX_IMAGE, DEBIAN_IMAGE, ensure_all

    runs = max(1, min(runs, 3))  # each round is four full scans of a 330 MB image
    ensure_all()
    os.environ["HARDENING_HELPER_IMAGE"] = BUSYBOX_IMAGE
    old_path = os.environ["PATH"]
    samples: dict[str, list[dict[str, float]]] = {
        k: [] for k in ("ours-cold", "ours-warm", "peers-cold", "peers-warm")
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bin_dir, template = _tools(folder)
        os.environ["PATH"] = f"{bin_dir}:{old_path}"
        try:
            _run(_build(DEBIAN_IMAGE), folder)
            # The median of three: the first run of a fresh image also warms the page cache.
            yardstick = statistics.median(
                _trivy_alone(bin_dir, template, folder, PEERS_TAG) for _ in range(3)
            )
            _grype(bin_dir, GRYPE_FACTOR * yardstick)
            for _ in range(runs):
                ours = _fresh_cache(template, folder / "ours-cache")
                samples["ours-cold"].append(_ours(ours, folder, DEBIAN_IMAGE))
                samples["ours-warm"].append(_ours(ours, folder, DEBIAN_IMAGE))
                theirs = _fresh_cache(template, folder / "peers-cache")
                samples["peers-cold"].append(_peers(bin_dir, theirs, folder, DEBIAN_IMAGE))
                samples["peers-warm"].append(_peers(bin_dir, theirs, folder, DEBIAN_IMAGE))
        except (RuntimeError, KeyError) as exc:
            return [Row("peers", "hardening scan against the peers' workflow", "s", 0, 0, 0, "", False,
                        f"failed: {exc}")]  # fmt: skip
        finally:
            os.environ["PATH"] = old_path
            subprocess.run(["docker", "rmi", "-f", PEERS_TAG], capture_output=True)
    return _rows(samples, yardstick)
