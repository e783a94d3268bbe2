"""Measuring one image for the base-image recommendation: pull it by digest, ``docker save``
it once, scan that archive with the run's own scanners and database (``run_scanners`` with the
run's request), and read the facts from its layers (OS and its end of life, shell, package
manager, default user, OS packages) and its size from the engine.

Pulls and exports run side by side; the scans run one after another on the one database
cache, so no two Trivy processes wait on its lock. Every step is bounded by the
recommendation's own deadline. An image the engine did not hold before is removed again.
"""

from __future__ import annotations

import datetime
import posixpath
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hardening import processes
from hardening.model import ImageInfo, ImageMeasure, Kind, RunStatus, Severity
from hardening.request import ScanRequest
from hardening.targets.image import ImageFacts, read_image_facts

DPKG_STATUS = "var/lib/dpkg/status"
DPKG_STATUS_D = "var/lib/dpkg/status.d/"  # distroless: one file per package
APK_INSTALLED = "lib/apk/db/installed"
RPM_SQLITE = "var/lib/rpm/rpmdb.sqlite"
PACKAGE_FILES = (DPKG_STATUS, APK_INSTALLED, RPM_SQLITE)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def out_of_time(self) -> str:
        return f"not measured: the recommendation's time limit ({self.seconds:.0f} s) ran out"


@dataclass
class Prepared:
    """An image in the engine and its archive, ready to scan."""

    image: ImageInfo
    archive: Path
    facts: ImageFacts
    packages: int | None
    pulled: str = ""  # the reference this run pulled (removed afterwards); "" if it was there


def _docker(args: list[str], deadline: Deadline) -> str:
    """Run the docker CLI within the deadline; "" on success, else why not."""
    from hardening.adapters.docker_engine import docker_cli

    if deadline.left() <= 1:
        return deadline.out_of_time()
    try:
        code, _, err = processes.run([docker_cli(), *args], timeout=deadline.left())
    except subprocess.TimeoutExpired:
        return deadline.out_of_time()
    if code != 0:
        lines = [line for line in err.strip().splitlines() if line.strip()]
        return f"docker {args[0]} failed: {(lines[-1] if lines else processes.describe_exit(code))[:300]}"
    return ""


def _held(client: Any, reference: str) -> bool:
    from docker.errors import DockerException

    try:
        client.images.get(reference)
    except DockerException:
        return False
    return True


def prepare(
    client: Any, reference: str, folder: Path, platform: str, deadline: Deadline
) -> Prepared:
    """Pull ``reference`` (name@digest) unless the engine holds it, and export it once."""
    from hardening.adapters import docker_engine
    from hardening.errors import ToolError

    pulled = ""
    if not _held(client, reference):
        platform_args = ["--platform", platform] if platform else []
        problem = _docker(["pull", "--quiet", *platform_args, reference], deadline)
        if problem:
            raise ToolError(problem, "")
        pulled = reference
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / "image.tar"
    try:
        problem = _docker(["save", "-o", str(archive), reference], deadline)
        if problem:
            raise ToolError(problem, "")
        image = docker_engine.image_info(reference, archive, client)
        return Prepared(
            image, archive, read_image_facts(image, archive), count_packages(archive), pulled
        )
    except BaseException:
        if pulled:
            remove(client, pulled)
        raise


def remove(client: Any, reference: str) -> None:
    from hardening.adapters.docker_engine import remove_image

    remove_image(client, reference)


def scan(
    request: ScanRequest, prepared: Prepared, folder: Path, deadline: Deadline
) -> tuple[list[Any], tuple[str, ...], str]:
    """(vulnerabilities, the scanners that ran, why not) with the run's scanners and database."""
    from hardening.scanners.merge import merge_findings
    from hardening.scanners.runner import run_scanners

    left = deadline.left()
    if left <= 1:
        return [], (), deadline.out_of_time()
    folder.mkdir(parents=True, exist_ok=True)
    bounded = replace(
        request, scanner_timeout_s=min(request.scanner_timeout_s, left),
        db_timeout_s=min(request.db_timeout_s, left),
    )  # fmt: skip
    outcomes = run_scanners(bounded, prepared.archive, folder)
    failed = [o.run for o in outcomes if o.run.status is RunStatus.FAILED]
    if failed:
        return [], (), "; ".join(f"{run.name} failed: {run.reason}" for run in failed)[:500]
    ran = tuple(o.run.name for o in outcomes if o.run.status is RunStatus.OK)
    if not ran:
        return [], (), "no scanner ran (install one, or name it with --scanners)"
    merged = merge_findings([f for o in outcomes for f in o.findings])
    return [f for f in merged if f.kind is Kind.VULNERABILITY], ran, ""


def measured(
    reference: str, digest: str, prepared: Prepared, vulns: list[Any], today: datetime.date
) -> ImageMeasure:
    counts = {severity: 0 for severity in Severity}
    for finding in vulns:
        counts[finding.severity] += 1

    def fixable(severity: Severity) -> int:
        return sum(
            1 for f in vulns if f.severity is severity and f.package and f.package.fixed_version
        )

    release = prepared.facts.os_release
    eol = release.eol() if release is not None else None
    return ImageMeasure(
        reference=reference, digest=digest,
        counts=tuple((s, n) for s, n in sorted(counts.items(), key=lambda p: -p[0].rank) if n),
        fixable_critical=fixable(Severity.CRITICAL), fixable_high=fixable(Severity.HIGH),
        size=prepared.image.size, packages=prepared.packages,
        os=(release.pretty_name or f"{release.id} {release.version_id}") if release else "",
        os_id=f"{release.id} {release.version_id}".strip() if release else "",
        eol=eol.isoformat() if eol else "", eol_passed=bool(eol and eol < today),
        shells=prepared.facts.shells, package_managers=prepared.facts.package_managers,
        user=prepared.facts.user,
    )  # fmt: skip


# OS packages, read from the package database in the image's layers.


def _package_file(path: str) -> bool:
    return path in PACKAGE_FILES or (
        path.startswith(DPKG_STATUS_D) and "/" not in path[len(DPKG_STATUS_D) :]
    )


def _layer_members(archive: Path) -> dict[str, bytes]:
    """The package databases as the image's final filesystem has them (whiteouts applied)."""
    import json

    present: dict[str, bytes] = {}
    with tarfile.open(archive) as outer:
        handle = outer.extractfile("manifest.json")
        layers = json.load(handle)[0].get("Layers", []) if handle is not None else []
        for member in layers:
            stream = outer.extractfile(member)
            if stream is None:
                continue
            with tarfile.open(fileobj=stream, mode="r:*") as layer:
                for info in layer:
                    path = (
                        posixpath.normpath(info.name.lstrip("./"))
                        if info.name not in (".", "./")
                        else ""
                    )
                    folder, base = posixpath.split(path)
                    if base == ".wh..wh..opq":
                        present = {
                            k: v for k, v in present.items() if not k.startswith(folder + "/")
                        }
                    elif base.startswith(".wh."):
                        gone = posixpath.join(folder, base[4:])
                        present = {
                            k: v
                            for k, v in present.items()
                            if k != gone and not k.startswith(gone + "/")
                        }
                    elif info.isfile() and _package_file(path):
                        content = layer.extractfile(info)
                        present[path] = content.read() if content is not None else b""
    return present


def _stanzas(text: bytes) -> list[str]:
    return [s for s in text.decode(errors="replace").split("\n\n") if s.strip()]


def _dpkg_installed(stanza: str) -> bool:
    status = next((line for line in stanza.splitlines() if line.startswith("Status:")), "")
    return stanza.lstrip().startswith("Package:") and (not status or status.endswith(" installed"))


def _rpm_count(data: bytes) -> int | None:
    with tempfile.NamedTemporaryFile(suffix=".sqlite") as copy:
        copy.write(data)
        copy.flush()
        try:
            connection = sqlite3.connect(f"file:{copy.name}?mode=ro", uri=True)
            try:
                return int(connection.execute("SELECT COUNT(*) FROM Packages").fetchone()[0])
            finally:
                connection.close()
        except sqlite3.Error:
            return None


def count_packages(archive: Path) -> int | None:
    """OS packages installed (dpkg, distroless status.d, apk, rpm's sqlite database); None
    when the image has no package database that can be read."""
    files = _layer_members(archive)
    found = False
    total = 0
    dpkg = [files[p] for p in sorted(files) if p == DPKG_STATUS or p.startswith(DPKG_STATUS_D)]
    if dpkg:
        found = True
        total += sum(1 for data in dpkg for s in _stanzas(data) if _dpkg_installed(s))
    if APK_INSTALLED in files:
        found = True
        total += sum(1 for s in _stanzas(files[APK_INSTALLED]) if "\nP:" in f"\n{s}")
    if RPM_SQLITE in files:
        rpm = _rpm_count(files[RPM_SQLITE])
        if rpm is not None:
            found, total = True, total + rpm
    return total if found else None
