"""Named selections that redo a seed notebook's measurement: ``diffbench run --preset NAME``.

A preset fixes the cases at its own sizes, the methods, the dtypes, the quantity and the order,
all here; the devices, the timeout and the output folder stay the caller's.  A run records the
preset's name in its selection, which is how the report finds the preset's cells again.
:func:`harness.runner.plan.preset_cells` turns one into cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import UsageError


@dataclass(frozen=True)
class Preset:
    name: str
    cases: tuple[tuple[str, tuple[dict, ...]], ...]  # (case, its sizes): a size is its sweep's parameters
    methods: tuple[str, ...]
    dtypes: tuple[str, ...]
    description: str
    quantity: str = "derivative"
    order: int = 1


PRESETS = {p.name: p for p in (
    # seed 001's section 5 timed x² and f_polynomial∘f_polynomial∘f_polynomial on 10⁶ points
    Preset("seed-001", cases=(("square", ({"points": 10**6},)),
                              ("nested_polynomial", ({"depth": 3, "points": 10**6},))),
           methods=("sympy", "np-gradient", "jax-nojit", "jax"), dtypes=("float64", "float32"),
           description="seed 001's timing table: x² and p∘p∘p (depth 3) on 10⁶ points in [−5, 5], "
                       "SymPy, np.gradient, JAX without jit (the seed's vmap(grad)) and with it"),
)}


def get(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UsageError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})") from None
