"""Fetching signatures from a real registry (Debian's docker-registry on 127.0.0.1, asking for
Basic auth as private registries do): cosign's ``.sig`` tag, and a real provenance bundle
attached by the real ``@sigstore/cli attach`` (the referrers tag fallback); and the
``signatures`` stage over them. No Docker engine."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from hardening.model import Report, RunStatus, SignatureOutcome
from hardening.pipeline import stages
from hardening.pipeline.context import ScanContext, read_dockerfile
from hardening.pipeline.recorder import Recorder
from hardening.policy.config import load_config
from hardening.policy.signatures import Identity, SignaturePolicy
from hardening.report.scorecard import Verdict, scorecard
from hardening.request import ScanRequest
from hardening.supply.registry import Answer, Registry
from hardening.supply.signatures import Target, base_images, check_images
from hardening.targets.dockerfile import parse_dockerfile
from tests.support.oci import new_key, public_pem, push_image, sign
from tests.support.registry import free_port, serve_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "signatures"
ATTESTATION = FIXTURES / "conformance" / "happy-path-intoto-in-dsse-v3.sigstore.json"
# bcrypt of "test" (cost 4): a throwaway credential for the throwaway registry.
HTPASSWD = "test:$2b$04$Kbtv9ZU8KaMZPJ56Zn9MH.K9OGWri5eKYZlHZsmqeI6L2kTiO4R6C"
GITHUB = "https://token.actions.githubusercontent.com"
CLI = "@sigstore/cli@0.10.3"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_registry(tmp_path_factory.mktemp("registry"), HTPASSWD)


@pytest.fixture
def docker_home(registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME whose ~/.docker/config.json logs in to the registry, as `docker login` does."""
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    auth = {"auths": {registry: {"auth": base64.b64encode(b"test:test").decode()}}}
    (home / ".docker" / "config.json").write_text(json.dumps(auth))
    monkeypatch.setenv("DOCKER_CONFIG", str(home / ".docker"))
    return home


@pytest.fixture(scope="module")
def http() -> requests.Session:
    session = requests.Session()
    session.auth = ("test", "test")
    return session


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    key = new_key()
    path = tmp_path_factory.mktemp("keys") / "release.pub"
    path.write_bytes(public_pem(key))
    return key, path


def _policy(pattern: str, key: Path, provenance: Identity | None = None) -> SignaturePolicy:
    return SignaturePolicy(pattern, ".hardening.yml:2", key=key, provenance=provenance)


def test_signed_unsigned_other_key_and_replayed(
    registry: str, http: requests.Session, key_file: tuple[object, Path], docker_home: Path
) -> None:
    key, pub = key_file
    signed = push_image(http, registry, "dh/signed", "1")
    sign(http, registry, "dh/signed", signed, key)  # type: ignore[arg-type]
    push_image(http, registry, "dh/unsigned", "1")
    other = push_image(http, registry, "dh/other", "1")
    sign(http, registry, "dh/other", other, new_key())
    replayed = push_image(http, registry, "dh/replayed", "2")
    sign(http, registry, "dh/replayed", replayed, key, signed=signed)  # type: ignore[arg-type]
    text = (
        "".join(
            f"FROM {registry}/dh/{name}:{tag} AS s{n}\n"
            for n, (name, tag) in enumerate(
                [("signed", "1"), ("unsigned", "1"), ("other", "1"), ("replayed", "2")]
            )
        )
        + "FROM scratch\nFROM s0\n"
    )
    targets = base_images(parse_dockerfile(text, "Dockerfile"))
    assert [t.line for t in targets] == [1, 2, 3, 4]
    outcome = check_images(targets, (_policy(f"{registry}/dh/*", pub),))
    by_line = {c.line: c for c in outcome.checks}
    assert by_line[1].signature is SignatureOutcome.VERIFIED and by_line[1].digest == signed
    assert by_line[1].detail == "signed by the key release.pub" and by_line[1].passed
    assert by_line[2].signature is SignatureOutcome.MISSING
    assert by_line[3].signature is SignatureOutcome.OTHER_SIGNER
    assert by_line[4].signature is SignatureOutcome.INVALID
    assert f"the signature is for {signed[:19]}" in by_line[4].detail
    assert outcome.unreachable == () and outcome.uncovered == ()


def test_a_pin_is_checked_by_its_digest_and_uncovered_images_are_listed(
    registry: str, http: requests.Session, key_file: tuple[object, Path], docker_home: Path
) -> None:
    key, pub = key_file
    first = push_image(http, registry, "dh/pinned", "1")
    sign(http, registry, "dh/pinned", first, key)  # type: ignore[arg-type]
    push_image(http, registry, "dh/pinned", "1-rebuilt")  # another digest, unsigned
    targets = [Target(f"{registry}/dh/pinned:1@{first}", 1), Target(f"{registry}/other/app:1", 2)]
    outcome = check_images(targets, (_policy(f"{registry}/dh/*", pub),))
    (check,) = outcome.checks
    assert check.digest == first and check.signature is SignatureOutcome.VERIFIED
    assert outcome.uncovered == (f"{registry}/other/app:1",)


def test_an_image_that_is_not_there_is_unsigned(
    registry: str, key_file: tuple[object, Path], docker_home: Path
) -> None:
    _, pub = key_file
    outcome = check_images([Target(f"{registry}/dh/absent:1")], (_policy("*", pub),))
    (check,) = outcome.checks
    assert check.signature is SignatureOutcome.MISSING and "is not in" in check.detail


def test_an_unreachable_registry_is_a_failure_to_check_not_a_result(
    key_file: tuple[object, Path],
) -> None:
    _, pub = key_file
    outcome = check_images([Target(f"127.0.0.1:{free_port()}/dh/app:1", 1)], (_policy("*", pub),))
    assert outcome.checks == ()
    (reason,) = outcome.unreachable
    assert "could not be reached" in reason


def test_without_credentials_the_refusal_is_named(
    registry: str, key_file: tuple[object, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    _, pub = key_file
    outcome = check_images([Target(f"{registry}/dh/signed:1", 1)], (_policy("*", pub),))
    assert outcome.checks == () and "refused access (401)" in outcome.unreachable[0]


def _sigstore_cli() -> str:
    """The npm package's own `sigstore` (installed into the tests' npm prefix), never another
    program of that name on PATH (sigstore-python installs one too)."""
    from tests.support.sarif_validate import NPM_PREFIX

    binary = NPM_PREFIX / "node_modules" / ".bin" / "sigstore"
    if not binary.exists():
        npm = shutil.which("npm")
        assert npm is not None, f"npm is needed to install {CLI}"
        NPM_PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NPM_PREFIX), CLI],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    return str(binary)


def test_a_provenance_bundle_attached_by_sigstore_cli_is_fetched_and_must_be_about_this_image(
    registry: str, http: requests.Session, key_file: tuple[object, Path], docker_home: Path
) -> None:
    key, pub = key_file
    digest = push_image(http, registry, "dh/attested", "1")
    sign(http, registry, "dh/attested", digest, key)  # type: ignore[arg-type]
    attach = subprocess.run(
        [_sigstore_cli(), "attach", f"{registry}/dh/attested@{digest}", "--attestation", str(ATTESTATION)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(docker_home)},
    )  # fmt: skip
    assert attach.returncode == 0, attach.stderr[-2000:]
    builder = Identity(GITHUB, identity_regexp="^https://github.com/sigstore-conformance/")
    outcome = check_images([Target(f"{registry}/dh/attested:1")], (_policy("*", pub, builder),))
    (check,) = outcome.checks
    assert check.signature is SignatureOutcome.VERIFIED
    # A genuine GitHub provenance attestation, but of another artifact (a.txt): not this image's.
    assert check.provenance is SignatureOutcome.INVALID, check.provenance_detail
    assert "about sha256:a0cfc71271d6…, not this image" in check.provenance_detail
    unattested = push_image(http, registry, "dh/attested", "2")
    sign(http, registry, "dh/attested", unattested, key)  # type: ignore[arg-type]
    outcome = check_images([Target(f"{registry}/dh/attested:2")], (_policy("*", pub, builder),))
    assert outcome.checks[0].provenance is SignatureOutcome.MISSING
    not_asked = check_images([Target(f"{registry}/dh/attested:1")], (_policy("*", pub),))
    assert not_asked.checks[0].provenance is SignatureOutcome.NOT_REQUIRED
    assert not_asked.checks[0].passed


def _scan_context(tmp_path: Path, policy: str, dockerfile: str, image: str = "") -> ScanContext:
    (tmp_path / ".hardening.yml").write_text(policy)
    (tmp_path / "Dockerfile").write_text(dockerfile)
    request = ScanRequest(
        workspace=tmp_path, dockerfile=tmp_path / "Dockerfile", image=image,
        config=load_config(tmp_path / ".hardening.yml", required=True),
    )  # fmt: skip
    ctx = ScanContext(request=request, rec=Recorder(log_sink=lambda line: None))
    read_dockerfile(ctx)
    return ctx


def test_the_stage_reports_from_lines_and_the_scanned_image_and_fails_the_scorecard(
    registry: str, http: requests.Session, key_file: tuple[object, Path], docker_home: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    key, pub = key_file
    shutil.copy(pub, tmp_path / "release.pub")
    base = push_image(http, registry, "dh/stage-base", "1")
    sign(http, registry, "dh/stage-base", base, key)  # type: ignore[arg-type]
    push_image(http, registry, "dh/stage-unsigned", "1")
    app = push_image(http, registry, "dh/stage-app", "1")
    sign(http, registry, "dh/stage-app", app, new_key())
    policy = f"signatures:\n  - images: {registry}/dh/*\n    key: release.pub\n"
    dockerfile = (f"FROM {registry}/dh/stage-base:1 AS build\nFROM {registry}/dh/stage-unsigned:1\n"
                  "FROM docker.io/library/busybox:1\n")  # fmt: skip
    ctx = _scan_context(tmp_path, policy, dockerfile, image=f"{registry}/dh/stage-app:1")
    assert ctx.rec.run("signatures", lambda info: stages.signatures(ctx, info))
    assert ctx.rec.stages[-1].detail == "1 of 3 image(s) verified"
    found = {(f.rule_id, f.location.line) for f in ctx.check_findings}
    assert found == {("DH-D124", 2), ("DH-I231", 0)}
    assert any("busybox:1: no signatures entry covers it" in n.message for n in ctx.rec.notifications)
    report = Report(findings=tuple(ctx.check_findings), signatures=tuple(ctx.signature_checks),
                    signatures_configured=True, stages=tuple(ctx.rec.stages))  # fmt: skip
    (row,) = [r for r in scorecard(report) if r.item == "C17"]
    assert row.verdict is Verdict.FAIL and "DH-D124" in row.evidence


def test_an_unreachable_registry_makes_the_stage_fail(
    key_file: tuple[object, Path], tmp_path: Path
) -> None:
    _, pub = key_file
    shutil.copy(pub, tmp_path / "release.pub")
    ctx = _scan_context(tmp_path, "signatures:\n  - images: '*'\n    key: release.pub\n",
                        f"FROM 127.0.0.1:{free_port()}/dh/app:1\n")  # fmt: skip
    assert not ctx.rec.run("signatures", lambda info: stages.signatures(ctx, info))
    stage = ctx.rec.stages[-1]
    assert stage.status is RunStatus.FAILED and "signatures could not be checked" in stage.detail
    assert "could not be reached" in stage.detail and ctx.check_findings == []


def test_the_stage_is_skipped_when_not_configured_or_turned_off(tmp_path: Path) -> None:
    ctx = _scan_context(tmp_path, "fail-on: high\n", "FROM 127.0.0.1:1/dh/app:1\n")
    ctx.rec.run("signatures", lambda info: stages.signatures(ctx, info))
    assert ctx.rec.stages[-1].status is RunStatus.SKIPPED
    assert ctx.rec.stages[-1].detail == "not configured in the policy file"


def test_a_registry_that_refuses_the_referrers_api_falls_back_to_the_tag(
    registry: str, http: requests.Session, key_file: tuple[object, Path], docker_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    key, pub = key_file
    digest = push_image(http, registry, "dh/no-referrers", "1")
    sign(http, registry, "dh/no-referrers", digest, key)  # type: ignore[arg-type]
    refused = Answer(error="the registry answered 405", status=405)
    monkeypatch.setattr(Registry, "referrers", lambda self, ref, d: refused)
    outcome = check_images([Target(f"{registry}/dh/no-referrers:1")], (_policy("*", pub),))
    assert outcome.unreachable == () and outcome.checks[0].passed
    monkeypatch.setattr(Registry, "referrers", lambda self, ref, d: Answer(error="503", status=503))
    outcome = check_images([Target(f"{registry}/dh/no-referrers:1")], (_policy("*", pub),))
    assert outcome.checks == () and outcome.unreachable
