"""``diffbench run --shard i/N``: a deterministic, balanced 1/N of a plan's cells.

Every cell of a plan (:mod:`harness.runner.plan`) gets an estimated cost from a small
model (below); the tasks (a case × size × quantity × order × dtype × device, with all its
methods, which are timed side by side: :mod:`harness.runner.rounds`) are then dealt out by the
greedy longest-processing-time rule — dearest first, each to the shard with the least estimated
work so far, ties to the earlier task and the lower shard — and a shard runs its cells in plan
order.  The estimate uses only the plan (names, declarations, sizes), never the
machine, and is counted in whole units of 0.1 ms, so the same plan split N ways
gives the same shards on any machine: disjoint, and together the whole plan.
The plan itself depends on ``--devices`` (by default the CPU, and a GPU when one
is present): shards that run on different machines should name their devices.
"""

from __future__ import annotations

import re

from harness.errors import UsageError
from harness.model.case import DEFAULT_TIMEOUT_S
from harness.store.schema import WORKLOADS, CellKey

# ---- The cost model, in seconds of cell_s --------------------------------------------------------
# Calibrated on the default matrix on the 2-core reference machine (results file
# 20261122T234931Z-00a568, 3050 CPU cells, 758 s of cell_s): per method a non-negative
# least-squares fit of cell_s ≈ fixed + per_entry · entries · weight + per_point · points · entries
# over its ok and failed cells, and of per_step on the training cells; the case weights from the
# same fit.  Rounded to two figures.  A method not listed falls back on its family and backend.
SKIP_S = 0.0001  # unsupported by declaration: the runner does no work
FLOOR_S = 0.09  # any measured cell: the reference, the first call and 5 timing batches of ≥ 10 ms
POINT_S = 3e-7  # any method, per point and entry (~10 calls): what a 10⁶-point sweep adds
LOOP_POINT_S = 2.6e-4  # a Python loop over points, per point and entry (scipy-approx-fprime)

# method: (fixed, per_entry, per_point, per_step); fixed includes FLOOR_S
METHOD_COST = {
    "sympy": (0.22, 0.019, 0.0, 0.0055), "sympy-expand": (0.09, 0.012, 0.0, 0.0061),
    "sympy-cse": (0.10, 0.0009, 0.0, 0.0017),
    "jax": (0.30, 0.0009, 0.0, 0.0005), "jax-fwd": (0.33, 0.0010, 0.0, 0.0006),
    "jax-rev": (0.31, 0.0009, 0.0, 0.0007), "jax-nojit": (0.74, 0.0054, 0.0, 0.015),
    "torch": (0.23, 0.0008, 0.0, 0.0005), "torch-func": (0.25, 0.0006, 0.0, 0.0012),
    "torch-compile": (30.0, 0.0, 0.0, 0.05),  # opt-in, not in the calibration: compiles for minutes
    "tensorflow": (0.26, 0.0003, 0.0, 0.0008),
    "numdifftools": (0.09, 0.0032, 0.0038, 0.0064), "scipy-differentiate": (0.24, 0.0010, 0.0, 0.0044),
    "scipy-approx-fprime": (0.11, 0.0, 2.6e-4, 0.0005), "richardson": (0.09, 0.0001, 0.0, 0.0024),
    "num-dual": (0.095, 0.0, 1.6e-5, 0.0006),
}
FAMILY_COST = {"symbolic": (0.22, 0.019, 0.0, 0.0055), "numerical": (0.095, 0.0001, 0.0, 0.0005),
               "automatic": (0.25, 0.0010, 0.0, 0.0008)}
BACKEND_FIXED_S = {"jax": 0.32, "torch": 0.24, "tensorflow": 0.26}  # tracing, dispatch, first calls

# Cases whose expressions are far larger than their dimension says: losses summed over a data set
# (every derivative entry sums over the rows), from the same fit; any other case weighs 1.
CASE_WEIGHT = {"logistic_iris": 70.0, "mlp_loss": 30.0, "softmax_xent": 24.0, "logistic_loss": 16.0,
               "mlp_loss_seed": 5.0}
# A workload (Case.work: arithmetic per evaluation) costs about this many seconds per operation in
# vectorised NumPy-like code, and a cell makes about CALLS_PER_CELL evaluations of its derivative
# (first call, the timing batches, memory, primal); a derivative costs the objective times the
# number of directions its mode pushes (n for differences and forward mode, 4 for reverse mode)
WORK_OP_S = 2e-9
CALLS_PER_CELL = 8
REVERSE_FACTOR = 4
SWELL_BASE = 3.0  # composition depth d (nested_polynomial depth, logistic_map n): swell ~ 3^(d−1)


def entries(quantity: str, order: int, case, symbolic: bool) -> int:
    """How many derivative entries a cell computes per point (a symbolic method derives every
    partial even for a jvp or vjp)."""
    d, m = case.dim, case.out_dim
    per = {"derivative": order, "gradient": d, "hessian": d * d, "jacobian": d * m, "mixed_partial": 2,
           "jvp": d * m if symbolic else m, "vjp": d * m if symbolic else d, "training": d}
    return per.get(quantity, d * m)


def swell(case) -> float:
    """Expression growth of a composition sweep (scalar cases sized by depth or iterations)."""
    size = dict(case.size)
    depth = size.get("depth", size.get("n") if case.dim == 1 else None)
    return SWELL_BASE ** (min(depth, 12) - 1) if isinstance(depth, int) and depth > 1 else 1.0


def cost(method, cell) -> float:
    """Estimated seconds one cell takes (its cell_s), at most the cell's time budget."""
    if method.unsupported_reason(cell):
        return SKIP_S
    case = cell.case
    budget = case.timeout_s or DEFAULT_TIMEOUT_S  # not --timeout: the split is the plan's alone
    family = FAMILY_COST.get(method.family, FAMILY_COST["numerical"])
    fixed, per_entry, per_point, per_step = METHOD_COST.get(method.name) or (
        BACKEND_FIXED_S.get(method.backend, family[0]), *family[1:])
    fixed = max(fixed, FLOOR_S)
    if method.batched is False or str(method.batched).startswith("no"):  # a Python loop over points
        per_point = max(per_point, LOOP_POINT_S)
    k = entries(cell.quantity, cell.order, case, method.family == "symbolic")
    weight = CASE_WEIGHT.get(case.name, 1.0) * swell(case)
    if cell.quantity in WORKLOADS:  # calibrated on 1000 steps of a 3-parameter logistic regression
        return min(fixed + per_step * case.training.steps, budget)
    points = case.grid + len(case.seed_points)
    if case.work is not None:  # a workload: its arithmetic, not the per-entry fit of small cases
        reverse = method.family == "automatic" and "reverse" in method.mode
        # one product (an hvp, jvp or vjp) costs a few objectives in any mode: jax-fwd's hvp is
        # reverse-over-forward, not n forward passes
        product = cell.quantity in ("hvp", "jvp", "vjp")
        directions = REVERSE_FACTOR if reverse or product else max(1, case.dim)
        return min(fixed + WORK_OP_S * case.work * directions * points * CALLS_PER_CELL, budget)
    return min(fixed + per_entry * k * weight + max(per_point, POINT_S) * points * k, budget)


# ---- Assignment ---------------------------------------------------------------------------------
def parse(spec: str) -> tuple[int, int]:
    """``"i/N"`` → (i, N) with 1 ≤ i ≤ N; anything else is a UsageError."""
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(spec))
    if not found:
        raise UsageError(f"--shard must be i/N with whole numbers, e.g. 1/4; got {spec!r}")
    i, n = map(int, found.groups())
    if n < 1:
        raise UsageError(f"--shard {spec}: N (the number of shards) must be at least 1")
    if not 1 <= i <= n:
        raise UsageError(f"--shard {spec}: i must lie between 1 and {n}")
    return i, n


def assign(pairs, n: int) -> list[int]:
    """The shard (0 … n−1) of each pair, by the greedy longest-processing-time rule over tasks: every
    method of a task goes to the same shard, for they are timed side by side in the same rounds
    (:mod:`harness.runner.rounds`)."""
    tasks: dict[tuple, list[int]] = {}
    for i, (m, c) in enumerate(pairs):
        tasks.setdefault(CellKey.of_cell(m, c).task, []).append(i)
    groups = list(tasks.values())
    # integers: exact, machine-independent sums
    units = [sum(round(cost(*pairs[i]) * 1e4) for i in group) for group in groups]
    loads = [0] * n
    shard = [0] * len(pairs)
    for g in sorted(range(len(groups)), key=lambda g: (-units[g], g)):
        s = min(range(n), key=lambda j: (loads[j], j))
        for i in groups[g]:
            shard[i] = s
        loads[s] += units[g]
    return shard


def select(pairs, spec: str) -> list:
    """The pairs of shard ``spec`` ("i/N"), in plan order."""
    i, n = parse(spec)
    return [pair for pair, s in zip(pairs, assign(pairs, n)) if s == i - 1]


def estimated_loads(pairs, n: int) -> list[float]:
    """Estimated seconds of each of the n shards."""
    loads = [0.0] * n
    for (m, c), s in zip(pairs, assign(pairs, n)):
        loads[s] += cost(m, c)
    return loads


def label(spec: str) -> str:
    """The canonical "i/N" of a shard spec (recorded in the run metadata as ``shard``)."""
    i, n = parse(spec)
    return f"{i}/{n}"
