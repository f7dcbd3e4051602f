"""Versioned, tidy results files: one row per cell, and a companion per-point table.

A run ``<run-id>`` is written as ``<run-id>.parquet`` (cells) and
``<run-id>.points.parquet`` (every point's derivative, reference and error), and, when the
run swept finite-difference steps, ``<run-id>.steps.parquet`` (:func:`read_steps`).
All carry the run metadata and ``SCHEMA_VERSION`` in the Parquet schema's
key-value metadata under the key ``diffbench``.  Reading needs pandas and
pyarrow only: reports never import a differentiation backend.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from pathlib import Path

from harness.registry import UsageError

SCHEMA_VERSION = 3
READABLE_VERSIONS = (2, 3)  # older files lack the newer columns: they read as missing
META_KEY = b"diffbench"
POINTS_SUFFIX = ".points.parquet"
STEPS_SUFFIX = ".steps.parquet"  # optional: the finite differences' step sweep (harness.step_sweep)

STATUSES = ("ok", "failed", "unsupported", "unavailable", "timeout", "crashed")

CELL_COLUMNS = [
    "run_id", "case", "size", "method", "family", "mode", "batched", "quantity", "order", "dtype", "device",
    "status", "message", "dim", "n_points", "n_undefined", "max_abs_err", "max_rel_err",
    "digits", "seed_digits", "setup_s", "first_call_s", "eval_s", "eval_iqr_s",
    "timing_number", "timing_repeats", "reference", "detail", "cell_s",
    # schema 3: the setup split, the primal and cost ratio, swell, memory, bandwidth
    "derive_s", "compile_s", "transfer_s", "eval_samples_s", "primal_s", "primal_backend", "cost_ratio",
    "expr_nodes", "expr_ops", "cse_ops", "expr_chars", "graph_nodes", "flops",
    "peak_host_bytes", "peak_device_bytes", "bytes_moved", "bandwidth_share",
]
POINT_COLUMNS = [
    "run_id", "case", "size", "method", "quantity", "order", "dtype", "device", "point", "x", "value", "ref",
    "ref_lo", "ref_text", "f", "abs_err", "rel_err", "seed", "defined",
]


def new_run_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def _table(df, meta: dict):
    import pyarrow as pa

    df = df.copy()
    df.attrs = {}  # the API's attrs (points, metadata) travel as their own table and metadata
    table = pa.Table.from_pandas(df, preserve_index=False)
    payload = json.dumps({"schema_version": SCHEMA_VERSION, **meta}).encode()
    return table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: payload})


def write(cells, points, meta: dict, out_dir: str | Path, steps=None) -> Path:
    """Write a run's tables into ``out_dir`` (``steps``: its step sweep, if any); returns the
    cells file's path."""
    import pyarrow.parquet as pq

    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output folder {out_dir}: {exc.strerror}") from exc
    path = out_dir / f"{meta['run_id']}.parquet"
    pq.write_table(_table(points, meta), out_dir / f"{meta['run_id']}{POINTS_SUFFIX}")
    if steps is not None:
        pq.write_table(_table(steps, meta), out_dir / f"{meta['run_id']}{STEPS_SUFFIX}")
    pq.write_table(_table(cells, meta), path)  # last: a cells file implies its points file
    return path


def results_files(paths) -> list[Path]:
    """Cells files named by ``paths`` (files, or folders searched for them)."""
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            companions = (POINTS_SUFFIX, STEPS_SUFFIX)
            found += sorted(f for f in p.glob("*.parquet") if not f.name.endswith(companions))
        elif p.is_file():
            found.append(p)
        else:
            raise UsageError(f"no such results file or folder: {p}")
    if not found:
        raise UsageError(f"no results files in {', '.join(map(str, paths))}")
    return found


def _read_one(path: Path):
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
    return table.to_pandas(), meta


def read(paths):
    """(cells, points, metadata list) of the runs in ``paths``, concatenated.

    ``cells.attrs["files"]`` lists the cells files read (their companions lie beside them:
    :func:`read_steps` of that list gives the runs' step sweeps)."""
    import pandas as pd

    cells, points, metas = [], [], []
    files = results_files(paths)
    for path in files:
        df, meta = _read_one(path)
        cells.append(df)
        metas.append(meta)
        companion = path.with_name(path.name[: -len(".parquet")] + POINTS_SUFFIX)
        if companion.exists():
            points.append(_read_one(companion)[0])
    cells = pd.concat(cells, ignore_index=True).reindex(columns=CELL_COLUMNS)  # absent columns: NaN
    points = pd.concat(points, ignore_index=True) if points else pd.DataFrame(columns=POINT_COLUMNS)
    cells.attrs["files"] = tuple(map(str, files))  # strings: pandas copies attrs with every derived frame
    return cells, points, metas


def read_steps(paths):
    """The step sweeps (``<run-id>.steps.parquet``) beside the cells files in ``paths``,
    concatenated; None when no run there has one (older runs, or runs without a sweep)."""
    import pandas as pd

    found = []
    for path in results_files(paths):
        companion = path.with_name(path.name[: -len(".parquet")] + STEPS_SUFFIX)
        if companion.exists():
            found.append(_read_one(companion)[0])
    return pd.concat(found, ignore_index=True) if found else None
