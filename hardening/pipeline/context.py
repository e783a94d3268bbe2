"""The state one scan carries from stage to stage.

The Dockerfile is read and parsed once, here, before any stage runs; every stage that needs it
(the checks, the digest pins, placing image findings on lines) reads this one model.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardening.model import Comparison, Finding, ImageInfo
from hardening.pipeline.recorder import Recorder
from hardening.redact import Redactor, secret_values
from hardening.request import ScanRequest
from hardening.targets.dockerfile import DockerfileModel, parse_dockerfile

if TYPE_CHECKING:
    from hardening.adapters.image_source import ImageSource
    from hardening.model import SignatureCheck
    from hardening.pipeline.base import BaseJob

RUN_LABEL = "docker-hardening.run"
TEMP_TAG_REPOSITORY = "docker-hardening.local/scan"


@dataclass
class ScanContext:
    request: ScanRequest
    rec: Recorder
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    workdir: Path = Path()
    client: Any = None
    built_tag: str = ""
    image: ImageInfo | None = None
    archive: Path | None = None  # the docker-archive, once one was made or given
    source: ImageSource | None = None  # the image for the scanners and the checks
    # Trivy's report of every package it catalogued, handed from the scanners to the SBOM.
    package_list: Future[Path | None] = field(default_factory=Future)
    dockerfile: DockerfileModel | None = None
    dockerfile_text: str = ""
    scanner_findings: list[Finding] = field(default_factory=list)
    check_findings: list[Finding] = field(default_factory=list)
    probe_findings: list[Finding] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # merged, located, with policy
    extras: dict[str, Any] = field(default_factory=dict)
    cancelled: str = ""  # the signal's name, when the run was cancelled
    signature_checks: list[SignatureCheck] = field(default_factory=list)  # base and scanned images
    tag_suffix: str = ""  # "-base" for the base commit's build, so its tag is its own
    cleanups: list[Callable[[], None]] = field(default_factory=list)  # run on any exit
    comparison: Comparison | None = None
    base_job: BaseJob | None = None  # the base commit's work, running beside this scan's
    started: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))

    @property
    def temp_tag(self) -> str:
        return f"{TEMP_TAG_REPOSITORY}:{self.run_id}{self.tag_suffix}"

    @property
    def labels(self) -> dict[str, str]:
        """On this scan's image and containers; the base commit's have a value of their own, so
        neither side's cleanup removes what the other, running beside it, still uses."""
        return {RUN_LABEL: f"{self.run_id}{self.tag_suffix}"}


def redactor_for(request: ScanRequest) -> Redactor:
    return Redactor.of(
        secret_values(
            request.build_args,
            [s.src for s in request.build_secrets if s.src],
            [s.env for s in request.build_secrets if s.env],
        )
    )


def read_dockerfile(ctx: ScanContext) -> None:
    """Parse the Dockerfile once, for every stage that needs it."""
    path = ctx.request.dockerfile
    if path is None or not path.is_file():
        return
    ctx.dockerfile_text = path.read_text(encoding="utf-8", errors="replace")
    ctx.dockerfile = parse_dockerfile(
        ctx.dockerfile_text, ctx.request.dockerfile_relpath, ctx.request.target
    )
