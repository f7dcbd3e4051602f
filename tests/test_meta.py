"""The run metadata (harness.store.meta): one declared type, read back checked field by field."""

import json

import pytest

from harness.errors import UsageError
from harness.store.meta import RunMeta


def test_what_is_written_reads_back_equal_and_unknown_keys_are_kept():
    meta = RunMeta(run_id="r", host="h", cpu_count=2, cpu_mhz=[2400.0], selection={"cases": ["tanh"]},
                   cases={"tanh": {"dim": 1}}, complete=True, n_cells=3, load_start=[0.5, 0.4, 0.3],
                   extra={"from_a_newer_diffbench": {"x": 1}})
    written = json.loads(json.dumps(meta.to_dict()))
    assert written["from_a_newer_diffbench"] == {"x": 1}
    assert "parts" not in written and "merged" not in written  # a merge's fields, only where merged
    assert RunMeta.from_dict(written, "f") == meta


def test_an_older_file_lacking_fields_gets_their_defaults():
    meta = RunMeta.from_dict({"run_id": "old", "timestamp": "2025-01-01T00:00:00+00:00"}, "old.parquet")
    assert (meta.complete, meta.n_cells, meta.cases, meta.parts, meta.rounds) == (False, 0, {}, [], 0)
    assert meta.runs() == [{"run_id": "old", "timestamp": "2025-01-01T00:00:00+00:00", "gpus": [],
                            "versions": {}, "selection": {}, "bandwidth_bytes_per_s": {}, "complete": False,
                            "n_cells": 0, "rounds": 0, "threads": {}, "backends": {}, "worker_starts_s": {}}]


@pytest.mark.parametrize("found, says", [
    ([1], "x: its metadata is not a JSON object"),
    ({}, "has no run_id"),
    ({"run_id": 5}, "has no run_id"),
    ({"run_id": "r", "complete": "yes"}, "complete is 'yes', not true or false"),
    ({"run_id": "r", "n_cells": True}, "n_cells is True, not a whole number"),
    ({"run_id": "r", "n_cells": 2.5}, "n_cells is 2.5, not a whole number"),
    ({"run_id": "r", "cpu_mhz": {"a": 1}}, "cpu_mhz is {'a': 1}, not a list"),
    ({"run_id": "r", "selection": 5}, "selection is 5, not a JSON object"),
    ({"run_id": "r", "cases": {"tanh": 1}}, "cases is not an object of objects"),
    ({"run_id": "r", "parts": [{"host": "h"}]}, "parts are not a list of runs"),
    ({"run_id": "r", "host": "x" * 100}, None),  # a long text is a text
])
def test_a_field_of_the_wrong_type_is_one_line_naming_it(found, says):
    if says is None:
        assert RunMeta.from_dict(found, "x: its metadata").host == "x" * 100
        return
    with pytest.raises(UsageError, match=says) as caught:
        RunMeta.from_dict(found, "x: its metadata")
    assert "\n" not in str(caught.value)


def test_a_merged_files_runs_and_hosts_are_its_parts():
    parts = [{"run_id": "a", "host": "h1"}, {"run_id": "b", "host": "h2"}]
    merged = RunMeta(run_id="m", merged=True, parts=parts)
    assert merged.runs() == parts and merged.hosts() == {"a": "h1", "b": "h2"}
    assert RunMeta(run_id="a", host="h1").hosts() == {"a": "h1"}
