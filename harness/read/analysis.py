"""What a run's measurements say, as tidy tables: scaling exponents, expression swell,
the setup split, memory, and seed 001's timing table redone.

Everything here reads results DataFrames (``harness.store.results.read``) with pandas and
NumPy only: no differentiation backend is ever imported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.store.schema import KEY, SWELL_KEYS, WORKLOADS

SWEEP_KEYS = [k for k in KEY if k != "size"]  # a cell's key without its size: one sweep's cells
MIN_SIZES = 3  # a power law through two points has no error estimate
SWELL_METRICS = list(SWELL_KEYS)
SETUP_PHASES = ["derive_s", "compile_s", "transfer_s", "first_call_s", "eval_s"]

# Seed 001, section 5: one time.time() around one first call on np.linspace(-5, 5, 10**6).
# SymPy and np.gradient ran in float64 (the array's dtype), JAX on x.astype('float32').
SEED_001_PUBLISHED_S = {
    ("square", "sympy", "float64"): 4.97126579284668e-3,
    ("square", "np-gradient", "float64"): 46.395063400268555e-3,
    ("square", "jax-nojit", "float32"): 62.67666816711426e-3,
    ("nested_polynomial", "sympy", "float64"): 357.2826385498047e-3,
    ("nested_polynomial", "jax-nojit", "float32"): 226.11117362976074e-3,
}
SEED_001 = "seed-001"  # the preset that measures it (harness.model.presets): its runs record the name


def measured(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells that finished with a steady-state time (training runs are whole workloads)."""
    eval_s = pd.to_numeric(cells["eval_s"], errors="coerce")
    keep = (cells["status"] == "ok") & (eval_s > 0) & ~cells["quantity"].isin(WORKLOADS)
    return cells[keep.fillna(False)]


def size_parameters(label) -> dict:
    """``"depth=3,points=1000000"`` → ``{"depth": 3.0, "points": 1000000.0}``; ``""`` → ``{}``.
    Parameters that are not numbers (``wrt=W``: which block of θ) lie on no axis: left out."""
    if not isinstance(label, str) or not label:
        return {}
    pairs = (item.split("=", 1) for item in label.split(",") if "=" in item)
    found = {}
    for k, v in pairs:
        try:
            found[k] = float(v)
        except ValueError:
            continue
    return found


def size_axis(g: pd.DataFrame) -> tuple[pd.Series, str]:
    """What a task's sizes grow: its parameter count n, or where that is fixed (llsq's 128
    coefficients) the size parameter that varies (llsq's n points)."""
    if g["dim"].nunique() >= 2:
        return g["dim"], "parameters"
    sizes = g["size"].map(size_parameters)
    for name in dict.fromkeys(k for size in sizes for k in size):
        values = sizes.map(lambda size, name=name: size.get(name, float("nan")))
        if values.nunique() >= 2:
            return values, name
    return g["dim"], "parameters"


def power_law(x, y) -> tuple[float, float]:
    """Exponent k of y = c·xᵏ by least squares on log y = a + k log x, and its standard error
    (NaN with two points).  Closed form rather than scipy.stats: importing that looks for torch
    arrays, and a report must run where the backends cannot even be imported."""
    t, u = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    dt = t - t.mean()
    sxx = float(dt @ dt)
    k = float(dt @ (u - u.mean())) / sxx
    residuals = u - u.mean() - k * dt
    se = float(np.sqrt(residuals @ residuals / (len(t) - 2) / sxx)) if len(t) > 2 else np.nan
    return k, se


def sweep_axis(group: pd.DataFrame) -> str | None:
    """What a sweep varies: the input dimension if it changes, else the number of points."""
    for axis in ("dim", "n_points"):
        if group[axis].nunique() > 1:
            return axis
    return None


SCALING_COLUMNS = [*SWEEP_KEYS, "axis", "n_sizes", "x_min", "x_max", "exponent", "exponent_se",
                   "cost_exponent", "cost_exponent_se"]


def scaling(cells: pd.DataFrame) -> pd.DataFrame:
    """Power-law exponents of ``eval_s`` against the swept size, one row per cell family
    measured at ≥ 3 sizes; for dimension sweeps also the exponent of ``cost_ratio``
    (finite-difference gradients: ~1, reverse mode: ~0)."""
    ok = measured(cells)
    ok = ok[ok["size"] != ""]
    rows = []
    for key, g in ok.groupby(SWEEP_KEYS, sort=False, dropna=False):
        axis = sweep_axis(g)
        if axis is None or g["size"].nunique() < MIN_SIZES:
            continue
        if g.groupby(axis)["size"].nunique().max() > 1:  # x must say which size was measured
            continue
        # repeated runs of one size: their median
        by_x = g.assign(cost_ratio=pd.to_numeric(g["cost_ratio"], errors="coerce")) \
                .groupby(axis)[["eval_s", "cost_ratio"]].median()
        if len(by_x) < MIN_SIZES:
            continue
        k, k_se = power_law(by_x.index, by_x["eval_s"])
        cost = by_x["cost_ratio"][by_x["cost_ratio"] > 0]  # NaN (schema 2, no primal) drops out
        fit_cost = axis == "dim" and len(cost) >= MIN_SIZES
        c, c_se = power_law(cost.index, cost) if fit_cost else (np.nan, np.nan)
        rows.append((*key, axis, len(by_x), float(by_x.index.min()), float(by_x.index.max()),
                     k, k_se, c, c_se))
    return pd.DataFrame(rows, columns=SCALING_COLUMNS)


SWELL_COLUMNS = [*SWEEP_KEYS, "parameter", "value", "metric", "count"]


def swell(cells: pd.DataFrame) -> pd.DataFrame:
    """Expression swell and graph size against a sweep's size parameter, long form:
    one row per (cell, metric) with a value, for case sweeps of ≥ 2 sizes."""
    present = [m for m in SWELL_METRICS if m in cells and cells[m].notna().any()]
    swept = cells[cells["size"] != ""]
    if not present or swept.empty:
        return pd.DataFrame(columns=SWELL_COLUMNS)
    parts = []
    for _case, g in swept.groupby("case", sort=False):
        params = pd.DataFrame([size_parameters(s) for s in g["size"]], index=g.index)
        varying = [p for p in params if params[p].nunique() > 1]
        if not varying:
            continue
        parameter = varying[0]  # a preset's sizes (depth=3,points=10⁶) may vary a second one
        long = g[SWEEP_KEYS + present].assign(parameter=parameter, value=params[parameter]) \
            .melt(id_vars=[*SWEEP_KEYS, "parameter", "value"], value_vars=present,
                  var_name="metric", value_name="count")
        parts.append(long.dropna(subset=["count"]))
    if not parts:
        return pd.DataFrame(columns=SWELL_COLUMNS)
    out = pd.concat(parts, ignore_index=True)[SWELL_COLUMNS]
    return out.astype({"count": float})


def setup_split(cells: pd.DataFrame) -> pd.DataFrame:
    """Per method, the median over its measured cells of each phase of a cell's life:
    derive, compile, transfer, first call and one steady-state call."""
    ok = measured(cells)
    if ok.empty:
        return pd.DataFrame(columns=["method", "cells", *SETUP_PHASES])
    phases = ok[["method", *SETUP_PHASES]].astype({p: float for p in SETUP_PHASES})
    table = phases.groupby("method", sort=False)[SETUP_PHASES].median()
    table.insert(0, "cells", phases.groupby("method", sort=False).size())
    return table.reset_index()


MEMORY_METRICS = ["peak_host_bytes", "peak_device_bytes", "bandwidth_share"]


def memory(cells: pd.DataFrame) -> pd.DataFrame:
    """Per method and device: median and largest peak host / device memory of one call and
    share of the copy bandwidth, with the cell that reached the largest."""
    ok = measured(cells)
    present = [m for m in MEMORY_METRICS if m in ok and ok[m].notna().any()]
    rows = []
    for (method, device), g in ok.groupby(["method", "device"], sort=False):
        row = {"method": method, "device": device}
        for m in present:
            values = g[m].astype(float).dropna()
            if values.empty:
                continue
            top = _cell_label(g.loc[values.idxmax()]) if values.max() > 0 else ""
            row |= {f"{m}_median": values.median(), f"{m}_max": values.max(), f"{m}_max_cell": top}
        rows.append(row)
    return pd.DataFrame(rows)


def _cell_label(r) -> str:
    case = f"{r['case']} [{r['size']}]" if r["size"] else r["case"]
    return f"{case} {r['quantity']}, {r['dtype']}"


# --- seed 001 -------------------------------------------------------------------------------------


def preset_runs(metas, preset: str) -> set[str]:
    """The run ids (a merged file's parts included) of the runs that measured ``preset``."""
    return {run["run_id"] for m in metas for run in m.runs()
            if isinstance(run.get("selection"), dict) and run["selection"].get("preset") == preset}


def seed_001_cells(cells: pd.DataFrame, metas) -> pd.DataFrame:
    """The cells that repeat seed 001's measurement: those of the runs of its preset, which fixes
    them (x² and p∘p∘p at 10⁶ points, first derivative, four methods, two dtypes)."""
    return cells[cells["run_id"].isin(preset_runs(metas, SEED_001))]


SEED_001_COLUMNS = ["case", "method", "dtype", "device", "status", "as_seed_s", "derive_s", "compile_s",
                    "transfer_s", "first_call_s", "eval_s", "digits", "published_s"]


def seed_001_table(cells: pd.DataFrame, metas) -> pd.DataFrame:
    """Seed 001's timings redone: per case × method × dtype × device, the first call timed as
    the seed timed it (``as_seed_s`` = setup + transfer: derivation, lambdify / tracing /
    compilation, moving the input and the first call) beside the harness's split of it, the
    steady-state call, the digits and the seed's own published figure."""
    found = seed_001_cells(cells, metas).copy()
    if found.empty:
        return pd.DataFrame(columns=SEED_001_COLUMNS)
    numeric = ["setup_s", "transfer_s", "derive_s", "compile_s", "first_call_s", "eval_s", "digits"]
    found[numeric] = found[numeric].astype(float)
    found["as_seed_s"] = found["setup_s"] + found["transfer_s"].fillna(0.0)
    found["published_s"] = [SEED_001_PUBLISHED_S.get(k, np.nan)
                            for k in zip(found["case"], found["method"], found["dtype"])]
    # in the preset's order, as its runs list its cases and methods
    rank = {"case": _listed(metas, "cases"), "method": _listed(metas, "methods"),
            "dtype": ("float64", "float32")}
    found = found.sort_values(list(rank), key=lambda col: col.map(
        lambda v, order=rank[col.name]: order.index(v) if v in order else len(order)), kind="stable")
    return found[SEED_001_COLUMNS].reset_index(drop=True)


def _listed(metas, what: str) -> list[str]:
    return list(dict.fromkeys(name for m in metas for name in getattr(m, what)))


def _pct(part, whole) -> str:
    return f"{100 * part / whole:.0f} %"


def _ms(seconds) -> str:
    return f"{seconds * 1e3:.3g} ms"


def seed_001_findings(table: pd.DataFrame) -> list[str]:
    """Three to five sentences read off ``seed_001_table``; each only when its cells are there.
    With a GPU in the run too, they speak of the CPU, where the seed ran."""
    ok = table[(table["status"] == "ok") & table["eval_s"].notna()]
    if len(ok):
        ok = ok[ok["device"] == ("cpu" if (ok["device"] == "cpu").any() else ok["device"].iloc[0])]
    at = {(r.case, r.method, r.dtype): r for r in ok.itertuples()}
    # in the preset's order: x², then p∘p∘p
    cases, methods = list(dict.fromkeys(table["case"])), list(dict.fromkeys(table["method"]))
    said = []

    one_time = ok.assign(share=1 - ok["eval_s"] / ok["as_seed_s"]).groupby("method", sort=False)["share"]
    # below 0 only by timing noise (a first call quicker than the steady median): nothing one-time
    shares = ", ".join(f"{100 * max(s, 0.0):.0f} % for {m}" for m, s in one_time.median().items())
    if shares:
        said.append("Of the first call the seed timed, the part a second call does not repeat "
                    f"(derivation, lambdify, tracing, compilation, transfer, warm-up) was {shares} "
                    "(medians over the cases and dtypes).")

    for case in reversed(cases):  # the larger program first
        jit, nojit = at.get((case, "jax", "float32")), at.get((case, "jax-nojit", "float32"))
        if jit is not None and nojit is not None and pd.notna(jit.compile_s):
            share = _pct(jit.compile_s, jit.as_seed_s)
            said.append(f"With jit, compiling took {_ms(jit.compile_s)} of JAX's {_ms(jit.as_seed_s)} first "
                        f"call on {case} in float32 ({share}); after it one call costs {_ms(jit.eval_s)}, "
                        f"{nojit.eval_s / jit.eval_s:.3g}× less than the seed's unjitted vmap(grad(f)) at "
                        f"{_ms(nojit.eval_s)}.")
            break

    sympy = ok[(ok["method"] == "sympy") & ok["derive_s"].notna()]
    if len(cases) == 2 and set(cases) <= set(sympy["case"]):
        # the cheaper dtype: the first lambdify of a process also pays for imports
        prepare = (sympy["derive_s"] + sympy["compile_s"].fillna(0.0)).groupby(sympy["case"]).min()
        steady = sympy.groupby("case")["eval_s"].max()  # the slower dtype: float64, as the seed ran it
        small, big = cases
        said.append(f"SymPy's derivation and lambdify grew from {_ms(prepare[small])} on x² to "
                    f"{_ms(prepare[big])} on p∘p∘p, and its steady-state call from {_ms(steady[small])} to "
                    f"{_ms(steady[big])}: the swell the seed points at.")

    per_method = []
    for m in methods:
        pairs = [(at.get((c, m, "float64")), at.get((c, m, "float32"))) for c in cases]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        if pairs:
            ratio = np.median([a.eval_s / b.eval_s for a, b in pairs])
            digits = min(a.digits for a, _ in pairs), min(b.digits for _, b in pairs)
            per_method.append(f"{ratio:.2g} for {m} ({digits[0]:.1f} → {digits[1]:.1f} digits)")
    if per_method:
        said.append("Steady-state time in float64 ÷ in float32: " + ", ".join(per_method)
                    + "; the digits are the worse of the two cases.")

    published = ok[ok["published_s"].notna()]
    if len(published):
        factor = published["as_seed_s"] / published["published_s"]
        said.append(f"Against the seed's {len(published)} published single timings, this run's first calls "
                    f"were {factor.min():.2g}× to {factor.max():.2g}× theirs (another machine, and one "
                    "unrepeated time.time() each).")
    return said[:5]
