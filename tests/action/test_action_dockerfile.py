"""The action's own image, kept honest by the project's own rules (it cannot be built here:
its base images cannot be pulled)."""

from __future__ import annotations

import re

from hardening.rules import LintInputs, lint
from tests.support.cli import REPO_ROOT


def _findings():  # type: ignore[no-untyped-def]
    outcome = lint(
        LintInputs(
            workspace=REPO_ROOT,
            dockerfile=REPO_ROOT / "Dockerfile",
            context=REPO_ROOT,
            discover_compose=False,
        )
    )
    return outcome.findings


def test_root_user_is_reported_suppressed_with_githubs_requirement() -> None:
    root = [f for f in _findings() if f.rule_id == "DH-D102"]
    assert len(root) == 1 and root[0].suppressed
    assert (
        "GitHub requires Docker container actions to run as the default root user"
        in root[0].suppression.justification
    )  # type: ignore[union-attr]


def test_only_the_documented_tag_pins_remain_active() -> None:
    active = {f.rule_id for f in _findings() if not f.suppressed}
    # Base images are pinned by tag (no digest could be verified here); the README says so.
    assert active == {"DH-D107"}


def test_scanners_are_verified_against_their_published_checksums() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    for tool in ("trivy", "grype"):
        assert re.search(rf"{tool}_\$\{{{tool.upper()}_VERSION\}}_checksums\.txt", text), tool
    assert text.count("sha256sum -c -") == 2
    instructions = "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    )
    assert "latest" not in instructions.lower()
    assert not re.search(r"\|\s*(ba)?sh\b", instructions)
    assert "--require-hashes" in instructions
    assert "HEALTHCHECK" not in instructions
