"""How a cell ends, as the loop receives it: measured, or lost before it could be.

A cell measured in this process or a worker is :class:`Measured` (its row holds its status:
ok, failed, unsupported, unavailable or timeout).  A worker that could not measure it at
all reports :class:`Failed`; a worker that had to be stopped is :class:`TimedOut`; one that
died is :class:`Crashed`.  The last three become rows that say what the cell was and why
it has no figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.store.schema import CellRow, PointRow


@dataclass(frozen=True)
class Measured:
    row: CellRow
    points: list[PointRow]


@dataclass(frozen=True)
class Failed:
    message: str
    status = "failed"


@dataclass(frozen=True)
class TimedOut:
    budget_s: float
    ran_s: float
    status = "timeout"

    @property
    def message(self) -> str:
        return (f"cell exceeded its {self.budget_s:g} s budget (stopped after {self.ran_s:.3g} s; "
                f"its worker was stopped)")


@dataclass(frozen=True)
class Crashed:
    message: str
    status = "crashed"


Outcome = Measured | Failed | TimedOut | Crashed
