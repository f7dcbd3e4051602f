"""Small leaks (issue): a run leaves nothing in the temporary folder however it or its workers end,
and never takes .git/index.lock in the user's checkout."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.host.environment import commit_of
from tests.conftest import ROOT

FAULTS = Path(__file__).parent / "plugins" / "faults.py"
SLEEPY = Path(__file__).parent / "plugins" / "sleepy.py"


def _diffbench(args, tmp: Path, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "harness", "run", *map(str, args)], cwd=ROOT,
                            env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_crashed_and_killed_workers_leave_no_log_files(tmp_path):
    """Workers that crash (a segfault, os.abort) are replaced: none leaves its output file."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _diffbench(["--plugin", FAULTS, "--cases", "cubic", "--methods",
                       "fault-segfault,fault-abort,central",
                       "--dtypes", "float64", "--orders", "1", "--sizes", "quick", "--no-step-sweep",
                       "--out", tmp_path / "out", "--quiet"], tmp)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert list(tmp.iterdir()) == []


def test_a_run_killed_outright_leaves_no_log_files(tmp_path):
    """SIGKILL gives no chance to clean up: the workers' output files have no name to leave."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _diffbench(["--plugin", SLEEPY, "--cases", "tanh,cubic", "--methods", "central,sleepy",
                       "--dtypes", "float64", "--orders", "1", "--sizes", "quick", "--no-step-sweep",
                       "--out", tmp_path / "out", "--log"], tmp, start_new_session=True)
    for line in proc.stderr:  # a cell done, and sleepy's worker busy with the next
        if line.startswith("["):
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert [p.name for p in tmp.iterdir()] == []


@pytest.mark.skipif(shutil.which("git") is None, reason="no git on PATH")
def test_reading_the_commit_never_writes_the_checkouts_index(tmp_path):
    """`git status` refreshes a stale index by writing it anew under .git/index.lock; diffbench's
    read of the commit must not (a commit the user makes meanwhile would fail on the lock)."""
    def git(*args):
        subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=n", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "f").write_text("a\n")
    git("add", "f")
    git("commit", "-qm", "x")
    index = tmp_path / ".git" / "index"

    def stale():  # the file's times no longer match the index's record of them
        os.utime(tmp_path / "f", (1_600_000_000, 1_600_000_000))
        return index.stat().st_ino

    before = stale()
    assert commit_of(tmp_path) and not commit_of(tmp_path).endswith("-dirty")
    assert index.stat().st_ino == before  # read, not rewritten
    subprocess.run(["git", "status", "--porcelain"], cwd=tmp_path, capture_output=True,
                   env={k: v for k, v in os.environ.items() if k != "GIT_OPTIONAL_LOCKS"})
    assert index.stat().st_ino != before  # the control: a plain status does rewrite it
    stale()
    (tmp_path / "f").write_text("b\n")
    assert commit_of(tmp_path).endswith("-dirty")
