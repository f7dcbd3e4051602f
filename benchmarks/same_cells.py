"""Whether two runs measured the same thing: the same cells (by key), each with the same status, and
the same columns — what a refactoring that should change no measurement must leave as it was.

    python benchmarks/same_cells.py BEFORE.parquet AFTER.parquet

Timings are not compared (they move between any two runs; ``diffbench compare`` judges them);
digits are compared where both runs are ok, to 0.5 digits (a method whose rounding depends on the
batch is still the same method). Exit status 1 on any difference, with the differences listed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.store.results import read  # noqa: E402
from harness.store.schema import KEY  # noqa: E402

DIGITS_TOLERANCE = 0.5


def main(before: str, after: str) -> int:
    (old, _, _), (new, _, _) = read([before]), read([after])
    problems = []
    if list(old.columns) != list(new.columns):
        problems.append(f"columns differ: {sorted(set(old.columns) ^ set(new.columns))}")
    keyed = [df.set_index(KEY) for df in (old, new)]
    only_old = keyed[0].index.difference(keyed[1].index)
    only_new = keyed[1].index.difference(keyed[0].index)
    problems += [f"only before: {k}" for k in only_old[:20]] + [f"only after: {k}" for k in only_new[:20]]
    both = keyed[0].index.intersection(keyed[1].index)
    a, b = keyed[0].loc[both], keyed[1].loc[both]
    status = a["status"] != b["status"]
    problems += [f"status {a.at[k, 'status']} → {b.at[k, 'status']}: {k}"
                 for k in both[status.to_numpy()][:20]]
    ok = ((a["status"] == "ok") & (b["status"] == "ok")).to_numpy()
    moved = (a["digits"] - b["digits"]).abs().to_numpy() > DIGITS_TOLERANCE
    problems += [f"digits {a.at[k, 'digits']:.2f} → {b.at[k, 'digits']:.2f}: {k}"
                 for k in both[ok & moved][:20]]
    counts = a["status"].value_counts().to_dict()
    print(f"{len(old)} cells before, {len(new)} after, {len(both)} in both; statuses before {counts}; "
          f"{int(status.sum())} changed status, {int((ok & moved).sum())} of the ok moved > "
          f"{DIGITS_TOLERANCE} digits; {len(only_old)} only before, {len(only_new)} only after")
    print("\n".join(problems) if problems else "the same cells, statuses and columns")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
