"""`hardening lint`: static checks of Dockerfiles, .dockerignore and compose files.

Kept free of the docker and GitHub libraries so it starts fast and runs where no engine is.
"""

from __future__ import annotations

from pathlib import Path

from hardening.errors import UsageError
from hardening.gate import decide
from hardening.model import Finding, sort_key
from hardening.policy import apply_policy, load_policy
from hardening.settings import given_from_flags, resolve

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:
    import argparse

    from hardening.gate import GateResult
    from hardening.model import Report
    from hardening.settings import Settings

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


def lint_targets(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """--sarif and --summary (aliases) and every --output FORMAT=PATH, checked up front."""
    targets: list[tuple[str, Path]] = []
    if args.output:
        from hardening.outputs import parse_output

        targets = [parse_output(spec) for spec in args.output]
    if args.sarif:
        targets.insert(0, ("sarif", Path(args.sarif)))
    if args.summary:
        targets.insert(1 if args.sarif else 0, ("markdown", Path(args.summary)))
    return targets


def run_lint(args: argparse.Namespace) -> int:
    """The same settings, policy and gate as ``scan``, over the static checks."""
    workspace = Path(args.workspace).resolve() if args.workspace else Path.cwd().resolve()
    targets = lint_targets(args)  # usage errors first, before anything runs
    config = load_policy(Path(args.config) if args.config else None, workspace, bool(args.config))
    settings = resolve(given_from_flags(args), config)
    findings, notes = lint_findings(args, workspace)
    findings, policy_notes, _ = apply_policy(findings, config, workspace, "")
    notes += [f"{n.level}: {n.message}" for n in policy_notes]
    findings.sort(key=sort_key)
    _print(findings, notes)
    gate = decide(findings, (), settings.gate_policy())
    if targets:
        write_outputs(_report(args, findings, settings, gate, workspace), targets, workspace)
    print(f"{len(findings)} finding(s); {gate.reason}")
    return int(gate.exit_code)


def _report(
    args: argparse.Namespace,
    findings: list[Finding],
    settings: Settings,
    gate: GateResult,
    workspace: Path,
) -> Report:
    from hardening.model import Report, RunStatus, StageResult
    from hardening.request import relpath

    return Report(
        findings=tuple(findings),
        stages=(StageResult("hardening checks", RunStatus.OK),),
        category="docker-hardening/lint/",
        dockerfile=",".join(relpath(Path(p), workspace) for p in args.paths if Path(p).is_file()),
        settings=settings.in_force(),
        verdict=gate.verdict(),
    )


def _print(findings: list[Finding], notes: list[str]) -> None:
    for note in notes:
        print(note)
    for finding in findings:
        where = finding.location.path or "?"
        if finding.location.line:
            where += f":{finding.location.line}"
        state = " (suppressed)" if finding.suppressed else ""
        print(f"{where}: {finding.severity.value} {finding.rule_id} {finding.message}{state}")


def write_outputs(report: Report, targets: list[tuple[str, Path]], workspace: Path) -> None:
    from hardening import outputs
    from hardening.pipeline import all_rule_docs

    outputs.write_outputs(report, targets, all_rule_docs(), workspace)
