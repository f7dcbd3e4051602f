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
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import UsageError
from harness.store.atomic import replacing
from harness.store.meta import RunMeta
from harness.store.schema import JOURNAL_SUFFIX, POINT_COLUMNS, CellKey, CellRow, PointRow, RunFiles


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in the journal")


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # what harness.store.results.new_run_id makes, and more


class JournalError(UsageError):
    """A journal line could not be written (a full disk): the run stops and writes what it has."""


class Journal:
    def __init__(self, path: Path, meta: RunMeta, rows=(), points=(), resumed=None):
        """The journal at ``path``, holding ``rows`` already measured: appended to where it is the
        journal the run was resumed from (``resumed``), else a new one, written whole beside it
        and renamed into place.  Either way a journal on disk is never rewritten: a signal or a
        kill at any moment leaves every finished cell in it."""
        self.path = Path(path)
        try:  # at the start of a run: an unwritable output folder is known before measuring
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create output folder {self.path.parent}: {exc.strerror}") from exc
        appending = (resumed is not None and self.path.exists()
                     and Path(resumed).resolve() == self.path.resolve())
        if self.path.exists() and not appending:  # another resume's, with cells this one lacks
            raise UsageError(f"{self.path} exists already: resume from it (--resume {self.path}) rather "
                             "than write a new journal over it")
        try:
            if appending:
                _drop_torn_tail(self.path)  # its rows are in it already
            else:
                self._write_new(meta, rows, points)
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise UsageError(f"cannot write the journal {self.path}: {exc.strerror}") from exc

    def _write_new(self, meta: RunMeta, rows, points) -> None:
        by_cell: dict = {}
        for p in points:
            by_cell.setdefault(CellKey.of(p), []).append(p)
        lines = [_line({"meta": meta.to_dict()})]
        lines += [_line(_cell_record(row, by_cell.get(row.key, []))) for row in rows]
        with replacing(self.path, "journal") as temporary:  # whole or not at all
            temporary.write_bytes(b"".join(lines))

    def _write(self, record: dict) -> None:
        data = _line(record)
        try:
            while data:  # one line, written whole: in the OS's hands, it survives the process being killed
                data = data[os.write(self.fd, data):]
        except OSError as exc:
            raise JournalError(f"cannot write the journal {self.path}: {exc.strerror or exc}") from exc

    def add(self, row: CellRow, points: list[PointRow]) -> None:
        self._write(_cell_record(row, points))

    def replace(self, row: CellRow) -> None:
        """A cell's row again, with later figures (a later timing pass): it replaces the earlier."""
        self._write({"replaced": row.to_dict()})

    def close(self, remove: bool = False) -> None:
        os.close(self.fd)
        if remove:
            self.path.unlink(missing_ok=True)


def _line(record: dict) -> bytes:
    return (json.dumps(record, default=_plain) + "\n").encode("utf-8")


def _cell_record(row: CellRow, points: list[PointRow]) -> dict:
    columns = dict(zip(POINT_COLUMNS, map(list, zip(*points)))) if points else {}
    return {"cell": row.to_dict(), "points": columns}


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line that a kill left half-written, so that the next record starts a line of its
    own (the reader drops such a line only where it is the last)."""
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        start = max(0, size - (1 << 20))
        while True:  # back to the last newline
            fh.seek(start)
            end = fh.read(size - start).rfind(b"\n")
            if end >= 0 or start == 0:
                fh.truncate(start + end + 1 if end >= 0 else 0)
                return
            start = max(0, start - (1 << 20))


def _one_line(text) -> str:
    return " ".join(str(text).split())


# the fields a row cannot be read without: its cell's key (bar the size) and its status
_KEY_FIELDS = ("case", "method", "quantity", "order", "dtype", "device", "status")


def _kinds():
    """(the cell row's field kinds, the fields it cannot do without, the point row's kinds)."""
    import dataclasses

    from harness.store.schema import CELL_KINDS, POINT_KINDS

    required = {f.name for f in dataclasses.fields(CellRow)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    return CELL_KINDS, required, POINT_KINDS


def _is_number(value) -> bool:
    return type(value) in (int, float)


def _value(kind: str, value, required: bool):
    """``value`` as a field of ``kind`` holds it (a missing text is None, a whole float an int), or
    raise ValueError saying what it is instead.  Missing (None, or NaN as pandas writes a gap) is
    allowed where the field is not ``required``."""
    missing = value is None or (type(value) is float and value != value)
    if kind == "str":
        if type(value) is str:
            return value
        if missing and not required:
            return None
        raise ValueError("a text")
    if kind == "int":
        if type(value) is int or (type(value) is float and value.is_integer()):
            return int(value)
        raise ValueError("a whole number")
    if kind == "float":
        if _is_number(value) or value is None:
            return value
        raise ValueError("a number or null")
    if kind == "bool":
        if type(value) is bool or missing:
            return None if missing else value
        raise ValueError("true, false or null")
    if missing or (type(value) is list and all(map(_is_number, value))):  # floats
        return None if missing else value
    raise ValueError("a list of numbers or null")


def _cell(record, where: str) -> CellRow:
    """The CellRow of a record's row (a JSON object), or a ValueError naming what is wrong."""
    kinds, required, _ = _kinds()
    if not isinstance(record, dict):
        raise ValueError(f"its {where} is not a JSON object")
    unknown = [k for k in record if k not in kinds]
    if unknown:
        raise ValueError(f"its {where} has unknown field(s) {', '.join(map(repr, unknown[:5]))}")
    missing = [k for k in kinds if k in required and k not in record]
    if missing:
        raise ValueError(f"its {where} lacks field(s) {', '.join(missing)}")
    fields = {}
    for name, value in record.items():
        try:
            fields[name] = _value(kinds[name], value, name in _KEY_FIELDS)
        except ValueError as exc:
            raise ValueError(f"its {where}'s {name} is {_shown(value)}, not {exc}") from None
    return CellRow(**fields)  # its status is checked here


def _points(columns) -> list[PointRow]:
    """The PointRows of a cell record's point columns (an object of equal-length lists)."""
    _, _, kinds = _kinds()
    if columns is None or columns == {}:
        return []
    if not isinstance(columns, dict):
        raise ValueError("its points are not a JSON object of columns")
    if set(columns) != set(POINT_COLUMNS) or not all(type(columns[k]) is list for k in POINT_COLUMNS):
        raise ValueError(f"its points are not the columns {', '.join(POINT_COLUMNS)}, each a list")
    if len({len(columns[k]) for k in POINT_COLUMNS}) > 1:
        raise ValueError("its points' columns differ in length")
    checked = []
    for name in POINT_COLUMNS:
        try:
            checked.append([_value(kinds[name], v, kinds[name] != "str") for v in columns[name]])
        except ValueError as exc:
            raise ValueError(f"its points' {name} column holds a value that is not {exc}") from None
    return [PointRow(*values) for values in zip(*checked)]


def _shown(value) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _lines(path: Path) -> list[tuple[int, object]]:
    """(line number, record) of every line of a journal; a cut-off last line is dropped."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the journal {path}: {exc.strerror}") from exc
    lines = data.split(b"\n")
    if lines and not lines[-1]:  # the newline that ends the last record
        lines.pop()
    records = []
    for i, line in enumerate(lines):
        try:
            records.append((i + 1, json.loads(line.decode("utf-8"))))
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past Python's stack
            if i == len(lines) - 1:  # the line being written when the run was killed
                break
            raise UsageError(f"{path}: line {i + 1} is not a journal record") from None
    return records


def read(path) -> tuple[RunMeta, list[CellRow], list[PointRow]]:
    """(metadata, cell rows, point rows) of a journal; a cut-off last line is dropped.

    A cell's row appears once: a later record of the same cell (a ``replaced`` row, or the cell's
    own record again) takes the earlier one's place.  Anything else that is not a journal — a
    record that is not an object, a row of unknown or missing fields or of the wrong types — is a
    UsageError of one line, naming the line."""
    path = Path(path)
    records = _lines(path)
    if not records or not isinstance(records[0][1], dict) or "meta" not in records[0][1]:
        raise UsageError(f"{path}: not a diffbench journal (no metadata line)")
    meta = RunMeta.from_dict(records[0][1]["meta"], f"{path}: line 1: the run's metadata")
    rows: dict = {}  # key → (row, its points): the first record's place, the last record's values
    for number, record in records[1:]:
        try:
            if not isinstance(record, dict) or not ({"cell", "replaced"} & set(record)):
                raise ValueError("it is neither a cell's record nor a replaced row")
            if "replaced" in record:
                row = _cell(record["replaced"], "replaced row")
                if row.key not in rows:
                    raise ValueError("it replaces a cell that no earlier line holds")
                rows[row.key] = (row, rows[row.key][1])
                continue
            row = _cell(record["cell"], "cell's row")
            rows[row.key] = (row, _points(record.get("points")))
        except (ValueError, TypeError) as exc:  # TypeError: CellRow's own checks, should they grow
            raise UsageError(f"{path}: line {number} is not a journal record ({_one_line(exc)})") from None
    return meta, [row for row, _ in rows.values()], [p for _, points in rows.values() for p in points]


@dataclass
class Resumed:
    """An interrupted run: its metadata, the rows it finished, its output folder, and the journal
    it was read from (None for a results file): the run appends to that journal."""

    meta: RunMeta
    rows: list[CellRow]
    points: list[PointRow]
    folder: Path
    journal: Path | None = None


def resume_state(path) -> Resumed:
    """An interrupted run, from its journal or its results file (the journal beside a results
    file holds at least as much: it is preferred)."""
    path = Path(path)
    if not path.name.endswith(JOURNAL_SUFFIX) and RunFiles.beside(path).journal.is_file():
        path = RunFiles.beside(path).journal
    if path.name.endswith(JOURNAL_SUFFIX):
        meta, rows, points = read(path)
    else:
        from harness.store.results import read as read_results

        cells, table, metas = read_results([path])
        meta = metas[0]
        rows = [CellRow(**r) for r in cells.to_dict("records")]
        points = [PointRow(**p) for p in table.to_dict("records")]
        if meta.complete:
            raise UsageError(f"{path}: this run is complete, there is nothing to resume")
    if not meta.selection:
        raise UsageError(f"{path}: written by a diffbench that could not resume runs")
    # the run id names the files the resumed run writes: one edited to hold "../" must not place them
    if not RUN_ID.fullmatch(meta.run_id):
        raise UsageError(f"{path}: its run id {meta.run_id[:60]!r} is not one diffbench writes "
                         "(letters, digits, '_', '-' and '.')")
    return Resumed(meta, rows, points, path.parent, path if path.name.endswith(JOURNAL_SUFFIX) else None)
