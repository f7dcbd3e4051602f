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
    """The test suite (pytest), spread over every core (pytest-xdist; `-- -n 0` runs it in one process)."""
    install_backends(session)
    session.install("-e", project("test"))
    session.run("pytest", "-n", "auto", "--dist", "worksteal", *session.posargs)


@nox.session
def fuzz(session):
    """The readers of user files (--input, results files, journals) fuzzed at length: Hypothesis's
    large profile (DIFFBENCH_FUZZ=large, thousands of examples per reader; `nox -s tests` runs a few)."""
    install_backends(session)
    session.install("-e", project("test"))
    session.run("pytest", "tests/test_fuzz_readers.py", "-p", "no:cacheprovider",
                "--hypothesis-show-statistics", *session.posargs, env={"DIFFBENCH_FUZZ": "large"})


@nox.session
def fairness(session):
    """Whether diffbench's one formulation per workload handicaps JAX or PyTorch: its `jax` and `torch`
    cells timed against idiomatic implementations of each field workload at the default sizes,
    interleaved in one process on one thread (benchmarks/fairness/run.py); e.g.
    `nox -s fairness -- --cases lstm,kmeans --out fairness.md`."""
    install_backends(session)
    session.install("-e", project("test"))
    session.run("python", "benchmarks/fairness/run.py", *session.posargs)


@nox.session
def bench(session):
    """Run the default matrix into results/ and write its report into reports/."""
    install_backends(session)
    session.install(project())
    session.run("diffbench", "run", "--out", "results", "--report", *session.posargs)


# A GPU runner's builds (bench.yml); DIFFBENCH_TORCH / DIFFBENCH_JAX override them as for `bench`.
TORCH_CUDA = shlex.split(os.environ.get("DIFFBENCH_TORCH",
                                        "torch --index-url https://download.pytorch.org/whl/cu128"))
JAX_CUDA = shlex.split(os.environ.get("DIFFBENCH_JAX", "jax[cuda12]"))


@nox.session(name="bench-gpu")
def bench_gpu(session):
    """The matrix at the full profile's sizes (gradbench's) on a CUDA machine, every device;
    e.g. `nox -s bench-gpu -- --shard 2/4 --out DIR`."""
    session.install(*TORCH_CUDA)
    session.install(*JAX_CUDA)
    session.install(project())
    session.run("diffbench", "run", "--devices", "all", "--sizes", "full", "--out", "results",
                *session.posargs)


@nox.session
def lint(session):
    """ruff, and the import contracts of pyproject.toml (import-linter): no cycles, a run's modules
    layered one way, the reading side free of backends and of everything that measures."""
    session.install("ruff", "import-linter>=2.2")
    session.run("ruff", "check", ".")
    session.run("lint-imports", "--no-cache")


@nox.session(name="report-check")
def report_check(session):
    """The report in headless Chromium (tests/test_report_browser.py): every section, no console
    errors, nothing fetched, a screenshot ($REPORT_SCREENSHOT, else a temporary folder); and no
    script from a plugin's strings or a results file run (tests/test_report_browser_injection.py).
    Without a chromium on PATH the tests skip, and say why."""
    import shutil

    install_backends(session)
    session.install("-e", project("test"))
    if not any(map(shutil.which, ("chromium", "chromium-browser"))):
        session.warn("no chromium or chromium-browser on PATH: the browser check will be skipped "
                     "(Debian: apt-get install chromium)")
    session.run("pytest", "tests/test_report_browser.py", "tests/test_report_browser_injection.py", "-v",
                "-rs", *session.posargs)


# The harness's own performance baseline: one pytest-benchmark saved run (stats and extra_info,
# no raw timings; tests/benchmarks/conftest.py leaves the host name out).  It is compared by its
# path: a run number would be looked up under this machine's id folder (e.g.
# Linux-CPython-3.11-64bit/), which a clone on another machine or Python does not have.
PERF_BASELINE = "benchmarks/baseline.json"
# The benchmarks are timed in CPU time (time.process_time), not wall time: on a shared machine
# other jobs stretch wall time (twice as long with two jobs per core) but hardly a process's own
# CPU time.  A benchmark fails when its median is more than twice the baseline's: on the shared
# 2-core machine that made the baseline, runs with other jobs on it (load 2 to 5) moved single
# medians by up to 1.8× in CPU time (caches and cores are shared too) and by over 2× in wall
# time, so 50% would fail on noise; what this guards against (a batched stencil or dual falling
# back to a Python loop over points, a timer overshooting its batches, a heavier cell) costs
# 2×–100×.  A neighbour that saturates memory bandwidth (a large finite-difference run) slowed
# the memory-bound stencils (8 MB arrays) by up to 2.8× even in CPU time: confirm a failure of
# those by re-running on a quiet machine.
PERF_TIMER = "time.process_time"
PERF_FAIL = "median:100%"


@nox.session
def perf(session):
    """The harness's own benchmarks against benchmarks/baseline.json; `-- --save` replaces it."""
    import shutil
    from pathlib import Path

    install_backends(session)
    session.install("-e", project("test"))
    pytest = ["pytest", "tests/benchmarks", "--benchmark-enable", f"--benchmark-timer={PERF_TIMER}"]
    args = [a for a in session.posargs if a != "--save"]
    if "--save" not in session.posargs:
        session.run(*pytest, f"--benchmark-compare={PERF_BASELINE}", f"--benchmark-compare-fail={PERF_FAIL}",
                    *args)
        return
    # pytest-benchmark saves into <storage>/<machine id>/NNNN_<name>.json: a scratch storage,
    # then the one file it wrote becomes the baseline.
    storage = Path(session.create_tmp()) / "perf-runs"
    shutil.rmtree(storage, ignore_errors=True)
    session.run(*pytest, f"--benchmark-storage=file://{storage}", "--benchmark-save=baseline", *args)
    [saved] = storage.glob("*/*_baseline.json")
    Path(PERF_BASELINE).parent.mkdir(exist_ok=True)
    shutil.copyfile(saved, PERF_BASELINE)
    session.log(f"wrote {PERF_BASELINE}: review its figures and commit it")
