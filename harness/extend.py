"""The public extension surface of diffbench: what a plugin file imports.

A *case* (:mod:`harness.model.case`) is a function written once, against an array namespace
``xp``, that every backend (SymPy, mpmath, NumPy, JAX, PyTorch) evaluates.  A *method*
(:mod:`harness.model.method`) is a ``prepare`` function that turns a :class:`Cell` (case, order,
dtype, device) into an :class:`Evaluator`, plus a declaration of what it can do: all
derivation, tracing and compiling happens in ``prepare``; the evaluator's ``call`` is what
the clock times.  The registries (:mod:`harness.model.registry`) hold both.

Built-in cases and methods use exactly this API.  A plugin file does too::

    from harness.extend import Case, Method, Evaluator, register_case, register_method

    register_case(Case("cube", lambda xp, x: x**3, "x³", domain=(-2, 2)))

    def prepare_exact_cube(cell):
        return Evaluator(call=lambda x: 3 * x**2)

    register_method(Method("exact-cube", "symbolic", prepare_exact_cube))
"""

from __future__ import annotations

from harness.model.case import PROFILES, Case, CaseSweep, Training
from harness.model.method import FAMILIES, MODES, Cell, Evaluator, Method, Unavailable, Unsupported
from harness.model.registry import register_case, register_method, register_sweep
from harness.model.sparse import Separable
from harness.store.schema import SWELL_KEYS

__all__ = [
    "Case",
    "CaseSweep",
    "Cell",
    "Evaluator",
    "FAMILIES",
    "MODES",
    "Method",
    "PROFILES",
    "SWELL_KEYS",
    "Separable",
    "Training",
    "Unavailable",
    "Unsupported",
    "register_case",
    "register_method",
    "register_sweep",
]
