"""Versioned, tidy results files: one row per cell, and a companion per-point table.

A run ``<run-id>`` is written as ``<run-id>.parquet`` (cells) and
``<run-id>.points.parquet`` (every point's derivative, reference and error), and, when the
run swept finite-difference steps, ``<run-id>.steps.parquet`` (:func:`read_steps`).
All carry the run metadata and the schema version in the Parquet schema's key-value
metadata under the key ``diffbench``; their columns and types are :mod:`harness.store.schema`'s.
Reading needs pandas and pyarrow only: reports never import a differentiation backend.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

from harness.errors import UsageError
from harness.store.atomic import replacing
from harness.store.meta import RunMeta
from harness.store.schema import (
    CELL_COLUMNS,
    CELL_KINDS,
    CELLS_SUFFIX,
    JOURNAL_SUFFIX,
    META_KEY,
    POINT_COLUMNS,
    POINT_KINDS,
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    STEP_KINDS,
    RunFiles,
    is_companion,
)
from harness.store.text import shown


def new_run_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def conform(df, kinds: dict):
    """``df`` with exactly the columns of ``kinds``, in order, each of its stored type (an absent
    column — an older schema — is all missing), and a cell's ``size`` "" where its case is not swept
    (never missing: every reader keys cells by it)."""
    import numpy as np

    df = df.reindex(columns=list(kinds))
    if "size" in kinds:
        df["size"] = df["size"].fillna("")
    for name, kind in kinds.items():
        if kind == "float":
            df[name] = df[name].astype("float64")
        elif kind in ("int", "bool") and df[name].notna().all():  # else an older file's gap
            df[name] = df[name].astype("int64" if kind == "int" else bool)
        elif kind == "floats":
            df[name] = [None if v is None or (np.ndim(v) == 0 and v != v) else list(map(float, v))
                        for v in df[name]]
    return df


def cells_frame(rows):
    """The cells table of :class:`~harness.store.schema.CellRow` records."""
    import pandas as pd

    return conform(pd.DataFrame([r.to_dict() for r in rows], columns=CELL_COLUMNS), CELL_KINDS)


def points_frame(rows):
    """The per-point table of :class:`~harness.store.schema.PointRow` records."""
    import pandas as pd

    return conform(pd.DataFrame.from_records(list(rows), columns=POINT_COLUMNS), POINT_KINDS)


def _arrow_schema(kinds: dict):
    import pyarrow as pa

    types = {"str": pa.large_string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
             "floats": pa.list_(pa.float64())}
    return pa.schema([(name, types[kind]) for name, kind in kinds.items()])


def _table(df, kinds: dict, meta: RunMeta):
    import pyarrow as pa

    df = conform(df, kinds)
    df.attrs = {}  # the API's attrs (points, metadata) travel as their own table and metadata
    schema = _arrow_schema(kinds)
    # a run that finished no cell (an empty shard, a stop before the first) is a file of zero rows
    table = pa.Table.from_pandas(df, schema=schema, preserve_index=False) if len(df) else schema.empty_table()
    payload = json.dumps({"schema_version": SCHEMA_VERSION, **meta.to_dict()}).encode()
    return table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: payload})


def write_files(files: RunFiles, cells, points, meta: RunMeta, steps=None) -> Path:
    """Write a run's tables as ``files`` (its folder must exist); returns the cells file's path.
    Each file is written beside its place and renamed onto it (:mod:`harness.store.atomic`): a full disk
    leaves the files as they were, and says so in one line."""
    import pyarrow.parquet as pq

    tables = [(files.cells, _table(cells, CELL_KINDS, meta)),
              (files.points, _table(points, POINT_KINDS, meta))]
    if steps is not None:
        tables.append((files.steps, _table(steps, STEP_KINDS, meta)))
    # every file written first, then each renamed into place, the cells file last (a cells file
    # implies its points): a failure on any leaves all of them as they were
    with contextlib.ExitStack() as written:
        for path, table in tables:
            pq.write_table(table, written.enter_context(replacing(path, "results file")))
    if steps is None:  # a step sweep left by an earlier file of that name is not this run's
        files.steps.unlink(missing_ok=True)
    return files.cells


def make_folder(folder) -> Path:
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output folder {folder}: {exc.strerror}") from exc
    return folder


def write(cells, points, meta: RunMeta, out_dir: str | Path, steps=None) -> Path:
    """Write a run's tables into ``out_dir`` (``steps``: its step sweep, if any); returns the
    cells file's path."""
    return write_files(RunFiles.of(make_folder(out_dir), meta.run_id), cells, points, meta, steps)


def results_files(paths) -> list[Path]:
    """Cells files named by ``paths`` (files, or folders searched for them); a per-point or
    step-sweep companion named among them is read with its cells file, not as one."""
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.glob("*.parquet") if f.is_file() and not is_companion(f))
        elif p.is_file():
            if not is_companion(p):
                found.append(p)
        else:
            raise UsageError(f"no such results file or folder: {p}")
    if not found:
        raise UsageError(f"no results files in {', '.join(map(str, paths))}")
    return list(dict.fromkeys(found))


def is_results_file(path) -> bool:
    """Whether ``path`` is a file of a run's (a Parquet file or a journal): no page is written over one."""
    path = Path(path)
    if path.name.endswith((CELLS_SUFFIX, JOURNAL_SUFFIX)):
        return path.exists()
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"  # Parquet's magic number, whatever the file's name
    except OSError:
        return False


def refuse_input_as_output(output, inputs, what: str) -> Path:
    """``output`` unless it is one of the runs ``inputs`` names (a cells file, a companion or a
    journal of one) or, for a page, any results file: a command never writes over what it reads."""
    output = Path(output)
    target = output.resolve()
    read = set()
    for p in map(Path, inputs):
        for f in sorted(p.glob("*.parquet")) if p.is_dir() else [p]:
            files = RunFiles.beside(f)
            read |= {x.resolve() for x in (f, files.cells, files.points, files.steps, files.journal)}
    # samefile too: a hard link, or another spelling on a case-insensitive file system
    if target in read or (output.exists() and any(_same(output, f) for f in read)):
        raise UsageError(f"-o {output}: that is one of the inputs; name another file")
    if what != "results file" and is_results_file(output):
        raise UsageError(f"-o {output}: that is a results file; name an .html file")
    return output


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _one_line(text) -> str:
    """An exception's text, as part of a one-line message."""
    return " ".join(str(text).split())


def _metadata(path, table) -> RunMeta:
    """A results file's run metadata, checked: a JSON object of a readable schema version, each field
    of its declared type (:class:`harness.store.meta.RunMeta`)."""
    name = META_KEY.decode()
    raw = (table.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise UsageError(f"{path}: not a diffbench results file (no '{name}' metadata)")
    try:
        meta = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, or nested past the stack
        raise UsageError(f"{path}: its '{name}' metadata is not JSON ({_one_line(exc)})") from None
    if not isinstance(meta, dict):
        raise UsageError(f"{path}: its '{name}' metadata is not a JSON object")
    version = meta.get("schema_version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        said = "no schema version" if version is None else f"schema version {shown(version)}"
        raise UsageError(f"{path}: {said}, this diffbench reads {', '.join(map(str, READABLE_VERSIONS))}")
    return RunMeta.from_dict(meta, f"{path}: its '{name}' metadata")


_HOLDS = {"str": "text", "int": "whole numbers", "float": "numbers", "bool": "true or false",
          "floats": "lists of numbers"}


def _holds(kind: str, arrow_type) -> bool:
    """Whether a column of ``arrow_type`` is one of ``kind`` (a column of nulls is any)."""
    from pyarrow import types

    if types.is_null(arrow_type):
        return True
    if kind == "str":
        return types.is_string(arrow_type) or types.is_large_string(arrow_type)
    if kind in ("int", "float"):
        return types.is_integer(arrow_type) or types.is_floating(arrow_type)
    if kind == "bool":
        return types.is_boolean(arrow_type)
    return ((types.is_list(arrow_type) or types.is_large_list(arrow_type))
            and any(f(arrow_type.value_type) for f in (types.is_floating, types.is_integer)))


def _frame(path, table, names: list[str], kinds: dict):
    """The table's columns of ``kinds`` as a DataFrame conformed to them, after checking that the
    table has each cell's key and status, and no column of another type than its kind."""
    import numpy as np
    import pyarrow as pa

    from harness.store.schema import KEY, STATUSES

    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"{path}: column {shown(twice[0])} appears more than once")
    required = [c for c in (*KEY, "status") if c in kinds and c != "size"]  # an old file's size: ""
    missing = [c for c in required if c not in names]
    if missing:
        raise UsageError(f"{path}: no column {', '.join(missing)} (a results file has each cell's key)")
    for name in names:
        kind = kinds.get(name)
        if kind is not None and not _holds(kind, table.schema.field(name).type):
            raise UsageError(f"{path}: column {name} holds {_one_line(table.schema.field(name).type)}, "
                             f"not {_HOLDS[kind]}")
    for name in required:
        if table.column(name).null_count:
            raise UsageError(f"{path}: column {name} lacks a value (a results file has each cell's key)")
    if "status" in kinds:
        strange = sorted(set(table.column("status").to_pylist()) - set(STATUSES))
        if strange:
            raise UsageError(f"{path}: column status holds {shown(strange[0])}, not one of "
                             f"{', '.join(STATUSES)}")
    try:
        known = table.select([n for n in names if n in kinds]).replace_schema_metadata(None)
        df = known.to_pandas()  # without its pandas metadata: the columns are all the types say
    except (pa.ArrowException, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a readable results file ({_one_line(exc)})") from None
    for name in [n for n, kind in kinds.items() if kind == "int" and n in df]:  # whole numbers, int64
        values = df[name].dropna().to_numpy()
        if values.dtype.kind == "u" and len(values) and values.max() >= 2**63:
            raise UsageError(f"{path}: column {name} holds a number too large for a 64-bit integer")
        if values.dtype.kind == "f" and not (np.isfinite(values) & (values == np.round(values))
                                             & (np.abs(values) < 2**63)).all():
            raise UsageError(f"{path}: column {name} holds a number that is not a whole 64-bit one")
    try:
        return conform(df, kinds)
    except (ValueError, TypeError, OverflowError) as exc:  # values of another kind than the column's type
        why = _one_line(exc)
        raise UsageError(f"{path}: its columns do not hold what a results file's do ({why})") from None


def read_one(path: Path, kinds: dict = CELL_KINDS):
    """(table, metadata) of one results file or companion, its columns conformed to ``kinds``.

    Anything that is not such a file — not Parquet, cut short, metadata that is not a JSON object
    of a readable schema version, a cell's key or status missing, a column of another type — is a
    UsageError of one line naming the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        names = table.column_names  # decoded here: a name that is not UTF-8 is a broken file
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a readable results file ({_one_line(exc)})") from None
    meta = _metadata(path, table)
    return _frame(path, table, names, kinds), meta


def read(paths):
    """(cells, points, metadata list) of the runs in ``paths``, concatenated.

    ``cells.attrs["files"]`` lists the cells files read (their companions lie beside them:
    :func:`read_steps` of that list gives the runs' step sweeps)."""
    import pandas as pd

    cells, points, metas = [], [], []
    files = results_files(paths)
    for path in files:
        df, meta = read_one(path)
        cells.append(df)
        metas.append(meta)
        companion = RunFiles.beside(path).points
        if companion.exists():
            points.append(read_one(companion, POINT_KINDS)[0])
    cells = conform(pd.concat(cells, ignore_index=True), CELL_KINDS)
    points = (conform(pd.concat(points, ignore_index=True), POINT_KINDS) if points
              else conform(pd.DataFrame(columns=POINT_COLUMNS), POINT_KINDS))
    cells.attrs["files"] = tuple(map(str, files))  # strings: pandas copies attrs with every derived frame
    return cells, points, metas


def read_steps(paths):
    """The step sweeps (``<run-id>.steps.parquet``) beside the cells files in ``paths``,
    concatenated; None when no run there has one (older runs, or runs without a sweep)."""
    import pandas as pd

    found = [read_one(RunFiles.beside(p).steps, STEP_KINDS)[0] for p in results_files(paths)
             if RunFiles.beside(p).steps.exists()]
    return conform(pd.concat(found, ignore_index=True), STEP_KINDS) if found else None

