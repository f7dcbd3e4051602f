"""Versioned, tidy results files: one row per cell, and a companion per-point table.

A run ``<run-id>`` is written as ``<run-id>.parquet`` (cells) and
``<run-id>.points.parquet`` (every point's derivative, reference and error), and, when the
run swept finite-difference steps, ``<run-id>.steps.parquet`` (:func:`read_steps`).
All carry the run metadata and the schema version in the Parquet schema's key-value
metadata under the key ``diffbench``; their columns and types are :mod:`harness.schema`'s.
Reading needs pandas and pyarrow only: reports never import a differentiation backend.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from pathlib import Path

from harness.errors import UsageError
from harness.schema import (
    CELL_COLUMNS,
    CELL_KINDS,
    META_KEY,
    POINT_COLUMNS,
    POINT_KINDS,
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    STEP_KINDS,
    RunFiles,
    is_companion,
)


def new_run_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def conform(df, kinds: dict):
    """``df`` with exactly the columns of ``kinds``, in order, each of its stored type (an absent
    column — an older schema — is all missing)."""
    import numpy as np

    df = df.reindex(columns=list(kinds))
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
    """The cells table of :class:`~harness.schema.CellRow` records."""
    import pandas as pd

    return conform(pd.DataFrame([r.to_dict() for r in rows], columns=CELL_COLUMNS), CELL_KINDS)


def points_frame(rows):
    """The per-point table of :class:`~harness.schema.PointRow` records."""
    import pandas as pd

    return conform(pd.DataFrame.from_records(list(rows), columns=POINT_COLUMNS), POINT_KINDS)


def _arrow_schema(kinds: dict):
    import pyarrow as pa

    types = {"str": pa.large_string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
             "floats": pa.list_(pa.float64())}
    return pa.schema([(name, types[kind]) for name, kind in kinds.items()])


def _table(df, kinds: dict, meta: dict):
    import pyarrow as pa

    df = conform(df, kinds)
    df.attrs = {}  # the API's attrs (points, metadata) travel as their own table and metadata
    table = pa.Table.from_pandas(df, schema=_arrow_schema(kinds), preserve_index=False)
    payload = json.dumps({"schema_version": SCHEMA_VERSION, **meta}).encode()
    return table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: payload})


def write_files(files: RunFiles, cells, points, meta: dict, steps=None) -> Path:
    """Write a run's tables as ``files`` (its folder must exist); returns the cells file's path."""
    import pyarrow.parquet as pq

    pq.write_table(_table(points, POINT_KINDS, meta), files.points)
    if steps is not None:
        pq.write_table(_table(steps, STEP_KINDS, meta), files.steps)
    pq.write_table(_table(cells, CELL_KINDS, meta), files.cells)  # last: a cells file implies its points
    return files.cells


def make_folder(folder) -> Path:
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output folder {folder}: {exc.strerror}") from exc
    return folder


def write(cells, points, meta: dict, out_dir: str | Path, steps=None) -> Path:
    """Write a run's tables into ``out_dir`` (``steps``: its step sweep, if any); returns the
    cells file's path."""
    return write_files(RunFiles.of(make_folder(out_dir), meta["run_id"]), cells, points, meta, steps)


def results_files(paths) -> list[Path]:
    """Cells files named by ``paths`` (files, or folders searched for them); a per-point or
    step-sweep companion named among them is read with its cells file, not as one."""
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.glob("*.parquet") if not is_companion(f))
        elif p.is_file():
            if not is_companion(p):
                found.append(p)
        else:
            raise UsageError(f"no such results file or folder: {p}")
    if not found:
        raise UsageError(f"no results files in {', '.join(map(str, paths))}")
    return list(dict.fromkeys(found))


def read_one(path: Path, kinds: dict = CELL_KINDS):
    """(table, metadata) of one results file or companion, its columns conformed to ``kinds``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise UsageError(f"{path}: not a readable results file ({exc})") from exc
    raw = (table.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise UsageError(f"{path}: not a diffbench results file (no '{META_KEY.decode()}' metadata)")
    meta = json.loads(raw)
    if meta.get("schema_version") not in READABLE_VERSIONS:
        raise UsageError(f"{path}: schema version {meta.get('schema_version')}, this diffbench reads "
                         f"{', '.join(map(str, READABLE_VERSIONS))}")
    return conform(table.to_pandas(), kinds), meta


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

