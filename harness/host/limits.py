"""What stops a cell or a run: a cell's time budget, and the signals that stop a run.

A cell past its budget gets :class:`CellTimeout` from an alarm (Python code only; a
worker whose native code ignores it is stopped by its parent).  A run is stopped by
Ctrl-C (SIGINT), a scheduler's SIGTERM, or the SIGUSR2 that Slurm and submitit send before a
time limit: while a run measures, each raises :class:`StopRun`, so a ``KeyboardInterrupt``
that a method raises itself is told apart from the user's.  Where a run keeps what it
measured (recording a finished cell, writing the results) the signals are held: one that
comes then is acted on afterwards, never halfway through a write.
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


# what stops a run: Ctrl-C, a scheduler's SIGTERM, and SIGUSR2 (Slurm's and submitit's warning
# before a time limit) where the platform has it
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR2")
                     if hasattr(signal, name))


_pending: str | None = None  # a stop signal recorded outside a run (record_stops)


def _record(signum, frame) -> None:
    global _pending
    _pending = signal.Signals(signum).name


def record_stops() -> None:
    """For the rest of the process, a stop signal that comes outside :class:`StopSignals` is only
    recorded: ``diffbench run`` sets this as it starts, so that a stop while it loads is acted on
    by the run (a results file of no cells) and one after its files are written does not turn its
    exit status into a kill's."""
    if _main_thread():
        for sig in STOP_SIGNALS:
            signal.signal(sig, _record)


class StopSignals:
    """SIGINT, SIGTERM and SIGUSR2 raise :class:`StopRun` for the body (main thread only);
    ``received`` says whether one came, even if something along the way swallowed the exception.

    ``held=True`` starts it held: a stop is only recorded, and raised where the code says so —
    :func:`armed` around what may wait or compute long (a cell being measured, the plan, the step
    sweep), ``received`` checked between cells — so that no stop falls between a finished cell
    and its record, nor into the writing of a file.  Entered again while active (the CLI enters
    it before :func:`harness.run` does), the outer handling is kept: one run has one record of
    its stop."""

    _active: StopSignals | None = None

    def __init__(self, held: bool = False):
        self.received: str | None = None
        self._previous: dict = {}
        self._held = int(held)
        self._outer: StopSignals | None = None

    def _stop(self, signum, frame):
        self.received = signal.Signals(signum).name
        if not self._held:
            raise StopRun(self.received)

    def __enter__(self) -> StopSignals:
        if StopSignals._active is not None:  # nested: the outer one goes on handling
            self._outer = StopSignals._active
            return self._outer
        if _main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._stop)
            StopSignals._active = self
            global _pending
            if _pending:  # a stop that came as the command started: acted on at the first chance
                self.received, _pending = _pending, None
        return self

    def __exit__(self, *exc) -> None:
        if self._outer is not None:
            self._outer = None
            return
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        if StopSignals._active is self:
            StopSignals._active = None

    @contextlib.contextmanager
    def held(self, then_stop: bool = True):
        """The body runs to its end whatever signal comes; one that came is then raised as
        :class:`StopRun` (``then_stop``) or only recorded in ``received``."""
        self._held += 1
        try:
            yield self
        finally:
            self._held -= 1
        if then_stop and self.received and not self._held:
            raise StopRun(self.received)


@contextlib.contextmanager
def armed():
    """For the body, a stop signal raises :class:`StopRun` at once even where the active
    :class:`StopSignals` is held (one already recorded, on entry): what a stop must not wait for,
    a cell being measured or a worker being waited on.  Outside a run it changes nothing."""
    active = StopSignals._active
    if active is None:
        yield
        return
    held, active._held = active._held, 0
    try:
        if active.received:
            raise StopRun(active.received)
        yield
    finally:
        active._held = held
