"""The `hardening` command. Only this module (and the action entrypoint) exits the process.

Commands: scan, lint, probe, merge, rules, recommend. Exit codes: 0 passed, 1 gate failed on
findings, 2 usage or configuration error, 3 a tool or infrastructure failure.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

from hardening import __version__
from hardening.errors import ExitCode, HardeningError, UsageError
from hardening.settings import GATE_LEVELS

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:
    import argparse
    from typing import Any, NoReturn

    from hardening.request import ScanRequest

EXIT_CODES_HELP = (
    "exit codes: 0 passed; 1 the gate failed on findings; 2 usage or configuration error; "
    "3 a tool or infrastructure failure (no engine, a failed build or scanner)"
)


def _add_output_options(parser: argparse.ArgumentParser, described: bool = True) -> None:
    parser.add_argument("--sarif", metavar="PATH", help="write the SARIF file here")
    parser.add_argument("--summary", metavar="PATH", help="write the Markdown summary here")
    parser.add_argument(
        "--output", action="append", default=[], metavar="FORMAT=PATH",
        help="also write this format (repeatable): " + ", ".join(output_formats())
        if described else None,
    )  # fmt: skip


def scanner_names() -> list[str]:
    """The built-in scanners' names, without importing them (the CLI starts fast)."""
    from hardening.scanners.registry import BUILTIN

    return [module.rsplit(".", 1)[1] for module in BUILTIN]


def output_formats() -> list[str]:
    """The built-in formats' names, without importing them (a format's module is its name)."""
    from hardening.report.formats import BUILTIN

    return [module.rsplit(".", 1)[1] for module in BUILTIN]


def _add_gate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-on",
        default=None,
        metavar="LEVEL",
        help=f"fail on findings at or above this severity: {', '.join(GATE_LEVELS)} (default high)",
    )
    parser.add_argument(
        "--fail-on-kinds",
        default=None,
        metavar="KINDS",
        help="finding kinds that can fail the gate (default: all)",
    )
    parser.add_argument(
        "--fail-on-scope", default=None, choices=["all", "new"],
        help="all findings count (default), or only those the change introduces (with --compare-with)",
    )  # fmt: skip
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="policy file (default: .hardening.yml in the workspace, if any)",
    )


def _add_build_options(scan: argparse.ArgumentParser) -> None:
    scan.add_argument("context", nargs="?", default=".", help="build context (default .)")
    scan.add_argument("-f", "--dockerfile", metavar="PATH", help="default: CONTEXT/Dockerfile")
    scan.add_argument("--target", default="", help="build this stage")
    scan.add_argument("--build-arg", action="append", default=[], metavar="NAME=VALUE")
    scan.add_argument(
        "--secret", action="append", default=[], metavar="id=NAME,src=FILE|env=VAR",
        help="a BuildKit build secret (its value is never printed)",
    )  # fmt: skip
    scan.add_argument("--platform", default="")
    scan.add_argument("-t", "--tag", action="append", default=[], help="also tag the build")
    scan.add_argument("--image", default="", help="scan this existing image; skip the build")
    scan.add_argument(
        "--image-archive", metavar="PATH", help="scan this docker-archive; skip build and export"
    )
    scan.add_argument("--compose-file", metavar="PATH")
    scan.add_argument("--workspace", metavar="DIR", help="repository root (default: cwd)")
    scan.add_argument(
        "--images", action="append", default=[], metavar="GLOB|FILE",
        help="several images in one run: a glob of Dockerfiles ('**/Dockerfile', hidden folders "
        "too) or a YAML file listing them (context, dockerfile, target, build-args, compose-file); "
        "repeatable",
    )  # fmt: skip



def _add_scanner_options(scan: argparse.ArgumentParser) -> None:
    scan.add_argument(
        "--scanners", default=None,
        help="comma-separated, of: " + ", ".join(scanner_names())
        + " (default: every one that is installed; named scanners must succeed)",
    )  # fmt: skip
    scan.add_argument("--scanner-timeout", default="900", metavar="SECONDS")
    scan.add_argument("--db-cache-dir", metavar="DIR", help="vulnerability database cache")
    scan.add_argument(
        "--trivy-db-repository", action="append", default=[], metavar="REPO",
        help="Trivy DB repository (repeat or comma-separate for fallbacks; beats TRIVY_DB_REPOSITORY)",
    )  # fmt: skip
    scan.add_argument(
        "--trivy-java-db-repository", action="append", default=[], metavar="REPO",
        help="Trivy Java DB repository (beats TRIVY_JAVA_DB_REPOSITORY)",
    )  # fmt: skip
    scan.add_argument("--db-timeout", default="300", metavar="SECONDS",
                      help="bound of the database update (default 300)")  # fmt: skip
    scan.add_argument("--db-max-age", default="7", metavar="DAYS",
                      help="use a cached database up to this age when no repository answers")  # fmt: skip


def _add_scan_options(scan: argparse.ArgumentParser) -> None:
    scan.add_argument("--no-probes", action="store_true", help="do not run the image")
    scan.add_argument("--trial-grace", type=float, default=None, metavar="SECONDS")
    scan.add_argument("--ignore-unfixed", action="store_true", default=None)
    scan.add_argument("--category", default="", help="SARIF category (automationDetails.id)")
    scan.add_argument("--sbom", default="cyclonedx", choices=["cyclonedx", "spdx", "none"],
                      help="SBOM format, written beside the SARIF file (default cyclonedx)")  # fmt: skip
    scan.add_argument("--sbom-file", metavar="PATH", help="where to write the SBOM")
    scan.add_argument("--gitlab-report", metavar="PATH", help="same as --output gitlab=PATH")
    scan.add_argument("--fail-on-kev", action="store_true", default=None,
                      help="fail on any vulnerability on CISA's KEV catalog, whatever its severity")  # fmt: skip
    scan.add_argument("--fail-on-epss", default=None, metavar="SCORE",
                      help="fail on any vulnerability with an EPSS score at or above this (0 to 1)")  # fmt: skip
    scan.add_argument(
        "--compare-with", default="", metavar="REF",
        help="also build and scan this commit (a pull request's base) and classify findings "
        "as new, unchanged or fixed",
    )  # fmt: skip
    scan.add_argument(
        "--no-pin-lookup", action="store_true",
        help="do not look up base images' current digests in their registries",
    )  # fmt: skip
    scan.add_argument(
        "--no-signature-check", action="store_true",
        help="do not check the signatures the policy file asks for (docs/signatures.md)",
    )  # fmt: skip
    scan.add_argument(
        "--recommend-base", action="store_true", default=None,
        help="also measure newer, smaller and minimal base images and recommend the best "
        "(informational; docs/recommend.md)",
    )  # fmt: skip


def _add_other_commands(sub: Any) -> None:
    probe = sub.add_parser("probe", help="run an image and report its real runtime")
    probe.add_argument("image")
    probe.add_argument("--json", action="store_true", help="print the result as JSON")
    probe.add_argument("--min-uid", type=int, default=1000)
    probe.add_argument("--trial-grace", type=float, default=5.0, metavar="SECONDS")
    probe.add_argument("--no-trial", action="store_true")

    merge = sub.add_parser("merge", help="turn Trivy/Grype JSON reports into one SARIF file")
    merge.add_argument("reports", nargs="+", metavar="REPORT")
    merge.add_argument("-o", "--output", required=True, metavar="PATH")
    merge.add_argument("--dockerfile", metavar="PATH", help="place results on its lines")
    merge.add_argument("--summary", metavar="PATH")
    merge.add_argument("--category", default="")

    rules = sub.add_parser("rules", help="list the rules, or explain one")
    rules.add_argument("rule_id", nargs="?", metavar="ID")
    rules.add_argument("--json", action="store_true", help="every rule's metadata as JSON")


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="hardening",
        description="Build, scan, check and probe a Docker image; write one SARIF file.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    scan = sub.add_parser(
        "scan", help="the whole pipeline: build, scan, check, probe, report", epilog=EXIT_CODES_HELP
    )
    for add in (_add_build_options, _add_scanner_options, _add_scan_options, _add_gate_options,
                _add_output_options):  # fmt: skip
        add(scan)
    lint = sub.add_parser(
        "lint", help="static checks only (Dockerfile, .dockerignore, compose); no Docker needed"
    )
    add_lint_arguments(lint)
    _add_other_commands(sub)
    from hardening.recommend_command import add_parser

    add_parser(sub, _add_scanner_options)
    return parser


def add_lint_arguments(lint: argparse.ArgumentParser, described: bool = True) -> None:
    lint.add_argument("paths", nargs="*", default=["."], help="Dockerfiles or folders")
    lint.add_argument("--compose-file", metavar="PATH")
    lint.add_argument("--target", default="")
    lint.add_argument("--workspace", metavar="DIR")
    _add_gate_options(lint)
    _add_output_options(lint, described)


# What ``hardening lint`` sets besides its paths when no option is given (a test keeps this
# equal to what the parser gives).
LINT_DEFAULTS: dict[str, object] = {
    "compose_file": None, "target": "", "workspace": None, "fail_on": None,
    "fail_on_kinds": None, "fail_on_scope": None, "config": None, "sarif": None,
    "summary": None,
}  # fmt: skip


def lint_only(argv: Sequence[str]) -> argparse.Namespace | None:
    """What the full parser gives ``hardening lint ...``, without building the parsers of every
    command (or naming the scanners and formats their help lists); None for another command,
    for help and for a usage error, which the full parser then says. Paths alone, the common
    case, need no parser at all."""
    if not argv or argv[0] != "lint":
        return None
    words = list(argv[1:])
    if not any(word.startswith("-") for word in words):  # only positional arguments
        # the parser's attributes on a SimpleNamespace (the lint reads attributes only), so
        # argparse is not even loaded
        namespace: argparse.Namespace = SimpleNamespace(  # type: ignore[assignment]
            command="lint", paths=words or ["."], output=[], **LINT_DEFAULTS
        )
        return namespace
    return _lint_parsed(words)


def _lint_parsed(words: list[str]) -> argparse.Namespace | None:
    """``hardening lint``'s own parser, which never prints: help, an error or an argument it
    does not know (the full parser reports those with its own usage line) give None."""
    import argparse

    class Unusual(Exception):
        pass

    class Unshown(argparse.HelpFormatter):
        def __init__(self, prog: str) -> None:
            super().__init__(prog, width=80)  # never printed: the terminal is not asked

    class LintOnly(argparse.ArgumentParser):
        def print_help(self, file: Any = None) -> NoReturn:
            raise Unusual

        def error(self, message: str) -> NoReturn:
            raise Unusual

        def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
            raise Unusual

    parser = LintOnly(prog="hardening lint", formatter_class=Unshown)
    add_lint_arguments(parser, described=False)
    try:
        args, extra = parser.parse_known_args(words)
    except Unusual:
        return None
    if extra:
        return None
    args.command = "lint"
    return args


def _workspace(value: str | None) -> Path:
    path = Path(value) if value else Path.cwd()
    if not path.is_dir():
        raise UsageError(f"workspace {path} is not a directory", "pass an existing folder")
    return path.resolve()


def _image_inputs(args: argparse.Namespace) -> tuple[Path | None, Path | None, Path | None]:
    """(context, Dockerfile, image archive), checked."""
    from hardening.request import check_build_inputs

    if args.images:  # several images: each one's context and Dockerfile come from --images
        return None, None, None
    if args.image and args.image_archive:
        raise UsageError("--image and --image-archive exclude each other", "pass only one")
    context: Path | None = Path(args.context)
    dockerfile: Path | None = Path(args.dockerfile or Path(args.context) / "Dockerfile")
    archive = Path(args.image_archive) if args.image_archive else None
    if not (args.image or archive):
        assert context is not None and dockerfile is not None
        check_build_inputs(context, dockerfile)
        return context.resolve(), dockerfile.resolve(), None
    if archive is not None and not archive.is_file():
        raise UsageError(f"image archive {archive} does not exist", "check the path")
    # Without a build, a Dockerfile is still used for the checks and locations if present.
    if dockerfile is not None and not dockerfile.is_file():
        if args.dockerfile:
            raise UsageError(f"Dockerfile {dockerfile} does not exist", "check --dockerfile")
        dockerfile = None
    if context is not None and not context.is_dir():
        context = None
    return (
        context.resolve() if context else None,
        dockerfile.resolve() if dockerfile else None,
        archive.resolve() if archive else None,
    )


def _outputs(args: argparse.Namespace) -> tuple[tuple[str, Path], ...]:
    from hardening.outputs import parse_output

    extra = [parse_output(spec) for spec in args.output]
    if getattr(args, "gitlab_report", None):
        extra.append(("gitlab", Path(args.gitlab_report)))
    return tuple((name, path.resolve()) for name, path in extra)


def _scanner_fields(args: argparse.Namespace) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    from hardening.request import db_repositories, parse_scanners, positive_seconds

    trivy_db, trivy_db_source = db_repositories(
        ",".join(args.trivy_db_repository), "TRIVY_DB_REPOSITORY", os.environ
    )
    java_db, java_db_source = db_repositories(
        ",".join(args.trivy_java_db_repository), "TRIVY_JAVA_DB_REPOSITORY", os.environ
    )
    from hardening.scanners import registry

    explicit = args.scanners is not None
    fields: dict[str, Any] = {
        "scanners": parse_scanners(args.scanners) if explicit else registry.default_names(),
        "scanners_explicit": explicit,
        "scanner_timeout_s": positive_seconds(
            args.scanner_timeout, "--scanner-timeout", "pass a number of seconds such as 900"
        ),
        "db_cache_dir": Path(args.db_cache_dir).resolve() if args.db_cache_dir else None,
        "trivy_db_repositories": trivy_db,
        "trivy_java_db_repositories": java_db,
        "db_timeout_s": positive_seconds(
            args.db_timeout, "--db-timeout", "pass a number of seconds such as 300"
        ),
        "db_max_age_s": 86400.0
        * positive_seconds(args.db_max_age, "--db-max-age", "pass a number of days such as 7"),
    }
    sources = (
        ("trivy-db-repository", trivy_db_source),
        ("trivy-java-db-repository", java_db_source),
    )
    return fields, sources


def scan_request_from_args(args: argparse.Namespace) -> ScanRequest:
    from dataclasses import replace

    from hardening.request import ScanRequest, load_policy, parse_build_secret, parse_key_values
    from hardening.settings import given_from_flags, resolve

    workspace = _workspace(args.workspace)
    context, dockerfile, archive = _image_inputs(args)
    compose = Path(args.compose_file) if args.compose_file else None
    if compose is not None and not compose.is_file():
        raise UsageError(f"compose file {compose} does not exist", "check --compose-file")
    scanner_fields, scanner_sources = _scanner_fields(args)
    outputs = _outputs(args)
    config = load_policy(Path(args.config) if args.config else None, workspace, bool(args.config))
    settings = resolve(given_from_flags(args), config)
    settings = replace(settings, sources=settings.sources + scanner_sources)
    return ScanRequest(
        workspace=workspace, context=context, dockerfile=dockerfile, target=args.target,
        build_args=parse_key_values(args.build_arg, "--build-arg"),
        build_secrets=tuple(parse_build_secret(s) for s in args.secret),
        platform=args.platform, tags=tuple(args.tag), image=args.image, image_archive=archive,
        compose_file=compose.resolve() if compose else None, config=config, settings=settings,
        sbom_format=args.sbom, resolve_pins=not args.no_pin_lookup, extra_outputs=outputs,
        verify_signatures=not args.no_signature_check,
        sbom_path=Path(args.sbom_file).resolve() if args.sbom_file else None,
        sarif_path=Path(args.sarif or "docker-hardening.sarif").resolve(),
        summary_path=Path(args.summary or "docker-hardening.md").resolve(),
        category=args.category, compare_with=args.compare_with, **scanner_fields,
    )  # fmt: skip


def cmd_scan(args: argparse.Namespace) -> int:
    import signal

    request = scan_request_from_args(args)
    from hardening.pipeline import run_scan

    # Once the scan is over (outputs written, verdict known) a late signal must not turn a
    # complete run into a crash: the scan handles them while it runs, and after it, they wait.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    if args.images:
        from hardening.pipeline.many import load_specs, run_many

        result = run_many(request, load_specs(args.images, request.workspace))
    else:
        result = run_scan(request)
    print(result.gate.reason, flush=True)
    if result.cancelled:
        # Everything the run made is gone and its outputs are written; stage threads that
        # are still unwinding (their children already stopped) must not delay the exit.
        sys.stderr.flush()
        os._exit(int(result.exit_code))
    return int(result.exit_code)


def cmd_lint(args: argparse.Namespace) -> int:
    from hardening.lint_command import run_lint

    return run_lint(args)


def cmd_probe(args: argparse.Namespace) -> int:
    from hardening.adapters import docker_engine
    from hardening.probes import ProbeOptions, judge, probe_image

    client = docker_engine.connect()
    options = ProbeOptions(
        min_uid=args.min_uid, grace_s=args.trial_grace, run_trial=not args.no_trial
    )
    result = probe_image(client, args.image, options)
    findings = judge(result, options, None)
    if args.json:
        import json

        print(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        from hardening.probes import format_result

        print(format_result(result))
        for finding in findings:
            print(f"{finding.severity.value:>8}  {finding.rule_id}  {finding.message}")
    return int(ExitCode.GATE_FAILED if findings else ExitCode.PASSED)


def cmd_merge(args: argparse.Namespace) -> int:
    from hardening.merge_command import run_merge

    return run_merge(args)


def cmd_recommend(args: argparse.Namespace) -> int:
    from hardening.recommend_command import run_recommend

    return run_recommend(args, _scanner_fields(args)[0])


def cmd_rules(args: argparse.Namespace) -> int:
    import json

    from hardening.pipeline import all_rule_docs

    docs = all_rule_docs()
    if args.rule_id:
        doc = docs.get(args.rule_id) or next(
            (d for d in docs.values() if d.name == args.rule_id), None
        )
        if doc is None:
            raise UsageError(
                f"no rule {args.rule_id!r}", "run `hardening rules` to list every rule id"
            )
        if args.json:
            print(json.dumps(rule_doc_json(doc), indent=2))
        else:
            from hardening.rules.docs import format_rule

            print(format_rule(doc))
        return 0
    if args.json:
        print(
            json.dumps(
                [rule_doc_json(d) for d in sorted(docs.values(), key=lambda d: d.id)], indent=2
            )
        )
        return 0
    for doc in sorted(docs.values(), key=lambda d: d.id):
        items = ",".join(doc.checklist)
        print(f"{doc.id:<9} {doc.severity.value:<8} {items:<12} {doc.name}: {doc.title}")
    return 0


def rule_doc_json(doc: object) -> dict[str, object]:
    from hardening.model import RuleDoc

    assert isinstance(doc, RuleDoc)
    return {
        "id": doc.id,
        "name": doc.name,
        "title": doc.title,
        "severity": doc.severity.value,
        "kind": doc.kind.value,
        "target": doc.target,
        "checklist": list(doc.checklist),
        "owasp": doc.owasp,
        "cross_refs": list(doc.cross_refs),
        "why": doc.why,
        "fix": doc.fix,
        "example_bad": doc.example_bad,
        "example_good": doc.example_good,
    }


COMMANDS = {
    "scan": cmd_scan,
    "lint": cmd_lint,
    "probe": cmd_probe,
    "merge": cmd_merge,
    "rules": cmd_rules,
    "recommend": cmd_recommend,
}


def main(argv: Sequence[str] | None = None) -> int:
    # `hardening lint FILE` is parsed without building every command's parser (it starts fast)
    args = lint_only(sys.argv[1:] if argv is None else argv)
    if args is None:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse already printed one usage line and the error
            return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.USAGE)
    try:
        return COMMANDS[args.command](args)
    except HardeningError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return int(ExitCode.TOOL_FAILURE)
    except BrokenPipeError:  # the reader went away (`hardening rules | head`)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
