"""Baseline: what this pull request introduces. Findings are matched by their stable
fingerprint against a baseline run's SARIF file (written by this action)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

from hardening.errors import UsageError
from hardening.model import FINGERPRINT_KEY, Finding


def baseline_fingerprints(path: Path) -> set[str]:
    """The fingerprints of a baseline SARIF file; a missing or unreadable one is a usage error
    (checked before the run starts, so the ignores and VEX are never silently dropped)."""
    if not path.is_file():
        raise UsageError(
            f"baseline SARIF {path} does not exist",
            "write it before the scan (a SARIF file from an earlier run) "
            "or remove baseline.sarif from the policy file",
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise UsageError(
            f"baseline {path} cannot be read as SARIF ({problem})",
            "pass a SARIF file written by docker-hardening",
        ) from None
    runs = document.get("runs") if isinstance(document, dict) else None
    if not isinstance(runs, list):
        raise UsageError(
            f"baseline {path} is not SARIF (no runs)",
            "pass a SARIF file written by docker-hardening",
        )
    prints = set()
    for run in runs:
        results = run.get("results") if isinstance(run, dict) else None
        for result in results if isinstance(results, list) else []:
            if not isinstance(result, dict):
                continue
            value = (result.get("partialFingerprints") or {}).get(FINGERPRINT_KEY) or (
                result.get("properties") or {}
            ).get("fingerprint")
            if value:
                prints.add(str(value))
    return prints


def compare(findings: list[Finding], baseline: set[str]) -> tuple[list[Finding], dict[str, int]]:
    """Mark each finding new or unchanged; count new, unchanged and fixed."""
    current = {f.fingerprint for f in findings}
    out = []
    counts = {"new": 0, "unchanged": 0, "fixed": len(baseline - current)}
    for finding in findings:
        state = "unchanged" if finding.fingerprint in baseline else "new"
        counts[state] += 1
        out.append(replace(finding, properties=(*finding.properties, ("baseline", state))))
    return out, counts


def new_only(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.property("baseline", "new") == "new"]


def base_worktree(workspace: Path, base_sha: str) -> Path:
    """A detached worktree of the pull request's base commit inside the workspace."""
    target = workspace / ".docker-hardening-base"
    if target.exists():
        subprocess.run(
            ["git", "-C", str(workspace), "worktree", "remove", "--force", str(target)],
            capture_output=True,
        )
    result = subprocess.run(
        ["git", "-C", str(workspace), "worktree", "add", "--detach", str(target), base_sha],
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise UsageError(
            f"cannot check out the base commit {base_sha[:12]}: {result.stderr.strip()[:200]}",
            "fetch enough history (actions/checkout with fetch-depth: 0)",
        )
    return target
