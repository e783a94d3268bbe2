"""A local stand-in for api.github.com on 127.0.0.1 that checks every request against GitHub's
published REST description (shared/schemas/github-rest-subset.json, extracted from
@octokit/openapi) and answers as GitHub does: pagination, 403 for a read-only token, 422 for
an oversized body, rate limits with retry-after, and transient 5xx. Tests can also script
whole answers (primary rate limits with ``X-RateLimit-Reset``), delete a comment right after
it was listed, or stall every answer.

A request the description does not have, or that breaks its schema, is answered 404/422 and
recorded in ``violations``; tests assert there are none.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from hardening.github.context import GitHubContext
from tests.conftest import shared_dir

COMMENT_LIMIT = 65536


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


class _OpenAPIRequest:
    def __init__(
        self,
        host_url: str,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        self.host_url = host_url
        self.method = method.lower()
        self.path = path
        self.full_url_pattern = host_url + path
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(query)),
            header=Headers(headers),
            cookie=ImmutableMultiDict(),
        )
        self.content_type = (
            headers.get("Content-Type", "application/json").split(";")[0] or "application/json"
        )
        self.body = body or None


@dataclass
class FakeGitHub:
    """State and behaviour of the fake; ``url`` is the base to give as GITHUB_API_URL."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    # (METHOD, path regex) -> list of statuses to answer first, in order (then normal answers)
    failures: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    read_only: bool = False  # a fork pull request's token: every write is 403
    retry_after: str = "1"
    # (METHOD, path regex) -> whole answers (status, headers, body) to give first, in order
    scripted: dict[tuple[str, str], list[tuple[int, dict[str, str], Any]]] = field(
        default_factory=dict
    )
    vanish_after_listing: set[int] = field(default_factory=set)  # comment ids, gone once listed
    stall_s: float = 0.0  # hold every answer this long (until the server stops)
    _next_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def rate_limit(
        self,
        method: str,
        pattern: str,
        *,
        status: int = 403,
        retry_after: str | None = None,
        reset_in_s: int | None = None,
        count: int = 20,
    ) -> None:
        """Answer ``count`` requests as GitHub's rate limits do: a primary limit (no requests
        remaining until ``X-RateLimit-Reset``) and/or a ``Retry-After``."""
        headers: dict[str, str] = {}
        message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        if reset_in_s is not None:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = str(int(time.time()) + reset_in_s)
            message = "API rate limit exceeded for installation ID 1."
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        answer = (status, headers, {"message": message})
        self.scripted.setdefault((method, pattern), []).extend([answer] * count)

    def seed_comments(self, issue: int, bodies: list[str]) -> None:
        for body in bodies:
            self._add_comment(issue, body)

    def _add_comment(self, issue: int, body: str) -> dict[str, Any]:
        self._next_id += 1
        cid = self._next_id
        comment = {
            "id": cid, "node_id": f"IC_{cid}", "body": body, "issue": issue,
            "url": f"{self.url}/repos/octo/app/issues/comments/{cid}",
            "html_url": f"https://github.com/octo/app/pull/{issue}#issuecomment-{cid}",
            "issue_url": f"{self.url}/repos/octo/app/issues/{issue}",
            "user": {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"},
            "created_at": "2026-11-22T00:00:00Z", "updated_at": "2026-11-22T00:00:00Z",
            "author_association": "NONE",
        }  # fmt: skip
        self.comments[cid] = comment
        return comment

    def issue_comments(self, issue: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["issue"] == issue]

    # -- request handling -------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        split = urlsplit(raw_path)
        path, query = split.path, split.query
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = body.decode(errors="replace")
        with self._lock:
            self.requests.append(Recorded(method, path, dict(parse_qsl(query)), payload, headers))
            error = self._validate(method, path, query, headers, body)
            if error:
                self.violations.append(f"{method} {path}: {error}")
                return 404, {}, {"message": f"not in GitHub's API description: {error}"}
            for (script_method, pattern), answers in self.scripted.items():
                if script_method == method and re.fullmatch(pattern, path) and answers:
                    return answers.pop(0)
            for (fail_method, pattern), statuses in self.failures.items():
                if fail_method == method and re.fullmatch(pattern, path) and statuses:
                    status = statuses.pop(0)
                    extra = {"Retry-After": self.retry_after} if status in (403, 429) else {}
                    message = (
                        "You have exceeded a secondary rate limit" if extra else "Server Error"
                    )
                    if status == 403 and not extra:
                        message = "Resource not accessible by integration"
                    return status, extra, {"message": message}
            if self.read_only and method in ("POST", "PATCH", "PUT", "DELETE"):
                return 403, {}, {"message": "Resource not accessible by integration"}
            return self._answer(method, path, dict(parse_qsl(query)), payload)

    def _validate(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> str:
        request = _OpenAPIRequest(self.url, method, path, query, headers, body)
        try:
            _openapi(self.url).validate_request(request)
        except Exception as exc:  # openapi-core raises one of many validation errors
            details = "; ".join(str(e) for e in getattr(exc, "schema_errors", []) or [])[:300]
            return f"{type(exc).__name__}: {exc} {details}".strip()
        return ""

    def _answer(
        self, method: str, path: str, query: dict[str, str], payload: Any
    ) -> tuple[int, dict[str, str], Any]:
        if m := re.fullmatch(r"/repos/octo/app/issues/(\d+)/comments", path):
            issue = int(m.group(1))
            if method == "GET":
                answer = self._page(self.issue_comments(issue), query, path)
                for cid in self.vanish_after_listing:
                    self.comments.pop(cid, None)
                return answer
            body = (payload or {}).get("body", "")
            if len(body) > COMMENT_LIMIT:
                return (
                    422,
                    {},
                    {
                        "message": "Validation Failed",
                        "errors": [{"field": "body", "code": "too_long"}],
                    },
                )
            return 201, {}, self._add_comment(issue, body)
        if m := re.fullmatch(r"/repos/octo/app/issues/comments/(\d+)", path):
            comment = self.comments.get(int(m.group(1)))
            if comment is None:
                return 404, {}, {"message": "Not Found"}
            if method == "DELETE":
                del self.comments[comment["id"]]
                return 204, {}, None
            if method == "PATCH":
                body = (payload or {}).get("body", "")
                if len(body) > COMMENT_LIMIT:
                    return 422, {}, {"message": "Validation Failed"}
                comment["body"] = body
            return 200, {}, comment
        if m := re.fullmatch(r"/repos/octo/app/pulls/(\d+)", path):
            number = int(m.group(1))
            return 200, {}, {
                "id": number, "number": number, "state": "open",
                "url": f"{self.url}/repos/octo/app/pulls/{number}",
                "issue_url": f"{self.url}/repos/octo/app/issues/{number}",
                "comments_url": f"{self.url}/repos/octo/app/issues/{number}/comments",
                "head": {"sha": "a" * 40, "ref": "feature"}, "base": {"sha": "b" * 40, "ref": "main"},
            }  # fmt: skip
        if path == "/repos/octo/app/check-runs" and method == "POST":
            self._next_id += 1
            run = {
                "id": self._next_id,
                **(payload or {}),
                "url": f"{self.url}/repos/octo/app/check-runs/{self._next_id}",
            }
            annotations = list((payload or {}).get("output", {}).get("annotations", []))
            run["all_annotations"] = annotations
            self.check_runs[self._next_id] = run
            return 201, {}, run
        if m := re.fullmatch(r"/repos/octo/app/check-runs/(\d+)", path):
            run = self.check_runs.get(int(m.group(1)))
            if run is None:
                return 404, {}, {"message": "Not Found"}
            if method == "PATCH":
                run["all_annotations"] += list(
                    (payload or {}).get("output", {}).get("annotations", [])
                )
            return 200, {}, run
        return 404, {}, {"message": "Not Found"}

    def _page(
        self, items: list[dict[str, Any]], query: dict[str, str], path: str
    ) -> tuple[int, dict[str, str], Any]:
        per_page = int(query.get("per_page", "30"))
        page = int(query.get("page", "1"))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        last = max(1, -(-len(items) // per_page))
        if page < last:
            headers["Link"] = (
                f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next", '
                f'<{self.url}{path}?per_page={per_page}&page={last}>; rel="last"'
            )
        return 200, headers, chunk


_SPECS: dict[str, OpenAPI] = {}


def _openapi(base_url: str) -> OpenAPI:
    if base_url not in _SPECS:
        spec = json.loads((shared_dir() / "schemas" / "github-rest-subset.json").read_text())
        spec["servers"] = [{"url": base_url}]
        _SPECS[base_url] = OpenAPI.from_dict(spec)
    return _SPECS[base_url]


def serve() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _do(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items()}
            status, extra, payload = fake.handle(self.command, self.path, headers, body)
            if fake.stall_s:
                fake._stopping.wait(fake.stall_s)
            data = b"" if status == 204 else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-RateLimit-Limit", "1000")
            if "X-RateLimit-Remaining" not in extra:
                self.send_header("X-RateLimit-Remaining", "999")
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _do

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake._stopping.set()
        server.shutdown()
        server.server_close()


def pull_request_context(
    fake: FakeGitHub, *, fork: bool = False, pr: int | None = 7
) -> GitHubContext:
    """A run on pull request ``pr`` of octo/app, reporting to ``fake``."""
    return GitHubContext(
        api_url=fake.url, server_url="https://github.com", repository="octo/app",
        event_name="pull_request", sha="a" * 40, pr_number=pr, is_fork=fork, run_id="1", token="ghs_test",
    )  # fmt: skip
