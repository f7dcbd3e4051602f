"""``diffbench merge PARTS... -o FILE``: shards and runs from several machines as one results file.

The parts' cells keep their own ``run_id``; the merged file gets a new one, and its
metadata lists every part under ``parts`` (each part's own metadata — host, GPUs,
versions, ``shard`` — with ``file`` and ``devices`` added, and without the case and
method descriptions, which are united at the top level).  A cell's host is its part's:
:func:`hosts` maps each ``run_id`` to it.  The environment fields at the top level are
the parts' where they agree, and where they differ all their texts (``a / b``) and lists (united),
so a report of the merged file shows every machine; numbers that differ (``cpu_count``) are left
unset there, each part keeping its own.

A merged file is a part like any other; its parts are then listed, not nested.  Refused
(UsageError): the same cell (case, size, method, quantity, order, dtype, device) twice
from one host, and parts of different schema versions.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from harness.errors import UsageError
from harness.store import results
from harness.store.meta import RunMeta
from harness.store.schema import KEY, STEP_KINDS, RunFiles, is_companion
from harness.store.text import printable

_OWN = ("run_id", "schema_version", "timestamp", "complete", "n_cells", "cases", "methods", "parts",
        "merged", "shard", "missing_shards", "file")  # set by merge(), not combined from the parts


def _combine(values: list):
    """One value for the parts' values: theirs when they agree, else all of them (None for numbers)."""
    distinct = []
    for v in values:
        if v is not None and v not in distinct:
            distinct.append(v)
    if len(distinct) <= 1:
        return distinct[0] if distinct else None
    if all(isinstance(v, dict) for v in distinct):
        keys = dict.fromkeys(k for v in distinct for k in v)
        return {k: _combine([v.get(k) for v in distinct]) for k in keys}
    if all(isinstance(v, list) for v in distinct):  # e.g. GPUs: every part's, each once
        united = []
        for v in distinct:
            united += [item for item in v if item not in united]
        return united
    if all(isinstance(v, str) for v in distinct):
        return " / ".join(distinct)
    return None  # numbers, or a mix: no one value says it


def _part_entries(meta: RunMeta, path: Path, cells) -> list[dict]:
    """The ``parts`` entries a results file contributes: itself, or a merged file's own parts."""
    if meta.parts:
        return meta.parts
    return [{**meta.runs()[0], "file": path.name, "devices": sorted(set(cells["device"].dropna()))}]


def _missing_shards(parts: list[dict]) -> list[str]:
    found: dict = {}
    for p in parts:
        if p.get("shard"):
            i, n = map(int, p["shard"].split("/"))
            found.setdefault(n, set()).add(i)
    return [f"{i}/{n}" for n, seen in sorted(found.items()) for i in range(1, n + 1) if i not in seen]


def _check_duplicates(cells, files: list[str], host_of: dict) -> None:
    """Refuse a cell measured twice on one host (the device is part of the key)."""
    keyed = cells[KEY].assign(host=cells["run_id"].map(host_of)).astype(str)
    rows: dict = {}
    for i, key in enumerate(keyed.itertuples(index=False, name=None)):
        rows.setdefault(key, []).append(i)
    twice = [found for found in rows.values() if len(found) > 1]
    if twice:
        first = keyed.iloc[twice[0][0]]
        cell = "/".join(first[k] for k in ("case", "size", "method", "dtype", "device") if first[k])
        where = " and ".join(sorted({files[i] for i in twice[0]}))
        # one line on a terminal: the names and the host come from the files, perhaps edited by hand
        what = f"{cell} {first['quantity']} {first['order']} from host {first['host']} in {where}"
        raise UsageError(printable(f"{len(twice)} cells appear more than once for one host, e.g. {what}"))


def _output_path(output, run_id: str) -> Path:
    out = Path(output)
    if is_companion(out) or (
            out.suffix != ".parquet" and out.exists() and not out.is_dir()):
        raise UsageError(f"-o {output}: name a results file (.parquet) or a folder")
    return out if out.suffix == ".parquet" else out / f"{run_id}.parquet"


def merge(parts, output):
    """Merge the results files/folders ``parts`` into ``output`` (a .parquet file, or a folder
    for ``<run-id>.parquet``); returns (path of the cells file, merged metadata)."""
    import pandas as pd

    if Path(output).suffix == ".parquet":  # a folder's merged file gets a new run id: never an input's
        results.refuse_input_as_output(output, parts, "results file")
    files = list(dict.fromkeys(p.resolve() for p in results.results_files(parts)))
    cells, points, steps, origin, entries, versions = [], [], [], [], [], {}
    metas = []
    for path in files:
        df, pts, [meta] = results.read([path])
        versions.setdefault(meta.schema_version, path.name)
        cells.append(df)
        points.append(pts)
        origin += [path.name] * len(df)
        if RunFiles.beside(path).steps.exists():
            steps.append(results.read_one(RunFiles.beside(path).steps, STEP_KINDS)[0])
        entries += _part_entries(meta, path, df)
        metas.append(meta)
    if len(versions) > 1:
        raise UsageError("cannot merge results of different schema versions: "
                         + ", ".join(f"{name} is version {v}" for v, name in versions.items()))
    cells = pd.concat(cells, ignore_index=True)
    _check_duplicates(cells, origin, {e["run_id"]: e.get("host") for e in entries})
    combined = {k: _combine([m.get(k) for m in entries]) for k in dict.fromkeys(k for m in entries for k in m)
                if k not in _OWN}
    missing = _missing_shards(entries)
    meta = RunMeta.from_dict({
        **combined, "run_id": results.new_run_id(), "schema_version": next(iter(versions)), "merged": True,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": all(m.get("complete", True) for m in entries) and not missing,
        "n_cells": len(cells), "cases": {k: v for m in metas for k, v in m.cases.items()},
        "methods": {k: v for m in metas for k, v in m.methods.items()}, "parts": entries,
        "missing_shards": missing}, "the merged metadata")
    path = _output_path(output, meta.run_id)
    results.make_folder(path.parent)
    points = pd.concat(points, ignore_index=True)
    steps = pd.concat(steps, ignore_index=True) if steps else None  # of the parts that ran a step sweep
    results.write_files(RunFiles(path), cells, points, meta, steps)
    return path, meta
