"""Edit the sticky comment in place, or post it anew when the results got worse.

Editing a comment notifies nobody, so a pull request that starts failing on a new finding
would go unnoticed. The comment therefore carries, hidden, the fingerprints of the findings
that failed the gate when it was written (``<!-- docker-hardening:blocking ... -->``). When
this run's blocking findings include one that list does not, the report is posted as a new
comment (subscribers are notified) and the previous one is replaced by a one-line pointer to
it, which no longer carries the report's marker: there is never more than one full report.
Same or better (nothing new blocks): the comment is edited in place, as before.

This is about the previous comment, not the pull request's base commit.
"""

from __future__ import annotations

import re

from hardening.model import Report

BLOCKING = "docker-hardening:blocking"
SHORT = 16  # hex digits of a fingerprint kept: collisions are out of reach at these counts
MAX_LISTED = 400  # about 7 KB of the comment's 65,536 characters
_BLOCKING = re.compile(r"<!-- docker-hardening:blocking total=(\d+)((?: [0-9a-f]+)*) -->")


def _current(report: Report) -> set[str]:
    verdict = report.verdict
    return {fp[:SHORT] for fp in verdict.blocking} if verdict is not None else set()


def blocking_marker(report: Report) -> str:
    listed = sorted(_current(report))
    shown = " ".join(listed[:MAX_LISTED])
    return f"<!-- {BLOCKING} total={len(listed)}{' ' + shown if shown else ''} -->"


def read_blocking(body: str) -> tuple[frozenset[str], int] | None:
    """(fingerprints listed, how many blocked) from a comment; None when it lists none (a
    comment written before this marker existed)."""
    found = _BLOCKING.search(body or "")
    if found is None:
        return None
    return frozenset(found.group(2).split()), int(found.group(1))


def newly_blocking(report: Report, previous_body: str) -> int:
    """How many findings fail the gate now that the previous comment did not list: 0 when the
    results are the same or better, or when the previous comment cannot tell."""
    previous = read_blocking(previous_body)
    if previous is None:
        return 0
    listed, total = previous
    current = _current(report)
    new = current - listed
    if total > len(listed):  # the previous list was cut short: only more of them is surely worse
        return max(0, len(current) - total) if new else 0
    return len(new)


def replaced_marker(category: str) -> str:
    return f"<!-- docker-hardening:replaced category={category} -->"


def pointer_body(category: str, url: str, newly: int) -> str:
    where = url or "the newest docker-hardening comment below"
    return (
        f"{replaced_marker(category)}\n"
        f"_Replaced by a newer report, because {newly} finding(s) now fail the gate that did "
        f"not before: {where}_"
    )
