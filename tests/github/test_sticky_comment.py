"""One sticky comment per image, whatever happened to it since the last run."""

from __future__ import annotations

from hardening.github.publish import PublishOptions, marker, publish
from hardening.model import GateVerdict, Report
from tests.support.fake_github import FakeGitHub, pull_request_context

CATEGORY = "docker-hardening/app/Dockerfile/"
FAST = PublishOptions(retries=2, backoff_s=0.01, max_wait_s=10)


def _report() -> Report:
    return Report(findings=(), category=CATEGORY, verdict=GateVerdict(True, "passed"))


def _ours(fake: FakeGitHub) -> list[dict[str, object]]:
    return [c for c in fake.issue_comments(7) if marker(CATEGORY) in str(c["body"])]


def test_duplicate_sticky_comments_are_cleaned_up_to_the_oldest(github: FakeGitHub) -> None:
    github.seed_comments(7, [marker(CATEGORY) + "\nfirst run"])
    github.seed_comments(7, ["a reviewer's comment"])
    github.seed_comments(7, [marker(CATEGORY) + "\nraced run"])
    oldest = min(int(str(c["id"])) for c in _ours(github))
    [note] = publish(_report(), pull_request_context(github), FAST)
    assert note.message == "PR comment updated, 1 duplicate(s) deleted"
    [kept] = _ours(github)
    assert kept["id"] == oldest and "first run" not in str(kept["body"])
    assert len(github.issue_comments(7)) == 2  # the reviewer's comment is left alone
    deletes = [r for r in github.requests if r.method == "DELETE"]
    assert len(deletes) == 1
    assert not github.violations, github.violations


def test_a_comment_deleted_after_listing_is_created_again(github: FakeGitHub) -> None:
    github.seed_comments(7, [marker(CATEGORY) + "\nold report"])
    [old] = _ours(github)
    github.vanish_after_listing.add(int(str(old["id"])))
    [note] = publish(_report(), pull_request_context(github), FAST)
    assert note.level == "note" and note.message.startswith("PR comment created again")
    [new] = _ours(github)
    assert new["id"] != old["id"] and "old report" not in str(new["body"])
    methods = [r.method for r in github.requests]
    assert methods == ["GET", "PATCH", "POST"]
    assert not github.violations, github.violations


def test_a_duplicate_already_deleted_is_not_an_error(github: FakeGitHub) -> None:
    github.seed_comments(7, [marker(CATEGORY) + "\none", marker(CATEGORY) + "\ntwo"])
    newer = max(int(str(c["id"])) for c in _ours(github))
    github.vanish_after_listing.add(newer)
    [note] = publish(_report(), pull_request_context(github), FAST)
    assert note.message == "PR comment updated"
    assert len(_ours(github)) == 1
