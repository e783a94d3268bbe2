"""The resolved inputs of one run, validated before anything is built or written.

The CLI and the action entrypoint both turn what they were given into a :class:`ScanRequest`
through :func:`resolve_scan_request`; every usage error is raised here, before the pipeline
starts, so a bad input never leaves half-written files behind.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hardening.errors import UsageError
from hardening.model import Kind, Severity
from hardening.policy import load_policy as load_policy
from hardening.settings import GATE_LEVELS as GATE_LEVELS
from hardening.settings import parse_fail_on as parse_fail_on
from hardening.settings import parse_kinds as parse_kinds
from hardening.settings import parse_scope as parse_scope
from hardening.settings import split_list as split_list

if TYPE_CHECKING:
    from hardening.policy.config import Config
    from hardening.settings import Settings


def _no_policy() -> Config:
    from hardening.policy.config import Config

    return Config()


def _default_settings() -> Settings:
    from hardening.settings import Settings

    return Settings()


@dataclass(frozen=True, slots=True)
class BuildSecret:
    """A BuildKit secret: its id and where its value comes from (a file or an env var).

    The value itself is never held here, so it cannot leak into a log or a report.
    """

    id: str
    src: str = ""  # a file path
    env: str = ""  # an environment variable name


@dataclass(frozen=True, slots=True)
class ScanRequest:
    workspace: Path  # repository root; SARIF paths are relative to it
    context: Path | None = None
    dockerfile: Path | None = None
    target: str = ""
    build_args: tuple[tuple[str, str], ...] = ()
    build_secrets: tuple[BuildSecret, ...] = ()
    platform: str = ""
    tags: tuple[str, ...] = ()
    image: str = ""  # an existing image reference: skip the build
    image_archive: Path | None = None  # an existing docker-archive: skip build and export
    compose_file: Path | None = None
    scanners: tuple[str, ...] = ("trivy", "grype")
    scanners_explicit: bool = False  # asked for by name: a missing one is a failure
    scanner_timeout_s: float = 900.0
    scanner_extra_args: tuple[tuple[str, tuple[str, ...]], ...] = ()
    db_cache_dir: Path | None = None
    # Trivy's database repositories, in order; empty: TRIVY_DB_REPOSITORY, else the defaults.
    trivy_db_repositories: tuple[str, ...] = ()
    trivy_java_db_repositories: tuple[str, ...] = ()
    db_timeout_s: float = 300.0  # the database update, bounded on its own
    db_max_age_s: float = 7 * 86400.0  # a cached database older than this is not used
    sarif_path: Path = Path("docker-hardening.sarif")
    summary_path: Path = Path("docker-hardening.md")
    category: str = ""
    keep_image: bool = False  # keep the temporary tag of the built image (user -t tags always stay)
    extra: dict[str, str] = field(default_factory=dict)
    config: Config = field(default_factory=_no_policy)
    settings: Settings = field(default_factory=_default_settings)  # the gate and settings in force
    sbom_format: str = "cyclonedx"  # cyclonedx, spdx or none
    sbom_path: Path | None = None  # default: beside the SARIF file
    # More outputs, (format name, path): --output FORMAT=PATH, and --gitlab-report.
    extra_outputs: tuple[tuple[str, Path], ...] = ()
    resolve_pins: bool = True  # look up base images' current digests in their registries
    # Compare with this commit (a pull request's base): build and scan it in the same run.
    compare_with: str = ""
    verify_signatures: bool = True  # check signatures where the policy file asks for them

    # The settings in force, as the pipeline reads them.
    @property
    def fail_on(self) -> Severity | None:
        return self.settings.fail_on

    @property
    def fail_on_kinds(self) -> frozenset[Kind]:
        return self.settings.fail_on_kinds

    @property
    def ignore_unfixed(self) -> bool:
        return self.settings.ignore_unfixed

    @property
    def on_tool_failure(self) -> str:
        return self.settings.on_tool_failure

    @property
    def probes(self) -> bool:
        return self.settings.probes

    @property
    def trial_grace_s(self) -> float:
        return self.settings.grace_s

    @property
    def min_uid(self) -> int:
        return self.settings.min_uid

    @property
    def settings_source(self) -> tuple[tuple[str, str], ...]:
        return self.settings.sources

    @property
    def outputs(self) -> tuple[tuple[str, Path], ...]:
        """Every output to write: the SARIF file and the summary always, then the rest."""
        return (("sarif", self.sarif_path), ("markdown", self.summary_path), *self.extra_outputs)

    @property
    def dockerfile_relpath(self) -> str:
        if self.dockerfile is None:
            return ""
        return relpath(self.dockerfile, self.workspace)

    @property
    def automation_category(self) -> str:
        """A stable SARIF category per Dockerfile (never the tag or digest of the image)."""
        if self.category:
            return self.category.rstrip("/") + "/"
        if self.dockerfile is not None:
            return f"docker-hardening/{self.dockerfile_relpath}/"
        name = self.image.split("@", 1)[0].rsplit(":", 1)[0] if self.image else "image"
        return f"docker-hardening/{name}/"


def relpath(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return os.path.relpath(path.resolve(), root.resolve()).replace(os.sep, "/")


def parse_scanners(value: str) -> tuple[str, ...]:
    from hardening.scanners import registry

    known = registry.names()
    names = tuple(dict.fromkeys(s.lower() for s in split_list(value)))
    for name in names:
        if name not in known:
            raise UsageError(f"unknown scanner {name!r}", f"use any of: {', '.join(known)}")
    return names


def parse_key_values(lines: list[str], what: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for line in lines:
        if not line.strip():
            continue
        key, sep, value = line.strip().partition("=")
        if not sep or not key:
            raise UsageError(f"{what} entry {line!r} is not NAME=VALUE", "write it as NAME=VALUE")
        pairs.append((key.strip(), value))
    return tuple(pairs)


def parse_build_secret(spec: str) -> BuildSecret:
    """Read ``id=NAME,src=PATH`` or ``id=NAME,env=VAR`` (docker buildx's own --secret syntax)."""
    fields: dict[str, str] = {}
    for part in spec.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise UsageError(
                f"build secret {spec.split(',')[0]!r} is not in the form id=NAME,src=FILE",
                "write build secrets as id=NAME,src=FILE or id=NAME,env=VAR",
            )
        fields[key.strip()] = value.strip()
    secret_id = fields.get("id", "")
    src = fields.get("src", fields.get("source", ""))
    env = fields.get("env", "")
    if not secret_id or not (src or env):
        raise UsageError(
            "a build secret needs an id and a src file or an env variable",
            "write build secrets as id=NAME,src=FILE or id=NAME,env=VAR",
        )
    if src and not Path(src).is_file():
        raise UsageError(
            f"build secret {secret_id!r}: file {src} does not exist", "check its src path"
        )
    if env and env not in os.environ:
        raise UsageError(
            f"build secret {secret_id!r}: environment variable {env} is not set",
            "export it before the scan, or use src=FILE",
        )
    return BuildSecret(id=secret_id, src=src, env=env)


def positive_seconds(value: object, what: str, fix: str) -> float:
    """A finite, positive number of seconds (0, negative, inf and nan are usage errors)."""
    try:
        number = float(str(value).strip())
    except ValueError:
        raise UsageError(f"{what} must be a number of seconds, not {value!r}", fix) from None
    if not math.isfinite(number) or number <= 0:
        raise UsageError(f"{what} must be a positive, finite number, not {value!r}", fix)
    return number


def db_repositories(
    given: str, variable: str, environ: Mapping[str, str]
) -> tuple[tuple[str, ...], str]:
    """Trivy's DB repositories: an input or flag beats its TRIVY_* variable; both beat ().

    An empty tuple means the defaults. Returns the repositories and where they came from.
    """
    if split_list(given):
        return tuple(split_list(given)), "input"
    if split_list(environ.get(variable, "")):
        return tuple(split_list(environ[variable])), variable
    return (), "default"


def check_build_inputs(context: Path, dockerfile: Path) -> None:
    if not context.is_dir():
        raise UsageError(
            f"build context {context} is not a directory",
            "pass the folder that holds your Dockerfile, or --image to scan an existing image",
        )
    if not dockerfile.is_file():
        raise UsageError(
            f"Dockerfile {dockerfile} does not exist",
            "pass --dockerfile PATH, or put a Dockerfile in the context folder",
        )
