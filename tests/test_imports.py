"""Lazy backends: `import harness` needs only NumPy; a missing backend is a status."""

from tests.conftest import run_python


def test_import_harness_imports_no_backend():
    proc = run_python(
        "import sys, harness, harness.extend, harness.runner.plan, harness.measure.pipeline\n"
        "import harness.runner.loop\n"
        "heavy = ('jax', 'torch', 'sympy', 'mpmath', 'pandas', 'matplotlib')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(heavy)"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_missing_backends_are_unavailable_not_a_crash():
    proc = run_python(
        "import sys\n"
        "for name in ('jax', 'torch', 'sympy'):\n"
        "    sys.modules[name] = None  # as if not installed\n"
        "import harness\n"
        "df = harness.run(cases='tanh', dtypes='float64', orders='1',\n"
        "                 timing={'rounds': 0})  # checked and graded: statuses are what count\n"
        "for r in df.itertuples(): print(r.method, r.status, r.message, sep='|')\n"
    )
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("|")[0]: line.split("|")[1:] for line in proc.stdout.splitlines()}
    for name in ("jax", "torch", "sympy"):
        assert rows[name][0] == "unavailable" and f"cannot import {name}" in rows[name][1]
    for name in ("forward", "backward", "central"):
        assert rows[name][0] == "ok"
