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
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hardening.model import Finding, Notification, RunStatus, ToolRun
from hardening.request import ScanRequest
from hardening.scanners.common import ParsedReport
from hardening.scanners.grype import looks_like_grype, parse_grype
from hardening.scanners.trivy import looks_like_trivy, parse_trivy
from hardening.scanners.trivy_exec import (
    DEFAULT_DB_REPOSITORIES,
    DEFAULT_JAVA_DB_REPOSITORIES,
    TrivySettings,
    exit_reason,
    retry_backoff_s,
    run_process,
    run_trivy,
    tail,
)
from hardening.supply.sbom import find_tool

INFORMATION_URIS = {
    "trivy": "https://github.com/aquasecurity/trivy",
    "grype": "https://github.com/anchore/grype",
}
RETRYABLE = re.compile(
    r"TOOMANYREQUESTS|429 Too Many Requests|rate limit|i/o timeout|TLS handshake timeout|"
    r"connection reset|context deadline exceeded|\b50[0234]\b|Service Unavailable",
    re.IGNORECASE,
)
ATTEMPTS = 3
MAX_WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class ScannerOutcome:
    run: ToolRun
    findings: tuple[Finding, ...] = ()
    notifications: tuple[Notification, ...] = field(default_factory=tuple)


def _extra_args(request: ScanRequest, tool: str) -> list[str]:
    return [arg for name, args in request.scanner_extra_args if name == tool for arg in args]


def trivy_settings(request: ScanRequest) -> TrivySettings:
    return TrivySettings(
        db_repositories=request.trivy_db_repositories or DEFAULT_DB_REPOSITORIES,
        java_db_repositories=request.trivy_java_db_repositories or DEFAULT_JAVA_DB_REPOSITORIES,
        db_timeout_s=request.db_timeout_s,
        db_max_age_s=request.db_max_age_s,
        scan_timeout_s=request.scanner_timeout_s,
        extra_args=tuple(_extra_args(request, "trivy")),
    )


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


def _missing(tool: str, request: ScanRequest) -> ScannerOutcome:
    uri = INFORMATION_URIS[tool]
    if request.scanners_explicit:
        reason = f"{tool} is not installed (install it, or leave it out of --scanners)"
        return ScannerOutcome(
            ToolRun(tool, RunStatus.FAILED, reason=reason, information_uri=uri),
            notifications=(Notification("error", "scanners", reason),),
        )
    reason = f"{tool} is not installed; skipped (install it to scan with it)"
    return ScannerOutcome(
        ToolRun(tool, RunStatus.SKIPPED, reason=reason, information_uri=uri),
        notifications=(Notification("warning", "scanners", reason),),
    )


def read_report(tool: str, path: Path) -> ParsedReport | str:
    """A scanner's report file, parsed; or why it cannot be used."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "wrote no report"
    except (ValueError, UnicodeDecodeError):
        return "wrote a report that is not JSON"
    looks, parse = (
        (looks_like_trivy, parse_trivy) if tool == "trivy" else (looks_like_grype, parse_grype)
    )
    if not looks(document):
        return f"wrote JSON that is not {tool.capitalize()}'s report format"
    try:
        return parse(document, "")
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return f"wrote a report this version cannot read ({type(exc).__name__}: {exc})"


def _scan_trivy(
    executable: str, request: ScanRequest, archive: Path, workdir: Path, cache: Path
) -> tuple[list[Finding], str, list[str], str]:
    """(findings, why the run failed or "", warnings, version from the report)."""
    outcome = run_trivy(executable, trivy_settings(request), archive, workdir, cache)
    findings: list[Finding] = []
    version = ""
    problems = [outcome.vuln_error] if outcome.vuln_error else []
    for path in outcome.reports:
        parsed = read_report("trivy", path)
        if isinstance(parsed, str):
            problems.append(parsed)
            continue
        findings.extend(parsed.findings)
        version = version or parsed.version
    if outcome.error:
        problems = [outcome.error]
    return findings, "; ".join(problems), outcome.warnings, version


def _scan_grype(
    executable: str, request: ScanRequest, archive: Path, workdir: Path, cache: Path
) -> tuple[list[Finding], str, list[str], str]:
    output = workdir / "grype.json"
    cmd = grype_command(executable, archive, output, request)
    env = dict(os.environ, GRYPE_DB_CACHE_DIR=str(cache), GRYPE_CHECK_FOR_APP_UPDATE="false")
    warnings: list[str] = []
    started = time.monotonic()
    for attempt in range(1, ATTEMPTS + 1):
        output.unlink(missing_ok=True)
        remaining = request.scanner_timeout_s - (time.monotonic() - started)
        if remaining <= 0:
            return [], f"did not finish within {request.scanner_timeout_s:.0f}s", warnings, ""
        try:
            code, stderr = run_process(cmd, env, remaining, workdir)
        except subprocess.TimeoutExpired:
            return [], (
                f"did not finish within {request.scanner_timeout_s:.0f}s "
                "(raise the scanner timeout, or persist the database cache between runs)"
            ), warnings, ""  # fmt: skip
        except OSError as exc:
            return [], f"could not be started: {exc}", warnings, ""
        if code == 0:
            break
        if code > 0 and attempt < ATTEMPTS and RETRYABLE.search(stderr):
            wait = min(MAX_WAIT_S, retry_backoff_s() * (2 ** (attempt - 1)))
            warnings.append(
                f"grype: attempt {attempt} failed ({tail(stderr)}); retrying in {wait:.0f}s"
            )
            time.sleep(wait)
            continue
        return [], f"{exit_reason(code)}: {tail(stderr) or 'no error output'}", warnings, ""
    parsed = read_report("grype", output)
    if isinstance(parsed, str):
        return [], parsed, warnings, ""
    return list(parsed.findings), "", warnings, parsed.version


def _scan_one(tool: str, request: ScanRequest, archive: Path, workdir: Path) -> ScannerOutcome:
    executable = find_tool(tool)
    if not executable:
        return _missing(tool, request)
    version = _version(executable, tool)
    # Never parents=True under the run's folder: a cancelled run removes it, and a scanner
    # thread still unwinding must not create it again.
    if request.db_cache_dir is None:
        (workdir / "cache").mkdir(exist_ok=True)
        cache = workdir / "cache" / tool
    else:
        cache = request.db_cache_dir / tool
        cache.parent.mkdir(parents=True, exist_ok=True)
    cache.mkdir(exist_ok=True)
    own = workdir / tool
    own.mkdir(exist_ok=True)
    started = time.monotonic()
    scan = _scan_trivy if tool == "trivy" else _scan_grype
    findings, problem, warnings, reported = scan(executable, request, archive, own, cache)
    notes = [Notification("warning", "scanners", w) for w in warnings]
    if problem:
        notes.append(Notification("error", "scanners", f"{tool} failed: {problem}"))
    status = RunStatus.FAILED if problem else RunStatus.OK
    run = ToolRun(
        tool,
        status,
        version or reported,
        problem,
        time.monotonic() - started,
        INFORMATION_URIS[tool],
    )
    return ScannerOutcome(run, tuple(findings), tuple(notes))


def run_scanners(request: ScanRequest, archive: Path, workdir: Path) -> list[ScannerOutcome]:
    """Both scanners at once on the same archive; results in the order they were asked for."""
    tools = list(request.scanners)
    if not tools:
        return []
    with ThreadPoolExecutor(max_workers=len(tools), thread_name_prefix="scanner") as pool:
        futures = [pool.submit(_scan_one, tool, request, archive, workdir) for tool in tools]
        return [future.result() for future in futures]
