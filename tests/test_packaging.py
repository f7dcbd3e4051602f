"""What an installed diffbench needs ships with it: every data file the packages read is
declared as package data (a fresh `nox -s bench` installs the project, not the source tree)."""

import fnmatch
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_every_data_file_of_the_packages_is_declared():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for package, patterns in declared.items():
        files = [p.relative_to(ROOT / package).as_posix() for p in (ROOT / package).rglob("*")
                 if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
        missing = [f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern in patterns)]
        assert not missing, f"{package}: not shipped when installed: {missing}"
