"""Reading a container's PID 1 from this machine's /proc, and finding a static binary to make a
helper of: what is refused, and why."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from hardening.probes import engine, hostproc
from tests.support.engine import busybox_binary

GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def test_a_process_that_is_not_the_container_is_refused() -> None:
    status, why = hostproc.read_status(os.getpid(), "f" * 64)
    assert status == {}
    where = f"/proc/{os.getpid()} on this machine"
    assert why == f"{where} is another process (its cgroup does not name the container)"


def test_a_pid_that_is_not_here_is_refused() -> None:
    assert hostproc.read_status(0, "f" * 64) == ({}, "the engine gave no pid for the container")
    assert hostproc.read_status(99_999_999, "f" * 64) == (
        {},
        "/proc/99999999 does not exist on this machine",
    )


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ({"NSpid": "4242\t1", "Name": "pause"}, ""),
        ({"Name": "pause"}, ""),  # kernels before 4.1 print no NSpid
        ({"NSpid": "4242", "Name": "pause"}, "is not in a PID namespace of its own"),
        ({"NSpid": "4242\t7", "Name": "pause"}, "is not PID 1 of its PID namespace"),
        ({"NSpid": "4242\t1", "Name": "runc:[2:INIT]"}, "is still the runtime's init, not yet the image's program"),
    ],
)  # fmt: skip
def test_only_pid_1_of_its_namespace_running_the_images_program(
    status: dict[str, str], why: str
) -> None:
    assert hostproc._not_pid1(status) == why


def test_static_elf_arch_tells_static_from_dynamic(tmp_path: Path) -> None:
    machine = GOARCH.get(platform.machine(), "")
    assert hostproc.static_elf_arch(busybox_binary()) == machine  # Debian's busybox-static
    assert hostproc.static_elf_arch(Path(os.path.realpath(sys.executable))) == ""  # has PT_INTERP
    (tmp_path / "script").write_text("#!/bin/sh\necho hi\n")
    assert hostproc.static_elf_arch(tmp_path / "script") == ""
    (tmp_path / "cut").write_bytes(busybox_binary().read_bytes()[:40])
    assert hostproc.static_elf_arch(tmp_path / "cut") == ""
    assert hostproc.static_elf_arch(tmp_path / "absent") == ""


def test_static_reader_only_for_the_engines_architecture(monkeypatch: pytest.MonkeyPatch) -> None:
    dynamic = os.path.realpath(sys.executable)
    readers = (("toybox", dynamic), ("busybox", str(busybox_binary())))
    monkeypatch.setattr(hostproc, "STATIC_READERS", readers)
    machine = GOARCH.get(platform.machine(), "")
    assert hostproc.static_reader(machine) == ("busybox", busybox_binary())
    assert hostproc.static_reader("s390x" if machine != "s390x" else "amd64") is None


def _client(base_url: str = "http+docker://localhost", security: tuple[str, ...] = ()) -> object:
    info = {"SecurityOptions": ["name=seccomp,profile=default", *security]}
    return SimpleNamespace(api=SimpleNamespace(base_url=base_url), info=lambda: info)


def test_engine_elsewhere_names_why_this_machines_proc_would_not_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert engine.engine_elsewhere(_client()) == ""
    assert engine.engine_elsewhere(_client("http+docker://ssh")) == (
        "the engine is reached through http+docker://ssh"
    )
    assert engine.engine_elsewhere(_client("https://10.0.0.5:2376")).startswith("the engine is")
    for option in ("name=userns", "name=rootless"):
        assert "remaps users" in engine.engine_elsewhere(_client(security=(option,)))
    monkeypatch.setenv("DOCKER_HOST", "tcp://ci:2376")
    assert engine.engine_elsewhere(_client()) == "the engine is at tcp://ci:2376"
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/docker.sock")
    assert engine.engine_elsewhere(_client()) == ""


@pytest.mark.docker
def test_the_engine_here_is_local(docker_client: object) -> None:
    assert engine.engine_elsewhere(docker_client) == ""


def test_the_runtimes_init_is_waited_for_until_it_is_the_program(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers: list[tuple[dict[str, str], str]] = [
        ({}, f"/proc/7 on this machine {hostproc.NOT_YET}")
    ] * 3
    answers.append(({"Uid": "10\t10\t10\t10"}, "/proc/7/status"))
    monkeypatch.setattr(hostproc, "read_status", lambda pid, container_id: answers.pop(0))
    monkeypatch.setattr(engine, "engine_elsewhere", lambda client: "")
    observer = engine.Observer(SimpleNamespace(client=None), "image")  # type: ignore[arg-type]
    container = SimpleNamespace(id="c" * 64, attrs={"State": {"Pid": 7}})
    status, how = observer.from_host(container)
    assert status == {"Uid": "10\t10\t10\t10"} and how == "read from the host's /proc/7/status"
    assert answers == [] and observer.reasons == []
