import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness.measure.timing import UNTIMED, TimingSettings

# References are cached on disk (harness.truth.cache): never in the user's own cache from a test.  One
# temporary folder for the whole session, set before any test runs, inherited by every process the
# session starts (pytest-xdist's workers, `diffbench` commands, workers of runs); removed at its end.
_OWN_CACHE = None
if not (os.environ.get("DIFFBENCH_TEST_CACHE_DIR")
        and os.environ.get("DIFFBENCH_CACHE_DIR") == os.environ["DIFFBENCH_TEST_CACHE_DIR"]):
    _OWN_CACHE = tempfile.mkdtemp(prefix="diffbench-test-cache-")
    os.environ["DIFFBENCH_CACHE_DIR"] = os.environ["DIFFBENCH_TEST_CACHE_DIR"] = _OWN_CACHE


def pytest_unconfigure(config):
    if _OWN_CACHE is not None:  # the session's own folder (an xdist worker's is its controller's)
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = Path(__file__).resolve().parent / "plugins"
EXAMPLE_PLUGIN = ROOT / "examples" / "my_plugin.py"

# Short timing rounds: the tests check what is measured, not how fast.
FAST = TimingSettings(rounds=5, min_batch_s=0.002, rounds_max_s=math.inf)


@pytest.fixture(scope="session")
def fast():
    return FAST


@pytest.fixture(scope="session")
def untimed():
    """For tests of outcomes and digits: cells checked and graded, not timed (timing.UNTIMED)."""
    return UNTIMED


def run_python(code: str, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (for import-time and process-level checks)."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def run_cli(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)
