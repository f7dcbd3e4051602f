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


@pytest.mark.parametrize("module, line, broken", [
    ("harness/report/__init__.py", "from harness import measure", "The reading side never imports"),
    ("harness/compare.py", "import torch", "The reading side never imports"),
    ("harness/measure.py", "from harness.loop import run_cells", "A run flows one way"),
    ("harness/worker.py", "from harness import pool", "A run flows one way"),
    ("harness/reference.py", "from harness import measure", "No import cycles"),
    ("harness/methods/finite_diff.py", "from harness.plan import cells", "Cases and methods know nothing"),
])
def test_an_upward_import_is_caught(tmp_path, module, line, broken):
    tree = copy_of_the_tree(tmp_path)
    path = tree / module
    path.write_text(path.read_text() + f"\n\ndef _upward():\n    {line}  # deliberately against the layers\n")
    proc = lint(tree)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert any(broken in text and "BROKEN" in text for text in proc.stdout.split("\n\n")), proc.stdout[-3000:]
