"""A real Docker registry on 127.0.0.1 (Debian's docker-registry package), for digest tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from tests.support.engine import _apt_install


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_registry(folder: Path, htpasswd: str = "") -> Iterator[str]:
    """A registry on 127.0.0.1; with ``htpasswd`` (a line of bcrypt credentials) it asks for
    Basic auth."""
    if shutil.which("docker-registry") is None:
        _apt_install("docker-registry")
    port = free_port()
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {folder / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    if htpasswd:
        (folder / "htpasswd").write_text(htpasswd + "\n")
        with config.open("a") as out:
            out.write(f"auth:\n  htpasswd:\n    realm: test\n    path: {folder / 'htpasswd'}\n")
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://{address}/v2/", timeout=1).status_code in (200, 401):
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise RuntimeError("the local registry did not start")
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)
