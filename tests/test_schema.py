"""The results schema (harness.store.schema): one definition of the columns, their stored types, the cell
key, the statuses and a run's files — and the writer and readers keep to it."""

import dataclasses

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import harness
from harness.store import results, schema
from harness.store.meta import RunMeta
from harness.store.schema import CellKey, CellRow, RunFiles

ARROW = {"str": pa.large_string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
         "floats": pa.list_(pa.float64())}


def row(**changes) -> CellRow:
    base = CellRow(run_id="r", case="tanh", size="grid=100", method="central", family="numerical",
                   mode="none", batched="", quantity="derivative", order=1, dtype="float64", device="cpu",
                   status="ok", message="", dim=1, n_points=101)
    return dataclasses.replace(base, **changes)


def test_a_status_is_one_of_the_closed_set():
    assert schema.STATUSES == ("ok", "failed", "unsupported", "unavailable", "out_of_range", "timeout",
                               "crashed")
    with pytest.raises(ValueError, match="'skipped' is not one of"):
        row(status="skipped")


def test_a_cells_key_is_the_same_from_its_row_a_dict_and_its_method_and_cell(fast):
    df = harness.run(cases="tanh", methods="central", dtypes="float32",
                     orders="1", timing=fast, sizes="quick")
    record = df.to_dict("records")[0]
    expected = CellKey("tanh", "grid=100", "central", "derivative", 1, "float32", "cpu")
    assert CellKey.of(record) == CellKey.of(row(dtype="float32")) == expected
    assert CellKey.of({**record, "size": None}).size == ""  # an unswept case read back from a file
    assert schema.KEY == ["case", "size", "method", "quantity", "order", "dtype", "device"]


def test_every_column_is_stored_as_its_type_whatever_the_rows_hold(tmp_path):
    # a cell that stopped early holds None nearly everywhere: its columns keep their types
    stopped, measured = row(status="crashed", message="died"), row(eval_s=1e-6, eval_samples_s=[1e-6])
    cells = results.cells_frame([stopped, measured])
    points = results.points_frame([])
    path = results.write(cells, points, RunMeta(run_id="typed"), tmp_path)
    for name, kind in schema.CELL_KINDS.items():
        assert pq.read_schema(path).field(name).type == ARROW[kind], name
    for name, kind in schema.POINT_KINDS.items():
        assert pq.read_schema(RunFiles(path).points).field(name).type == ARROW[kind], name
    back, _, _ = results.read([path])
    assert list(back.columns) == schema.CELL_COLUMNS and back.peak_device_bytes.dtype == "float64"
    assert back.eval_samples_s.tolist() == [None, [1e-6]]


def test_a_runs_files_find_each_other(tmp_path):
    files = RunFiles.of(tmp_path, "20261201T000000Z-abcdef")
    assert files.cells.name == "20261201T000000Z-abcdef.parquet"
    for path in (files.cells, files.points, files.steps, files.journal):
        assert RunFiles.beside(path) == files
    assert schema.is_companion(files.points) and schema.is_companion(files.steps)
    assert not schema.is_companion(files.cells)
