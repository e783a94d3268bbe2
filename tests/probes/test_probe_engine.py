"""The probes on the real engine, on local images built here."""

from __future__ import annotations

import platform
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from hardening.model import Report
from hardening.pipeline.facts import runtime_facts
from hardening.probes import (
    ProbeOptions,
    ProbeResult,
    engine,
    format_result,
    hostproc,
    probe_image,
)
from hardening.probes.capabilities import DOCKER_DEFAULTS
from hardening.probes.engine import HELPER_REPOSITORY, RUN_LABEL
from hardening.report.markdown import runtime_section
from hardening.rules import check_runtime
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
    assert {f.rule_id for f in check_runtime(result, _options())} == {"DH-R401", "DH-R404"}
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
    assert check_runtime(result, _options()) == []
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
    findings = check_runtime(result, _options())
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
    assert result.observed_by == f"helper container {BUSYBOX_IMAGE} (the helper image given)"
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
    findings = check_runtime(result, _options())
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
    assert result.observed_by == "a /bin/sh run of the image (entrypoint overridden)"
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
    assert any(f.rule_id == "DH-R410" for f in check_runtime(result, _options()))
    _no_leftovers(docker_client, result.run_id)


def _pause_binary(folder: Path) -> Path:
    """A static program that only waits for signals: no shell, no cat, nothing else. On x86-64
    a 129-byte ELF written here (pause() in a loop), elsewhere a C one built with cc -static."""
    path = folder / "pause"
    if platform.machine() in ("x86_64", "AMD64"):
        base, code = 0x400000, bytes.fromhex("b8220000000f05ebf7")  # mov eax,34; syscall; jmp
        size = 64 + 56 + len(code)
        header = struct.pack(
            "<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0,
            2, 62, 1, base + 120, 64, 0, 0, 64, 56, 1, 0, 0, 0,
        )  # fmt: skip
        segment = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
        path.write_bytes(header + segment + code)
    else:
        source = folder / "pause.c"
        source.write_text("#include <unistd.h>\nint main(void) { for (;;) pause(); }\n")
        subprocess.run(["cc", "-static", "-Os", "-o", str(path), str(source)], check=True)
    path.chmod(0o755)
    return path


SHELL_LESS = 'FROM scratch\nCOPY pause /pause\nUSER 65532:65532\nEXPOSE 80\nENTRYPOINT ["/pause"]\n'


@pytest.fixture
def shell_less(
    make_image: Callable[..., str], docker_client: docker.DockerClient, tmp_path: Path
) -> str:
    """Like a distroless or Chainguard image: no shell, no cat, a non-root uid, port 80."""
    image = make_image("shell-less", SHELL_LESS, {"pause": _pause_binary(tmp_path)})
    container = docker_client.containers.create(image)
    try:
        for path in ("/bin/sh", "/bin/cat", "/bin/busybox"):
            with pytest.raises(docker.errors.NotFound):
                container.get_archive(path)
    finally:
        container.remove(force=True)
    return image


def _facts(result: ProbeResult) -> tuple[object, ...]:
    return (result.user, result.capabilities, result.no_new_privs, result.seccomp)


def _unaided(**kwargs: object) -> ProbeOptions:
    settings: dict[str, Any] = {"helper_image": "", **kwargs}
    return ProbeOptions(grace_s=1.5, timeout_s=30, **settings)


def _assert_shell_less_facts(result: ProbeResult) -> None:
    assert result.user == {
        "uid": 65532,
        "gid": 65532,
        "name": None,
        "groups": result.user["groups"],
    }
    assert result.capabilities["effective"] == [] and result.capabilities["permitted"] == []
    assert set(result.capabilities["bounding"]) == DOCKER_DEFAULTS
    assert result.no_new_privs is False and result.seccomp == 2
    # The hardened run: every capability dropped but the one added back for port 80.
    assert result.hardened["capabilities"]["bounding"] == ["CAP_NET_BIND_SERVICE"]
    assert result.hardened["capabilities"]["effective"] == []
    assert result.hardened["no_new_privs"] is True and result.hardened["seccomp"] == 2
    assert result.trial["passed"] is True
    assert "--cap-add NET_BIND_SERVICE" in result.trial["recommended_flags"]
    assert "--user 65532:65532" in result.trial["recommended_flags"]
    assert not result.errors and result.overrides == []


def test_shell_less_image_is_read_from_the_hosts_proc_without_a_helper_image(
    shell_less: str,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HARDENING_HELPER_IMAGE", raising=False)
    result = probe_image(docker_client, shell_less, _unaided())
    assert result.observed_by.startswith("read from the host's /proc/")
    assert result.observed_by.endswith("/status")
    assert result.hardened["observed_by"].startswith("read from the host's /proc/")
    _assert_shell_less_facts(result)
    assert check_runtime(result, _unaided()) == []
    assert result.to_json()["observed_by"] == result.observed_by
    assert f"observed: {result.observed_by}" in format_result(result)
    report = Report(findings=(), runtime=runtime_facts(result.to_json()))
    assert f"How PID 1 was observed: {result.observed_by}." in runtime_section(report)
    _no_leftovers(docker_client, result.run_id)
    # The same facts as a helper container in its PID namespace sees them.
    helped = probe_image(docker_client, shell_less, _unaided(helper_image=BUSYBOX_IMAGE))
    assert helped.observed_by == f"helper container {BUSYBOX_IMAGE} (the helper image given)"
    assert _facts(helped) == _facts(result)
    # A helper given that cannot read it (it has no cat) gives way to the host's /proc.
    monkeypatch.setenv("HARDENING_HELPER_IMAGE", shell_less)
    fallen = probe_image(docker_client, shell_less, _unaided())
    assert fallen.observed_by.startswith("read from the host's /proc/")
    assert _facts(fallen) == _facts(result)


def _engine_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARDENING_HELPER_IMAGE", raising=False)
    monkeypatch.setattr(engine, "engine_elsewhere", lambda client: "the engine is at tcp://ci:2376")


def test_engine_elsewhere_reads_it_with_this_machines_static_busybox_imported(
    shell_less: str,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _engine_elsewhere(monkeypatch)
    result = probe_image(docker_client, shell_less, _unaided())
    tag = result.observed_by.split()[2]
    assert tag.startswith(f"{HELPER_REPOSITORY}:{result.run_id}-")
    assert result.observed_by.startswith(f"helper container {tag} (this machine's ")
    assert result.observed_by.endswith("busybox, imported)")
    assert result.hardened["observed_by"] == result.observed_by  # made once, used for both
    assert result.notes == [
        f"PID 1 was {result.observed_by} since not read from this machine's /proc: the engine "
        "is at tcp://ci:2376; the image has no /bin/cat"
    ]
    _assert_shell_less_facts(result)
    _no_leftovers(docker_client, result.run_id)
    assert not docker_client.images.list(name=tag)  # the helper image went with the run


def test_engine_elsewhere_without_static_busybox_uses_an_image_it_holds(
    shell_less: str,
    busybox_image: str,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _engine_elsewhere(monkeypatch)
    monkeypatch.setattr(hostproc, "static_reader", lambda arch: None)
    monkeypatch.setattr(engine, "LOCAL_HELPER_CANDIDATES", 100)  # other tests' images too
    result = probe_image(docker_client, shell_less, _unaided())
    assert result.observed_by.startswith("helper container ")
    assert result.observed_by.endswith(" (already in the engine)")
    _assert_shell_less_facts(result)
    _no_leftovers(docker_client, result.run_id)


def test_no_way_to_read_it_says_why_and_what_to_set(
    shell_less: str,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _engine_elsewhere(monkeypatch)
    monkeypatch.setattr(hostproc, "static_reader", lambda arch: None)
    monkeypatch.setattr(engine, "LOCAL_HELPER_CANDIDATES", 0)
    result = probe_image(docker_client, shell_less, _unaided(run_trial=False))
    assert result.user == {} and result.capabilities == {} and result.observed_by == ""
    [error] = result.errors
    assert "the engine is at tcp://ci:2376" in error and "the image has no /bin/cat" in error
    assert "no static busybox" in error and error.endswith(
        "set HARDENING_HELPER_IMAGE to an image with cat"
    )
    _no_leftovers(docker_client, result.run_id)
