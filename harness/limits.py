"""What stops a cell or a run: a cell's time budget, and the signals that stop a run.

A cell past its budget gets :class:`CellTimeout` from an alarm (Python code only; a
worker whose native code ignores it is stopped by its parent).  A run is stopped by
Ctrl-C (SIGINT) or a scheduler's SIGTERM: while a run measures, both raise :class:`StopRun`,
so a ``KeyboardInterrupt`` that a method raises itself is told apart from the user's.
"""

from __future__ import annotations

import contextlib
import signal
import threading


class CellTimeout(BaseException):
    """The cell spent its budget.  A BaseException, so that a method's own ``except Exception``
    does not swallow it."""


class StopRun(KeyboardInterrupt):
    """The user (Ctrl-C) or a scheduler (SIGTERM) stops the run: the finished cells are kept."""


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise CellTimeout in the main thread after ``seconds`` (Python code only)."""
    if not (seconds and hasattr(signal, "setitimer") and _main_thread()):
        yield
        return

    def expire(signum, frame):
        raise CellTimeout(f"cell exceeded its {seconds:g} s budget")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class StopSignals:
    """SIGINT and SIGTERM raise :class:`StopRun` for the body (main thread only); ``received``
    says whether one came, even if something along the way swallowed the exception."""

    def __init__(self):
        self.received: str | None = None
        self._previous: dict = {}

    def _stop(self, signum, frame):
        self.received = signal.Signals(signum).name
        raise StopRun(self.received)

    def __enter__(self) -> StopSignals:
        if _main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._stop)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
