"""--threads: one setting for every backend, honoured in the worker processes and recorded."""

import json
import os
from pathlib import Path

import pytest

import harness
from harness.errors import UsageError
from harness.host import threads

PROBE = str(Path(__file__).with_name("plugins") / "thread_probe.py")


def _probes(n):
    df = harness.run(cases="square", methods="probe-*", dtypes="float64", sizes="quick", plugins=[PROBE],
                     isolate=True, threads=n, timing={"rounds": 1, "min_batch_s": 1e-4})
    rows = df[df.status == "ok"]
    seen = {r.method: json.loads(r.detail)["probe"] for r in rows.itertuples()}
    return seen, df, df.attrs["meta"]


@pytest.mark.parametrize("n", [1, 2])
def test_every_backend_reads_back_the_setting_inside_a_cell(n):
    if len(os.sched_getaffinity(0)) < n:
        pytest.skip(f"{n} threads need {n} CPUs")
    seen, rows, meta = _probes(n)
    assert "probe-numpy" in seen, rows[["method", "status", "message"]].to_string()
    for method, probe in seen.items():
        assert probe["cpus"] == n, (method, probe)  # the worker is pinned to n CPUs
    assert set(seen["probe-numpy"]["blas"]) <= {n}
    if "probe-torch" in seen:
        assert seen["probe-torch"]["torch"] == n
    if "probe-tensorflow" in seen:
        assert seen["probe-tensorflow"]["intra_op"] == seen["probe-tensorflow"]["inter_op"] == n
    if "probe-jax" in seen:
        assert (threads.XLA_SINGLE in seen["probe-jax"]["xla_flags"]) == (n == 1)
    # and the run's metadata records the setting and what each worker's libraries reported
    assert meta.threads["setting"] == n
    assert {w["threads"] for w in meta.threads["workers"].values() if w} == {n}
    if "probe-torch" in seen:
        assert meta.threads["workers"]["torch"]["torch"]["num_threads"] == n


def test_threads_all_leaves_each_library_to_itself_and_says_so():
    assert threads.parse("all") == threads.ALL == "all" and threads.parse(None) == threads.DEFAULT == 1


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_a_bad_setting_is_a_usage_error(bad):
    with pytest.raises(UsageError, match="--threads"):
        threads.parse(bad)
