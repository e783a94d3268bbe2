"""Running the real Trivy: its database first, bounded on its own, then the scan.

What this module guards against, each seen with trivy 0.76:

- Trivy ignores its own ``--timeout`` while it downloads its database, so a registry that
  accepts connections and never answers hangs the scan. The database update is a separate
  ``--download-db-only`` step with its own timeout (``db_timeout_s``), shared by the
  repositories in order.
- Trivy tries the next ``--db-repository`` only on temporary errors; a DNS failure, a refused
  connection or a 404 stops it at once. Here each repository is tried on its own, so any
  permanent error moves on to the next one; only temporary errors (rate limits, 5xx, timeouts)
  are retried, with capped waits.
- When no repository answers but a database is cached, Trivy fails if that database's
  ``NextUpdate`` has passed. Here the cached database is used (``--skip-db-update``) with a
  warning that gives its age, up to ``db_max_age_s``.
- A database failure must not cost the secret findings: without a database, or when the full
  scan fails, the secret scanner runs on its own.
- Trivy reads ``trivy.yaml``, ``.trivyignore`` and ``TRIVY_*`` variables behind the product's
  back. Every setting that shapes its output is pinned by a flag, it runs in the run's own
  folder, and only the documented variables below reach it. The user's ``.trivyignore`` is
  applied by the product's policy, where suppressions stay visible with their reason.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hardening import processes

DEFAULT_DB_REPOSITORIES = ("mirror.gcr.io/aquasec/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2")
DEFAULT_JAVA_DB_REPOSITORIES = (
    "mirror.gcr.io/aquasec/trivy-java-db:1",
    "ghcr.io/aquasecurity/trivy-java-db:1",
)
# TRIVY_* variables that still reach Trivy: registry credentials and transport settings. The
# database repositories are read by the product (an input or flag beats them) and passed as
# flags; every other TRIVY_* variable is removed, since it would change what Trivy reports.
ALLOWED_ENV = frozenset(
    {
        "TRIVY_USERNAME",
        "TRIVY_PASSWORD",
        "TRIVY_PASSWORD_STDIN",
        "TRIVY_REGISTRY_TOKEN",
        "TRIVY_INSECURE",
        "TRIVY_NON_SSL",
        "TRIVY_AUTH_URL",
        "TRIVY_REGISTRY_MIRRORS",
    }
)
# Only what can succeed later is retried.
TEMPORARY = re.compile(
    r"TOOMANYREQUESTS|429 Too Many Requests|status(?: code)?:? 429|rate limit|"
    r"\b50[0234]\b|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|"
    r"i/o timeout|TLS handshake timeout|connection reset|context deadline exceeded|"
    r"BLOB_UNKNOWN|unexpected EOF",
    re.IGNORECASE,
)
DB_PROBLEM = re.compile(r"\bDB error\b|vulnerability DB|java DB|trivy-java-db", re.IGNORECASE)
JAVA_DB = re.compile(r"java DB|java-db|javadb", re.IGNORECASE)
ATTEMPTS_PER_REPOSITORY = 3
MAX_WAIT_S = 10.0
STDERR_TAIL = 400


def retry_backoff_s() -> float:
    return float(os.environ.get("HARDENING_RETRY_BACKOFF", "2"))


@dataclass(frozen=True, slots=True)
class TrivySettings:
    """Everything about the Trivy run that the product decides."""

    db_repositories: tuple[str, ...] = DEFAULT_DB_REPOSITORIES
    java_db_repositories: tuple[str, ...] = DEFAULT_JAVA_DB_REPOSITORIES
    db_timeout_s: float = 300.0
    db_max_age_s: float = 7 * 86400.0
    scan_timeout_s: float = 900.0
    extra_args: tuple[str, ...] = ()


@dataclass
class TrivyOutcome:
    """What the runs gave: the report files, and why the vulnerability part failed if it did."""

    reports: list[Path] = field(default_factory=list)
    vuln_error: str = ""  # empty: vulnerabilities were scanned
    error: str = ""  # the whole run failed (nothing scanned)
    warnings: list[str] = field(default_factory=list)
    db_source: str = ""  # which repository or cache the database came from


def clean_env(environ: Mapping[str, str], cache: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in environ.items()
        if not key.upper().startswith("TRIVY_") or key.upper() in ALLOWED_ENV
    }
    env["TRIVY_CACHE_DIR"] = str(cache)
    return env


def neutral_files(workdir: Path) -> tuple[Path, Path]:
    """An empty config and an empty ignore file: the user's own apply through our policy."""
    config = workdir / "trivy-config.yaml"
    ignore = workdir / "trivy-ignore"
    config.write_text("{}\n", encoding="utf-8")
    ignore.write_text("", encoding="utf-8")
    return config, ignore


def common_flags(cache: Path, config: Path, ignore: Path) -> list[str]:
    return [
        "--cache-dir", str(cache),
        "--config", str(config),
        "--ignorefile", str(ignore),
        "--quiet",
        "--skip-version-check",
        "--disable-telemetry",
    ]  # fmt: skip


def image_flags(archive: Path | None, engine_id: str = "") -> list[str]:
    """Where Trivy reads the image: from the engine (by id: its layer cache then spares every
    layer it analysed before from being exported), else from a docker-archive."""
    if engine_id:
        return ["--image-src", "docker", engine_id]
    return ["--input", str(archive)]


def scan_flags(target: Sequence[str], output: Path, scanners: str) -> list[str]:
    return [
        *target,
        "--format", "json",
        "--output", str(output),
        "--scanners", scanners,
        "--severity", "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL",
        "--pkg-types", "os,library",
        "--exit-code", "0",
        "--exit-on-eol", "0",
    ]  # fmt: skip


Runner = Callable[[Sequence[str], dict[str, str], float, Path], tuple[int, str]]


def run_process(
    cmd: Sequence[str], env: dict[str, str], timeout: float, cwd: Path
) -> tuple[int, str]:
    """Run Trivy in its own process group, so a timeout or a cancellation stops it."""
    code, _, stderr = processes.run(cmd, env=env, timeout=timeout, cwd=cwd)
    return code, stderr


def tail(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-2:])[-STDERR_TAIL:]


def exit_reason(code: int) -> str:
    return processes.describe_exit(code)


def cause(stderr: str) -> str:
    """The one phrase of Trivy's error that says what went wrong."""
    for pattern, text in (
        (r"no such host", "the registry's host name does not resolve"),
        (r"connection refused", "the connection was refused"),
        (
            r"MANIFEST_UNKNOWN|NAME_UNKNOWN|404 Not Found|status(?: code)?:? 404|\b404\b",
            "not found (404)",
        ),
        (r"TOOMANYREQUESTS|429", "rate limited (429)"),
        (r"UNAUTHORIZED|DENIED|\b401\b|\b403\b", "access denied"),
        (r"certificate|x509|tls:", "a TLS error"),
        (r"i/o timeout|deadline exceeded|TLS handshake timeout", "timed out"),
        (r"\b50[0234]\b", "a server error"),
    ):
        if re.search(pattern, stderr, re.IGNORECASE):
            return text
    return tail(stderr) or "no error output"


def db_metadata(cache: Path) -> dict[str, object] | None:
    try:
        data = json.loads((cache / "db" / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (cache / "db" / "trivy.db").is_file() or not isinstance(data, dict):
        return None
    return data


def _parse_time(value: object) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def db_age_s(metadata: Mapping[str, object], now: datetime.datetime) -> float | None:
    """Age of the database's content (when it was built), else of its download."""
    stamp = _parse_time(metadata.get("UpdatedAt")) or _parse_time(metadata.get("DownloadedAt"))
    return None if stamp is None else max(0.0, (now - stamp).total_seconds())


def describe_age(seconds: float) -> str:
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 86400:.1f} days"


@dataclass
class _Budget:
    deadline: float

    def left(self) -> float:
        return self.deadline - time.monotonic()


def update_db(
    executable: str,
    settings: TrivySettings,
    base: list[str],
    env: dict[str, str],
    workdir: Path,
    run: Runner = run_process,
) -> tuple[bool, str, list[str]]:
    """Fetch or refresh the database: (usable, where it came from or why not, warnings)."""
    budget = _Budget(time.monotonic() + settings.db_timeout_s)
    repositories = list(settings.db_repositories)
    problems: list[str] = []
    warnings: list[str] = []
    for index, repository in enumerate(repositories):
        share = budget.left() / max(1, len(repositories) - index)
        ok, problem = _fetch_from(executable, repository, base, env, workdir, share, run, warnings)
        if ok:
            return True, repository, warnings
        problems.append(f"{repository}: {problem}")
        if budget.left() <= 0:
            break
    return False, "; ".join(problems), warnings


def _fetch_from(
    executable: str,
    repository: str,
    base: list[str],
    env: dict[str, str],
    workdir: Path,
    time_left: float,
    run: Runner,
    warnings: list[str],
) -> tuple[bool, str]:
    started = time.monotonic()
    cmd = [executable, "image", "--download-db-only", "--db-repository", repository, *base]
    problem = ""
    for attempt in range(1, ATTEMPTS_PER_REPOSITORY + 1):
        remaining = time_left - (time.monotonic() - started)
        if remaining <= 0:
            break
        try:
            code, stderr = run(cmd, env, remaining, workdir)
        except subprocess.TimeoutExpired:
            return False, f"no answer within {time_left:.0f}s (the database download hung)"
        except OSError as exc:
            return False, f"trivy could not be started: {exc}"
        if code == 0:
            return True, ""
        problem = cause(stderr) if code > 0 else exit_reason(code)
        if code < 0 or not TEMPORARY.search(stderr) or attempt == ATTEMPTS_PER_REPOSITORY:
            break
        wait = min(MAX_WAIT_S, retry_backoff_s() * (2 ** (attempt - 1)))
        wait = min(wait, max(0.0, time_left - (time.monotonic() - started) - 1))
        warnings.append(f"trivy database from {repository}: {problem}; retrying in {wait:.0f}s")
        time.sleep(wait)
    return False, problem or "no time left"


def cached_db(cache: Path, max_age_s: float) -> tuple[bool, str]:
    """Whether a cached database may stand in: (usable, a sentence about it)."""
    metadata = db_metadata(cache)
    if metadata is None:
        return False, "no database is cached"
    age = db_age_s(metadata, datetime.datetime.now(datetime.UTC))
    if age is None:
        return False, "the cached database has no date"
    if age > max_age_s:
        return False, (
            f"the cached database is {describe_age(age)} old, older than the maximum of "
            f"{describe_age(max_age_s)} (db-max-age)"
        )
    return True, f"the cached database from {describe_age(age)} ago"


@contextlib.contextmanager
def cache_lock(cache: Path) -> Iterator[None]:
    """One Trivy at a time per cache folder: Trivy locks its layer cache and gives up after a
    few seconds, so runs that share a persisted cache take turns instead of failing."""
    with (cache / ".docker-hardening.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_trivy(
    executable: str,
    settings: TrivySettings,
    target: Sequence[str],
    workdir: Path,
    cache: Path,
    run: Runner = run_process,
) -> TrivyOutcome:
    """The database step, then one scan (vulnerabilities and secrets, listing every package
    for the SBOM), or secrets alone; one Trivy at a time on ``cache``."""
    with cache_lock(cache):
        return _run_trivy(executable, settings, target, workdir, cache, run)


def _run_trivy(
    executable: str,
    settings: TrivySettings,
    target: Sequence[str],
    workdir: Path,
    cache: Path,
    run: Runner,
) -> TrivyOutcome:
    outcome = TrivyOutcome()
    env = clean_env(os.environ, cache)
    config, ignore = neutral_files(workdir)
    base = common_flags(cache, config, ignore)
    usable, detail, warnings = update_db(executable, settings, base, env, workdir, run)
    outcome.warnings.extend(warnings)
    if usable:
        outcome.db_source = detail
    else:
        fallback, sentence = cached_db(cache, settings.db_max_age_s)
        if fallback:
            outcome.db_source = "cache"
            outcome.warnings.append(
                f"trivy could not update its vulnerability database ({detail}); using {sentence}"
            )
        else:
            outcome.vuln_error = (
                f"could not fetch its vulnerability database ({detail}); {sentence}"
            )
    scanners = "vuln,secret" if not outcome.vuln_error else "secret"
    first = _scan(executable, settings, target, workdir, base, env, scanners, run)
    if isinstance(first, Path):
        outcome.reports.append(first)
        return outcome
    if scanners == "secret":
        outcome.error = first
        return outcome
    # The full scan failed (a Java DB that could not be had, a crash): keep the secrets.
    hint = " (its Java database could not be fetched)" if JAVA_DB.search(first) else ""
    outcome.vuln_error = f"the vulnerability scan failed{hint}: {first}"
    second = _scan(executable, settings, target, workdir, base, env, "secret", run)
    if isinstance(second, Path):
        outcome.reports.append(second)
    else:
        outcome.error = f"{outcome.vuln_error}; the secret scan failed too: {second}"
    return outcome


def _scan(
    executable: str,
    settings: TrivySettings,
    target: Sequence[str],
    workdir: Path,
    base: list[str],
    env: dict[str, str],
    scanners: str,
    run: Runner,
) -> Path | str:
    """One scan; the report's path, or why there is none."""
    output = workdir / f"trivy-{scanners.replace(',', '-')}.json"
    output.unlink(missing_ok=True)
    cmd = [executable, "image", *scan_flags(target, output, scanners), *base]
    if "vuln" in scanners:
        cmd += ["--skip-db-update", "--java-db-repository", ",".join(settings.java_db_repositories)]
        cmd += ["--list-all-pkgs"]  # every package, for the SBOM (trivy convert)
    cmd += list(settings.extra_args)
    try:
        code, stderr = run(cmd, env, settings.scan_timeout_s, workdir)
    except subprocess.TimeoutExpired:
        return (
            f"did not finish within {settings.scan_timeout_s:.0f}s "
            "(raise the scanner timeout, or persist the database cache between runs)"
        )
    except OSError as exc:
        return f"could not be started: {exc}"
    if code != 0:
        return f"{exit_reason(code)}: {tail(stderr) or 'no error output'}"
    if not output.is_file():
        return "wrote no report"
    return output
