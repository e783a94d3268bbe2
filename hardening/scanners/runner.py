"""Run Trivy and Grype side by side on the one exported image archive.

Each scanner runs in its own process, concurrently, with its own timeout and its own cache
folder, asked for its native JSON. Whatever goes wrong with one (missing, timed out, no
database, exited non-zero, printed something that is not its JSON) becomes a FAILED run with
the reason, and never touches the other's findings. The product never falls back to recorded
data.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hardening.model import Finding, Notification, RunStatus, ToolRun
from hardening.request import ScanRequest
from hardening.scanners.common import ParsedReport
from hardening.scanners.grype import looks_like_grype, parse_grype
from hardening.scanners.trivy import looks_like_trivy, parse_trivy

INFORMATION_URIS = {
    "trivy": "https://github.com/aquasecurity/trivy",
    "grype": "https://github.com/anchore/grype",
}
# Trivy's database repositories, tried in order: the mirror first (no GitHub rate limit).
TRIVY_DB_REPOSITORIES = ("mirror.gcr.io/aquasec/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2")
TRIVY_JAVA_DB_REPOSITORIES = (
    "mirror.gcr.io/aquasec/trivy-java-db:1",
    "ghcr.io/aquasecurity/trivy-java-db:1",
)
RETRYABLE = re.compile(
    r"TOOMANYREQUESTS|429 Too Many Requests|rate limit|i/o timeout|TLS handshake timeout|"
    r"connection reset|context deadline exceeded|failed to download|unable to download|"
    r"db download error|failed to load vulnerability db",
    re.IGNORECASE,
)
ATTEMPTS = 3
BACKOFF_S = float(os.environ.get("HARDENING_RETRY_BACKOFF", "10"))
STDERR_TAIL = 600


@dataclass(frozen=True, slots=True)
class ScannerOutcome:
    run: ToolRun
    findings: tuple[Finding, ...] = ()
    notifications: tuple[Notification, ...] = field(default_factory=tuple)


def _extra_args(request: ScanRequest, tool: str) -> list[str]:
    return [arg for name, args in request.scanner_extra_args if name == tool for arg in args]


def trivy_command(
    executable: str, archive: Path, output: Path, cache: Path, request: ScanRequest
) -> list[str]:
    return [
        executable, "image",
        "--input", str(archive),
        "--format", "json",
        "--output", str(output),
        "--scanners", "vuln,secret",
        "--cache-dir", str(cache),
        "--timeout", f"{int(request.scanner_timeout_s)}s",
        "--db-repository", ",".join(TRIVY_DB_REPOSITORIES),
        "--java-db-repository", ",".join(TRIVY_JAVA_DB_REPOSITORIES),
        "--quiet",
        *_extra_args(request, "trivy"),
    ]  # fmt: skip


def grype_command(executable: str, archive: Path, output: Path, request: ScanRequest) -> list[str]:
    return [
        executable, f"docker-archive:{archive}",
        "-o", "json",
        "--file", str(output),
        "--quiet",
        *_extra_args(request, "grype"),
    ]  # fmt: skip


def _version(executable: str, tool: str) -> str:
    cmd = (
        [executable, "version", "--format", "json"]
        if tool == "trivy"
        else [executable, "version", "-o", "json"]
    )
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
        data = json.loads(out)
        return str(data.get("Version") or data.get("version") or "")
    except (OSError, subprocess.TimeoutExpired, ValueError, AttributeError):
        return ""


def _run(cmd: Sequence[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    """Run a scanner in its own process group, so a timeout kills it and its children."""
    proc = subprocess.Popen(
        list(cmd),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=env,
        start_new_session=True,
    )
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return proc.returncode, stderr or ""


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-3:])[-STDERR_TAIL:]


def _scan_one(tool: str, request: ScanRequest, archive: Path, workdir: Path) -> ScannerOutcome:
    executable = shutil.which(tool)
    if executable is None:
        if request.scanners_explicit:
            reason = f"{tool} is not installed (install it, or leave it out of --scanners)"
            return ScannerOutcome(
                ToolRun(
                    tool, RunStatus.FAILED, reason=reason, information_uri=INFORMATION_URIS[tool]
                ),
                notifications=(Notification("error", "scanners", reason),),
            )
        reason = f"{tool} is not installed; skipped (install it to scan with it)"
        return ScannerOutcome(
            ToolRun(tool, RunStatus.SKIPPED, reason=reason, information_uri=INFORMATION_URIS[tool]),
            notifications=(Notification("warning", "scanners", reason),),
        )
    version = _version(executable, tool)
    cache_root = request.db_cache_dir or (workdir / "cache")
    cache = cache_root / tool
    cache.mkdir(parents=True, exist_ok=True)
    output = workdir / f"{tool}.json"
    env = dict(os.environ)
    if tool == "trivy":
        cmd = trivy_command(executable, archive, output, cache, request)
        env["TRIVY_CACHE_DIR"] = str(cache)
    else:
        cmd = grype_command(executable, archive, output, request)
        env.update(
            GRYPE_DB_CACHE_DIR=str(cache),
            GRYPE_CHECK_FOR_APP_UPDATE="false",
        )
    started = time.monotonic()
    notes: list[Notification] = []

    def failed(reason: str) -> ScannerOutcome:
        notes.append(Notification("error", "scanners", f"{tool} failed: {reason}"))
        return ScannerOutcome(
            ToolRun(
                tool,
                RunStatus.FAILED,
                version,
                reason,
                time.monotonic() - started,
                INFORMATION_URIS[tool],
            ),  # fmt: skip
            notifications=tuple(notes),
        )

    for attempt in range(1, ATTEMPTS + 1):
        output.unlink(missing_ok=True)
        remaining = request.scanner_timeout_s - (time.monotonic() - started)
        if remaining <= 0:
            return failed(f"did not finish within {request.scanner_timeout_s:.0f}s")
        try:
            code, stderr = _run(cmd, env, remaining)
        except subprocess.TimeoutExpired:
            return failed(
                f"did not finish within {request.scanner_timeout_s:.0f}s "
                "(raise the scanner timeout, or persist the database cache between runs)"
            )
        except OSError as exc:
            return failed(f"could not be started: {exc}")
        if code == 0:
            break
        if attempt < ATTEMPTS and RETRYABLE.search(stderr):
            wait = BACKOFF_S * (2 ** (attempt - 1))
            notes.append(
                Notification(
                    "warning",
                    "scanners",
                    f"{tool}: attempt {attempt} failed ({_tail(stderr)}); retrying in {wait:.0f}s",
                )  # fmt: skip
            )
            time.sleep(wait)
            continue
        hint = (
            " (its vulnerability database could not be fetched)" if RETRYABLE.search(stderr) else ""
        )
        return failed(f"exited with code {code}{hint}: {_tail(stderr) or 'no error output'}")
    try:
        document = json.loads(output.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return failed("wrote no report")
    except (ValueError, UnicodeDecodeError):
        return failed("wrote a report that is not JSON")
    if tool == "trivy" and not looks_like_trivy(document):
        return failed("wrote JSON that is not Trivy's report format")
    if tool == "grype" and not looks_like_grype(document):
        return failed("wrote JSON that is not Grype's report format")
    parsed: ParsedReport = (
        parse_trivy(document, str(output))
        if tool == "trivy"
        else parse_grype(document, str(output))
    )
    return ScannerOutcome(
        ToolRun(
            tool,
            RunStatus.OK,
            version or parsed.version,
            "",
            time.monotonic() - started,
            INFORMATION_URIS[tool],
        ),  # fmt: skip
        parsed.findings,
        tuple(notes),
    )


def run_scanners(request: ScanRequest, archive: Path, workdir: Path) -> list[ScannerOutcome]:
    """Both scanners at once on the same archive; results in the order they were asked for."""
    tools = list(request.scanners)
    if not tools:
        return []
    with ThreadPoolExecutor(max_workers=len(tools), thread_name_prefix="scanner") as pool:
        futures = [pool.submit(_scan_one, tool, request, archive, workdir) for tool in tools]
        return [future.result() for future in futures]
