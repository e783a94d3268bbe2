"""The probes on the real engine, on local images built here."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from hardening.probes import ProbeOptions, judge, probe_image
from hardening.probes.capabilities import DOCKER_DEFAULTS
from hardening.probes.engine import RUN_LABEL
from tests.support.engine import BUSYBOX_IMAGE, build_image, busybox_binary

pytestmark = pytest.mark.docker


@pytest.fixture
def make_image(tmp_path: Path, busybox_image: str, docker_client: docker.DockerClient) -> Iterator:  # type: ignore[type-arg]
    made: list[str] = []

    def make(name: str, dockerfile: str, files: dict[str, Path] | None = None) -> str:
        ctx = tmp_path / name
        ctx.mkdir()
        for target, source in (files or {}).items():
            shutil.copy2(source, ctx / target)
        (ctx / "Dockerfile").write_text(dockerfile)
        tag = f"docker-hardening.test/probe-{name}:latest"
        build_image(ctx, tag)
        made.append(tag)
        return tag

    yield make
    for tag in made:
        docker_client.images.remove(tag, force=True)


def _options(**kwargs: object) -> ProbeOptions:
    return ProbeOptions(
        grace_s=1.5, helper_image=BUSYBOX_IMAGE, timeout_s=30, health_budget_s=8, **kwargs
    )  # type: ignore[arg-type]


def _no_leftovers(client: docker.DockerClient, run_id: str) -> None:
    assert run_id
    left = client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})
    assert left == [], [c.name for c in left]


SLEEPER = f'FROM {BUSYBOX_IMAGE}\nCMD ["sleep", "3600"]\n'


def test_root_image_with_docker_defaults_and_hardened_caps(make_image, docker_client) -> None:  # type: ignore[no-untyped-def]
    image = make_image("root", SLEEPER)
    result = probe_image(docker_client, image, _options())
    assert (
        result.user == {"uid": 0, "gid": 0, "name": "root", "groups": [0]}
        or result.user["uid"] == 0
    )
    assert set(result.capabilities["effective"]) == DOCKER_DEFAULTS
    assert set(result.capabilities["bounding"]) == DOCKER_DEFAULTS
    assert result.capabilities["ambient"] == []
    assert result.no_new_privs is False and result.seccomp == 2
    # Under the hardened flags: nothing left, and no-new-privileges set.
    assert result.hardened["capabilities"]["effective"] == []
    assert result.hardened["capabilities"]["bounding"] == []
    assert result.hardened["no_new_privs"] is True
    assert result.trial["passed"] is True
    assert result.overrides == []  # a long-running image is observed without touching it
    assert {f.rule_id for f in judge(result, _options())} == {"DH-R401", "DH-R404"}
    _no_leftovers(docker_client, result.run_id)


def test_named_non_root_user(make_image, docker_client) -> None:  # type: ignore[no-untyped-def]
    image = make_image(
        "named",
        f"FROM {BUSYBOX_IMAGE}\nRUN echo 'app:x:10001:10001::/:/bin/sh' >> /etc/passwd && echo 'app:x:10001:' >> /etc/group\n"
        'USER app\nCMD ["sleep", "3600"]\n',
    )
    result = probe_image(docker_client, image, _options())
    assert (
        result.user["uid"] == 10001 and result.user["gid"] == 10001 and result.user["name"] == "app"
    )
    assert result.capabilities["effective"] == []
    assert judge(result, _options()) == []
    _no_leftovers(docker_client, result.run_id)


def test_numeric_uid_without_passwd_entry(make_image, docker_client) -> None:  # type: ignore[no-untyped-def]
    image = make_image(
        "numeric", f'FROM {BUSYBOX_IMAGE}\nUSER 12345:12345\nCMD ["sleep", "3600"]\n'
    )
    result = probe_image(docker_client, image, _options())
    assert result.user["uid"] == 12345 and result.user["name"] is None
    _no_leftovers(docker_client, result.run_id)


def test_user_that_does_not_exist_is_explained(make_image, docker_client) -> None:  # type: ignore[no-untyped-def]
    image = make_image("ghost", f'FROM {BUSYBOX_IMAGE}\nUSER ghost\nCMD ["sleep", "3600"]\n')
    result = probe_image(docker_client, image, _options())
    assert "ghost" in result.start_error
    findings = judge(result, _options())
    assert [f.rule_id for f in findings] == ["DH-R403"]
    _no_leftovers(docker_client, result.run_id)


def test_scratch_image_without_a_shell_is_observed_through_its_pid_namespace(
    make_image, docker_client
) -> None:  # type: ignore[no-untyped-def]
    image = make_image(
        "noshell",
        'FROM scratch\nCOPY busybox /busybox\nUSER 20000:20000\nENTRYPOINT ["/busybox", "sleep", "3600"]\n',
        {"busybox": busybox_binary()},
    )
    result = probe_image(docker_client, image, _options())
    assert result.user["uid"] == 20000 and result.user["name"] is None
    assert result.capabilities["effective"] == []
    assert result.seccomp == 2
    assert result.trial["passed"] is True
    assert not result.errors
    _no_leftovers(docker_client, result.run_id)


def test_entrypoint_writing_to_root_fails_read_only_and_is_diagnosed(
    make_image, docker_client
) -> None:  # type: ignore[no-untyped-def]
    image = make_image(
        "writer",
        f"FROM {BUSYBOX_IMAGE}\nRUN mkdir -p /var/app && chmod 777 /var/app\nUSER 10001\n"
        'CMD ["sh", "-c", "echo state > /var/app/state && exec sleep 3600"]\n',
    )
    result = probe_image(docker_client, image, _options())
    trial = result.trial
    assert trial["passed"] is False
    assert trial["broken_by"] == "--read-only"
    assert "/var/app/state" in trial["failing_paths"]
    assert trial.get("passed_with_tmpfs") == ["/var/app"]
    assert "--tmpfs /var/app" in trial["recommended_flags"]
    assert "- /var/app" in trial["compose_snippet"]
    findings = judge(result, _options())
    assert [f.rule_id for f in findings] == ["DH-R407"]
    assert "/var/app/state" in findings[0].message
    _no_leftovers(docker_client, result.run_id)


def test_port_80_gets_net_bind_service_in_the_trial(make_image, docker_client) -> None:  # type: ignore[no-untyped-def]
    image = make_image("web", f'FROM {BUSYBOX_IMAGE}\nEXPOSE 80\nCMD ["httpd", "-f", "-p", "80"]\n')
    result = probe_image(docker_client, image, _options())
    assert result.trial["passed"] is True
    assert "--cap-add NET_BIND_SERVICE" in result.trial["recommended_flags"]
    assert result.hardened["capabilities"]["effective"] == ["CAP_NET_BIND_SERVICE"]
    _no_leftovers(docker_client, result.run_id)


def test_one_shot_image_is_read_with_a_shell_and_says_so(make_image, docker_client) -> None:  # type: ignore[no-untyped-def]
    image = make_image("oneshot", f'FROM {BUSYBOX_IMAGE}\nCMD ["true"]\n')
    result = probe_image(docker_client, image, _options())
    assert result.user["uid"] == 0
    assert result.overrides and "entrypoint overridden" in result.overrides[0]
    assert result.trial["passed"] is True  # exits 0 under the hardened flags too
    _no_leftovers(docker_client, result.run_id)


def test_healthcheck_must_turn_healthy(make_image, docker_client) -> None:  # type: ignore[no-untyped-def]
    image = make_image(
        "health",
        f'FROM {BUSYBOX_IMAGE}\nHEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD ["test", "-e", "/nope"]\n'
        'USER 10001\nCMD ["sleep", "3600"]\n',
    )
    result = probe_image(docker_client, image, _options())
    assert result.trial["healthy"] is False
    assert any(f.rule_id == "DH-R410" for f in judge(result, _options()))
    _no_leftovers(docker_client, result.run_id)
