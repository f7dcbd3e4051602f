"""``diffbench merge``: shards (and runs from several machines) as one results file."""

import shutil
from dataclasses import replace

import pandas as pd
import pyarrow.parquet as pq
import pytest

import harness
from harness.cli import main
from harness.model.registry import UsageError
from harness.read import merge
from harness.store import results, schema

MATRIX = dict(cases="tanh,cubic", methods="central,complex-step,jax", dtypes="float64", sizes="quick")
KEYS = schema.KEY
pytestmark = pytest.mark.slow  # runs a tiny matrix four times (about 15 s) and a report


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The tiny matrix run whole and as shards 1/3, 2/3 and 3/3, each into its own folder."""
    base = tmp_path_factory.mktemp("runs")
    timing = {"rounds": 3, "min_batch_s": 0.001}
    whole = harness.run(**MATRIX, out=base / "whole", timing=timing)
    shards = [harness.run(**MATRIX, shard=f"{i}/3", out=base / f"shard-{i}", timing=timing)
              for i in (1, 2, 3)]
    return base, whole, shards


def _cells(df):
    return sorted(zip(*(df[k].fillna("").astype(str) for k in KEYS), df["status"]))


def test_merged_shards_equal_the_unsharded_run(runs, tmp_path):
    base, whole, shards = runs
    assert all(len(s) for s in shards) and sum(map(len, shards)) == len(whole)
    path, meta = merge.merge([base / f"shard-{i}" for i in (1, 2, 3)], tmp_path / "merged.parquet")
    assert path == tmp_path / "merged.parquet"
    assert (tmp_path / f"merged{schema.POINTS_SUFFIX}").exists()
    cells, points, [read_meta] = results.read([path])
    assert _cells(cells) == _cells(whole)
    assert len(points) == sum(len(s.attrs["points"]) for s in shards)
    # the cells keep their runs; the metadata lists each with its host, devices and shard
    assert set(cells["run_id"]) == {s.attrs["meta"].run_id for s in shards}
    assert read_meta.run_id == meta.run_id not in set(cells["run_id"])
    assert [p["shard"] for p in read_meta.parts] == ["1/3", "2/3", "3/3"]
    assert all(p["host"] and p["devices"] == ["cpu"] for p in read_meta.parts)
    assert read_meta.hosts() == {s.attrs["meta"].run_id: s.attrs["meta"].host for s in shards}
    assert read_meta.complete and "missing_shards" not in read_meta.to_dict()
    assert read_meta.host == whole.attrs["meta"].host  # the same machine: one value
    assert set(read_meta.methods) == {"central", "complex-step", "jax"}


def test_the_merged_file_is_read_by_report_and_compare(runs, tmp_path):
    base, whole, _ = runs
    path, _ = merge.merge([base / f"shard-{i}" for i in (1, 2, 3)], tmp_path)  # a folder: <run-id>.parquet
    assert path.parent == tmp_path and path.name.endswith(".parquet")
    from harness.read.report import write_report

    html = write_report([path], tmp_path / "report.html").read_text()
    assert "tanh" in html and "complex-step" in html
    compare = pytest.importorskip("harness.read.compare")
    compared = compare.compare(results.read([base / "whole"])[0], results.read([path])[0])
    assert len(compared) == len(whole)


def test_a_missing_shard_is_recorded(runs, tmp_path, capsys):
    base, _, _ = runs
    output = str(tmp_path / "m.parquet")
    assert main(["merge", str(base / "shard-1"), str(base / "shard-3"), "-o", output]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == output
    assert "shards missing: 2/3" in out.err
    meta = results.read([tmp_path / "m.parquet"])[2][0]
    assert meta.missing_shards == ["2/3"] and not meta.complete


def test_the_same_cell_twice_from_one_host_is_refused(runs, tmp_path, capsys):
    base, _, _ = runs
    with pytest.raises(UsageError, match="more than once for one host"):
        merge.merge([base / "whole", base / "shard-2"], tmp_path / "m.parquet")
    assert main(["merge", str(base / "whole"), str(base / "shard-2"), "-o", str(tmp_path / "m.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("diffbench: ")
    assert not (tmp_path / "m.parquet").exists()


def _copy(path, out_dir, **changes):
    """A copy of a run under a new run_id, with its metadata changed (another machine, an old
    schema version)."""
    cells, points, [meta] = results.read([path])
    meta = replace(meta, run_id=results.new_run_id(), **changes)
    cells["run_id"] = points["run_id"] = meta.run_id
    return results.write(cells, points, meta, out_dir)


def test_the_same_cells_from_two_hosts_are_kept_apart(runs, tmp_path):
    base, whole, _ = runs
    other = _copy(whole.attrs["path"], tmp_path / "other", host="gpu-node-7", gpus=[{"name": "H100"}])
    path, meta = merge.merge([base / "whole", other], tmp_path / "m.parquet")
    cells = results.read([path])[0]
    assert len(cells) == 2 * len(whole)
    host = cells["run_id"].map(meta.hosts())
    assert set(host) == {whole.attrs["meta"].host, "gpu-node-7"}
    assert meta.host == f"{whole.attrs['meta'].host} / gpu-node-7"  # the report shows both
    assert {"name": "H100"} in meta.gpus


def test_mixed_or_unreadable_schema_versions_are_refused(runs, tmp_path):
    base, whole, _ = runs
    old = _copy(whole.attrs["path"], tmp_path / "old", schema_version=2, host="old-machine")
    with pytest.raises(UsageError, match="different schema versions"):
        merge.merge([base / "shard-1", old], tmp_path / "m.parquet")
    alien = _copy(whole.attrs["path"], tmp_path / "alien", schema_version=99, host="future")
    with pytest.raises(UsageError, match="schema version 99"):
        merge.merge([base / "shard-1", alien], tmp_path / "m.parquet")


def test_a_merged_file_merges_again_and_keeps_step_tables(runs, tmp_path):
    base, whole, _ = runs
    parts = tmp_path / "parts"
    shutil.copytree(base / "shard-1", parts / "1")
    [cells_file] = results.results_files([parts / "1"])
    steps = pd.DataFrame([schema.StepRow(cells_file.stem, "tanh", "central", "float64", 1e-6, 1e-9, 9.0, 6e-6,
                                         6e-6)])
    cells, points, [meta] = results.read([cells_file])
    results.write_files(schema.RunFiles(cells_file), cells, points, meta, steps)
    first, _ = merge.merge([parts / "1", base / "shard-2"], tmp_path / "a.parquet")
    assert pq.read_table(tmp_path / f"a{schema.STEPS_SUFFIX}").num_rows == 1
    again, meta = merge.merge([first, base / "shard-3"], tmp_path / "b.parquet")
    assert [p["shard"] for p in meta.parts] == ["1/3", "2/3", "3/3"]  # listed, not nested
    assert _cells(results.read([again])[0]) == _cells(whole)


@pytest.mark.parametrize("args", [["merge", "nowhere", "-o", "x.parquet"], ["merge", "results"],
                                  ["merge", "{base}/whole", "-o", "{base}/whole/x.points.parquet"]])
def test_bad_merge_command_lines(runs, args, capsys):
    base, _, _ = runs
    assert main([a.format(base=base) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("diffbench: ")


def test_a_glob_of_a_run_folder_companions_included_merges(runs, tmp_path, capsys):
    base, _, _ = runs
    named = sorted(map(str, (base / "shard-1").glob("*.parquet")))  # results/run/*.parquet
    assert any(schema.is_companion(p) for p in named) and len(named) >= 2
    output = str(tmp_path / "m.parquet")
    assert main(["merge", *named, "-o", output]) == 0
    err = capsys.readouterr().err
    assert "per-point or step-sweep file" in err and "read with their cells files" in err
    assert len(results.read([output])[0]) == len(results.read([base / "shard-1"])[0])
