"""What a run found, read off its cells: for each kind of workload and range of sizes, the methods
tied for fastest, what they cost and how accurate everything is, then a few plain sentences.

* **Kinds** (:func:`kind_of`): elementwise derivatives; low- and high-dimensional gradients (jvp
  and vjp with them; more than :data:`HIGH_DIM` parameters is high); Hessians and hvp;
  Jacobians; sequential loops (a case marked ``sequential``: an LSTM, an ODE's steps); training.
  Sizes are points per call for elementwise derivatives, parameters otherwise, in the ranges
  of :data:`EDGES`.
* **Tied for fastest**: among the methods accurate to the dtype's threshold (:data:`THRESHOLDS`)
  in at least half of the group's tasks and timed with an interval (a training run, timed once,
  has none: no fastest is named among such cells), the leader has the lowest geometric mean, over
  its tasks, of its time over the task's fastest.  Everything else compares two methods task by
  task, over the tasks both ran (:func:`task_ratio`: their time ratio with an interval).  Where both
  cells were timed in the same rounds (the same run, each with ``eval_round_ids``: every method of
  a task is timed side by side, :mod:`harness.runner.rounds`), it is their **paired ratio**, the
  median of their per-round ratios with its order-statistic interval
  (:func:`harness.stats.noise.paired_ratio`): a burst of load slows both cells of a round alike,
  and cancels.  Elsewhere (a file before rounds, cells of different runs or merged shards, fewer
  than :data:`PAIRED_MIN_ROUNDS` rounds in common) it is the widest ratio the two medians'
  intervals allow.  On a task, a method is tied with the leader when its ratio's interval reaches
  below :data:`TIE_RATIO` (and the leader is fastest there when every other's ratio to it is above
  1 beyond its interval); it is tied for the row when it is tied on more than half of the tasks
  both ran **and** the geometric mean of its ratios to the leader there is below
  :data:`ROW_TIE_GEOMEAN` — wide intervals alone tie no method 4× slower.
* **Payback**: setup is paid once; :func:`payback_calls` is, per task both ran, the number of calls
  after which the leader's lower time per call has paid for its setup against the next-fastest
  method (the next's time per call: the leader's times their ratio, paired where it can be); a row
  gives their range and on how many tasks it never pays back.
* **Evidence**: every sentence says on how many tasks it rests, a tie on how many of them it was
  paired and in how many rounds (``timing_rounds``), and a row most of whose cells' times are noisy
  says so.
* **Accuracy tiers**: every method that finished in the group, by its median digits.

Only pandas and NumPy are imported: the report and the end of ``diffbench run`` both read this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.read.units import format_time
from harness.stats.noise import PairedRatio, paired_ratio
from harness.store.schema import WORKLOADS
from harness.store.text import printable

KINDS = ("elementwise derivatives", "low-dimensional gradients", "high-dimensional gradients",
         "Hessians and hvp", "Jacobians", "sequential loops", "training")
HIGH_DIM = 100
EDGES = (1_000, 100_000)  # size ranges: up to 10³, 10³ to 10⁵, beyond
# "accurate": a few digits short of each type's resolution (16 and 7 digits)
THRESHOLDS = {"float64": 10.0, "float32": 5.0}
TIE_RATIO = 1.05  # on a task: tied when the interval of a method's time over the leader's reaches below
ROW_TIE_GEOMEAN = 1.5  # for a row: the geometric mean of its ratios to the leader must stay below it
# two cells pair on at least this many rounds in common: fewer (a method that failed in its task's
# first rounds) give their ratio's interval too little coverage (2 rounds: 50 %), and the medians'
# intervals are used instead
PAIRED_MIN_ROUNDS = 3
PAIRING = ["run_id", "eval_samples_s", "eval_round_ids", "timing_rounds"]  # the columns that pair two cells
MOSTLY_NOISY = 0.5  # a row with more noisy cells than this says so
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
    # per task the leader and the next both ran: calls after which the leader's setup has paid for
    # itself against the next's (inf: never, its calls being no cheaper there)
    paybacks: list = field(default_factory=list)
    tiers: list = field(default_factory=list)  # (label, [methods]), most accurate first
    noisy_share: float | None = None  # of the row's timed ok cells, the share flagged noisy
    # of the leader's tasks, those it is fastest on: its ratio to every other below 1 beyond its interval
    leader_fastest: int = 0
    note: str = ""  # why no fastest is named, where none is


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
    """The cells with their kind, their size's range, and an interval for every time; a frame
    without the columns that pair two cells (a file before rounds) gets them empty."""
    cells = cells.reindex(columns=list(dict.fromkeys([*cells.columns, *PAIRING])))
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


def _listed(value) -> np.ndarray | None:
    """A list column's value as an array (None where it has none: NaN, None, an empty list)."""
    if not isinstance(value, (list, tuple, np.ndarray)):
        return None
    found = np.asarray(value, dtype=float)
    return found if found.size else None


def paired(a, b) -> PairedRatio | None:
    """Method a's time over method b's on one task, round by round, where both were timed in the
    same rounds: the same ``run_id``, and a round id for each sample (``eval_round_ids``), with at
    least :data:`PAIRED_MIN_ROUNDS` in common; None otherwise (a file before rounds, cells of
    different runs or merged shards)."""
    run = a.get("run_id")
    if not isinstance(run, str) or not run or run != b.get("run_id"):
        return None
    sides = [(_listed(c.get("eval_samples_s")), _listed(c.get("eval_round_ids"))) for c in (a, b)]
    if any(x is None or r is None or len(x) != len(r) for x, r in sides):
        return None
    (xa, ra), (xb, rb) = sides
    found = paired_ratio(xa, xb, ra, rb)
    return found if found is not None and found.rounds >= PAIRED_MIN_ROUNDS else None


def task_ratio(a, b) -> tuple[float, float, float, int]:
    """Method a's time over method b's on one task, with an interval: (ratio, low, high, rounds).
    Timed in the same rounds, the paired ratio (:func:`paired`; ``rounds`` the rounds paired);
    else (``rounds`` 0) the ratio of their medians, its interval the widest the two medians'
    intervals allow (``lo``, ``hi``: :func:`_cells`)."""
    found = paired(a, b)
    if found is not None:
        return found.ratio, found.lo, found.hi, found.rounds
    return a["eval_s"] / b["eval_s"], a["lo"] / b["hi"], a["hi"] / b["lo"], 0


def _shared(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Two methods' cells side by side (``_a``, ``_b``) on the tasks both ran."""
    return a.merge(b, left_index=True, right_index=True, suffixes=("_a", "_b"))


def _sides(both: pd.DataFrame):
    """Each row of :func:`_shared` as its two cells: (a, b) dicts of the plain column names."""
    names = [c[:-2] for c in both.columns if c.endswith("_a") and f"{c[:-2]}_b" in both.columns]
    for row in both[[f"{n}_{s}" for n in names for s in "ab"]].itertuples(index=False):
        values = dict(zip([f"{n}_{s}" for n in names for s in "ab"], row))
        yield ({n: values[f"{n}_a"] for n in names}, {n: values[f"{n}_b"] for n in names})


def _ratios(both: pd.DataFrame) -> pd.DataFrame:
    """Per shared task, a's ratio to b with its interval and the rounds it was paired in (0:
    unpaired; :func:`task_ratio`)."""
    found = [task_ratio(a, b) for a, b in _sides(both)]
    return pd.DataFrame(found or None, columns=["ratio", "lo", "hi", "rounds"], index=both.index)


def against_leader(method: pd.DataFrame, leader: pd.DataFrame) -> dict:
    """How a method compares with the leader over the tasks both ran: how many, on how many it is
    tied (:data:`TIE_RATIO`), the geometric mean and range of its ratios, on how many tasks they
    were paired and in how many rounds (the least and most), and whether it is tied for the row."""
    ratios = _ratios(_shared(method, leader))
    n = len(ratios)
    tied_tasks = int((ratios["lo"] < TIE_RATIO).sum())
    geomean = float(np.exp(np.log(ratios["ratio"].astype(float)).mean())) if n else math.inf
    rounds = ratios.loc[ratios["rounds"] > 0, "rounds"]
    return {"shared": n, "tied_tasks": tied_tasks, "geomean": geomean,
            "range": (float(ratios["ratio"].min()), float(ratios["ratio"].max())) if n else None,
            "paired": len(rounds), "rounds": (int(rounds.min()), int(rounds.max())) if len(rounds) else None,
            "tied": n > 0 and tied_tasks > n / 2 and geomean < ROW_TIE_GEOMEAN}


def _to_fastest(cells: pd.DataFrame) -> pd.Series:
    """Each cell's time over its task's fastest (the least median): their :func:`task_ratio`."""
    ratios = pd.Series(1.0, index=cells.index)
    for _, task in cells.groupby(TASK, sort=False, dropna=False):
        best = task["eval_s"].idxmin()
        fastest = task.loc[best]
        for i, cell in task.drop(index=best).iterrows():
            ratios[i] = task_ratio(cell, fastest)[0]
    return ratios


def fastest_on(task: pd.DataFrame, method: str) -> bool:
    """Whether ``method`` is fastest on one task (its cells, one per method): its ratio
    (:func:`task_ratio`) to every other method's below 1 beyond its interval."""
    own = task[task["method"] == method]
    if own.empty:
        return False
    cell = own.iloc[0]
    return all(task_ratio(cell, other)[2] < 1 for _, other in task[task["method"] != method].iterrows())


# what a method's cells carry into its comparisons with the others, task by task
TASK_COLUMNS = ["eval_s", "lo", "hi", "setup_s", *PAIRING]


def _timed_with_interval(group: pd.DataFrame) -> pd.Series:
    """The cells whose time has an interval: more than one sample (a training run is timed once)."""
    return ~(pd.to_numeric(group["timing_repeats"], errors="coerce") <= 1)  # every results table has it


def _finding(key, group: pd.DataFrame) -> Finding | None:
    kind, sizes, dtype, device = key
    finding = Finding(kind, sizes, dtype, device, group[TASK].drop_duplicates().shape[0])
    ok = group[(group["status"] == "ok") & (group["eval_s"] > 0)]
    finding.tiers = _tiers(ok, dtype)
    if "noisy" in ok and ok["noisy"].notna().any():
        finding.noisy_share = float(ok["noisy"].dropna().astype(bool).mean())
    accurate = ok[ok["digits"] >= threshold(dtype)]
    if accurate.empty:
        return finding
    once = ~_timed_with_interval(accurate)
    if once.all():
        finding.note = "each timed in one run, with no interval: no fastest is named"
        return finding
    accurate = accurate[~once]
    accurate = accurate.assign(ratio=_to_fastest(accurate))
    by_method = accurate.groupby("method")
    coverage = by_method.size() / finding.tasks
    ranked = coverage[coverage >= 0.5].index if (coverage >= 0.5).any() else coverage.index
    score = by_method["ratio"].apply(lambda r: float(np.exp(np.log(r).mean()))).loc[ranked].sort_values()
    per_task = {m: g.set_index(TASK)[TASK_COLUMNS] for m, g in by_method}
    leader = score.index[0]
    tasks = accurate.groupby(TASK, sort=False, dropna=False)
    finding.leader_fastest = sum(fastest_on(t, leader) for _, t in tasks if (t["method"] == leader).any())
    compared = {m: against_leader(per_task[m], per_task[leader]) for m in score.index if m != leader}
    tied = [leader] + [m for m in score.index if m != leader and compared[m]["tied"]]
    rows = {m: _summary(g, score.get(m)) for m, g in by_method}
    for m in tied[1:]:
        rows[m].update(against=compared[m])
    finding.tied = [rows[m] for m in tied]
    others = [m for m in score.index if m not in tied]
    if others:
        finding.next = {**rows[others[0]], "against": compared[others[0]]}
        both = _shared(per_task[leader], per_task[others[0]])
        # the next's time per call: the leader's times their ratio (paired where it can be)
        finding.paybacks = [payback_calls(lead["setup_s"], lead["eval_s"], other["setup_s"],
                                          lead["eval_s"] * task_ratio(other, lead)[0])
                            for lead, other in _sides(both)]
    return finding


def payback_summary(paybacks: list) -> dict | None:
    """A row's paybacks (one per shared task) as {"tasks", "never", "at_once", "lo", "hi"}: ``lo``
    and ``hi`` the range over the tasks where it pays back after some calls (None where none)."""
    if not paybacks:
        return None
    finite = [p for p in paybacks if math.isfinite(p) and p > 0]
    return {"tasks": len(paybacks), "never": sum(math.isinf(p) for p in paybacks),
            "at_once": sum(p == 0 for p in paybacks), "lo": min(finite) if finite else None,
            "hi": max(finite) if finite else None}


def payback_words(paybacks: list) -> str:
    """When the leader's setup pays for itself, task by task: "after 27 calls", "after 396–10,936
    calls on 10 of 17 tasks, never on 7", "never (its calls are no cheaper on any of the 3 tasks)"."""
    found = payback_summary(paybacks)
    if found is None:
        return ""
    n, never, at_once = found["tasks"], found["never"], found["at_once"]
    if never == n:
        return "never (its calls are no cheaper on " + ("the one task both ran)" if n == 1 else
                                                        f"any of the {n} tasks both ran)")
    parts = []
    if found["lo"] is not None:
        lo, hi = _calls(found["lo"]), _calls(found["hi"])
        counted = n - never - at_once
        span = lo if lo == hi else f"{lo}–{hi}"
        parts.append(f"after {span} call{'s' if found['hi'] > 1 else ''}"
                     + (f" on {_of(counted, n)}" if counted < n else ""))
    if at_once:
        parts.append(f"at once on {_of(at_once, n)} (no dearer setup)")
    if never:
        parts.append(f"never on {_of(never, n)} (no cheaper call)")
    return ", ".join(parts)


def _of(k: int, n: int) -> str:
    return f"{k} of {n} tasks" if n > 1 else "the one task"


def _summary(g: pd.DataFrame, score) -> dict:
    first = g.iloc[0]
    return {"method": first["method"], "family": first["family"], "mode": first["mode"],
            "digits": float(g["digits"].median()), "eval_s": float(g["eval_s"].median()),
            # the medians, over its tasks, of its time's interval: what the row's time is shown with
            "lo_s": float(g["lo"].median()), "hi_s": float(g["hi"].median()),
            "per_point_s": float((g["eval_s"] / g["n_points"].astype(float)).median()),
            "setup_s": float(g["setup_s"].median()), "ratio": None if score is None else float(score),
            "tasks": len(g), "rounds": _rounds(g["timing_rounds"])}


def _rounds(values: pd.Series) -> tuple[int, int] | None:
    """The least and most rounds the cells' tasks were timed in (``timing_rounds``; None without)."""
    found = pd.to_numeric(values, errors="coerce").dropna()
    return (int(found.min()), int(found.max())) if len(found) else None


def rounds_words(rounds: tuple[int, int] | None) -> str:
    """(5, 10) as "5–10 rounds", (10, 10) as "10 rounds"; "" for None."""
    if rounds is None:
        return ""
    lo, hi = rounds
    return f"{lo} round{'s' if lo != 1 else ''}" if lo == hi else f"{lo}–{hi} rounds"


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
        where = (f"For {f.kind} of {f.sizes}" + (f" on the {f.device.upper()}" if f.device != "cpu" else "")
                 + f" ({_count(f.tasks)})")
        if len(f.tied) > 1:
            shared = min(m["against"]["shared"] for m in f.tied[1:])
            tie = f"tie for fastest ({'on the one task they share' if shared == 1 else _ties(f.tied[1:])})"
        else:
            tie = "is fastest" + (" (on the one task it ran)" if lead["tasks"] == 1 else "")
        sentence = f"{where}, {describe(f.tied)} ({names}) {tie}"
        against = _comparator(group, lead["method"])
        held = group[group["method"] == against].set_index(TASK)
        leader = group[group["method"] == lead["method"]].set_index(TASK)
        both = _shared(leader, held)
        if against and len(both):
            ratios = [task_ratio(c, ld)[0] for ld, c in _sides(both)]  # paired where it can be
            gain = float((both["digits_a"] - both["digits_b"]).median())
            name = "central differences" if against == FD_METHOD else against
            faster = (f"{_range_of(ratios)} faster than {name}" if min(ratios) >= 1 else
                      f"{_range_of(ratios).replace('–', '× to ')} as fast as {name}")
            accuracy = (f"{gain:.0f} digits more accurate" if gain >= 0.5 else
                        f"{-gain:.0f} digits less accurate" if gain <= -0.5 else "as accurate")
            evidence = _evidence(len(both), f.tasks)
            sentence += f": {lead['method']} is {faster} {evidence}, and {accuracy}"
        if f.noisy_share is not None and f.noisy_share > MOSTLY_NOISY:
            sentence += f" ({f.noisy_share:.0%} of these cells' times are noisy)"
        out.append(sentence + ".")
        if paybacks and f.next is not None and f.paybacks and any(p > 0 for p in f.paybacks):
            out.append(f"There {lead['method']}'s setup ({format_time(lead['setup_s'])}, against "
                       f"{f.next['method']}'s {format_time(f.next['setup_s'])}) pays for itself "
                       f"{payback_words(f.paybacks)}.")
    return out


def _evidence(k: int, n: int) -> str:
    """On how many of a row's ``n`` tasks a comparison rests (``k``: those both methods ran)."""
    if k == 1:
        return "on the one task both ran" if n > 1 else "on its one task"
    if k == n:
        return "on both tasks" if n == 2 else f"on all {n} tasks"
    return f"on the {k} of {n} tasks both ran"


def _count(n: int) -> str:
    return "one task" if n == 1 else f"{n} tasks"


def _ties(others: list) -> str:
    """The evidence of a tie: on how many of the shared tasks each is tied, how far apart, and on
    how many of them, in how many rounds, the two were timed side by side (the ratio paired)."""
    parts = []
    for m in others:
        a = m["against"]
        lo, hi = a["range"]
        apart = f"{lo:.3g}×" if hi < 1.05 * lo else f"{lo:.3g}–{hi:.3g}×"
        part = f"{m['method']} on {a['tied_tasks']} of {a['shared']} tasks, {apart}"
        if a.get("paired"):
            where = "" if a["paired"] == a["shared"] else f" on {a['paired']} of them"
            part += f", paired{where} in {rounds_words(a['rounds'])}"
        parts.append(part)
    return "; ".join(parts)


def _calls(n: float) -> str:
    whole = math.ceil(n * (1 - 1e-12))  # 0.4 s / 1 µs is 400,000 calls, not the 400,001 rounding gives
    return f"{whole:,}" if n < 1e6 else f"{n:.2g}"


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
