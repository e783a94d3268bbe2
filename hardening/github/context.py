"""What the runner tells the action about the run: repository, event, pull request, token."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


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

    @property
    def run_url(self) -> str:
        return (
            f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}" if self.run_id else ""
        )


def context_from_env(environ: Mapping[str, str], token: str) -> GitHubContext | None:
    repository = environ.get("GITHUB_REPOSITORY", "")
    if not repository:
        return None
    event: dict[str, object] = {}
    path = environ.get("GITHUB_EVENT_PATH", "")
    if path and Path(path).is_file():
        try:
            event = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            event = {}
    pull = event.get("pull_request") if isinstance(event.get("pull_request"), dict) else None
    sha = environ.get("GITHUB_SHA", "")
    number = None
    fork = False
    if isinstance(pull, dict):
        number = int(str(pull.get("number") or event.get("number") or 0)) or None
        head = pull.get("head") or {}
        base = pull.get("base") or {}
        if isinstance(head, dict):
            sha = str(head.get("sha") or sha)
            head_repo = (head.get("repo") or {}) if isinstance(head.get("repo"), dict) else {}
            base_repo = (
                (base.get("repo") or {})
                if isinstance(base, dict) and isinstance(base.get("repo"), dict)
                else {}
            )
            fork = bool(head_repo) and head_repo.get("full_name") != base_repo.get("full_name")
    return GitHubContext(
        api_url=environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        server_url=environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
        repository=repository,
        event_name=environ.get("GITHUB_EVENT_NAME", ""),
        sha=sha,
        pr_number=number,
        is_fork=fork,
        run_id=environ.get("GITHUB_RUN_ID", ""),
        token=token,
    )
