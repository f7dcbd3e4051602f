"""The whole public extension surface of diffbench, in one module.

A *case* is a function written once, against an array namespace ``xp``, that
every backend (SymPy, mpmath, NumPy, JAX, PyTorch) evaluates.  A *method* is a
``prepare`` function that turns a :class:`Cell` (case, order, dtype, device)
into an :class:`Evaluator`: all derivation, tracing and compiling happens in
``prepare``; the evaluator's ``call`` is what the clock times.

Built-in cases and methods use exactly this API.  A plugin file does too::

    from harness.extend import Case, Method, Evaluator, register_case, register_method

    register_case(Case("cube", lambda xp, x: x**3, "x³", domain=(-2, 2)))

    def prepare_exact_cube(cell):
        import numpy as np
        return Evaluator(call=lambda x: 3 * x**2)

    register_method(Method("exact-cube", "symbolic", prepare_exact_cube))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.registry import CASES, METHODS

__all__ = [
    "Case",
    "Cell",
    "Evaluator",
    "Method",
    "Unavailable",
    "Unsupported",
    "register_case",
    "register_method",
]

FAMILIES = ("symbolic", "numerical", "automatic")


class Unsupported(Exception):
    """Raised by ``prepare`` when a method cannot compute what the cell asks.

    The cell is recorded with status ``unsupported`` and this message; it is a
    property of the method, not a failure.
    """


class Unavailable(Exception):
    """Raised by ``prepare`` when what the method needs is not here (a GPU, a library).

    The cell is recorded with status ``unavailable`` and this message.
    """


@dataclass(frozen=True)
class Case:
    """A test function, written once for every backend.

    ``fn(xp, x)`` uses only arithmetic and the elementwise functions every
    namespace provides (see :data:`harness.namespaces.ELEMENTARY`); it is applied
    elementwise, so scalar cases are vectorised over evaluation points.
    """

    name: str
    fn: Callable[[Any, Any], Any]
    formula: str
    domain: tuple[float, float] = (-5.0, 5.0)
    grid: int = 100  # points of np.linspace(*domain, grid), as the seeds plot them
    seed_points: tuple[float, ...] = ()  # points the seeds quote figures at
    orders: tuple[int, ...] = (1,)  # derivative orders that make sense here
    kinks: tuple[float, ...] = ()  # points where the derivative does not exist
    dim: int = 1
    quantity: str = "derivative"
    source: str = ""  # where the case comes from (a seed, a paper)
    note: str = ""

    def points(self) -> np.ndarray:
        """Evaluation points (float64): the seed points and the grid, sorted."""
        grid = np.linspace(self.domain[0], self.domain[1], self.grid)
        return np.unique(np.concatenate([np.asarray(self.seed_points, float), grid]))


@dataclass(frozen=True)
class Cell:
    """What one measurement is of: passed to a method's ``prepare``."""

    case: Case
    order: int
    dtype: str  # "float32" | "float64"
    device: str  # "cpu" | "gpu"


def _identity(x):
    return x


@dataclass
class Evaluator:
    """A prepared derivative.

    ``to_device`` moves the NumPy input where ``call`` wants it (done before the
    clock).  ``call`` computes the derivative at every point and returns only
    once the result is ready (``block_until_ready``, CUDA synchronised): it is
    exactly what is timed.  ``to_numpy`` brings the result back for checking.
    """

    call: Callable[[Any], Any]
    to_device: Callable[[np.ndarray], Any] = _identity
    to_numpy: Callable[[Any], np.ndarray] = np.asarray
    info: dict = field(default_factory=dict)  # e.g. the derivative expression


@dataclass(frozen=True)
class Method:
    """A way of differentiating: metadata plus a ``prepare`` function.

    ``requires`` names the modules it imports; when one is missing the cell is
    ``unavailable`` with the import error.  ``devices`` lists where it can run.
    """

    name: str
    family: str
    prepare: Callable[[Cell], Evaluator]
    requires: tuple[str, ...] = ()
    devices: tuple[str, ...] = ("cpu",)
    max_order: int = 1
    description: str = ""

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"method {self.name!r}: family must be one of {FAMILIES}")


def register_case(case: Case) -> Case:
    """Add a case to the registry (a later registration of a name replaces it)."""
    CASES.add(case.name, case)
    return case


def register_method(method: Method) -> Method:
    """Add a method to the registry (a later registration of a name replaces it)."""
    METHODS.add(method.name, method)
    return method
