"""Property-based fuzzing (Hypothesis) of the readers of files a user hands diffbench: the
gradbench ``--input`` reader (gmm and lstm, through :func:`harness.runner.plan.input_case`, as
``diffbench run --input`` builds its case), the results reader (:func:`harness.store.results.read`
and :func:`~harness.store.results.read_steps`) and the journal reader (:func:`harness.runner.journal.read`).

The property: a file either reads or is refused with a :class:`~harness.errors.UsageError` of
one line; any other exception (a traceback for the user) fails.  The documents are valid files
(tests/valid_files.py) mutated — a key dropped, a value of another type or shape, NaN, a huge
number, more nesting, bytes flipped, a file cut short — and arbitrary JSON.

The default profile is small and derandomized (a few seconds, the same examples every run); the
large one (``DIFFBENCH_FUZZ=large``, ``nox -s fuzz``) tries thousands of examples per reader.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from harness.errors import UsageError
from tests import valid_files

settings.register_profile("diffbench-fuzz-default", max_examples=50, derandomize=True, deadline=None,
                          database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("diffbench-fuzz-large", max_examples=2500, deadline=None, database=None,
                          print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = "diffbench-fuzz-large" if os.environ.get("DIFFBENCH_FUZZ") == "large" else "diffbench-fuzz-default"
FUZZ = settings(settings.get_profile(PROFILE))


def _refused_or_read(read):
    """``read()``'s value, or None where it raised a one-line UsageError; anything else propagates."""
    try:
        found = read()
    except UsageError as exc:
        message = str(exc)
        assert message and "\n" not in message and "\r" not in message, repr(message)
        event("refused")
        return None
    event("read")
    return found


# -- JSON documents and their mutations -----------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats()
           | st.sampled_from([0, 1, 2, 3, -1, -10, 2.7, 10**9, 1e300, -0.0, "", "2", "NaN"])
           | st.sampled_from([30, 400]).map(lambda digits: 10**digits) | st.text(max_size=6))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=12)
# "number" (a finite number in a number's place, which a reader must take) thrice: a third of the
# mutations keep a file valid, so that what reads is fuzzed too
OPS = ("drop", "replace", "wrap", "unwrap", "grow", "shrink", "nan", "huge", "stringify", "duplicate",
       "number", "number", "number", "number", "number")
NUMBERS = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6)


def _paths(doc, prefix=()):
    """Every place in a JSON document (root first), as key/index paths."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _paths(value, (*prefix, i))


def _get(doc, path):
    for step in path:
        doc = doc[step]
    return doc


def _set(doc, path, value):
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def mutate(doc, data, fields=()):
    """``doc`` (a fresh copy) with one to three mutations drawn from ``data``: at any place, or at a
    named top-level field (``fields``: the sizes a reader checks, rarely hit by chance)."""
    doc = json.loads(json.dumps(doc))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        places = list(_paths(doc))
        if fields and isinstance(doc, dict) and data.draw(st.integers(0, 3), label="at a field") == 0:
            path = (data.draw(st.sampled_from(fields), label="field"),)
        else:
            path = data.draw(st.sampled_from(places), label="place")
        op = data.draw(st.sampled_from(OPS), label="op")
        try:
            old = _get(doc, path)
        except (KeyError, IndexError, TypeError):
            old = None
        if op == "drop" and path:
            parent = _get(doc, path[:-1])
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif isinstance(parent, list) and path[-1] < len(parent):
                del parent[path[-1]]
            continue
        if op == "wrap":
            new = [old]
        elif op == "unwrap" and isinstance(old, list) and old:
            new = old[0]
        elif op == "grow" and isinstance(old, list):
            new = old + [old[-1] if old and data.draw(st.booleans()) else data.draw(JSON, label="grown")]
        elif op == "shrink" and isinstance(old, list):
            new = old[: data.draw(st.integers(0, max(0, len(old) - 1)), label="kept")]
        elif op == "nan":
            new = data.draw(st.sampled_from([math.nan, math.inf, -math.inf]), label="non-finite")
        elif op == "huge":
            new = data.draw(st.sampled_from([10**9, 2**63, 10**400, 1e308, -(10**9)]), label="huge")
        elif op == "stringify":
            new = json.dumps(old)
        elif op == "duplicate" and isinstance(old, list):
            new = old + old
        elif op == "number":
            if type(old) not in (int, float):
                continue  # a number's place only
            new = data.draw(NUMBERS, label="number")
        else:  # replace, or an op that does not apply here
            new = data.draw(JSON, label="value")
        try:
            doc = _set(doc, path, new)
        except (KeyError, IndexError, TypeError):
            pass
    return doc


def _text(doc, data) -> str:
    """The document as JSON text (NaN and Infinity as Python writes them), now and then cut short."""
    text = json.dumps(doc)
    if data.draw(st.integers(0, 9), label="cut") == 0:
        text = text[: data.draw(st.integers(0, len(text)), label="cut at")]
    return text


# -- --input --------------------------------------------------------------------------------------

WORKLOADS = {"gmm": (valid_files.gmm_input(d=3, k=2, n=4), ("d", "k", "n", "m", "gamma", "x", "l")),
             "lstm": (valid_files.lstm_input(l=1, c=3), ("main_params", "extra_params", "state", "sequence"))}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _read_input(path: Path, name: str) -> None:
    from harness.model.namespaces import namespace
    from harness.runner.plan import input_case

    case = _refused_or_read(lambda: input_case(str(path), cases=(name,)))
    if case is not None:  # a file that reads gives a case whose objective evaluates
        with np.errstate(all="ignore"):
            value = case.fn(namespace("numpy"), case.points())
        assert np.shape(value) == (1,), np.shape(value)


@FUZZ
@given(name=st.sampled_from(sorted(WORKLOADS)), as_message=st.booleans(), data=st.data())
def test_input_reader_on_mutated_inputs(folder, name, as_message, data):
    valid, fields = WORKLOADS[name]
    message = {"kind": "evaluate", "module": name, "function": "objective", "input": valid}
    doc = message if as_message else valid
    doc = mutate(doc, data, fields=() if as_message else fields)
    path = folder / f"input-{name}.json"
    path.write_text(_text(doc, data))
    _read_input(path, name)


@FUZZ
@given(name=st.sampled_from(sorted(WORKLOADS)), doc=JSON | st.dictionaries(
    st.sampled_from(["d", "k", "n", "m", "gamma", "x", "alpha", "mu", "q", "l", "main_params",
                     "extra_params", "state", "sequence", "input", "module"]), JSON),
       raw=st.none() | st.binary(max_size=64))
def test_input_reader_on_arbitrary_json(folder, name, doc, raw):
    path = folder / f"arbitrary-{name}.json"
    if raw is None:
        path.write_text(json.dumps(doc))
    else:
        path.write_bytes(raw)
    _read_input(path, name)


# -- results files --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> dict:
    """The valid results file and its companions, as bytes by kind (made once for the module)."""
    from harness.store.schema import RunFiles

    files = RunFiles(valid_files.write_results(tmp_path_factory.mktemp("good-run")))
    return _Files({kind: getattr(files, kind).read_bytes() for kind in ("cells", "points", "steps")})


class _Files(dict):
    def __repr__(self):  # a failing example's report names the files, not their 80 kB
        return f"<the valid run's files: {', '.join(self)}>"


def _write_run(folder: Path, contents: dict) -> Path:
    from harness.store.schema import RunFiles

    folder.mkdir(exist_ok=True)
    files = RunFiles(folder / f"{valid_files.RUN_ID}.parquet")
    for kind, content in contents.items():
        getattr(files, kind).write_bytes(content)
    return files.cells


def _read_results(path: Path) -> None:
    from harness.store import results
    from harness.store.meta import RunMeta

    found = _refused_or_read(lambda: results.read([path]))
    if found is not None:
        cells, points, metas = found
        assert isinstance(metas[0], RunMeta) and len(cells.columns) and points is not None
        _refused_or_read(lambda: results.read_steps([path]))


BYTE_OPS = ("flip", "overwrite", "insert", "delete", "truncate")


@FUZZ
@given(which=st.sampled_from(["cells", "points", "steps"]), data=st.data())
def test_results_reader_on_mutated_bytes(folder, good_run, which, data):
    content = bytearray(good_run[which])
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        if not content:
            break
        at = data.draw(st.integers(0, len(content) - 1), label="at")
        op = data.draw(st.sampled_from(BYTE_OPS), label="op")
        if op == "flip":
            content[at] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif op == "overwrite":
            chunk = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
            content[at : at + len(chunk)] = chunk
        elif op == "insert":
            content[at:at] = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        elif op == "delete":
            del content[at : at + data.draw(st.integers(1, 64), label="length")]
        else:
            del content[at:]
    _read_results(_write_run(folder / "bytes", {**good_run, which: bytes(content)}))


def _arrays(length: int):
    """pyarrow arrays of ``length`` of some type: the column a mutation puts in another's place."""
    import pyarrow as pa

    return st.one_of(
        st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), min_size=length, max_size=length).map(
            lambda v: pa.array(v, pa.int64())),
        st.lists(st.none() | st.floats(), min_size=length, max_size=length).map(pa.array),
        st.lists(st.none() | st.text(max_size=8) | st.sampled_from(["ok", "failed", "cubic"]),
                 min_size=length, max_size=length).map(lambda v: pa.array(v, pa.large_string())),
        st.lists(st.none() | st.booleans(), min_size=length, max_size=length).map(
            lambda v: pa.array(v, pa.bool_())),
        st.lists(st.none() | st.lists(st.floats(), max_size=3), min_size=length, max_size=length).map(
            lambda v: pa.array(v, pa.list_(pa.float64()))),
        st.lists(st.none() | st.lists(st.text(max_size=3), max_size=3), min_size=length, max_size=length).map(
            lambda v: pa.array(v, pa.list_(pa.string()))),
        st.just(pa.nulls(length)),
    )


TABLE_OPS = ("meta-bytes", "meta-json", "meta-key", "meta-drop", "pandas-meta", "drop-column",
             "retype-column", "rename-column", "extra-column", "set-value", "no-rows")


@FUZZ
@given(which=st.sampled_from(["cells", "points", "steps"]), data=st.data())
def test_results_reader_on_mutated_tables(folder, good_run, which, data):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(pa.BufferReader(good_run[which]))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        op = data.draw(st.sampled_from(TABLE_OPS), label="op")
        metadata = dict(table.schema.metadata or {})
        names = table.column_names
        if op == "meta-bytes":
            metadata[b"diffbench"] = data.draw(st.binary(max_size=32), label="bytes")
        elif op == "meta-json":
            metadata[b"diffbench"] = json.dumps(data.draw(JSON, label="meta")).encode()
        elif op == "meta-key":
            try:
                meta = json.loads(metadata.get(b"diffbench", b"{}"))
            except ValueError:
                meta = {}
            meta = mutate(meta if isinstance(meta, dict) else {}, data,
                          fields=("schema_version", "run_id", "cases", "methods", "parts", "selection"))
            metadata[b"diffbench"] = json.dumps(meta).encode()
        elif op == "meta-drop":
            metadata.pop(b"diffbench", None)
        elif op == "pandas-meta":
            encoded = JSON.map(lambda v: json.dumps(v).encode())
            metadata[b"pandas"] = data.draw(st.binary(max_size=32) | encoded, label="pandas metadata")
        if op.startswith(("meta", "pandas")):
            table = table.replace_schema_metadata(metadata)
            continue
        if not names:
            break
        name = data.draw(st.sampled_from(names), label="column")
        i = names.index(name)
        if op == "drop-column":
            table = table.remove_column(i)
        elif op == "retype-column":
            table = table.set_column(i, name, data.draw(_arrays(table.num_rows), label="column"))
        elif op == "rename-column":
            new = data.draw(st.sampled_from(names) | st.text(max_size=6), label="new name")
            table = table.rename_columns([new if j == i else n for j, n in enumerate(names)])
        elif op == "extra-column":
            new = data.draw(st.sampled_from(names) | st.text(max_size=6), label="new name")
            table = table.append_column(new, data.draw(_arrays(table.num_rows), label="column"))
        elif op == "set-value" and table.num_rows:
            column = table.column(i).to_pylist()
            row = data.draw(st.integers(0, len(column) - 1), label="row")
            column[row] = data.draw(SCALARS, label="value")
            try:
                table = table.set_column(i, name, pa.array(column, table.schema.field(i).type))
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                pass  # a value of another type than the column's: retype-column's business
        elif op == "no-rows":
            table = table.slice(0, 0)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    _read_results(_write_run(folder / "tables", {**good_run, which: sink.getvalue().to_pybytes()}))


# -- journals -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def good_journal(tmp_path_factory) -> list[str]:
    """The valid journal's lines (made once for the module)."""
    path = tmp_path_factory.mktemp("good-journal") / f"{valid_files.RUN_ID}.journal.jsonl"
    return valid_files.write_journal(path).read_text().splitlines()


LINE_OPS = ("drop", "duplicate", "swap", "cut", "replace", "mutate", "bytes", "blank")


@FUZZ
@given(data=st.data())
def test_journal_reader_on_mutated_lines(folder, good_journal, data):
    from harness.runner import journal
    from harness.store.meta import RunMeta

    lines: list = [line.encode() for line in good_journal]
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        op = data.draw(st.sampled_from(LINE_OPS), label="op")
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        if op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(data.draw(st.integers(0, len(lines)), label="to"), lines[i])
        elif op == "swap":
            j = data.draw(st.integers(0, len(lines) - 1), label="with")
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "cut":
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])), label="at")]
        elif op == "replace":
            lines[i] = json.dumps(data.draw(JSON, label="record")).encode()
        elif op == "mutate":
            try:
                record = json.loads(lines[i])
            except ValueError:
                continue
            keys = record if isinstance(record, dict) else {}
            inner = next((k for k in ("cell", "replaced", "meta") if k in keys), None)
            fields = tuple(record[inner]) if inner and isinstance(record[inner], dict) else ()
            if inner and fields and data.draw(st.booleans(), label="in the row"):
                record[inner] = mutate(record[inner], data, fields=fields)
            else:
                record = mutate(record, data, fields=tuple(record) if isinstance(record, dict) else ())
            lines[i] = json.dumps(record).encode()
        elif op == "bytes":
            lines[i] = data.draw(st.binary(max_size=24), label="bytes")
        else:
            lines.insert(i, b"")
    path = folder / f"{valid_files.RUN_ID}.journal.jsonl"
    path.write_bytes(b"\n".join(lines) + (b"\n" if data.draw(st.booleans(), label="newline") else b""))
    found = _refused_or_read(lambda: journal.read(path))
    if found is not None:
        meta, rows, points = found
        assert isinstance(meta, RunMeta)
        keys = [row.key for row in rows]
        assert len(keys) == len(set(keys)), keys  # a cell once, however often its line is repeated
