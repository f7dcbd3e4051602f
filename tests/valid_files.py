"""Small valid files of every kind diffbench reads, made by hand (no run): gradbench inputs for
gmm and lstm, a results file with its per-point and step-sweep companions, and a journal.

tests/test_bad_files.py and tests/test_fuzz_readers.py break them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness.store.meta import RunMeta
from harness.store.schema import CellRow, PointRow, StepRow

RUN_ID = "20250101T000000Z-abcdef"
META = {"run_id": RUN_ID, "complete": False, "host": "test",
        "selection": {"cases": "cubic", "methods": "central,forward", "dtypes": "float64"},
        "cases": {"cubic": {"sequential": False}}, "methods": {"central": {"family": "numerical"}}}


def gmm_input(d: int = 3, k: int = 2, n: int = 4) -> dict:
    """gradbench's gmm input at (d, k, n) as plain JSON values (l flat, column by column)."""
    from cases.gradbench import f32, gmm_generate

    return {key: f32(v).tolist() if isinstance(v, np.ndarray) else v
            for key, v in gmm_generate(d, k, n).items()}


def lstm_input(l: int = 1, c: int = 3) -> dict:  # noqa: E741 (the spec's name)
    """ADBench's lstm input with l layers and c characters as plain JSON values."""
    from cases.gradbench import f32, lstm_generate

    return {key: f32(v).tolist() for key, v in lstm_generate(l, c).items()}


def write_input(path: Path, data, module: str | None = None) -> Path:
    """``data`` as a gradbench evaluate message of ``module``, or alone (NaN written as NaN)."""
    doc = {"kind": "evaluate", "module": module, "function": "objective", "input": data} if module else data
    Path(path).write_text(json.dumps(doc))
    return Path(path)


def cell_rows() -> list[CellRow]:
    timed = dict(eval_s=1e-6, eval_samples_s=[1e-6] * 3, eval_round_ids=[0, 1, 2], timing_rounds=3,
                 noisy=False)
    return [CellRow(run_id=RUN_ID, case="cubic", size="", method=method, family="numerical", mode="",
                    batched="yes", quantity="derivative", order=1, dtype="float64", device="cpu",
                    status=status, message="" if status == "ok" else "no", dim=1, n_points=2,
                    max_rel_err=1e-10 if status == "ok" else None, digits=10.0 if status == "ok" else None,
                    **(timed if status == "ok" else {}))
            for method, status in (("central", "ok"), ("forward", "ok"), ("complex_step", "failed"))]


def point_rows() -> list[PointRow]:
    return [PointRow(RUN_ID, "cubic", "", method, "derivative", 1, "float64", "cpu", i, x, 3 * x * x,
                     3 * x * x, 3 * x * x, repr(3 * x * x), x ** 3, 0.0, 0.0, i == 0, True)
            for method in ("central", "forward") for i, x in enumerate((0.5, 1.5))]


def step_rows() -> list[StepRow]:
    return [StepRow(RUN_ID, "cubic", "central", "float64", h, 1e-8, 8.0, 1e-5, 6e-6) for h in (1e-3, 1e-6)]


def write_results(folder: Path) -> Path:
    """A results file of three cells, with its per-point and step-sweep files; returns its path."""
    import pandas as pd

    from harness.store import results
    from harness.store.schema import STEP_COLUMNS

    steps = pd.DataFrame(step_rows(), columns=STEP_COLUMNS)
    return results.write(results.cells_frame(cell_rows()), results.points_frame(point_rows()),
                         RunMeta(**META), folder, steps=steps)


def write_journal(path: Path) -> Path:
    """A journal of the cells and their points, the first cell's row written again (read back in
    its place)."""
    from dataclasses import replace

    from harness.runner.journal import Journal

    rows, points = cell_rows(), point_rows()
    log = Journal(Path(path), RunMeta(**META), rows, points)
    log.replace(replace(rows[0], eval_s=5e-7, eval_samples_s=[1e-6, 5e-7, 5e-7]))
    log.close()
    return Path(path)
