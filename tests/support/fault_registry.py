"""Faulty registries on 127.0.0.1, to see how the real trivy copes with its DB repository.

Each is a context manager yielding ``"127.0.0.1:PORT"`` (an ``Address``, a ``str`` that also
carries ``.requests``: the ``(method, path, status)`` it answered, in order):

- ``manifests_404()``: answers 404 MANIFEST_UNKNOWN to every manifest request;
- ``rate_limited(upstream, failures=N)``: answers 429 TOOMANYREQUESTS to the first N manifest
  requests, then proxies everything to the real registry ``upstream``;
- ``never_answers()``: accepts TCP connections and never sends a byte (closed at exit, so
  nothing hangs at teardown);
- ``refused()``: a free port that nobody listens on.

Servers run in daemon threads; every socket has a timeout, and the servers stop at exit.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

MANIFEST_PATH = "/manifests/"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}


class Address(str):
    """``127.0.0.1:PORT`` plus the log of the requests the server answered."""

    requests: list[tuple[str, str, int]]

    def __new__(cls, value: str) -> Address:
        obj = super().__new__(cls, value)
        obj.requests = []
        return obj


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _is_manifest(path: str) -> bool:
    return path.startswith("/v2/") and MANIFEST_PATH in path


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # a stuck client cannot hold a handler thread forever
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.server.address.requests.append((self.command, self.path, status))

    def _error(self, status: int, code: str, message: str, extra: dict[str, str]) -> None:
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self._answer(status, body, {"Content-Type": "application/json", **extra})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self.server.behaviour(self)

    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_DELETE = do_GET


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, behaviour: Any) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.address = Address(f"127.0.0.1:{self.server_address[1]}")


@contextmanager
def _serving(behaviour: Any) -> Iterator[Address]:
    server = _Server(behaviour)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield server.address
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _api_root(handler: _Handler) -> bool:
    if handler.path.rstrip("/") == "/v2":
        handler._answer(200, b"{}", {"Content-Type": "application/json",
                                     "Docker-Distribution-API-Version": "registry/2.0"})  # fmt: skip
        return True
    return False


@contextmanager
def manifests_404() -> Iterator[Address]:
    """A registry where no manifest exists (MANIFEST_UNKNOWN, as a registry without the repo)."""

    def behaviour(handler: _Handler) -> None:
        handler._body()
        if _api_root(handler):
            return
        if _is_manifest(handler.path):
            handler._error(404, "MANIFEST_UNKNOWN", "manifest unknown", {})
        else:
            handler._error(404, "NAME_UNKNOWN", "repository name not known to registry", {})

    with _serving(behaviour) as address:
        yield address


@contextmanager
def rate_limited(upstream: str, failures: int = 1) -> Iterator[Address]:
    """429 TOOMANYREQUESTS (with Retry-After) on the first ``failures`` manifest requests, then a
    transparent proxy to ``upstream`` (``127.0.0.1:PORT`` of a real registry)."""
    lock = threading.Lock()
    refused = [0]

    def behaviour(handler: _Handler) -> None:
        body = handler._body()
        if _is_manifest(handler.path):
            with lock:
                limited = refused[0] < failures
                refused[0] += limited
            if limited:
                handler._error(
                    429,
                    "TOOMANYREQUESTS",
                    "You have reached your pull rate limit.",
                    {"Retry-After": "1"},
                )
                return
        headers = {
            name: value
            for name, value in handler.headers.items()
            if name.lower() not in HOP_BY_HOP and name.lower() != "host"
        }
        response = requests.request(
            handler.command,
            f"http://{upstream}{handler.path}",
            headers=headers,
            data=body or None,
            allow_redirects=False,
            timeout=60,
        )
        out = {
            name: value
            for name, value in response.headers.items()
            if name.lower() not in HOP_BY_HOP
        }
        if "Location" in out:
            out["Location"] = out["Location"].replace(upstream, handler.server.address)
        handler._answer(response.status_code, response.content, out)

    with _serving(behaviour) as address:
        yield address


@contextmanager
def never_answers() -> Iterator[Address]:
    """Accepts connections and never answers; every accepted socket is closed at exit."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    address = Address(f"127.0.0.1:{listener.getsockname()[1]}")
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)
            address.requests.append(("CONNECT", "", 0))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield address
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


@contextmanager
def refused() -> Iterator[Address]:
    """A port with nothing listening: connections are refused."""
    yield Address(f"127.0.0.1:{free_port()}")
