"""Every finished cell on disk at once: ``<run-id>.journal.jsonl`` beside the results files.

The loop appends one JSON line per cell (its row and its per-point rows) as the cell
finishes, after a first line with the run's metadata.  A run that ends normally, or is
stopped by Ctrl-C or SIGTERM, writes its Parquet files and drops the journal; a run killed
outright (SIGKILL, a node lost, the power) leaves the journal, which
``diffbench run --resume`` reads back — a last line cut off mid-write is ignored, so at most
the cell being written is measured again.  A later timing pass appends the cell's row again
(``replaced``), and that row is the one read back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import UsageError
from harness.schema import JOURNAL_SUFFIX, POINT_COLUMNS, CellKey, CellRow, PointRow, RunFiles


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in the journal")


class Journal:
    def __init__(self, path: Path, meta: dict, rows=(), points=()):
        """A new journal at ``path`` (replacing any), holding ``rows`` already measured."""
        self.path = Path(path)
        try:  # at the start of a run: an unwritable output folder is known before measuring
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create output folder {self.path.parent}: {exc.strerror}") from exc
        try:
            self.file = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write the journal {self.path}: {exc.strerror}") from exc
        self._write({"meta": meta})
        by_cell: dict = {}
        for p in points:
            by_cell.setdefault(CellKey.of(p), []).append(p)
        for row in rows:
            self.add(row, by_cell.get(row.key, []))

    def _write(self, record: dict) -> None:
        self.file.write(json.dumps(record, default=_plain) + "\n")
        self.file.flush()  # in the OS's hands: survives the process being killed

    def add(self, row: CellRow, points: list[PointRow]) -> None:
        columns = dict(zip(POINT_COLUMNS, map(list, zip(*points)))) if points else {}
        self._write({"cell": row.to_dict(), "points": columns})

    def replace(self, row: CellRow) -> None:
        """A cell's row again, with later figures (a later timing pass): it replaces the earlier."""
        self._write({"replaced": row.to_dict()})

    def close(self, remove: bool = False) -> None:
        self.file.close()
        if remove:
            self.path.unlink(missing_ok=True)


def read(path) -> tuple[dict, list[CellRow], list[PointRow]]:
    """(metadata, cell rows, point rows) of a journal; a cut-off last line is dropped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read the journal {path}: {exc.strerror}") from exc
    records = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:  # the line being written when the run was killed
                break
            raise UsageError(f"{path}: line {i + 1} is not a journal record") from None
    if not records or "meta" not in records[0]:
        raise UsageError(f"{path}: not a diffbench journal (no metadata line)")
    rows, points, where = [], [], {}
    for record in records[1:]:
        if "replaced" in record:
            row = CellRow(**record["replaced"])
            rows[where[row.key]] = row
            continue
        rows.append(CellRow(**record["cell"]))
        where[rows[-1].key] = len(rows) - 1
        columns = record["points"]
        if columns:
            points += [PointRow(*values) for values in zip(*(columns[k] for k in POINT_COLUMNS))]
    return records[0]["meta"], rows, points


@dataclass
class Resumed:
    """An interrupted run: its metadata, the rows it finished, and its output folder."""

    meta: dict
    rows: list[CellRow]
    points: list[PointRow]
    folder: Path


def resume_state(path) -> Resumed:
    """An interrupted run, from its journal or its results file (the journal beside a results
    file holds at least as much: it is preferred)."""
    path = Path(path)
    if not path.name.endswith(JOURNAL_SUFFIX) and RunFiles.beside(path).journal.is_file():
        path = RunFiles.beside(path).journal
    if path.name.endswith(JOURNAL_SUFFIX):
        meta, rows, points = read(path)
    else:
        from harness.results import read as read_results

        cells, table, metas = read_results([path])
        meta = metas[0]
        rows = [CellRow(**r) for r in cells.to_dict("records")]
        points = [PointRow(**p) for p in table.to_dict("records")]
        if meta.get("complete"):
            raise UsageError(f"{path}: this run is complete, there is nothing to resume")
    if "selection" not in meta:
        raise UsageError(f"{path}: written by a diffbench that could not resume runs")
    return Resumed(meta, rows, points, path.parent)
