"""A method cannot poison the cells after it: what a cell leaves in its worker process (a patched
module, a thread or child processes still running) is found, said, and its worker replaced; and
a resumed run never loads a plugin that its command line did not name."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import harness
from harness.measure.timing import UNTIMED
from harness.runner import loop, plan
from harness.store.schema import RunFiles

PLUGINS = Path(__file__).parent / "plugins"
POISON = PLUGINS / "poison.py"
MARKER = PLUGINS / "marker.py"

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds processes in /proc")


def _running(command: bytes) -> list[int]:
    """Processes whose command line is exactly ``command`` (NUL-separated), zombies excluded."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == command:
                found.append(int(entry.name))
        except OSError:  # ended meanwhile
            pass
    return found


def _still_running(command: bytes, within_s: float = 30.0) -> list[int]:
    """The processes of ``command`` still there once they had ``within_s`` to go (a killed process
    takes a moment to end on a loaded machine: the test waits for it, it does not time it)."""
    deadline = time.monotonic() + within_s
    while (found := _running(command)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


@linux
def test_a_method_that_poisons_its_worker_leaves_the_cells_after_it_clean(monkeypatch):
    sleep = f"{1000 + os.getpid() % 1000}.25"  # this test's own sleepers
    command = f"sleep\0{sleep}\0".encode()
    monkeypatch.setenv("DIFFBENCH_TEST_SLEEP", sleep)
    # tanh at 10², 10⁴ and 10⁶ points: the poisoners measure the first size only, after central
    # there, so central at 10⁴ and 10⁶ comes after all three, in the same backend's worker
    selection = dict(cases="tanh", orders="1", dtypes="float64", sizes="default", timing=UNTIMED,
                     step_sweep=False, isolate=True)
    clean = harness.run(methods="central", **selection)
    try:
        cells = harness.run(methods="central,poison-*", plugins=[POISON], **selection)
        left = _still_running(command)
    finally:
        for pid in _running(command):
            os.kill(pid, signal.SIGKILL)
    order = list(zip(cells["size"], cells.method))
    assert order.index(("grid=100", "poison-children")) < order.index(("grid=10000", "central"))

    # central reads exactly the digits of a run without them
    central = cells[cells.method == "central"].set_index("size")
    assert central.digits.to_dict() == clean.set_index("size").digits.to_dict()
    assert (central.status == "ok").all() and central.digits.min() > 8

    # each poisoner's own figures stand; its row says what it left, and that its worker went
    poisoners = cells[cells["size"] == "grid=100"].set_index("method")
    expected = {"poison-tanh": "the cell left numpy.tanh, array_api_compat.numpy.tanh patched",
                "poison-thread": "the cell left a thread running (spinner: poison.py",
                "poison-children": "the cell left 5 child processes running (sleep)"}
    for method, words in expected.items():
        row = poisoners.loc[method]
        assert row.status == "ok" and row.digits > 12, (method, row.message)
        assert row.message.startswith(words) and row.message.endswith("its worker was replaced"), row.message
    # a fresh worker after each: the busy thread slowed no later cell
    assert len(cells.attrs["meta"].worker_starts_s["numpy"]) == 4
    assert left == []  # the children went with their worker


def _diffbench(*args, **kw):
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], capture_output=True, text=True,
                          timeout=300, **kw)


def test_resume_never_imports_a_plugin_its_command_line_did_not_name(tmp_path, monkeypatch):
    marker = tmp_path / "imported.txt"
    monkeypatch.setenv("DIFFBENCH_TEST_MARKER", str(marker))
    # the journal of a run with a plugin that was killed before its first cell
    selection = plan.Selection.of(cases="tanh", methods="marked,central", orders="1", dtypes="float64",
                                  sizes="quick", plugins=[MARKER], timing=UNTIMED)
    meta = loop.new_meta(plan.build(selection))
    path = RunFiles.of(tmp_path, meta.run_id).journal
    path.write_text(json.dumps({"meta": meta.to_dict()}) + "\n")
    marker.unlink()  # this process imported it, to plan that run

    refused = _diffbench("run", "--resume", path, "--quiet")
    assert refused.returncode == 2
    assert refused.stderr == (f"diffbench: this run used --plugin {MARKER.resolve()}: pass it again to "
                              "resume (its code is not loaded from the results file)\n")
    assert not marker.exists()  # its code never ran

    other = _diffbench("run", "--resume", path, "--plugin", POISON, "--quiet")
    assert other.returncode == 2 and f"--plugin {MARKER.resolve()}" in other.stderr
    assert not marker.exists()

    resumed = _diffbench("run", "--resume", path, "--plugin", MARKER, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    cells = pd.read_parquet(resumed.stdout.split()[0])
    assert set(cells.method) == {"marked", "central"} and (cells.status == "ok").all()
    assert marker.exists()
