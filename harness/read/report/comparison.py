"""The report's "Comparison with baseline" section: what changed since an earlier run.

The verdicts come from :func:`harness.read.compare.compare` with its default
threshold, significance level and digits tolerance, so the report says what
``diffbench compare`` says.
"""

from __future__ import annotations

from harness.read.compare import DEFAULTS, VERDICTS, compare, regressions


def build(old_cells, new_cells, old_metas, **options) -> dict:
    """The template's ``comparison`` dict: changed cells (regressions first) and counts by verdict."""
    compared = compare(old_cells, new_cells, **options)
    changed = compared[compared["verdict"] != "same"].copy()
    # regressions first, then by verdict in the closed set's order, then the largest slowdown
    changed["regression"] = changed.index.isin(regressions(compared).index)
    changed["rank"] = changed["verdict"].map(VERDICTS.index)
    changed = changed.sort_values(["regression", "rank", "ratio"], ascending=[False, True, False])
    counts = compared["verdict"].value_counts()
    return {
        "baseline": [m.run_id for m in old_metas],
        "options": {**DEFAULTS, **options},
        "rows": changed.drop(columns="rank").to_dict("records"),
        "counts": {v: int(counts[v]) for v in VERDICTS if v in counts},
        "matched": len(compared),
        "regressions": int(changed["regression"].sum()),
    }
