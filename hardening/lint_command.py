"""`hardening lint`: static checks of Dockerfiles, .dockerignore and compose files.

Kept free of the docker and GitHub libraries so it starts fast and runs where no engine is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hardening.errors import UsageError
from hardening.gate import GatePolicy, decide
from hardening.model import Finding, Report, RunStatus, Severity, StageResult, sort_key
from hardening.request import load_policy, parse_fail_on, parse_kinds, relpath, resolve_settings

COMPOSE_SUFFIXES = (".yml", ".yaml")


def _targets(paths: list[str]) -> list[tuple[Path | None, Path | None, Path]]:
    """(dockerfile, compose file, context) for each path given on the command line."""
    targets: list[tuple[Path | None, Path | None, Path]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            dockerfile = path / "Dockerfile"
            targets.append((dockerfile if dockerfile.is_file() else None, None, path))
        elif path.is_file() and path.suffix in COMPOSE_SUFFIXES:
            targets.append((None, path, path.parent))
        elif path.is_file():
            targets.append((path, None, path.parent))
        else:
            raise UsageError(f"{raw} does not exist", "pass Dockerfiles, compose files or folders")
    return targets


def lint_findings(args: argparse.Namespace, workspace: Path) -> tuple[list[Finding], list[str]]:
    from hardening.rules import LintInputs, lint

    findings: list[Finding] = []
    notes: list[str] = []
    explicit_compose = Path(args.compose_file).resolve() if args.compose_file else None
    if explicit_compose is not None and not explicit_compose.is_file():
        raise UsageError(f"compose file {args.compose_file} does not exist", "check the path")
    for dockerfile, compose, context in _targets(args.paths):
        outcome = lint(
            LintInputs(
                workspace=workspace,
                dockerfile=dockerfile.resolve() if dockerfile else None,
                context=context.resolve(),
                compose_file=(compose.resolve() if compose else explicit_compose),
                target=args.target,
            )
        )
        findings.extend(outcome.findings)
        notes.extend(f"{n.level}: {n.message}" for n in outcome.notifications)
    return findings, notes


def run_lint(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).resolve() if args.workspace else Path.cwd().resolve()
    config = load_policy(Path(args.config) if args.config else None, workspace, bool(args.config))
    given: dict[str, object] = {
        "fail-on": (parse_fail_on(args.fail_on) or "none") if args.fail_on is not None else None,
        "fail-on-kinds": parse_kinds(args.fail_on_kinds)
        if args.fail_on_kinds is not None
        else None,
    }
    settings, _ = resolve_settings(given, config)
    fail_on = settings["fail-on"] if isinstance(settings["fail-on"], Severity) else None
    kinds = settings["fail-on-kinds"]
    assert isinstance(kinds, frozenset)
    findings, notes = lint_findings(args, workspace)
    from hardening.policy import apply_policy

    findings, policy_notes, _ = apply_policy(findings, config, workspace, "")
    notes += [f"{n.level}: {n.message}" for n in policy_notes]
    findings.sort(key=sort_key)
    for note in notes:
        print(note)
    for finding in findings:
        where = finding.location.path or "?"
        if finding.location.line:
            where += f":{finding.location.line}"
        state = " (suppressed)" if finding.suppressed else ""
        print(f"{where}: {finding.severity.value} {finding.rule_id} {finding.message}{state}")
    gate = decide(findings, (), GatePolicy(fail_on=fail_on, kinds=kinds))
    if args.sarif or args.summary:
        report = Report(
            findings=tuple(findings),
            stages=(StageResult("hardening checks", RunStatus.OK),),
            category="docker-hardening/lint/",
            dockerfile=",".join(
                relpath(Path(p), workspace) for p in args.paths if Path(p).is_file()
            ),
            verdict=gate.verdict(),
        )
        write_outputs(report, args.sarif, args.summary, workspace)
    print(f"{len(findings)} finding(s); {gate.reason}")
    return int(gate.exit_code)


def write_outputs(report: Report, sarif: str | None, summary: str | None, workspace: Path) -> None:
    from hardening.pipeline import all_rule_docs

    if sarif:
        from hardening.report.sarif import write_sarif

        Path(sarif).parent.mkdir(parents=True, exist_ok=True)
        write_sarif(report, Path(sarif), all_rule_docs(), workspace)
    if summary:
        from hardening.report.markdown import render_report

        Path(summary).parent.mkdir(parents=True, exist_ok=True)
        Path(summary).write_text(render_report(report, limit=900_000), encoding="utf-8")
