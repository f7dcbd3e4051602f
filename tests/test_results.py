"""Results files: versioned, tidy, read back as written, and refused clearly when not ours."""

from dataclasses import replace

import pandas as pd
import pytest

import harness
from harness.model.registry import UsageError
from harness.store import results


@pytest.fixture(scope="module")
def written(tmp_path_factory, fast):
    out = tmp_path_factory.mktemp("results")
    df = harness.run(cases="abs,square", methods="central,sympy", dtypes="float64", orders="1",
                     out=out, timing=fast)
    return df, out


def test_roundtrip(written):
    df, out = written
    cells, points, metas = results.read([out])
    pd.testing.assert_frame_equal(cells, df, check_like=True)
    assert metas[0].schema_version == results.SCHEMA_VERSION
    assert metas[0].run_id == df.run_id.iloc[0]
    for key in ("timestamp", "git_commit", "host", "cpu", "gpus", "versions", "cases", "methods"):
        assert key in metas[0].to_dict()
    assert metas[0].versions["numpy"] and metas[0].cases.keys() == {"abs", "square"}
    assert metas[0].to_dict() == {**df.attrs["meta"].to_dict(), "schema_version": results.SCHEMA_VERSION}
    # the per-point table: one row per point of each cell that returned values
    # abs: central (sympy failed); square: central, sympy; each 100 grid + 3 seed points
    assert len(points) == 103 * 3
    assert list(points.columns) == results.POINT_COLUMNS


def test_reference_text_is_kept_per_point(written):
    _, out = written
    _, points, _ = results.read([out])
    row = points[(points.case == "square") & (points.x == 3.0)].iloc[0]
    assert row.ref_text == "6.0" and row.ref == 6.0


def test_wrong_schema_version(written, tmp_path, monkeypatch):
    df, _ = written
    monkeypatch.setattr(results, "SCHEMA_VERSION", 99)
    path = results.write(df, df.attrs["points"], replace(df.attrs["meta"], run_id="old"), tmp_path)
    monkeypatch.undo()
    with pytest.raises(UsageError, match=r"old\.parquet: schema version 99, this diffbench reads 2"):
        results.read([path])


def test_corrupt_and_foreign_files(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(UsageError, match="bad.parquet: not a readable results file"):
        results.read([bad])
    foreign = tmp_path / "foreign.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(foreign)
    with pytest.raises(UsageError, match="foreign.parquet: not a diffbench results file"):
        results.read([foreign])


def test_missing_and_empty(tmp_path):
    with pytest.raises(UsageError, match="no such results file"):
        results.read([tmp_path / "nope.parquet"])
    with pytest.raises(UsageError, match="no results files in"):
        results.read([tmp_path])
