"""Named selections that redo a seed notebook's measurement: ``diffbench run --preset NAME``.

A preset fixes the cases (at sizes of their sweeps that only it uses), the
methods, the dtypes, the quantity and the order; the devices, the timeout and
the output folder stay the caller's.  :func:`harness.runner.plan.preset_cells` turns one into cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import UsageError


@dataclass(frozen=True)
class Preset:
    name: str
    cases: tuple[str, ...]
    methods: tuple[str, ...]
    dtypes: tuple[str, ...]
    sizes: str  # the key of the cases' sweep profiles holding the preset's sizes
    description: str
    quantity: str = "derivative"
    order: int = 1


PRESETS = {p.name: p for p in (
    Preset("seed-001", cases=("square", "nested_polynomial"),
           methods=("sympy", "np-gradient", "jax-nojit", "jax"), dtypes=("float64", "float32"),
           sizes="seed-001",
           description="seed 001's timing table: x² and p∘p∘p (depth 3) on 10⁶ points in [−5, 5], "
                       "SymPy, np.gradient, JAX without jit (the seed's vmap(grad)) and with it"),
)}


def get(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UsageError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})") from None
