"""Several images in one step: a monorepo's Dockerfiles built, scanned and reported together.

The vulnerability databases are fetched once and shared (each image's Trivy gets its own
cache folder with the database files hard-linked, so their cache locks never meet); the
images are built, exported and scanned side by side within the machine's cores, under one
overall timeout; one image failing (a build that breaks) makes the run incomplete and is
named, and every other image is still scanned and reported. The result is one SARIF file
(one run per image, in that image's own category; at most 20 runs per file, so more images
make more files), one report with the totals first and a short section per image, and one
verdict over all images.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path

from hardening import processes
from hardening.errors import ExitCode, UsageError
from hardening.pipeline.cancel import Cancelled, cancellable
from hardening.pipeline.finish import PipelineResult, Publisher, all_rule_docs
from hardening.pipeline.recorder import Log, stderr_log
from hardening.request import ScanRequest

MAX_RUNS_PER_FILE = 20  # GitHub's limit of runs in one SARIF upload
DEFAULT_TIMEOUT_S = 3600.0
DOCKERFILE_NAMES = ("Dockerfile", "Containerfile")


@dataclass(frozen=True, slots=True)
class ImageSpec:
    dockerfile: Path  # absolute
    context: Path
    target: str = ""
    build_args: tuple[tuple[str, str], ...] = ()
    compose_file: Path | None = None


def discover(workspace: Path, pattern: str) -> list[ImageSpec]:
    """Dockerfiles matching a glob under the workspace, hidden folders (.devcontainer) too."""
    found = []
    for path in sorted(workspace.glob(pattern)):
        name = path.name
        if path.is_file() and (name in DOCKERFILE_NAMES or name.endswith((".Dockerfile", ".dockerfile"))
                               or name.startswith("Dockerfile.")):  # fmt: skip
            found.append(ImageSpec(path.resolve(), path.parent.resolve()))
    return found


def _spec(entry: object, workspace: Path) -> list[ImageSpec]:
    if isinstance(entry, str):
        return discover(workspace, entry)
    if not isinstance(entry, dict) or not (entry.get("dockerfile") or entry.get("context")):
        raise UsageError(f"image entry {entry!r} names no dockerfile or context",
                         "give each image a dockerfile: and/or context:")  # fmt: skip
    context = (
        workspace / str(entry.get("context") or Path(str(entry["dockerfile"])).parent)
    ).resolve()
    dockerfile = (
        (workspace / str(entry["dockerfile"])).resolve()
        if entry.get("dockerfile")
        else context / "Dockerfile"
    )
    args = entry.get("build-args") or {}
    pairs = tuple((str(k), str(v)) for k, v in args.items()) if isinstance(args, dict) else ()
    compose = entry.get("compose-file")
    return [ImageSpec(dockerfile, context, str(entry.get("target") or ""), pairs,
                      (workspace / str(compose)).resolve() if compose else None)]  # fmt: skip


def load_specs(values: Sequence[str], workspace: Path) -> list[ImageSpec]:
    """Each value: a YAML/JSON file listing images (globs or mappings), or a glob itself."""
    from hardening.yamlsafe import YamlRefused, load_yaml_file

    specs: list[ImageSpec] = []
    for value in values:
        path = workspace / value
        if value.endswith((".yml", ".yaml", ".json")) and path.is_file():
            try:
                document = load_yaml_file(path, "safe")
            except YamlRefused as exc:
                raise UsageError(f"{value}: {exc}", "list images as YAML") from None
            entries = document if isinstance(document, list) else (document or {}).get("images", [])
            for entry in entries or []:
                specs.extend(_spec(entry, workspace))
        else:
            specs.extend(discover(workspace, value))
    unique = list({(s.dockerfile, s.target): s for s in specs}.values())
    if not unique:
        raise UsageError(f"no Dockerfile found for {', '.join(values)}",
                         "give a glob such as '**/Dockerfile' or a file listing the images")  # fmt: skip
    return unique


def _slug(request: ScanRequest) -> str:
    rel = request.dockerfile_relpath or "image"
    return rel.replace("/", "_").replace(".", "_") + (
        f"_{request.target}" if request.target else ""
    )


def image_requests(
    base: ScanRequest, specs: Sequence[ImageSpec], folder: Path
) -> list[ScanRequest]:
    out = []
    for spec in specs:
        request = replace(
            base, context=spec.context, dockerfile=spec.dockerfile, target=spec.target,
            build_args=(*base.build_args, *spec.build_args), compose_file=spec.compose_file,
            image="", image_archive=None, extra_outputs=(), category="",
        )  # fmt: skip
        slug = _slug(request)
        sbom = None
        if base.sbom_format != "none":
            suffix = ".cdx.json" if base.sbom_format == "cyclonedx" else ".spdx.json"
            sbom = base.sarif_path.with_name(f"{base.sarif_path.stem}-{slug}{suffix}")
        out.append(replace(request, sarif_path=folder / f"{slug}.sarif",
                           summary_path=folder / f"{slug}.md", sbom_path=sbom,
                           category=f"{request.automation_category.rstrip('/')}"
                           + (f"/{spec.target}/" if spec.target else "/")))  # fmt: skip
    return out


def _share_databases(
    base: ScanRequest, requests: list[ScanRequest], folder: Path, log: Log
) -> list[ScanRequest]:
    """Fetch Trivy's and Grype's databases once into the shared cache; give each image a cache
    folder of its own with Trivy's database files hard-linked (Trivy locks its cache folder)
    and Grype's cache shared. Returns the requests pointed at their folders."""
    shared = base.db_cache_dir or folder / "cache"
    if "trivy" in base.scanners:
        _fetch_trivy_db(base, shared / "trivy", folder, log)
    if "grype" in base.scanners:
        _fetch_grype_db(base, shared / "grype", log)
    out = []
    for index, request in enumerate(requests):
        own = folder / f"cache-{index}"
        (own / "trivy").mkdir(parents=True, exist_ok=True)
        for name in ("db", "java-db"):
            source = shared / "trivy" / name
            if source.is_dir():
                shutil.copytree(
                    source, own / "trivy" / name, copy_function=os.link, dirs_exist_ok=True
                )
        (shared / "grype").mkdir(parents=True, exist_ok=True)
        (own / "grype").symlink_to(shared / "grype", target_is_directory=True)
        out.append(replace(request, db_cache_dir=own))
    return out


def _prepared(
    base: ScanRequest, requests: list[ScanRequest], folder: Path, log: Log
) -> tuple[list[ScanRequest], str]:
    """The requests with their shared databases, and the signal that cancelled the fetching
    ("" when none did): a cancelled run still writes its outputs."""
    with cancellable():
        try:
            return _share_databases(base, requests, folder, log), ""
        except Cancelled as signal_:
            processes.cancel()
            return requests, signal_.signal_name


def _fetch_trivy_db(base: ScanRequest, cache: Path, folder: Path, log: Log) -> None:
    from hardening.scanners.trivy import settings
    from hardening.scanners.trivy_exec import clean_env, common_flags, neutral_files, update_db
    from hardening.supply.sbom import find_tool

    executable = find_tool("trivy")
    if not executable:
        return
    cache.mkdir(parents=True, exist_ok=True)
    config, ignore = neutral_files(folder)
    usable, detail, _ = update_db(
        executable,
        settings(base),
        common_flags(cache, config, ignore),
        clean_env(os.environ, cache),
        folder,
    )
    log(
        f"trivy database for every image: {'from ' + detail if usable else 'not fetched: ' + detail}"
    )


def _fetch_grype_db(base: ScanRequest, cache: Path, log: Log) -> None:
    """Grype's database once, before the images' scans, which then find it checked moments
    ago instead of each fetching it at once into the shared folder. A failure is said; each
    image's Grype then tries on its own."""
    from hardening.scanners.grype import update_db
    from hardening.supply.sbom import find_tool

    executable = find_tool("grype")
    if not executable:
        return
    cache.mkdir(parents=True, exist_ok=True)
    problem = update_db(executable, cache, base.db_timeout_s)
    said = f"not fetched ahead ({problem}); each image's Grype fetches it" if problem else "fetched"
    log(f"grype database for every image: {said}")


def _run_all(
    requests: list[ScanRequest], run_id: str, timeout_s: float, log: Log
) -> tuple[list[PipelineResult | str], str]:
    """Every image's scan, side by side within the cores: a result or why there is none for
    each, and the signal that cancelled the run ("" when none did)."""
    from hardening.pipeline import run_scan

    def one(index: int, request: ScanRequest) -> PipelineResult:
        name = request.dockerfile_relpath
        return run_scan(request, log=lambda m: log(f"{name}: {m}"), run_id=f"{run_id}-{index}")

    workers = max(1, min(len(requests), os.cpu_count() or 2))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image")
    futures = [pool.submit(one, i, r) for i, r in enumerate(requests)]
    cancelled = ""
    with cancellable():
        try:
            _, pending = wait(futures, timeout=timeout_s)
        except Cancelled as signal_:
            cancelled, pending = signal_.signal_name, {f for f in futures if not f.done()}
        if pending or cancelled:
            processes.cancel()  # what still runs stops; those scans end as incomplete
            wait(futures, timeout=60)
    pool.shutdown(wait=False, cancel_futures=True)
    why = f"was cancelled ({cancelled})" if cancelled else (
        f"did not finish within the overall timeout of {timeout_s:.0f}s")  # fmt: skip
    results: list[PipelineResult | str] = []
    for future in futures:
        if not future.done() or future.cancelled():
            results.append(why)
        elif future.exception() is not None:
            results.append(f"could not be scanned: {future.exception()}")
        else:
            results.append(future.result())
    return results, cancelled


def run_many(
    base: ScanRequest,
    specs: Sequence[ImageSpec],
    *,
    publisher: Publisher | None = None,
    log: Log = stderr_log,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> PipelineResult:
    run_id = uuid.uuid4().hex[:12]
    processes.set_run(run_id)
    log(f"run {run_id}: {len(specs)} image(s)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"docker-hardening-{run_id}-") as tmp:
        folder = Path(tmp)
        requests, cancelled = _prepared(base, image_requests(base, specs, folder), folder, log)
        results: list[PipelineResult | str] = []
        if cancelled:  # while the databases were fetched: no image was scanned
            results = [f"not scanned: cancelled ({cancelled})" for _ in requests]
        else:
            left = timeout_s - (time.monotonic() - started)
            results, cancelled = _run_all(requests, run_id, left, log)
    from hardening.pipeline.many_report import combine, write_combined

    report, gate = combine(base, requests, results)
    if cancelled:
        gate = replace(gate, exit_code=ExitCode.TOOL_FAILURE, passed=False,
                       reason=f"incomplete: cancelled ({cancelled}); {gate.reason}")  # fmt: skip
        report = replace(report, verdict=gate.verdict())
    files = write_combined(base, report, all_rule_docs())
    markdown = base.summary_path.read_text(encoding="utf-8")
    if publisher is not None:
        for note in publisher(report, markdown):
            log(f"{note.level}: {note.stage}: {note.message}")
    log(gate.reason)
    return PipelineResult(report, gate, base.sarif_path, base.summary_path, tuple(files))
