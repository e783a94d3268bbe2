"""Four small images in one step against four separate runs (as a matrix of jobs runs them):
wall time, and how many times Trivy's database is downloaded, with the real trivy and the
tests' database served by a local registry behind a counting proxy."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import Row

IMAGES = 4


@contextmanager
def _database() -> Iterator[tuple[str, list[tuple[str, str, int]]]]:
    from tests.support import fault_registry, trivy_db
    from tests.support.registry import serve_registry

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        trivy_db.write_db(folder / "source")
        (folder / "registry").mkdir()
        serving = serve_registry(folder / "registry")
        address = next(serving)
        trivy_db.push_db(address, "aquasec/trivy-db", "2", folder / "source" / "db")
        try:
            with fault_registry.rate_limited(address, failures=0) as counting:
                yield f"{counting}/aquasec/trivy-db:2", counting.requests
        finally:
            serving.close()


def _repo(folder: Path) -> Path:
    from tests.support.engine import BUSYBOX_IMAGE

    for index in range(IMAGES):
        path = folder / f"svc{index}" / "Dockerfile"
        path.parent.mkdir(parents=True)
        path.write_text(f"FROM {BUSYBOX_IMAGE}\nRUN echo {index} > /v\nUSER 1000\n")
    return folder


def _request(repo: Path, out: Path, repository: str, cache: Path, dockerfile: Path | None = None) -> object:
    from hardening.request import ScanRequest
    from hardening.settings import Settings

    return ScanRequest(
        workspace=repo, context=dockerfile.parent if dockerfile else None, dockerfile=dockerfile,
        scanners=("trivy",), scanners_explicit=True, settings=Settings(probes=False),
        sbom_format="none", resolve_pins=False, sarif_path=out / "s.sarif",
        summary_path=out / "s.md", db_cache_dir=cache, trivy_db_repositories=(repository,),
    )  # fmt: skip


def _downloads(log: list[tuple[str, str, int]]) -> int:
    return sum(1 for method, path, _ in log if method == "GET" and "/manifests/" in path)


def run(runs: int = 1) -> list[Row]:
    from hardening.pipeline import run_scan
    from hardening.pipeline.many import discover, run_many
    from tests.support import trivy_db

    os.environ["PATH"] = f"{Path(trivy_db.trivy_binary()).parent}:{os.environ['PATH']}"
    with tempfile.TemporaryDirectory() as tmp, _database() as (repository, log):
        folder = Path(tmp)
        repo = _repo(folder / "repo")
        started = time.perf_counter()
        one = run_many(_request(repo, folder / "one", repository, folder / "c1"),  # type: ignore[arg-type]
                       discover(repo, "**/Dockerfile"), log=lambda _m: None)  # fmt: skip
        one_step, one_downloads = time.perf_counter() - started, _downloads(log)
        log.clear()
        started = time.perf_counter()
        for index, spec in enumerate(discover(repo, "**/Dockerfile")):
            run_scan(_request(repo, folder / f"sep{index}", repository, folder / f"c2-{index}",  # type: ignore[arg-type]
                              spec.dockerfile), log=lambda _m: None)  # fmt: skip
        separate, separate_downloads = time.perf_counter() - started, _downloads(log)
    if one.exit_code != 0:
        return [Row("many", "four images in one step", "s", 0, 0, 0, "", False,
                    f"failed: {one.gate.reason}")]  # fmt: skip
    return [
        Row("many", f"{IMAGES} images in one step: wall time", "s", one_step, one_step, one_step,
            "", None, f"{one_downloads} database download(s)"),
        Row("many", f"{IMAGES} separate runs: wall time", "s", separate, separate, separate,
            "", None, f"{separate_downloads} database download(s)"),
        Row("many", "one step / separate runs", "ratio", one_step / separate, one_step / separate,
            one_step / separate, "< 1 (and one download)", one_step < separate and one_downloads == 1),
    ]  # fmt: skip
