"""Every finished cell on disk at once: ``<run-id>.journal.jsonl`` beside the results files.

The runner appends one JSON line per cell (its row and its per-point rows) as
the cell finishes, after a first line with the run's metadata.  A run that
ends normally, or is stopped by Ctrl-C or SIGTERM, writes its Parquet files
and drops the journal; a run killed outright (SIGKILL, a node lost, the
power) leaves the journal, which ``diffbench run --resume`` reads back — a
last line cut off mid-write is ignored, so at most the cell being written is
measured again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness.registry import UsageError

SUFFIX = ".journal.jsonl"


def path_for(out_dir, run_id: str) -> Path:
    return Path(out_dir) / f"{run_id}{SUFFIX}"


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
            by_cell.setdefault(_key(p), []).append(p)
        for row in rows:
            self.add(row, by_cell.get(_key(row), []))

    def _write(self, record: dict) -> None:
        self.file.write(json.dumps(record, default=_plain) + "\n")
        self.file.flush()  # in the OS's hands: survives the process being killed

    def add(self, row: dict, points: list[dict]) -> None:
        columns = {k: [p[k] for p in points] for k in (points[0] if points else {})}
        self._write({"cell": row, "points": columns})

    def close(self, remove: bool = False) -> None:
        self.file.close()
        if remove:
            self.path.unlink(missing_ok=True)


KEY = ("case", "size", "method", "quantity", "order", "dtype", "device")


def _key(row: dict) -> tuple:
    return tuple(row[k] for k in KEY)


def read(path) -> tuple[dict, list[dict], list[dict]]:
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
    rows, points = [], []
    for record in records[1:]:
        rows.append(record["cell"])
        columns = record["points"]
        n = len(next(iter(columns.values()), []))
        points += [{k: v[i] for k, v in columns.items()} for i in range(n)]
    return records[0]["meta"], rows, points


def resume_state(path) -> tuple[dict, list[dict], list[dict], Path]:
    """(metadata, rows, points, output folder) of an interrupted run, from its journal or its
    results file (the journal beside a results file holds at least as much: it is preferred)."""
    path = Path(path)
    if not path.name.endswith(SUFFIX):
        beside = path.with_name(path.name.removesuffix(".parquet") + SUFFIX)
        if beside.is_file():
            path = beside
    if path.name.endswith(SUFFIX):
        meta, rows, points = read(path)
    else:
        from harness.results import read as read_results

        cells, table, metas = read_results([path])
        meta, rows, points = metas[0], cells.to_dict("records"), table.to_dict("records")
        if meta.get("complete"):
            raise UsageError(f"{path}: this run is complete, there is nothing to resume")
    if "selection" not in meta:
        raise UsageError(f"{path}: written by a diffbench that could not resume runs")
    return meta, rows, points, path.parent
