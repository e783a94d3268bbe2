"""The GitHub Action edge: read INPUT_* once, run the same pipeline as the CLI, report.

GitHub passes each input as ``INPUT_<NAME>`` with the name upper-cased and dashes kept
(``fail-on`` -> ``INPUT_FAIL-ON``); the underscore spelling is accepted too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hardening.errors import ExitCode, HardeningError, UsageError
from hardening.request import (
    ScanRequest,
    check_build_inputs,
    db_repositories,
    load_policy,
    parse_build_secret,
    parse_fail_on,
    parse_key_values,
    parse_kinds,
    parse_scanners,
    parse_scope,
    positive_seconds,
)
from hardening.settings import epss_threshold, resolve

# Every input action.yml declares, with its default; a test keeps the two in step.
INPUT_DEFAULTS: dict[str, str] = {
    "context": ".",
    "dockerfile": "",
    "target": "",
    "build-args": "",
    "build-secrets": "",
    "platform": "",
    "image": "",
    "compose-file": "",
    "scanners": "trivy,grype",
    "scanner-timeout": "900",
    "fail-on": "high",
    "fail-on-kinds": "vulnerability,secret,misconfiguration,runtime",
    "ignore-unfixed": "false",
    "fail-on-kev": "false",
    "fail-on-epss": "none",
    "probes": "true",
    "trial-grace-period": "5",
    "sarif-file": "docker-hardening.sarif",
    "summary-file": "docker-hardening.md",
    "category": "",
    "comment": "true",
    "check-run": "false",
    "github-token": "",
    "db-cache-dir": ".cache/docker-hardening",
    "trivy-db-repository": "",
    "trivy-java-db-repository": "",
    "db-timeout": "300",
    "db-max-age": "7",
    "config-file": ".hardening.yml",
    "images": "",
    "compare-base": "true",
    "fail-on-scope": "all",
    "outputs": "",
    "sbom": "cyclonedx",
    "recommend-base": "false",
}


class Inputs:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str) -> str:
        for key in (f"INPUT_{name.upper()}", f"INPUT_{name.upper().replace('-', '_')}"):
            value = self._environ.get(key)
            if value is not None and value.strip() != "":
                return value.strip()
        return INPUT_DEFAULTS[name]

    def given(self, name: str) -> str | None:
        """The input's value when it differs from its default, else None: the runner passes
        defaults too, so a default value cannot be told from one the workflow wrote, and a
        default must not override the policy file."""
        value = self.get(name)
        return None if value == INPUT_DEFAULTS[name] else value

    def flag(self, name: str) -> bool:
        value = self.get(name).lower()
        if value in ("true", "yes", "on", "1"):
            return True
        if value in ("false", "no", "off", "0", ""):
            return False
        raise UsageError(f"input {name} must be true or false, not {value!r}", "use true or false")

    def seconds(self, name: str, unit: str = "seconds") -> float:
        return positive_seconds(
            self.get(name), f"input {name}", f"set {name} to a positive number of {unit}"
        )

    def number(self, name: str) -> float:
        try:
            return float(self.get(name))
        except ValueError:
            raise UsageError(
                f"input {name} must be a number of seconds, not {self.get(name)!r}",
                "use a number such as 5",
            ) from None


def _sbom_format(value: str) -> str:
    if value.lower() not in ("cyclonedx", "spdx", "none"):
        raise UsageError(
            f"input sbom must be cyclonedx, spdx or none, not {value!r}", "use cyclonedx"
        )
    return value.lower()


@dataclass(frozen=True, slots=True)
class ActionPaths:
    """Every path the action reads or writes, resolved and confined (see :func:`confined`)."""

    workspace: Path
    context: Path
    dockerfile: Path | None
    compose: Path | None
    config: Path
    db_cache: Path
    sarif: Path
    summary: Path
    sbom: Path | None


def allowed_roots(workspace: Path, environ: Mapping[str, str]) -> tuple[Path, ...]:
    """The workspace, and the runner's temporary folder when the runner names one."""
    temp = (environ.get("RUNNER_TEMP") or "").strip()
    return (workspace, Path(temp).resolve()) if temp else (workspace,)


def confined(name: str, value: str, workspace: Path, roots: tuple[Path, ...]) -> Path:
    """An input's path (relative to the workspace), symlinks resolved, inside one of ``roots``:
    a pull request must not make the action read or write anywhere else on the runner."""
    path = Path(value)
    resolved = (path if path.is_absolute() else workspace / path).resolve()
    if any(resolved.is_relative_to(root) for root in roots):
        return resolved
    temp = " or RUNNER_TEMP" if len(roots) > 1 else ""
    raise UsageError(
        f"input {name}: {value} resolves to {resolved}, outside the workspace {workspace}{temp}",
        f"set {name} to a path inside the repository checkout{temp}",
    )


def action_paths(inputs: Inputs, environ: Mapping[str, str], sbom_format: str) -> ActionPaths:
    workspace = Path(environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    roots = allowed_roots(workspace, environ)

    def path(name: str, value: str = "") -> Path:
        return confined(name, value or inputs.get(name), workspace, roots)

    context = path("context")
    dockerfile = path("dockerfile", inputs.get("dockerfile") or str(context / "Dockerfile"))
    if not inputs.get("image") and not inputs.get("images").strip():
        check_build_inputs(context, dockerfile)
    compose = path("compose-file") if inputs.get("compose-file") else None
    if compose is not None and not compose.is_file():
        raise UsageError(f"compose-file {compose} does not exist", "check the compose-file input")
    sarif = path("sarif-file")
    sbom = None
    if sbom_format != "none":
        suffix = ".cdx.json" if sbom_format == "cyclonedx" else ".spdx.json"
        sbom = path(
            "sarif-file (the SBOM beside it)",
            str(sarif.with_name(sarif.name.removesuffix(".sarif") + suffix)),
        )
    return ActionPaths(
        workspace=workspace, context=context, compose=compose,
        dockerfile=dockerfile if dockerfile.is_file() or not inputs.get("image") else None,
        config=path("config-file"), db_cache=path("db-cache-dir"), sarif=sarif,
        summary=path("summary-file"), sbom=sbom,
    )  # fmt: skip


def _given(inputs: Inputs) -> dict[str, object | None]:
    """Validate every setting input; the ones left at their default then defer to the file."""
    fail_on_value = parse_fail_on(inputs.get("fail-on"))
    kinds = parse_kinds(inputs.get("fail-on-kinds"))
    ignore_unfixed, probes = inputs.flag("ignore-unfixed"), inputs.flag("probes")
    grace = inputs.number("trial-grace-period")
    given: dict[str, object | None] = {
        "fail-on": (fail_on_value or "none") if inputs.given("fail-on") is not None else None,
        "fail-on-kinds": kinds if inputs.given("fail-on-kinds") is not None else None,
        "ignore-unfixed": ignore_unfixed if inputs.given("ignore-unfixed") is not None else None,
        "fail-on-kev": inputs.flag("fail-on-kev") if inputs.given("fail-on-kev") else None,
        "fail-on-epss": (epss_threshold(inputs.get("fail-on-epss")) or "none")
        if inputs.given("fail-on-epss") is not None
        else None,
        "probes": probes if inputs.given("probes") is not None else None,
        "grace-period": grace if inputs.given("trial-grace-period") is not None else None,
        "fail-on-scope": parse_scope(inputs.get("fail-on-scope"))
        if inputs.given("fail-on-scope") is not None
        else None,
        "recommend-base": inputs.flag("recommend-base") if inputs.given("recommend-base") else None,
    }
    return given


def _outputs(
    inputs: Inputs, environ: Mapping[str, str], workspace: Path
) -> tuple[tuple[str, Path], ...]:
    """The ``outputs`` input: one FORMAT=PATH per line, each path kept in the workspace."""
    from hardening.outputs import parse_output

    roots = allowed_roots(workspace, environ)
    found = []
    for line in inputs.get("outputs").splitlines():
        if line.strip():
            name, path = parse_output(line.strip())
            found.append((name, confined("outputs", str(path), workspace, roots)))
    return tuple(found)


def _scanner_fields(
    inputs: Inputs, environ: Mapping[str, str]
) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    trivy_db, trivy_db_source = db_repositories(
        inputs.get("trivy-db-repository"), "TRIVY_DB_REPOSITORY", environ
    )
    java_db, java_db_source = db_repositories(
        inputs.get("trivy-java-db-repository"), "TRIVY_JAVA_DB_REPOSITORY", environ
    )
    fields: dict[str, Any] = {
        "scanners": parse_scanners(inputs.get("scanners")),
        "scanners_explicit": True,  # the action always asks for its scanners by name
        "scanner_timeout_s": inputs.seconds("scanner-timeout"),
        "trivy_db_repositories": trivy_db,
        "trivy_java_db_repositories": java_db,
        "db_timeout_s": inputs.seconds("db-timeout"),
        "db_max_age_s": 86400.0 * inputs.seconds("db-max-age", "days"),
    }
    sources = (
        ("trivy-db-repository", trivy_db_source),
        ("trivy-java-db-repository", java_db_source),
    )
    return fields, sources


def base_commit(environ: Mapping[str, str]) -> str:
    """The pull request's base commit, from the event ("" outside a pull request)."""
    from hardening.github.context import read_event

    event, _ = read_event(environ.get("GITHUB_EVENT_PATH", ""))
    pull = event.get("pull_request")
    base = pull.get("base") if isinstance(pull, dict) else None
    sha = base.get("sha") if isinstance(base, dict) else None
    return sha if isinstance(sha, str) and sha.strip() else ""


def request_from_inputs(environ: Mapping[str, str]) -> ScanRequest:
    inputs = Inputs(environ)
    sbom_format = _sbom_format(inputs.get("sbom"))
    paths = action_paths(inputs, environ, sbom_format)
    lines = inputs.get("build-secrets").splitlines()
    secrets = tuple(parse_build_secret(line) for line in lines if line.strip())
    given = _given(inputs)
    scanner_fields, scanner_sources = _scanner_fields(inputs, environ)
    outputs = _outputs(inputs, environ, paths.workspace)
    config = load_policy(paths.config, paths.workspace, inputs.given("config-file") is not None)
    settings = resolve(given, config)
    settings = replace(settings, sources=settings.sources + scanner_sources)
    return ScanRequest(
        workspace=paths.workspace,
        context=paths.context if paths.context.is_dir() else None,
        dockerfile=paths.dockerfile,
        target=inputs.get("target"),
        build_args=parse_key_values(inputs.get("build-args").splitlines(), "build-args"),
        build_secrets=secrets,
        platform=inputs.get("platform"),
        image=inputs.get("image"),
        compose_file=paths.compose,
        db_cache_dir=paths.db_cache,
        config=config,
        settings=settings,
        sbom_format=sbom_format,
        sbom_path=paths.sbom,
        sarif_path=paths.sarif,
        summary_path=paths.summary,
        extra_outputs=outputs,
        compare_with=base_commit(environ) if inputs.flag("compare-base") else "",
        category=inputs.get("category"),
        extra={
            "comment": str(inputs.flag("comment")).lower(),
            "check-run": str(inputs.flag("check-run")).lower(),
            "config-file": inputs.get("config-file"),
        },
        **scanner_fields,
    )


def _image_specs(images: list[str], request: ScanRequest) -> list[Any]:
    """The images input, every Dockerfile and context kept inside the workspace."""
    from hardening.pipeline.many import load_specs

    specs = load_specs(images, request.workspace)
    root = request.workspace.resolve()
    for spec in specs:
        for path in (spec.dockerfile, spec.context):
            if not path.resolve().is_relative_to(root):
                raise UsageError(f"images: {path} is outside the workspace",
                                 "list Dockerfiles inside the repository")  # fmt: skip
        if not spec.dockerfile.is_file():
            raise UsageError(f"images: {spec.dockerfile} does not exist", "check the images input")
    return specs


def die(message: str, code: ExitCode, environ: Mapping[str, str]) -> int:
    """One ``::error::`` line, and the same explanation in the step summary."""
    escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    print(f"::error title=docker-hardening::{escaped}", flush=True)
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(f"### docker-hardening could not run\n\n{message}\n")
    return int(code)


def main(environ: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ if environ is None else environ)
    token = Inputs(env).get("github-token")
    if token:
        print(f"::add-mask::{token}", flush=True)
    print("[docker-hardening] starting", file=sys.stderr, flush=True)
    try:
        request = request_from_inputs(env)
    except HardeningError as exc:
        return die(exc.one_line(), exc.exit_code, env)
    from hardening.github.action import ActionReporter, write_action_outputs
    from hardening.pipeline import run_scan

    images = [line.strip() for line in Inputs(env).get("images").splitlines() if line.strip()]
    try:
        specs = _image_specs(images, request) if images else []
    except HardeningError as exc:
        return die(exc.one_line(), exc.exit_code, env)
    reporter = ActionReporter(request, env, token)
    try:
        if specs:
            from hardening.pipeline.many import run_many

            result = run_many(request, specs, publisher=reporter.local)
        else:
            result = run_scan(request, publisher=reporter.local)
    except HardeningError as exc:
        return die(exc.one_line(), exc.exit_code, env)
    # The verdict and the outputs first; GitHub last, bounded, and never the exit code.
    write_action_outputs(result, env)
    print(result.gate.reason, flush=True)
    if result.cancelled:  # the runner is about to stop the job: no waiting on GitHub now
        return int(result.exit_code)
    reporter.post_to_github()
    return int(result.exit_code)
