"""Cancellation: GitHub cancels a job with SIGTERM (and SIGKILL after a grace period); a user
presses Ctrl-C. Either way the run stops its child processes at once, and the pipeline then
removes what it made and writes a complete SARIF file and summary saying it was cancelled."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from hardening import processes

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Cancelled(BaseException):
    """Raised in the main thread when a cancelling signal arrives."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@contextlib.contextmanager
def cancellable() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into :class:`Cancelled` in the main thread, once; a second
    signal during the cleanup that follows is noted, not acted on. Elsewhere (a worker thread,
    an embedding program) signals are left as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[str] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        processes.cancel()
        if fired:
            return
        fired.append(signal.Signals(signum).name)
        raise Cancelled(fired[0])

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield
    finally:
        # Signals after this point (while outputs are written) still only stop children.
        for sig, old in previous.items():
            signal.signal(sig, old)
