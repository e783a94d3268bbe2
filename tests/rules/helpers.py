"""hadolint-style helpers: lint a text and assert a rule fires on a line, or stays silent."""

from __future__ import annotations

from pathlib import Path

from hardening.model import Finding, ImageInfo
from hardening.rules import LintInputs, lint
from hardening.targets.image import ImageFacts, read_image_facts


def lint_texts(
    tmp: Path,
    dockerfile: str | None = None,
    *,
    compose: str | None = None,
    dockerignore: str | None = None,
    image: ImageFacts | None = None,
    target: str = "",
) -> list[Finding]:
    tmp.mkdir(parents=True, exist_ok=True)
    path = None
    if dockerfile is not None:
        path = tmp / "Dockerfile"
        path.write_text(dockerfile)
    compose_path = None
    if compose is not None:
        compose_path = tmp / "compose.yaml"
        compose_path.write_text(compose)
    if dockerignore is not None:
        (tmp / ".dockerignore").write_text(dockerignore)
    outcome = lint(
        LintInputs(
            workspace=tmp,
            dockerfile=path,
            context=tmp,
            compose_file=compose_path,
            image=image,
            target=target,
        )  # fmt: skip
    )
    assert not [n for n in outcome.notifications if "crashed" in n.message], outcome.notifications
    return list(outcome.findings)


def lines(findings: list[Finding], rule: str) -> list[int]:
    return sorted(f.location.line for f in findings if f.rule_id == rule and not f.suppressed)


def fires(findings: list[Finding], rule: str, line: int | None = None) -> bool:
    hits = lines(findings, rule)
    return bool(hits) if line is None else line in hits


def image_facts(
    config: dict[str, object], history: list[dict[str, object]] | None = None
) -> ImageFacts:
    return read_image_facts(
        ImageInfo(reference="test", config=config, history=tuple(history or ())), None
    )
