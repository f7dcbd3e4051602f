"""Malformed files: a gradbench ``--input``, a results file (or its companions) and a journal.

Each is refused with one UsageError line naming the file (the CLI: ``diffbench: …`` and exit
status 2), never a traceback; and an input whose sizes disagree with its arrays is refused rather
than measured.  The valid files they break are tests/valid_files.py's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.runner import journal
from harness.store import results
from harness.store.schema import RunFiles
from tests import valid_files

# -- --input ----------------------------------------------------------------------------------

GMM, LSTM = valid_files.gmm_input(d=3, k=2, n=4), valid_files.lstm_input(l=1, c=3)


def _gmm(**changes):
    return {k: v for k, v in {**GMM, **changes}.items() if v is not _DROP}


def _lstm(**changes):
    return {k: v for k, v in {**LSTM, **changes}.items() if v is not _DROP}


_DROP = object()
_X = GMM["x"]

# (id, workload, the file's text, substrings of the one line)
INPUTS = [
    ("truncated-json", "gmm", json.dumps(GMM)[:200], ["not a readable JSON file"]),
    ("not-an-object", "gmm", "[1, 2, 3]", ["expected a JSON object"]),
    ("nan-in-x", "gmm", json.dumps(_gmm(x=[[float("nan"), *_X[0][1:]], *_X[1:]])), ["NaN"]),
    ("infinity-gamma", "gmm", json.dumps(_gmm(gamma=float("inf"))), ["Infinity"]),
    ("overflowing-float", "gmm", json.dumps(_gmm(alpha=[1.0, 1.0])).replace("[1.0, 1.0]", "[1e400, 1]"),
     ["1e400"]),
    ("d-a-string", "gmm", json.dumps(_gmm(d="3")), ["field d", "positive integer"]),
    ("k-a-bool", "gmm", json.dumps(_gmm(k=True)), ["field k", "positive integer"]),
    ("x-nested-deeper", "gmm", json.dumps(_gmm(x=[[row] for row in _X])), ["field x", "shape (4, 1, 3)",
                                                                           "(n, d) = (4, 3)"]),
    ("missing-mu", "gmm", json.dumps(_gmm(mu=_DROP)), ["missing field(s) mu"]),
    ("n-a-billion", "gmm", json.dumps(_gmm(n=10**9)), ["field n", "1000000000"]),
    ("x-holds-a-string", "gmm", json.dumps(_gmm(x=[["a", *_X[0][1:]], *_X[1:]])), ["field x", "number"]),
    ("x-ragged", "gmm", json.dumps(_gmm(x=[_X[0][:2], *_X[1:]])), ["field x"]),
    ("l-wrong-width", "gmm", json.dumps(_gmm(l=[r + [0.0] for r in GMM["l"]])), ["field l", "(k, d(d-1)/2)"]),
    ("alpha-an-object", "gmm", json.dumps(_gmm(alpha={"a": 1})), ["field alpha"]),
    ("gamma-a-string", "gmm", json.dumps(_gmm(gamma="1")), ["field gamma", "number"]),
    ("module-a-list", "gmm", json.dumps({"kind": "evaluate", "module": ["gmm"], "input": GMM}), ["module"]),
    ("deeply-nested", "gmm", "[" * 100_000 + "]" * 100_000, ["not a readable JSON file"]),
    ("lstm-odd-rows", "lstm", json.dumps(_lstm(main_params=LSTM["main_params"][:1])), ["field main_params"]),
    ("lstm-extra-shape", "lstm", json.dumps(_lstm(extra_params=LSTM["extra_params"][:2])),
     ["field extra_params", "(3, b) = (3, 14)"]),
    ("lstm-one-character", "lstm", json.dumps(_lstm(sequence=LSTM["sequence"][:1])),
     ["field sequence", "at least 2"]),
    ("lstm-state-shape", "lstm", json.dumps(_lstm(state=LSTM["state"] * 2)),
     ["field state", "(2l, b) = (2, 14)"]),
    ("lstm-missing-sequence", "lstm", json.dumps(_lstm(sequence=_DROP)), ["missing field(s) sequence"]),
]
# inputs that were measured as ok: their sizes disagree with their arrays
INCONSISTENT = [
    ("n-negative", json.dumps(_gmm(n=-10)), ["field n", "-10", "positive integer"]),
    ("n-zero", json.dumps(_gmm(n=0)), ["field n", "positive integer"]),
    ("x-shorter-than-n", json.dumps(_gmm(n=5)), ["field x", "shape (4, 3)", "(n, d) = (5, 3)"]),
    ("d-not-whole", json.dumps(_gmm(d=2.7)), ["field d", "2.7", "positive integer"]),
]


def _one_line(exc: UsageError, path, expected) -> str:
    line = str(exc)
    assert "\n" not in line and str(path) in line, line
    for part in expected:
        assert part in line, (part, line)
    return line


@pytest.mark.parametrize("name, text, expected", [c[1:] for c in INPUTS], ids=[c[0] for c in INPUTS])
def test_a_malformed_input_is_one_usage_error_line(tmp_path, name, text, expected):
    from harness.runner.plan import input_case

    path = tmp_path / "in.json"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        input_case(str(path), cases=(name,))
    _one_line(caught.value, path, expected)


@pytest.mark.parametrize("text, expected", [c[1:] for c in INCONSISTENT], ids=[c[0] for c in INCONSISTENT])
def test_an_inconsistent_input_is_refused_not_measured(tmp_path, monkeypatch, capsys, text, expected):
    from harness.cli import main

    path = tmp_path / "in.json"
    path.write_text(text)
    monkeypatch.chdir(tmp_path)
    status = main(["run", "--input", str(path), "--cases", "gmm", "--methods", "central", "--dtypes",
                   "float64", "--no-step-sweep", "--in-process", "--quiet", "--out", str(tmp_path / "out")])
    lines = capsys.readouterr().err.splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("diffbench: "), (status, lines)
    _one_line(UsageError(lines[0]), path, expected)
    assert not (tmp_path / "out").exists()


def test_valid_inputs_still_read(tmp_path):
    from harness.runner.plan import input_case

    jagged = [[[], [row[0]], [row[1], row[2]]] for row in GMM["l"]]  # flat (L21, L31, L32) → rows
    for name, data in (("gmm", GMM), ("gmm", _gmm(l=jagged)), ("lstm", LSTM)):
        case = input_case(str(valid_files.write_input(tmp_path / "in.json", data)), cases=(name,))
        assert case.dim > 0


# -- results files ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return valid_files.write_results(tmp_path_factory.mktemp("good"))


def _rewrite(good: Path, path: Path, table=None, meta=None, raw=None, which="cells") -> Path:
    """A copy of ``good``'s run at ``path``, one of its files (``which``) rewritten: its table by
    ``table``, its diffbench metadata by ``meta`` (a dict to JSON, bytes as they are; None drops
    it) or its bytes by ``raw``."""
    import shutil

    import pyarrow.parquet as pq

    src, dst = RunFiles(good), RunFiles(path)
    for kind in ("cells", "points", "steps"):
        shutil.copyfile(getattr(src, kind), getattr(dst, kind))
    target = getattr(dst, which)
    if raw is not None:
        target.write_bytes(raw)
        return path
    t = pq.read_table(target)
    if table is not None:
        t = table(t)
    if meta is not _KEEP:
        metadata = dict(t.schema.metadata or {})
        old = json.loads(metadata.pop(b"diffbench"))
        if meta is not None:
            new = meta(old) if callable(meta) else meta
            metadata[b"diffbench"] = new if isinstance(new, bytes) else json.dumps(new).encode()
        t = t.replace_schema_metadata(metadata)
    pq.write_table(t, target)
    return path


_KEEP = object()


def _column(name, values):
    import pyarrow as pa

    def change(t):
        return t.set_column(t.schema.get_field_index(name), name, pa.array(values))
    return change


def _drop(name):
    return lambda t: t.drop_columns([name])


def _duplicate(name):
    return lambda t: t.append_column(name, t.column(name))


# (id, how the good run is broken, substrings of the one line)
RESULTS = [
    ("not-parquet", dict(raw=b"PAR1 not a parquet file at all" * 30), ["not a readable results file"]),
    ("truncated", dict(raw="half"), ["not a readable results file"]),
    ("empty", dict(raw=b""), ["not a readable results file"]),
    ("no-metadata", dict(meta=None), ["no 'diffbench' metadata"]),
    ("metadata-not-json", dict(meta=b"{not json"), ["metadata"]),
    ("metadata-not-utf8", dict(meta=b"\xff\xfe{}"), ["metadata"]),
    ("metadata-a-list", dict(meta=[1, 2]), ["metadata", "not a JSON object"]),
    ("metadata-a-string", dict(meta="x"), ["metadata", "not a JSON object"]),
    ("no-schema-version", dict(meta=lambda m: {k: v for k, v in m.items() if k != "schema_version"}),
     ["schema version"]),
    ("schema-version-99", dict(meta=lambda m: {**m, "schema_version": 99}), ["schema version 99"]),
    ("schema-version-a-string", dict(meta=lambda m: {**m, "schema_version": "5"}), ["schema version '5'"]),
    ("no-run-id", dict(meta=lambda m: {k: v for k, v in m.items() if k != "run_id"}), ["run_id"]),
    ("cases-not-an-object", dict(meta=lambda m: {**m, "cases": [1]}), ["cases"]),
    ("missing-method-column", dict(table=_drop("method"), meta=_KEEP), ["column", "method"]),
    ("status-holds-ints", dict(table=_column("status", [1, 2, 3]), meta=_KEEP), ["column status"]),
    ("status-not-a-status", dict(table=_column("status", ["ok", "great", "ok"]), meta=_KEEP),
     ["status", "'great'"]),
    ("order-holds-strings", dict(table=_column("order", ["1", "x", "1"]), meta=_KEEP), ["column order"]),
    ("eval-s-holds-strings", dict(table=_column("eval_s", ["fast", "", None]), meta=_KEEP),
     ["column eval_s"]),
    ("eval-round-ids-not-lists", dict(table=_column("eval_round_ids", ["a", "b", None]), meta=_KEEP),
     ["column eval_round_ids"]),
    ("timing-rounds-holds-strings", dict(table=_column("timing_rounds", ["ten", "", None]), meta=_KEEP),
     ["column timing_rounds"]),
    ("key-column-missing-a-value", dict(table=_column("case", ["cubic", None, "cubic"]), meta=_KEEP),
     ["column case"]),
    ("duplicate-column", dict(table=_duplicate("dtype"), meta=_KEEP), ["dtype"]),
    ("points-not-parquet", dict(raw=b"junk", which="points"), ["points.parquet", "not a readable"]),
    ("points-wrong-type", dict(table=_column("abs_err", ["a", "b", "c", "d"]), meta=_KEEP, which="points"),
     ["points.parquet", "column abs_err"]),
    ("steps-metadata-a-list", dict(meta=[], which="steps"), ["steps.parquet", "metadata"]),
]


@pytest.mark.parametrize("broken, expected", [c[1:] for c in RESULTS], ids=[c[0] for c in RESULTS])
def test_a_malformed_results_file_is_one_usage_error_line(good, tmp_path, broken, expected):
    broken = dict(broken)
    if broken.get("raw") == "half":
        broken["raw"] = good.read_bytes()[: good.stat().st_size // 2]
    path = _rewrite(good, tmp_path / good.name, **broken)
    with pytest.raises(UsageError) as caught:
        results.read([path])
        results.read_steps([path])
    which = broken.get("which", "cells")
    named = path if which == "cells" else getattr(RunFiles(path), which)
    _one_line(caught.value, named, expected)


def test_the_good_results_file_reads(good):
    cells, points, [meta] = results.read([good])
    assert list(cells["method"]) == ["central", "forward", "complex_step"] and len(points) == 4
    assert meta.run_id == valid_files.RUN_ID and len(results.read_steps([good])) == 2


# -- journals -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def good_journal(tmp_path_factory) -> list[str]:
    path = valid_files.write_journal(tmp_path_factory.mktemp("journal") / "r.journal.jsonl")
    return path.read_text().splitlines()


def _record(lines, i, change):
    out = list(lines)
    out[i] = json.dumps(change(json.loads(out[i])))
    return out


def _cell(change):
    def apply(record):
        change(record["cell"])
        return record
    return apply


# (id, the lines of the good journal → the broken file's text or bytes, substrings of the one line)
JOURNALS = [
    ("empty", lambda lines: "", ["not a diffbench journal"]),
    ("no-metadata-line", lambda lines: "\n".join(lines[1:]), ["not a diffbench journal"]),
    ("metadata-not-an-object", lambda lines: "\n".join(['{"meta": [1]}', *lines[1:]]), ["metadata"]),
    ("first-line-a-number", lambda lines: "\n".join(["5", *lines[1:]]), ["not a diffbench journal"]),
    ("torn-in-the-middle", lambda lines: "\n".join([*lines[:2], lines[2][:40], *lines[3:]]),
     ["line 3", "not a journal record"]),
    ("record-not-an-object", lambda lines: "\n".join([*lines[:2], "[1, 2]", *lines[2:]]), ["line 3"]),
    ("record-neither-cell-nor-replaced", lambda lines: "\n".join([*lines[:2], '{"row": {}}', *lines[2:]]),
     ["line 3"]),
    ("cell-unknown-key", lambda lines: "\n".join(_record(lines, 1, _cell(lambda c: c.update(colour=1)))),
     ["line 2", "colour"]),
    ("cell-missing-key", lambda lines: "\n".join(_record(lines, 1, _cell(lambda c: c.pop("method")))),
     ["line 2", "method"]),
    ("cell-order-a-string",
     lambda lines: "\n".join(_record(lines, 1, _cell(lambda c: c.update(order="one")))),
     ["line 2", "order"]),
    ("cell-eval-s-a-list", lambda lines: "\n".join(_record(lines, 1, _cell(lambda c: c.update(eval_s=[1])))),
     ["line 2", "eval_s"]),
    ("cell-bad-status", lambda lines: "\n".join(_record(lines, 1, _cell(lambda c: c.update(status="great")))),
     ["line 2", "great"]),
    ("cell-not-an-object", lambda lines: "\n".join(_record(lines, 1, lambda r: {**r, "cell": [1]})),
     ["line 2"]),
    ("points-not-an-object", lambda lines: "\n".join(_record(lines, 1, lambda r: {**r, "points": 5})),
     ["line 2", "points"]),
    ("points-column-missing", lambda lines: "\n".join(
        _record(lines, 1, lambda r: {**r, "points": {k: v for k, v in r["points"].items() if k != "x"}})),
     ["line 2", "points"]),
    ("not-utf8-in-the-middle", lambda lines: "\n".join([*lines[:2], "\udcff", *lines[2:]]).encode(
        errors="surrogateescape"), ["line 3", "not a journal record"]),
    ("replaces-an-unknown-cell", lambda lines: "\n".join([lines[0], lines[-1]]), ["line 2"]),
]


@pytest.mark.parametrize("broken, expected", [c[1:] for c in JOURNALS], ids=[c[0] for c in JOURNALS])
def test_a_malformed_journal_is_one_usage_error_line(good_journal, tmp_path, broken, expected):
    path = tmp_path / "r.journal.jsonl"
    content = broken(good_journal)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(UsageError) as caught:
        journal.read(path)
    _one_line(caught.value, path, expected)


def test_a_torn_last_line_is_dropped_and_a_repeated_cell_kept_once(good_journal, tmp_path):
    path = tmp_path / "r.journal.jsonl"
    path.write_text("\n".join(good_journal))
    meta, rows, points = journal.read(path)
    assert [r.method for r in rows] == ["central", "forward", "complex_step"] and len(points) == 4
    assert rows[0].eval_s == 5e-7  # replaced
    path.write_text("\n".join([*good_journal, good_journal[-1][:30]]))  # cut off mid-write
    assert journal.read(path)[1] == rows
    again = _record(good_journal, 2, _cell(lambda c: c.update(eval_s=9.0)))[2]  # forward, measured again
    path.write_text("\n".join([*good_journal, again]))
    _, twice, points_twice = journal.read(path)
    assert [r.method for r in twice] == ["central", "forward", "complex_step"]
    assert twice[1].eval_s == 9.0 and len(points_twice) == 4


# -- the command line -----------------------------------------------------------------------------

@pytest.fixture
def refused(tmp_path, monkeypatch, capsys):
    """``diffbench ARGS`` in this process, in an empty folder: its one stderr line (exit status 2)."""
    from harness.cli import main

    monkeypatch.chdir(tmp_path)

    def run(args) -> str:
        status = main([str(a) for a in args])
        lines = capsys.readouterr().err.splitlines()
        assert status == 2, (status, lines)
        assert len(lines) == 1 and lines[0].startswith("diffbench: "), lines
        return lines[0]
    return run


def test_report_compare_merge_history_of_a_bad_file(good, tmp_path, refused):
    (tmp_path / "bad").mkdir()
    (tmp_path / "ints").mkdir()
    bad = _rewrite(good, tmp_path / "bad" / good.name, meta=[1])
    ints = tmp_path / "ints"
    status_ints = _rewrite(good, ints / good.name, table=_column("status", [1, 2, 3]), meta=_KEEP)
    assert str(bad) in refused(["report", bad, "-o", tmp_path / "r.html"])
    assert str(status_ints) in refused(["report", status_ints])
    assert str(bad) in refused(["compare", bad, good])
    assert str(status_ints) in refused(["compare", good, status_ints])
    assert str(bad) in refused(["merge", good, bad, "-o", tmp_path / "m.parquet"])
    assert str(status_ints) in refused(["history", ints, "-o", tmp_path / "h.html"])
    assert not (tmp_path / "reports").exists() and not (tmp_path / "m.parquet").exists()


def test_resume_from_a_bad_journal(good_journal, tmp_path, refused):
    path = tmp_path / "r.journal.jsonl"
    path.write_text("\n".join(_record(good_journal, 1, _cell(lambda c: c.update(order="one")))))
    line = refused(["run", "--resume", path])
    assert str(path) in line and "line 2" in line
    path.write_text('{"meta": {"run_id": "r", "selection": 5}}\n')
    assert str(path) in refused(["run", "--resume", path])
    for field, value in (("cases", 5), ("timing", [1]), ("plugins", "x.py"), ("rounds", "two")):
        path.write_text(json.dumps({"meta": {"run_id": "r", "selection": {field: value}}}) + "\n")
        assert f"selection's {field}" in refused(["run", "--resume", path])


def test_run_with_a_bad_input(tmp_path, refused):
    path = tmp_path / "in.json"
    path.write_text(json.dumps(_gmm(gamma=float("nan"))))
    line = refused(["run", "--input", path, "--cases", "gmm", "--methods", "central", "--dtypes", "float64",
                    "--no-step-sweep", "--in-process", "--quiet", "--out", tmp_path / "out"])
    assert str(path) in line and "NaN" in line
    assert not (tmp_path / "out").exists()
