"""Run-to-run comparison: match the cells of two runs and say what changed.

Timing changes are tested for significance on the per-batch samples each cell
records (``eval_samples_s``) with a two-sided Mann–Whitney U test, as asv does:
a cell is *slower* only when the median moved by more than the threshold *and*
the test rejects "same distribution" at ``alpha`` (and more, below).  A cell has one batch per
round of its task (:mod:`harness.runner.rounds`): with the default 10 rounds (10 samples a side)
the smallest two-sided p-value the exact test can give is 2/C(20, 10) ≈ 1.1·10⁻⁵, and with the
``quick`` profile's 5 it is 2/C(10, 5) ≈ 0.008, so alpha = 0.05 is reachable in both (a task
whose rounds reached their time limit after the least 3 gives 2/C(6, 3) = 0.1: no timing change of
its cells is ever significant).

On a shared machine that is not enough: a burst of load can slow all of a cell's batches
alike (one cell's 10 µs median read 8.9 to 31 µs over six runs of the same code here), and
the test then "finds" a slowdown.  So a timing verdict also asks:

- **Is it the method's, or the machine's?**  Each cell times its function f in batches
  alternating with the derivative's (``cost_ratio``, :mod:`harness.measure.primal`); a burst slows
  both, a slower method only its derivative.  A cell is slower only when its cost ratio grew
  past the threshold too (``norm_ratio``, new over old); a cell whose f slowed alike is
  ``same``, and its ``why`` says so.  Cells without a cost ratio (a run before schema 3, a
  failed f) are judged on the time alone.
- **Beyond this machine's run-to-run noise?**  With an A/A calibration (``noise``: the
  cells of two runs of the same code, on the same machine), each cell's change must also
  exceed what that cell moved between the two A runs, and at least the 90th percentile of
  what all cells moved (``noise_floor``).

- **Beyond how far the method's cells drifted within each run?**  A cell's batches are timed
  in its task's rounds, one after another over the task's seconds: the median of its first half
  of rounds against the median of its second half is an A/A calibration built in.  A change must
  also exceed the FLOOR_QUANTILE of how far that method's cells drifted so, in either run
  (``drift_floor``, over its cells with at least :data:`DRIFT_MIN_SAMPLES` batches): a disturbance
  of several seconds can slow all of one cell's batches alike, and then it slows the later rounds
  of its neighbours against their earlier ones.
- **Beyond the medians' own uncertainty?**  The two medians' intervals (:mod:`harness.stats.noise`)
  must not overlap, as asv asks of its confidence intervals.  The interval holds every round's
  batch: a cell whose rounds drifted has an interval as wide as that.

Every row's ``why`` says how its verdict was reached.
Accuracy changes compare ``digits`` (capped at 17, as the runner caps them);
a status change (ok → failed, …) is a verdict of its own.  Only pandas and
SciPy are imported: comparing never loads a differentiation backend.
"""

from __future__ import annotations

import math

import numpy as np

from harness.errors import UsageError
from harness.read.units import format_number, format_time
from harness.stats.noise import median_interval
from harness.store.schema import DIGITS_CAP, KEY, clock_of
from harness.store.text import printable

VERDICTS = ("slower", "faster", "same", "less accurate", "more accurate", "status changed",
            "only old", "only new")
DEFAULTS = {"threshold": 0.10, "alpha": 0.05, "digits_tol": 1.0}  # compare()'s, for a report to quote
_SIDE_COLUMNS = ["status", "eval_s", "eval_samples_s", "digits", "cost_ratio", "timing_clock"]
FLOOR_QUANTILE = 0.90  # of all cells' A/A movement: the least change that counts for any cell
DRIFT_MIN_SAMPLES = 4  # a cell's drift: the medians of the two halves of its rounds, of 2 batches at least


def _keyed(cells):
    """The side's comparable columns, one row per key (the last one read wins)."""
    df = cells.reindex(columns=KEY + _SIDE_COLUMNS).copy()
    df["size"] = df["size"].astype(str)
    df["order"] = df["order"].fillna(0).astype(int)
    # a folder may hold several runs: read() concatenates them oldest first
    return df.drop_duplicates(KEY, keep="last")


def _samples(value) -> np.ndarray | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None  # results before schema 3 have no samples
    samples = np.asarray(value, dtype=float)
    samples = samples[np.isfinite(samples)]
    return samples if samples.size else None


def p_value(old, new) -> float:
    """Two-sided Mann–Whitney U p-value of two sample lists; NaN when either is missing."""
    from scipy.stats import mannwhitneyu

    a, b = _samples(old), _samples(new)
    if a is None or b is None:
        return math.nan
    # the exact distribution assumes no ties; with ties fall back to the normal approximation
    tied = np.unique(np.concatenate([a, b])).size < a.size + b.size
    result = mannwhitneyu(a, b, alternative="two-sided", method="asymptotic" if tied else "exact")
    return float(result.pvalue)


def _digits_change(old, new) -> float:
    if math.isnan(old) and math.isnan(new):
        return 0.0  # neither side has an error figure: nothing changed
    return min(new, DIGITS_CAP) - min(old, DIGITS_CAP)  # NaN when only one side has one


def ratio_range(r) -> tuple[float, float] | None:
    """The ratio's range from the two medians' intervals (harness.stats.noise): (new lo / old hi,
    new hi / old lo); None without samples on both sides."""
    samples = [_samples(r[f"{side}_eval_samples_s"]) for side in ("old", "new")]
    if any(s is None for s in samples):
        return None
    old, new = map(median_interval, samples)
    if old.lo_s <= 0 or old.hi_s <= 0:
        return None
    return new.lo_s / old.hi_s, new.hi_s / old.lo_s


def _timing(r, threshold, alpha) -> tuple[str, str]:
    """("slower" | "faster" | "same", why) for a cell ok in both runs."""
    ratio, p, norm = r["ratio"], r["p_value"], r["norm_ratio"]
    if math.isnan(p):
        return "same", "no timing samples on one side"
    aa, drift = (0.0 if math.isnan(r[c]) else r[c] for c in ("noise_floor", "drift_floor"))
    floor = max(aa, drift)
    bar = (1 + threshold) * math.exp(floor)  # the change that counts, in either direction
    span = ratio_range(r)
    effect = f"{ratio:.3g}× " + (f"[{span[0]:.3g}–{span[1]:.3g}] " if span else "") + f"(p = {p:.3f})"
    if aa:
        effect += f", A/A noise {math.exp(aa):.3g}×"
    if drift:
        effect += f", {r['method']}'s rounds drifted {math.exp(drift):.3g}×"
    old_clock, new_clock = clock_of(r["old_timing_clock"]), clock_of(r["new_timing_clock"])
    if old_clock != new_clock:
        effect += f", timed by the {old_clock} clock, then the {new_clock} clock"
    if max(ratio, 1 / ratio) <= bar:
        return "same", f"{effect}: within {bar:.3g}×"
    if p >= alpha:
        return "same", f"{effect}: the batches overlap (p ≥ {alpha:g})"
    slower = ratio > 1
    if span and span[0] <= 1 <= span[1]:
        return "same", f"{effect}: the medians' intervals overlap"
    if not math.isnan(norm):
        if max(norm, 1 / norm) <= bar or (norm > 1) != slower:
            return "same", (f"{effect}, but f moved alike (derivative/f {norm:.3g}×): "
                            "the machine, not the method")
        effect += f", derivative/f {norm:.3g}×"
    return ("slower" if slower else "faster"), f"{effect}: beyond {bar:.3g}×"


def _verdict(r, threshold, alpha, digits_tol) -> tuple[str, str]:
    if not isinstance(r["old_status"], str):
        return "only new", ""
    if not isinstance(r["new_status"], str):
        return "only old", ""
    if r["old_status"] != r["new_status"]:
        return "status changed", f"{r['old_status']} → {r['new_status']}"
    change = r["digits_change"]
    if r["old_status"] != "ok":
        return "same", ""
    timing, why = _timing(r, threshold, alpha)
    # regressions before improvements: a slower but more accurate cell still needs a look
    if change < -digits_tol:
        return "less accurate", f"{change:+.1f} digits; time {why}"
    if timing == "slower":
        return "slower", why
    if change > digits_tol:
        return "more accurate", f"{change:+.1f} digits; time {why}"
    return timing, why  # faster is symmetric: A→B slower iff B→A faster


def noise_floor(a_cells, b_cells):
    """Per cell key, the log of how far its time moved between two runs of the same code (an
    A/A calibration), at least the FLOOR_QUANTILE of all cells' movement; a Series indexed by
    the key, and the pooled figure for cells the calibration lacks."""
    import pandas as pd

    a, b = _keyed(a_cells), _keyed(b_cells)
    both = a.merge(b, on=KEY, suffixes=("_a", "_b"))
    both = both[(both["status_a"] == "ok") & (both["status_b"] == "ok")]
    moved = np.abs(np.log(both["eval_s_b"].astype(float) / both["eval_s_a"].astype(float)))
    if not len(moved):
        raise UsageError("the A/A calibration has no cell ok in both of its runs")
    pooled = float(np.nanquantile(moved, FLOOR_QUANTILE))
    per_cell = pd.Series(np.maximum(moved.to_numpy(), pooled), index=pd.MultiIndex.from_frame(both[KEY]))
    return per_cell, pooled


def _drift(samples, rounds) -> float:
    """|log(median of a cell's first half of rounds / median of its second half)|: its batches in
    round order (by ``eval_round_ids`` where they match the samples, else as recorded), the middle
    one left out of an odd count; NaN below :data:`DRIFT_MIN_SAMPLES` batches."""
    x = _samples(samples)
    if x is None or x.size < DRIFT_MIN_SAMPLES or (x <= 0).any():
        return math.nan
    ids = None if rounds is None or isinstance(rounds, float) else np.asarray(rounds, dtype=float)
    if ids is not None and ids.size == x.size:
        x = x[np.argsort(ids, kind="stable")]
    half = x.size // 2
    return float(abs(np.log(np.median(x[:half]) / np.median(x[-half:]))))


def drift_floor(cells):
    """Per method, the log of how far its cells drifted within one run: the FLOOR_QUANTILE of
    |log(median of the first half of a cell's rounds / median of the second half)| over its ok
    cells with at least :data:`DRIFT_MIN_SAMPLES` batches (a Series indexed by method; empty for a
    run without samples)."""
    import pandas as pd

    if "eval_samples_s" not in cells:
        return pd.Series(dtype=float)
    timed = cells[cells["status"] == "ok"]
    rounds = timed["eval_round_ids"] if "eval_round_ids" in timed else [None] * len(timed)
    drift = pd.Series([_drift(s, r) for s, r in zip(timed["eval_samples_s"], rounds)],
                      index=timed.index, dtype=float)
    return drift.groupby(timed["method"]).quantile(FLOOR_QUANTILE).dropna()


def compare(old_cells, new_cells, threshold=0.10, alpha=0.05, digits_tol=1.0, noise=None):
    """One row per cell of either run, matched on the cell key (:data:`harness.store.schema.KEY`), with a
    ``verdict`` from ``VERDICTS`` and the ``why`` of it.

    ``threshold`` is the relative change of the median ``eval_s`` that counts
    (0.10: more than 1.1× slower, or faster than 1/1.1×), and only where the
    Mann–Whitney p-value is below ``alpha`` and the derivative moved against its own f
    too (``norm_ratio``); ``noise`` (the cells of two A/A runs) adds each cell's
    calibrated run-to-run noise to the threshold; ``digits_tol`` the digits that may be
    lost or gained before a cell is less or more accurate.
    """
    import pandas as pd

    old, new = _keyed(old_cells), _keyed(new_cells)
    df = old.merge(new, on=KEY, how="outer", suffixes=("_old", "_new"), sort=False)
    df = df.rename(columns={f"{c}_{side}": f"{side}_{c}" for c in _SIDE_COLUMNS for side in ("old", "new")})
    both_ok = (df["old_status"] == "ok") & (df["new_status"] == "ok")
    df["ratio"] = (df["new_eval_s"] / df["old_eval_s"]).where(both_ok)
    df["p_value"] = [p_value(a, b) if ok else math.nan
                     for a, b, ok in zip(df["old_eval_samples_s"], df["new_eval_samples_s"], both_ok)]
    df["digits_change"] = [_digits_change(float(a), float(b))
                           for a, b in zip(df["old_digits"].astype(float), df["new_digits"].astype(float))]
    norm = df["new_cost_ratio"].astype(float) / df["old_cost_ratio"].astype(float)
    df["norm_ratio"] = norm.where(both_ok)
    floors = [drift_floor(side).reindex(df["method"]).to_numpy() for side in (old_cells, new_cells)]
    df["drift_floor"] = np.fmax(*floors)  # NaN only where neither run timed the method in 4 rounds
    df["noise_floor"] = math.nan
    if noise is not None:
        per_cell, pooled = noise_floor(*noise)
        keys = pd.MultiIndex.from_frame(df[KEY])
        df["noise_floor"] = per_cell.reindex(keys).fillna(pooled).to_numpy()
    verdicts = [_verdict(r, threshold, alpha, digits_tol) for _, r in df.iterrows()]
    df["verdict"] = [v for v, _ in verdicts]
    df["why"] = [w for _, w in verdicts]
    columns = KEY + ["old_status", "new_status", "old_eval_s", "new_eval_s", "ratio", "p_value", "norm_ratio",
                      "noise_floor", "drift_floor",
                      "old_digits", "new_digits", "digits_change", "verdict", "why"]
    return pd.DataFrame(df[columns]).reset_index(drop=True)


def regressions(compared):
    """The rows a regression gate fails on: slower, less accurate, or no longer ok."""
    lost_ok = (compared["verdict"] == "status changed") & (compared["old_status"] == "ok")
    return compared[compared["verdict"].isin(["slower", "less accurate"]) | lost_ok]


def missing(compared):
    """The cells of the old run that the new one lacks: a gate fails on them too (a run that lost
    its cells has not kept their figures)."""
    return compared[compared["verdict"] == "only old"]


def parse_threshold(text: str) -> float:
    """'10%' or '0.1' → 0.1; anything else is a UsageError."""
    text = str(text).strip()
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise UsageError(f"threshold must be a fraction or a percentage (0.1 or 10%), got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise UsageError(f"threshold must be a finite non-negative fraction, got {text!r}")
    return value


def format_table(compared) -> str:
    """The changed cells as a fixed-width table (those in one run only are counted, not listed), then
    a line of counts: changed and unchanged among the cells in both runs, and the unmatched."""
    unmatched = compared["verdict"].isin(["only old", "only new"])
    changed = compared[(compared["verdict"] != "same") & ~unmatched]
    rows = [("verdict", *KEY, "status", "old eval", "new eval", "ratio", "p", "digits", "why")]
    for r in changed.itertuples():
        old, new = (s if isinstance(s, str) else "–" for s in (r.old_status, r.new_status))
        status = old if old == new else f"{old} → {new}"
        digits = f"{format_number(r.old_digits, '.1f') or '–'} → {format_number(r.new_digits, '.1f') or '–'}"
        row = (r.verdict, *(str(getattr(r, k)) for k in KEY), str(status), format_time(r.old_eval_s),
               format_time(r.new_eval_s), format_number(r.ratio, ".2f"), format_number(r.p_value, ".3f"),
               digits if digits != "– → –" else "", r.why)
        rows.append(tuple(map(printable, row)))  # names from the files: no escape reaches a terminal
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    lines = lines if len(rows) > 1 else []  # no heading over an empty table
    matched = int((~unmatched).sum())
    counts = f"{len(changed)} cells changed, {matched - len(changed)} unchanged (of {matched} matched)"
    only = {v: int((compared["verdict"] == v).sum()) for v in ("only old", "only new")}
    if any(only.values()):
        counts += f"; {only['only old']} only in the old run, {only['only new']} only in the new"
    lines.append(counts)
    machine = compared["why"].astype(str).str.contains("the machine, not the method", regex=False).sum()
    if machine:
        lines.append(f"{machine} of the unchanged moved beyond the threshold together with their own f "
                     "(the machine's load, or a backend as a whole): not counted as changes")
    return "\n".join(lines)
