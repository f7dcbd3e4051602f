"""Sessions: `nox -s bench` (default matrix, then the report), `nox -s tests`, `nox -s lint`.

The default sessions install CPU builds: PyTorch pinned to its CPU wheel (an
unpinned `torch` pulls a multi-GB CUDA build) and JAX's default CPU wheel.
A GPU runner overrides both through the environment, for example::

    DIFFBENCH_TORCH="torch --index-url https://download.pytorch.org/whl/cu124" \\
    DIFFBENCH_JAX="jax[cuda12]" nox -s bench

`DIFFBENCH_EXTRAS` lists the optional systems to install (default: all of them;
set it to "" to compare only SymPy, NumPy/SciPy, JAX and PyTorch).
"""

import os
import shlex

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

TORCH = shlex.split(os.environ.get("DIFFBENCH_TORCH", "torch==2.13.0"))
JAX = shlex.split(os.environ.get("DIFFBENCH_JAX", "jax"))
# The optional systems compared besides JAX and PyTorch (pyproject extras); "" for none.
EXTRAS = os.environ.get("DIFFBENCH_EXTRAS", "numdifftools,autograd,mygrad,num-dual,tensorflow")


def install_backends(session):
    session.install(*TORCH)
    session.install(*JAX)


def project(*extras):
    """The project with its optional extras, e.g. `.[test,autograd]`."""
    chosen = [e for e in (*extras, *EXTRAS.split(",")) if e.strip()]
    return f".[{','.join(chosen)}]" if chosen else "."


@nox.session
def tests(session):
    """The test suite (pytest)."""
    install_backends(session)
    session.install("-e", project("test"))
    session.run("pytest", *session.posargs)


@nox.session
def bench(session):
    """Run the default matrix into results/ and write its report into reports/."""
    install_backends(session)
    session.install(project())
    session.run("diffbench", "run", "--out", "results", "--report", *session.posargs)


@nox.session
def lint(session):
    """ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")
