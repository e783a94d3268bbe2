"""Run the requested scanners side by side on the run's image (the engine's, or the one
docker-archive the run makes on demand: see ``adapters/image_source``).

Each scanner runs in its own process, concurrently, with its own timeout and its own cache
folder, asked for its native JSON. Whatever goes wrong with one (missing, timed out, no
database, exited non-zero, printed something that is not its JSON) becomes a FAILED run with
the reason, and never touches the others' findings. The product never falls back to recorded
data. What each scanner is and how it runs comes from the registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hardening import processes
from hardening.adapters.image_source import ImageSource
from hardening.errors import HardeningError
from hardening.model import Finding, Notification, RunStatus, ToolRun
from hardening.request import ScanRequest
from hardening.scanners import registry
from hardening.scanners.base import ScanJob, Scanner, ScanOutput
from hardening.supply.sbom import find_tool


@dataclass(frozen=True, slots=True)
class ScannerOutcome:
    run: ToolRun
    findings: tuple[Finding, ...] = ()
    notifications: tuple[Notification, ...] = field(default_factory=tuple)
    package_list: Path | None = None  # every package it catalogued (for the SBOM)


_VERSIONS: dict[tuple[str, int, int, tuple[str, ...]], str] = {}


def _version(executable: str, scanner: Scanner) -> str:
    """The scanner's version as it reports it, or "" (a label only: never a failure). Asked
    once per process for the same executable file: the base commit's scan and the other
    images of a run do not start it again beside their scans."""
    try:
        stat = os.stat(executable)
    except OSError:
        return ""
    key = (executable, stat.st_ino, stat.st_mtime_ns, scanner.version_args)
    if key not in _VERSIONS:
        try:
            _code, out, _err = processes.run(
                [executable, *scanner.version_args], timeout=30, stdout=True
            )
            data = json.loads(out)
            version = str(data.get("Version") or data.get("version") or "")
        except (OSError, subprocess.TimeoutExpired, ValueError, AttributeError):
            return ""  # not kept: the next run asks again
        if version:
            _VERSIONS[key] = version
        return version
    return _VERSIONS[key]


def _run(scanner: Scanner, status: RunStatus, **fields: object) -> ToolRun:
    return ToolRun(
        scanner.name, status, information_uri=scanner.information_uri, scanner=True,
        display_name=scanner.display_name, vendor=scanner.vendor, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def _missing(scanner: Scanner, request: ScanRequest) -> ScannerOutcome:
    name = scanner.name
    if request.scanners_explicit:
        reason = f"{name} is not installed (install it, or leave it out of --scanners)"
        return ScannerOutcome(
            _run(scanner, RunStatus.FAILED, reason=reason),
            notifications=(Notification("error", "scanners", reason),),
        )
    reason = f"{name} is not installed; skipped (install it to scan with it)"
    return ScannerOutcome(
        _run(scanner, RunStatus.SKIPPED, reason=reason),
        notifications=(Notification("warning", "scanners", reason),),
    )


def _folders(name: str, request: ScanRequest, workdir: Path) -> tuple[Path, Path]:
    """Its database cache and its own folder. Never parents=True under the run's folder: a
    cancelled run removes it, and a scanner thread still unwinding must not create it again."""
    if request.db_cache_dir is None:
        (workdir / "cache").mkdir(exist_ok=True)
        cache = workdir / "cache" / name
    else:
        cache = request.db_cache_dir / name
        cache.parent.mkdir(parents=True, exist_ok=True)
    cache.mkdir(exist_ok=True)
    own = workdir / name
    own.mkdir(exist_ok=True)
    return cache, own


def _scan_one(
    scanner: Scanner,
    request: ScanRequest,
    source: ImageSource,
    workdir: Path,
    on_package_list: Callable[[Path], None] | None = None,
) -> ScannerOutcome:
    executable = find_tool(scanner.executable)
    if not executable:
        return _missing(scanner, request)
    cache, own = _folders(scanner.name, request, workdir)
    started = time.monotonic()
    # Its version is asked beside the scan, not before it: it only labels the run.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="version") as side:
        asked = side.submit(_version, executable, scanner)
        try:
            output = scanner.scan(ScanJob(request, executable, source, own, cache))
        except HardeningError as exc:  # the image could not be exported for it
            output = ScanOutput(problem=exc.one_line())
        version = asked.result()
    if output.package_list is not None and on_package_list is not None:
        on_package_list(output.package_list)
    notes = [Notification("warning", "scanners", w) for w in output.warnings]
    if output.problem:
        notes.append(Notification("error", "scanners", f"{scanner.name} failed: {output.problem}"))
    run = _run(
        scanner,
        RunStatus.FAILED if output.problem else RunStatus.OK,
        version=version or output.version,
        reason=output.problem,
        duration_s=time.monotonic() - started,
    )
    return ScannerOutcome(run, output.findings, tuple(notes), output.package_list)


def run_scanners(
    request: ScanRequest,
    image: Path | ImageSource,
    workdir: Path,
    on_package_list: Callable[[Path], None] | None = None,
) -> list[ScannerOutcome]:
    """Every requested scanner at once on the same image (an archive, or the run's image
    source); results in the order asked for. ``on_package_list`` gets a scanner's report of
    every package as soon as that scanner is done."""
    source = ImageSource(archive=image) if isinstance(image, Path) else image
    known = registry.scanners()
    chosen = [known[name] for name in request.scanners if name in known]
    if not chosen:
        return []
    with ThreadPoolExecutor(max_workers=len(chosen), thread_name_prefix="scanner") as pool:
        futures = [
            pool.submit(_scan_one, s, request, source, workdir, on_package_list) for s in chosen
        ]
        return [future.result() for future in futures]
