"""What a run found, read off its cells: for each kind of workload and range of sizes, the methods
tied for fastest, what they cost and how accurate everything is, then a few plain sentences.

* **Kinds** (:func:`kind_of`): elementwise derivatives; low- and high-dimensional gradients (jvp
  and vjp with them; more than :data:`HIGH_DIM` parameters is high); Hessians and hvp;
  Jacobians; sequential loops (a case marked ``sequential``: an LSTM, an ODE's steps); training.
  Sizes are points per call for elementwise derivatives, parameters otherwise, in the ranges
  of :data:`EDGES`.
* **Tied for fastest**: among the methods accurate to the dtype's threshold (:data:`THRESHOLDS`)
  in at least half of the group's tasks, the leader has the lowest geometric mean, over its
  tasks, of its time over the task's fastest; a method is tied with it when, in at least half of
  the tasks both ran, the two medians' intervals (:mod:`harness.stats.noise`) overlap: the run cannot
  tell them apart there.  Setup is paid once: :func:`payback_calls` is the number of calls after
  which the leader's lower time per call has paid for its setup against the next-fastest method.
* **Accuracy tiers**: every method that finished in the group, by its median digits.

Only pandas and NumPy are imported: the report and the end of ``diffbench run`` both read this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.read.units import format_time
from harness.store.schema import WORKLOADS
from harness.store.text import printable

KINDS = ("elementwise derivatives", "low-dimensional gradients", "high-dimensional gradients",
         "Hessians and hvp", "Jacobians", "sequential loops", "training")
HIGH_DIM = 100
EDGES = (1_000, 100_000)  # size ranges: up to 10³, 10³ to 10⁵, beyond
# "accurate": a few digits short of each type's resolution (16 and 7 digits)
THRESHOLDS = {"float64": 10.0, "float32": 5.0}
TASK = ["case", "size", "quantity", "order"]
FD_METHOD = "central"  # what the sentences hold the others against: the textbook finite difference


def threshold(dtype: str) -> float:
    return THRESHOLDS.get(dtype, THRESHOLDS["float64"])


def kind_of(quantity: str, dim: int, sequential: bool = False) -> str:
    """The kind of workload a cell belongs to (one of :data:`KINDS`)."""
    if quantity in WORKLOADS:
        return "training"
    if sequential:
        return "sequential loops"
    if quantity == "derivative":
        return "elementwise derivatives"
    if quantity in ("hessian", "hvp", "mixed_partial"):
        return "Hessians and hvp"
    if quantity == "jacobian":
        return "Jacobians"
    return "high-dimensional gradients" if dim > HIGH_DIM else "low-dimensional gradients"


def _superscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def size_range(n: float, unit: str) -> str:
    """``n`` (points or parameters) as one of the ranges of :data:`EDGES`, e.g. "10²–10⁴ parameters"."""
    low, high = (f"10{_superscript(round(math.log10(e)))}" for e in EDGES)
    if n <= EDGES[0]:
        return f"≤ {low} {unit}"
    return f"{low}–{high} {unit}" if n <= EDGES[1] else f"> {high} {unit}"


@dataclass
class Finding:
    kind: str
    sizes: str
    dtype: str
    device: str
    tasks: int
    tied: list = field(default_factory=list)  # dicts: method, family, mode, digits, eval_s, per_point_s, …
    next: dict | None = None  # the fastest method not tied
    payback_calls: float | None = None  # calls after which the leader's setup has paid for itself
    tiers: list = field(default_factory=list)  # (label, [methods]), most accurate first


def payback_calls(lead_setup: float, lead_call: float, other_setup: float, other_call: float) -> float:
    """Calls after which the leader's total time (setup + calls) is below the other's: 0 when its
    setup is no dearer, inf when its calls are no cheaper."""
    if lead_setup <= other_setup:
        return 0.0
    if lead_call >= other_call:
        return math.inf
    return (lead_setup - other_setup) / (other_call - lead_call)


def kinds(cells: pd.DataFrame, metas=()) -> list[str]:
    """Each cell's kind of workload (:func:`kind_of`); the runs' metadata says which cases are
    sequential."""
    sequential = {name: bool(case.get("sequential"))
                  for m in metas for name, case in m.cases.items()}
    return [kind_of(q, int(d) if d == d else 1, sequential.get(c, False))
            for q, d, c in zip(cells["quantity"], cells["dim"], cells["case"])]


def _cells(cells: pd.DataFrame, metas) -> pd.DataFrame:
    """The cells with their kind, their size's range, and an interval for every time."""
    cells = cells.copy()
    cells.attrs = {}  # harness.run's frames carry DataFrames there, which pandas cannot compare
    of_cell = kinds(cells, metas)
    n = np.where([k == "elementwise derivatives" for k in of_cell], cells["n_points"], cells["dim"])
    units = ["points" if k == "elementwise derivatives" else "parameters" for k in of_cell]
    ranges = [size_range(float(v), u) for v, u in zip(n, units)]
    eval_s = pd.to_numeric(cells["eval_s"], errors="coerce")
    lo = pd.to_numeric(cells.get("eval_ci_lo_s", eval_s), errors="coerce").fillna(eval_s)
    hi = pd.to_numeric(cells.get("eval_ci_hi_s", eval_s), errors="coerce").fillna(eval_s)
    return cells.assign(kind=of_cell, sizes=ranges, eval_s=eval_s, lo=lo, hi=hi,
                        digits=pd.to_numeric(cells["digits"], errors="coerce"),
                        setup_s=pd.to_numeric(cells["setup_s"], errors="coerce"))


def _tiers(group: pd.DataFrame, dtype: str) -> list:
    full = -math.log10(float(np.finfo(dtype).eps))
    edges = (round(full - 3), round(full / 2))
    medians = group.groupby("method")["digits"].median()
    digits = medians.loc[sorted(medians.index, key=lambda m: (-medians[m], m))]  # ties by name
    labels = (f"≥ {edges[0]} digits", f"{edges[1]}–{edges[0]} digits", f"< {edges[1]} digits")
    found = {label: [] for label in labels}
    for method, d in digits.items():
        found[labels[0] if d >= edges[0] else labels[1] if d >= edges[1] else labels[2]].append(method)
    return [(label, methods) for label, methods in found.items() if methods]


def _overlap_share(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """The share of the tasks both ran where their medians' intervals overlap."""
    both = a.merge(b, left_index=True, right_index=True, suffixes=("_a", "_b"))
    if both.empty:
        return 0.0
    overlap = (both["lo_a"] <= both["hi_b"]) & (both["lo_b"] <= both["hi_a"])
    return float(overlap.mean())


def _finding(key, group: pd.DataFrame) -> Finding | None:
    kind, sizes, dtype, device = key
    finding = Finding(kind, sizes, dtype, device, group[TASK].drop_duplicates().shape[0])
    ok = group[(group["status"] == "ok") & (group["eval_s"] > 0)]
    finding.tiers = _tiers(ok, dtype)
    accurate = ok[ok["digits"] >= threshold(dtype)]
    if accurate.empty:
        return finding
    fastest = accurate.groupby(TASK)["eval_s"].transform("min")
    accurate = accurate.assign(ratio=accurate["eval_s"] / fastest)
    by_method = accurate.groupby("method")
    coverage = by_method.size() / finding.tasks
    ranked = coverage[coverage >= 0.5].index if (coverage >= 0.5).any() else coverage.index
    score = by_method["ratio"].apply(lambda r: float(np.exp(np.log(r).mean()))).loc[ranked].sort_values()
    per_task = {m: g.set_index(TASK)[["lo", "hi"]] for m, g in by_method}
    leader = score.index[0]
    tied = [m for m in score.index if m == leader or _overlap_share(per_task[leader], per_task[m]) >= 0.5]
    rows = {m: _summary(g, score.get(m)) for m, g in by_method}
    finding.tied = [rows[m] for m in tied]
    others = [m for m in score.index if m not in tied]
    if others:
        finding.next = rows[others[0]]
        lead = rows[leader]
        finding.payback_calls = payback_calls(lead["setup_s"], lead["eval_s"], finding.next["setup_s"],
                                              finding.next["eval_s"])
    return finding


def _summary(g: pd.DataFrame, score) -> dict:
    first = g.iloc[0]
    return {"method": first["method"], "family": first["family"], "mode": first["mode"],
            "digits": float(g["digits"].median()), "eval_s": float(g["eval_s"].median()),
            "per_point_s": float((g["eval_s"] / g["n_points"].astype(float)).median()),
            "setup_s": float(g["setup_s"].median()), "ratio": None if score is None else float(score),
            "tasks": len(g)}


def findings(cells: pd.DataFrame, metas=()) -> list[Finding]:
    """One :class:`Finding` per kind, size range, dtype and device, in :data:`KINDS` order (float64
    before float32, the CPU before a GPU)."""
    return _findings(_cells(cells, metas))


def _findings(found: pd.DataFrame) -> list[Finding]:
    order = {k: i for i, k in enumerate(KINDS)}
    keys = sorted(found.groupby(["kind", "sizes", "dtype", "device"]).groups,
                  key=lambda k: (order[k[0]], k[2] != "float64", k[3] != "cpu", _range_order(k[1])))
    groups = dict(list(found.groupby(["kind", "sizes", "dtype", "device"])))
    return [f for f in (_finding(k, groups[k]) for k in keys) if f is not None]


def _range_order(label: str) -> int:
    return 0 if label.startswith("≤") else 2 if label.startswith(">") else 1


FAMILY_WORDS = {"automatic": "automatic differentiation", "symbolic": "symbolic differentiation",
                "numerical": "numerical differentiation"}


def describe(methods: list[dict]) -> str:
    """How the methods compute, in a reader's words: "reverse mode" where they share a mode of
    automatic differentiation, else their families'."""
    families = list(dict.fromkeys(m["family"] for m in methods))
    modes = {m.get("mode") for m in methods}
    if families == ["automatic"] and len(modes) == 1 and next(iter(modes)) in ("forward", "reverse"):
        return f"{next(iter(modes))} mode"
    return " and ".join(FAMILY_WORDS.get(f, f or "methods of no family") for f in families)


def _ratio(x: float) -> str:
    return f"{x:.2g}" if x < 100 else f"{x:,.0f}"


def _range_of(ratios) -> str:
    lo, hi = min(ratios), max(ratios)
    return f"{_ratio(lo)}×" if hi < 1.05 * lo else f"{_ratio(lo)}–{_ratio(hi)}×"


def _comparator(group: pd.DataFrame, lead: str) -> str | None:
    """What a leader is held against: central differences where they ran, else the finite
    difference that ran in the most of the group's tasks."""
    numerical = group[(group["family"] == "numerical") & (group["method"] != lead)]
    if (numerical["method"] == FD_METHOD).any():
        return FD_METHOD
    counts = numerical["method"].value_counts()
    return counts.index[0] if len(counts) else None


def sentences(cells: pd.DataFrame, metas=(), found: list[Finding] | None = None) -> list[str]:
    """Plain sentences, each read off the run: the leaders against central differences, and what
    the leader's setup costs."""
    table = _cells(cells, metas)
    return _sentences(table, _findings(table) if found is None else found)


def _sentences(table: pd.DataFrame, found: list[Finding], paybacks: bool = True) -> list[str]:
    out = []
    for f in found:
        if not f.tied or f.dtype != "float64":
            continue
        group = table[(table["kind"] == f.kind) & (table["sizes"] == f.sizes) & (table["dtype"] == f.dtype)
                      & (table["device"] == f.device) & (table["status"] == "ok")]
        lead = f.tied[0]
        names = ", ".join(m["method"] for m in f.tied[:4]) + (", …" if len(f.tied) > 4 else "")
        where = f"For {f.kind} of {f.sizes}" + (f" on the {f.device.upper()}" if f.device != "cpu" else "")
        tie = "tie for fastest" if len(f.tied) > 1 else "is fastest"
        sentence = f"{where}, {describe(f.tied)} ({names}) {tie}"
        against = _comparator(group, lead["method"])
        held = group[group["method"] == against].set_index(TASK)
        leader = group[group["method"] == lead["method"]].set_index(TASK)
        both = leader.merge(held, left_index=True, right_index=True, suffixes=("_l", "_c"))
        if against and len(both):
            ratios = (both["eval_s_c"] / both["eval_s_l"]).tolist()
            gain = float((both["digits_l"] - both["digits_c"]).median())
            name = "central differences" if against == FD_METHOD else against
            faster = (f"{_range_of(ratios)} faster than {name}" if min(ratios) >= 1 else
                      f"{_ratio(min(ratios))}× to {_ratio(max(ratios))}× as fast as {name}")
            accuracy = (f"{gain:.0f} digits more accurate" if gain >= 0.5 else
                        f"{-gain:.0f} digits less accurate" if gain <= -0.5 else "as accurate")
            sentence += f": {lead['method']} is {faster} and {accuracy}"
        out.append(sentence + ".")
        if paybacks and f.next is not None and f.payback_calls and math.isfinite(f.payback_calls):
            out.append(f"There {lead['method']}'s setup ({format_time(lead['setup_s'])}, against "
                       f"{f.next['method']}'s {format_time(f.next['setup_s'])}) pays for itself after "
                       f"{_calls(f.payback_calls)} call{'s' if f.payback_calls > 1 else ''}.")
    return out


def _calls(n: float) -> str:
    return f"{math.ceil(n):,}" if n < 1e6 else f"{n:.2g}"


def verdict_lines(cells: pd.DataFrame, metas=(), lines: int = 3) -> list[str]:
    """At most ``lines`` sentences for the end of a run: the largest size range of the kinds
    measured, in :data:`KINDS` order, each one plain line for a terminal (methods' names are a
    plugin's own: :func:`harness.store.text.printable`)."""
    table = _cells(cells, metas)
    largest = {}
    for f in _findings(table):  # the last range of a kind is its largest
        if f.tied and f.dtype == "float64":
            largest[(f.kind, f.device)] = f
    return [printable(s) for s in _sentences(table, list(largest.values()), paybacks=False)[:lines]]
