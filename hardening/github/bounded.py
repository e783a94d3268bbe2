"""How long reporting may wait for GitHub: one cap for every call of a run.

GitHub asks a client to wait when it rate-limits (``Retry-After``, or ``X-RateLimit-Reset``
up to an hour ahead), and PyGithub's retry sleeps for as long as it is told. Here every
request, retry and wait of one run draws on one budget (``DEFAULT_MAX_WAIT_S`` seconds, or
``HARDENING_GITHUB_MAX_WAIT``): a wait that does not fit in what is left is refused at once,
and the whole publishing step is abandoned when the budget runs out, so reporting never holds
up the verdict.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from github import GithubRetry
from urllib3.exceptions import InvalidHeader, MaxRetryError

from hardening.model import Notification

DEFAULT_MAX_WAIT_S = 90.0
MAX_WAIT_ENV = "HARDENING_GITHUB_MAX_WAIT"
_WORDS = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}


class GaveUp(Exception):
    """Reporting stopped waiting for GitHub; ``str()`` says why, in one line."""

    def __init__(self, message: str, status: int | None = None, rate_limited: bool = False):
        super().__init__(message)
        self.status = status
        self.rate_limited = rate_limited


@dataclass
class Budget:
    """Seconds left for GitHub in this run, shared by every call and retry."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining(self) -> float:
        return max(0.0, self.started + self.seconds - self.clock())

    def cap_text(self) -> str:
        return f"the {self.seconds:g} s cap on waiting for GitHub ({MAX_WAIT_ENV})"

    def wait(self, seconds: float, status: int | None, rate_limited: bool) -> None:
        left = self.remaining()
        if seconds > left:
            asked = f"GitHub's rate limit asks to wait {seconds:.0f} s" if rate_limited else (
                f"a retry after {status or 'an error'} would wait {seconds:.0f} s"
            )  # fmt: skip
            raise GaveUp(
                f"{asked}, more than the {left:.0f} s left of {self.cap_text()}",
                status,
                rate_limited,
            )
        if seconds > 0:
            time.sleep(seconds)


def is_rate_limited(status: int | None, headers: Mapping[str, str]) -> bool:
    """GitHub's rate limits: 429, or 403 with Retry-After or no requests remaining."""
    if status == 429:
        return True
    lowered = {k.lower(): v for k, v in headers.items()}
    return status == 403 and (
        "retry-after" in lowered or lowered.get("x-ratelimit-remaining", "").strip() == "0"
    )


def times(count: int) -> str:
    return _WORDS.get(count, f"{count} times")


class BoundedRetry(GithubRetry):
    """PyGithub's retry (rate limits, 5xx), with every wait drawn from one ``Budget`` and a
    one-line ``GaveUp`` instead of urllib3's MaxRetryError when the retries are used up."""

    def __init__(self, budget: Budget | None = None, **kwargs: Any) -> None:
        self.budget = budget if budget is not None else Budget(DEFAULT_MAX_WAIT_S)
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> BoundedRetry:
        kw["budget"] = self.budget
        return super().new(**kw)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Any:
        status = getattr(response, "status", None)
        if self.budget.remaining() <= 0:
            raise GaveUp(f"{self.budget.cap_text()} ran out", status)
        try:
            return super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError as exc:
            if status is None:
                raise
            statuses = [h.status for h in self.history if h.status] + [status]
            said = (
                f"{status} {times(len(statuses))}"
                if len(set(statuses)) == 1
                else ", ".join(str(s) for s in statuses)
            )
            limited = is_rate_limited(status, response.headers)
            raise GaveUp(f"GitHub answered {said}", status, limited) from exc

    def sleep(self, response: Any = None) -> None:
        wanted: float | None = None
        status = getattr(response, "status", None)
        if response is not None and self.respect_retry_after_header:
            try:
                wanted = self.get_retry_after(response)
            except InvalidHeader:
                wanted = None
        if not wanted:
            wanted = self.get_backoff_time()
        limited = response is not None and is_rate_limited(status, response.headers)
        self.budget.wait(wanted, status, limited)


def run_bounded(
    work: Callable[[list[Notification]], None], budget: Budget, fail: Callable[[Exception], str]
) -> list[Notification]:
    """Run ``work`` (which appends its notes) for at most what is left of ``budget``.

    It runs in a daemon thread: a GitHub that never answers is left behind, not waited for.
    ``fail`` turns an exception that escapes ``work`` into a warning's text."""
    notes: list[Notification] = []

    def guarded() -> None:
        try:
            work(notes)
        except Exception as exc:  # reporting never changes the verdict
            notes.append(Notification("warning", "report", fail(exc)))

    worker = threading.Thread(target=guarded, name="docker-hardening-github", daemon=True)
    worker.start()
    worker.join(timeout=budget.remaining())
    done = list(notes)
    if worker.is_alive():
        done.append(
            Notification(
                "warning",
                "report",
                f"GitHub did not finish answering within {budget.cap_text()}; gave up "
                "(the report is in the job summary and the SARIF file; the verdict stands)",
            )
        )
    return done
