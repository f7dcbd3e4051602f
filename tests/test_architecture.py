"""The import contracts in pyproject.toml (import-linter; ``nox -s lint`` runs them): they hold on
this tree, and each catches an import deliberately introduced against it in a copy."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT = Path(sys.executable).with_name("lint-imports")
pytestmark = pytest.mark.skipif(not LINT.exists(),
                                reason="import-linter is not installed (pip install -e .[test])")


def lint(tree: Path) -> subprocess.CompletedProcess:
    # lint-imports puts its working folder first on sys.path: the tree's own harness is analysed
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=300)


def copy_of_the_tree(tmp_path: Path) -> Path:
    for part in ("harness", "cases"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_contracts_hold():
    proc = lint(ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "4 kept, 0 broken" in proc.stdout


LAYERS = "The folders are layers"
READING = "The reading side never imports"
FLOW = "A run flows one way"


@pytest.mark.parametrize("module, line, broken", [
    # the reading side: no backend, nothing that measures, no model of cases and methods
    ("harness/read/report/__init__.py", "from harness.measure import pipeline", READING),
    ("harness/read/compare.py", "import torch", READING),
    ("harness/store/results.py", "import jax", READING),
    ("harness/stats/noise.py", "from harness.truth import reference", READING),
    # the layers: nothing imports a folder above its own, siblings not each other
    ("harness/truth/reference.py", "from harness.methods import finite_diff", LAYERS),  # truth ⟂ methods
    ("harness/methods/finite_diff.py", "from harness.truth import quad", LAYERS),
    ("harness/methods/finite_diff.py", "from harness.runner.plan import cells", LAYERS),
    ("harness/measure/pipeline.py", "from harness.runner.loop import run_cells", LAYERS),
    ("harness/model/case.py", "from harness.truth import quad", LAYERS),
    ("harness/host/threads.py", "from harness.model import case", LAYERS),
    ("harness/store/schema.py", "from harness.host import limits", LAYERS),
    ("harness/runner/plan.py", "from harness.read import compare", LAYERS),  # runner ⟂ read
    ("cases/scalar.py", "from harness.truth import quad", LAYERS),  # the cases ⟂ the reference
    # inside the runner: the loop drives the pool, the pool its workers
    ("harness/runner/worker.py", "from harness.runner import pool", FLOW),
    ("harness/runner/plan.py", "from harness.runner import loop", FLOW),
    # a folder added later is covered as it is: no module list to edit
    ("harness/read/newly_added.py", "from harness.measure import timing", READING),
])
def test_an_upward_import_is_caught(tmp_path, module, line, broken):
    tree = copy_of_the_tree(tmp_path)
    path = tree / module
    before = path.read_text() if path.exists() else '"""A module added to the folder."""\n'
    path.write_text(before + f"\n\ndef _upward():\n    {line}  # deliberately against the layers\n")
    proc = lint(tree)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert any(broken in text and "BROKEN" in text for text in proc.stdout.split("\n\n")), proc.stdout[-3000:]
