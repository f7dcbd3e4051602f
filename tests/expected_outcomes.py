"""The capability matrix: what each method does on each case, as observed and as expected.

`tests/expected_outcomes.csv` is the committed expectation (float64, CPU, the `quick`
sizes): for every method × case (and size) × quantity × order one of

  ok            measured, at least MIN_DIGITS correct digits
  inaccurate    measured, fewer than MIN_DIGITS digits (e.g. complex step on |x|)
  unsupported   the method does not compute this (declared, or refused by prepare)
  failed        an expected failure, with its reason (e.g. SymPy on |x|)
  unavailable   the method cannot run on a current Python (e.g. tangent)

`test_capabilities.py` re-observes the matrix and fails on any difference, so a change
of behaviour is noticed.  After an intended change, regenerate and review the diff:

    python -m tests.expected_outcomes --write
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from harness.measure.timing import UNTIMED

EXPECTED = Path(__file__).with_name("expected_outcomes.csv")
COLUMNS = ["method", "case", "size", "quantity", "order", "expected", "reason"]
MIN_DIGITS = 4.0
# what is observed is each cell's outcome and digits, not its time: checked and graded, not timed
TIMING = UNTIMED


def category(row) -> str:
    if row.status == "ok":
        return "ok" if row.digits >= MIN_DIGITS else "inaccurate"
    return row.status


def observe():
    """The float64 CPU matrix of the built-in cases (quick sizes) and methods (opt-in ones left out,
    but for jax-nojit and sympy-expand, opt-in only for their cost, and tangent, opt-in because it
    cannot import: its cells record why)."""
    import harness
    from harness.model.registry import METHODS

    opted = ("jax-nojit", "sympy-expand", "tangent")
    methods = [m.name for m in METHODS.all().values() if m.default or m.name in opted]
    df = harness.run(methods=methods, dtypes="float64", devices="cpu", sizes="quick", timing=TIMING)
    rows = []
    for r in df.itertuples():
        cat = category(r)
        reason = "" if cat == "ok" else (r.message if cat != "inaccurate" else f"{r.digits:.1f} digits")
        rows.append({"method": r.method, "case": r.case, "size": r.size or "", "quantity": r.quantity,
                     "order": int(r.order),
                     "expected": cat, "reason": reason.splitlines()[0][:200] if reason else ""})
    return rows


def read_expected() -> list[dict]:
    with EXPECTED.open(newline="") as fh:
        return [dict(r, order=int(r["order"])) for r in csv.DictReader(fh)]


def write_expected(rows) -> None:
    with EXPECTED.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write_expected(observe())
        print(f"wrote {EXPECTED}")
    elif sys.argv[1:] == ["--json"]:  # for the test, from a fresh interpreter: built-ins only
        print(json.dumps(observe()))
    else:
        sys.exit("usage: python -m tests.expected_outcomes --write | --json")
