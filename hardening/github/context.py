"""What the runner tells the action about the run: repository, event, pull request, token.

The event file is read defensively: a file that is not JSON, a pull request without a usable
number or with fields of the wrong type leaves those values unknown and says so in
``problems``; it never raises.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class GitHubContext:
    api_url: str
    server_url: str
    repository: str  # owner/name
    event_name: str
    sha: str  # the commit to report on: the PR's head, not the test merge commit
    pr_number: int | None
    is_fork: bool
    run_id: str
    token: str
    problems: tuple[str, ...] = ()  # what could not be read from the event, in words

    @property
    def run_url(self) -> str:
        return (
            f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}" if self.run_id else ""
        )


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def read_event(path: str) -> tuple[dict[str, Any], list[str]]:
    """The event payload as a dict, and what was wrong with the file."""
    if not path or not Path(path).is_file():
        return {}, []
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, [f"the event file {path} could not be read as JSON ({type(exc).__name__})"]
    if not isinstance(event, dict):
        return {}, [f"the event file {path} holds a JSON {type(event).__name__}, not an object"]
    return event, []


def pr_number(pull: Mapping[str, Any], event: Mapping[str, Any]) -> tuple[int | None, list[str]]:
    raw = pull.get("number") if pull.get("number") is not None else event.get("number")
    if raw is None:
        return None, ["the event's pull request has no number"]
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return raw, []
    if isinstance(raw, str) and raw.strip().isdigit() and int(raw) > 0:
        return int(raw), []
    return None, [f"the event's pull request number {str(raw)[:40]!r} is not a positive number"]


def _pull_request(event: Mapping[str, Any], sha: str) -> tuple[int | None, str, bool, list[str]]:
    """Number, head commit and fork-ness of the event's pull request."""
    if "pull_request" not in event:
        return None, sha, False, []
    pull = event["pull_request"]
    if not isinstance(pull, dict):
        return None, sha, False, ["the event's pull_request is not an object"]
    number, problems = pr_number(pull, event)
    head, base = _mapping(pull.get("head")), _mapping(pull.get("base"))
    head_sha = head.get("sha")
    if isinstance(head_sha, str) and head_sha:
        sha = head_sha
    head_repo, base_repo = _mapping(head.get("repo")), _mapping(base.get("repo"))
    fork = bool(head_repo) and head_repo.get("full_name") != base_repo.get("full_name")
    return number, sha, fork, problems


def url_problem(name: str, url: str) -> str:
    """Why ``url`` cannot be used as an http(s) base URL, or "" when it can."""
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        usable = False
    return "" if usable else f"{name} {url[:100]!r} is not an http(s) URL"


def context_from_env(environ: Mapping[str, str], token: str) -> GitHubContext | None:
    repository = environ.get("GITHUB_REPOSITORY", "")
    if not repository:
        return None
    event, problems = read_event(environ.get("GITHUB_EVENT_PATH", ""))
    number, sha, fork, pull_problems = _pull_request(event, environ.get("GITHUB_SHA", ""))
    return GitHubContext(
        api_url=environ.get("GITHUB_API_URL", "https://api.github.com").strip().rstrip("/"),
        server_url=environ.get("GITHUB_SERVER_URL", "https://github.com").strip().rstrip("/"),
        repository=repository,
        event_name=environ.get("GITHUB_EVENT_NAME", ""),
        sha=sha,
        pr_number=number,
        is_fork=fork,
        run_id=environ.get("GITHUB_RUN_ID", ""),
        token=token,
        problems=tuple(problems + pull_problems),
    )
