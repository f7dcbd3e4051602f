"""The declared capability matrix holds: every method × case cell ends as expected."""

import json
import subprocess
import sys

import pytest

from harness.model.method import availability
from harness.model.registry import METHODS
from tests.conftest import ROOT
from tests.expected_outcomes import read_expected


def key(r):
    return (r["method"], r["case"], r["size"], r["quantity"], r["order"])


@pytest.fixture(scope="module")
def observed():
    # a fresh interpreter: only the built-in cases and methods, none registered by other tests
    proc = subprocess.run([sys.executable, "-m", "tests.expected_outcomes", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {key(r): r for r in json.loads(proc.stdout)}


@pytest.mark.slow
def test_every_cell_is_as_expected(observed):
    expected = {key(r): r for r in read_expected()}
    absent = {name for name, m in METHODS.all().items() if availability(m) != "available"}
    missing = sorted(set(observed) - set(expected))
    assert not missing, f"cells without an expected outcome (regenerate the file): {missing[:5]}"
    stale = sorted(k for k in set(expected) - set(observed))
    assert not stale, f"expected outcomes for cells that no longer exist: {stale[:5]}"
    changed = []
    for k, exp in expected.items():
        got = observed[k]["expected"]
        if got == "unavailable" and exp["expected"] != "unavailable" and k[0] in absent:
            continue  # an optional extra not installed here: nothing to compare
        if got != exp["expected"]:
            changed.append(f"{k}: expected {exp['expected']}, got {got} ({observed[k]['reason']})")
    assert not changed, "\n".join(changed)


def test_failures_and_inaccuracies_say_why():
    for r in read_expected():
        if r["expected"] != "ok":
            assert r["reason"], f"{key(r)} is {r['expected']} without a reason"
