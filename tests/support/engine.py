"""A real Docker engine and local base images for the tests, the demo and CI.

- Reuses an engine that already answers; otherwise installs Debian's ``docker.io`` (as root),
  starts ``dockerd`` in the background and waits until it answers.
- Builds the local base images the tests need without any registry: a busybox image FROM
  scratch (Debian's busybox-static) and a Debian base from debootstrap, cached between runs.

Run as ``python -m tests.support.engine ensure`` to prepare a machine; the pytest fixtures in
``tests/conftest.py`` call the same functions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
from docker.errors import DockerException, ImageNotFound

BUSYBOX_IMAGE = "docker-hardening.test/busybox:latest"
DEBIAN_IMAGE = "docker-hardening.test/debian:bookworm"
TEST_LABEL = "docker-hardening.test"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "docker-hardening"
DEBIAN_TARBALL = CACHE_DIR / "debian-bookworm-minbase.tar.gz"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
DOCKERD_LOG = CACHE_DIR / "dockerd.log"


class EngineUnavailable(RuntimeError):
    """No engine could be had; the message says why and what to do."""


def _log(message: str) -> None:
    print(f"[engine] {message}", file=sys.stderr, flush=True)


def _answers() -> docker.DockerClient | None:
    try:
        client = docker.from_env(timeout=30)
        client.ping()
        return client
    except DockerException:
        return None


def _apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise EngineUnavailable(
            f"{' '.join(packages)} missing and not root: install them (apt-get install "
            f"{' '.join(packages)}) or run the tests as root"
        )
    _log(f"installing {' '.join(packages)} from Debian's packages")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def ensure_engine(timeout_s: float = 90.0) -> docker.DockerClient:
    client = _answers()
    if client is not None:
        return client
    if shutil.which("dockerd") is None or not Path("/usr/bin/docker").exists():
        _apt_install("docker.io")
    if os.geteuid() != 0:
        raise EngineUnavailable("no Docker engine answers and dockerd needs root to start")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    _log(f"starting dockerd (log: {DOCKERD_LOG})")
    with DOCKERD_LOG.open("ab") as log:
        subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        client = _answers()
        if client is not None:
            _log("dockerd answers")
            return client
        time.sleep(0.5)
    tail = DOCKERD_LOG.read_text(errors="replace")[-2000:] if DOCKERD_LOG.exists() else ""
    raise EngineUnavailable(f"dockerd did not answer within {timeout_s:.0f}s; log tail:\n{tail}")


def _image_exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
        return True
    except ImageNotFound:
        return False


def busybox_binary() -> Path:
    """Debian's statically linked busybox (the plain busybox package is dynamic and cannot run
    in an empty image)."""
    installed = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", "busybox-static"], capture_output=True, text=True
    ).stdout
    if "install ok installed" not in installed:
        _apt_install("busybox-static")
    return Path("/bin/busybox")


def legacy_docker_cli() -> str:
    """A docker client that builds with BuildKit (Debian's 20.10 client on these machines)."""
    return "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"


def build_image(context: Path, tag: str, dockerfile: str = "Dockerfile", *args: str) -> None:
    """Build with BuildKit through the CLI, as the product does, for test fixtures."""
    cmd = [legacy_docker_cli(), "build", "-q", "-t", tag, "-f", str(context / dockerfile)]
    cmd += [*args, str(context)]
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"building {tag} failed:\n{result.stderr[-3000:]}")


def ensure_busybox_image(client: docker.DockerClient) -> str:
    if _image_exists(client, BUSYBOX_IMAGE):
        return BUSYBOX_IMAGE
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        shutil.copy2(busybox_binary(), ctx / "busybox")
        (ctx / "Dockerfile").write_text(
            "FROM scratch\n"
            "COPY busybox /bin/busybox\n"
            'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
            "RUN mkdir -p /etc /tmp && chmod 1777 /tmp && "
            "echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd && "
            "echo 'root:x:0:' > /etc/group\n"
            'CMD ["sh"]\n'
        )
        build_image(ctx, BUSYBOX_IMAGE)
    return BUSYBOX_IMAGE


def ensure_debian_image(client: docker.DockerClient) -> str:
    if _image_exists(client, DEBIAN_IMAGE):
        return DEBIAN_IMAGE
    if not DEBIAN_TARBALL.exists():
        if shutil.which("debootstrap") is None:
            _apt_install("debootstrap")
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "root"
            _log("debootstrap of a minimal Debian bookworm (about a minute)")
            subprocess.run(
                ["debootstrap", "--variant=minbase", "bookworm", str(root), DEBIAN_MIRROR],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            partial = DEBIAN_TARBALL.with_suffix(".partial")
            subprocess.run(["tar", "-C", str(root), "-czf", str(partial), "."], check=True)
            partial.rename(DEBIAN_TARBALL)
    _log(f"importing {DEBIAN_TARBALL.name} as {DEBIAN_IMAGE}")
    with DEBIAN_TARBALL.open("rb") as stream:
        subprocess.run(
            [legacy_docker_cli(), "import", "-c", 'CMD ["bash"]', "-", DEBIAN_IMAGE],
            stdin=stream,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return DEBIAN_IMAGE


def ensure_all() -> docker.DockerClient:
    client = ensure_engine()
    ensure_busybox_image(client)
    ensure_debian_image(client)
    return client


def main(argv: list[str]) -> int:
    if argv[:1] != ["ensure"]:
        print("usage: python -m tests.support.engine ensure", file=sys.stderr)
        return 2
    try:
        ensure_all()
    except (EngineUnavailable, subprocess.CalledProcessError, RuntimeError) as exc:
        print(f"error: could not prepare the Docker engine: {exc}", file=sys.stderr)
        return 3
    _log(f"ready: {BUSYBOX_IMAGE}, {DEBIAN_IMAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
