"""What a cell must not leave behind in the worker process that measures the cells after it.

A method runs in its backend's worker (:mod:`harness.runner.worker`), which measures the cells after
it too.  A method that patched ``np.tanh`` made the next cell's ``central`` read 6.0 digits
instead of 8.66, still ``ok``; a thread it left running slowed later cells 1.3–18.6×; child
processes it started outlived the run.  So after each cell the worker looks for

- **patched modules**: a public attribute of NumPy (and ``numpy.linalg``, ``.fft``,
  ``.random``), ``math``, ``builtins``, the array namespaces the cases are evaluated with, the
  backends (JAX, PyTorch, TensorFlow, autograd, SymPy, mpmath, SciPy, …) and diffbench's own
  modules that is no longer the object it was (or is gone).  Each module is recorded when the
  worker is ready, or at its first sight after a cell that imported it; an attribute a module
  gains later (a lazily imported submodule) is no change, nor is a function of the library's own
  code put in place of one of its own (PyTorch wraps ``torch.manual_seed`` when ``torch._dynamo``
  first loads);
- **threads**: a Python thread started during the cell and still alive after it that runs, was
  started with, or holds to call code of a plugin's or a script's — code outside the standard
  library, the installed packages and diffbench (a thread a cell leaves would share the cores of
  every later cell).  A library's own threads (PyTorch's compile workers, an idle executor's)
  are not the cell's; the native pools that OpenBLAS, OpenMP, XLA, TensorFlow and PyTorch start
  on first use are no Python threads (nor is a native thread a method starts: it is not seen);
- **child processes**: a process the worker started during the cell (or one of its children)
  still running after it, unless it runs a file of an installed package (a library's worker
  pool) (Linux: ``/proc/<pid>/task/*/children``; elsewhere none are seen).

Any of them ends the worker: it says so, the cell's row says what was found, and the pool
(:mod:`harness.runner.pool`) replaces the worker before its backend's next cell.  A worker runs in a
session of its own (:func:`own_session`), so that :func:`end_tree` ends it with every process
it started.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import types
from pathlib import Path

# modules whose public attributes a cell must leave as it found them, where they are loaded
WATCHED = (
    "builtins", "math", "cmath", "operator", "functools",
    "numpy", "numpy.linalg", "numpy.fft", "numpy.random", "numpy.lib",
    "array_api_compat", "array_api_compat.numpy", "array_api_compat.torch",
    "scipy", "scipy.special", "scipy.linalg", "scipy.optimize", "scipy.differentiate",
    "mpmath", "sympy",
    "jax", "jax.numpy", "jax.lax", "jax.nn", "jax.scipy", "jax.scipy.special", "jax.random",
    "torch", "torch.nn", "torch.nn.functional", "torch.func", "torch.autograd", "torch.special",
    "torch.linalg", "torch.fft",
    "tensorflow", "tensorflow.math", "tensorflow.linalg", "tensorflow.nn",
    "autograd", "autograd.numpy", "mygrad", "numdifftools", "num_dual", "tangent",
)
OWN = ("harness", "cases")  # and their submodules


def own_session() -> None:
    """Make this process (a worker) the leader of a session and process group of its own, so
    that :func:`end_tree` ends every process it starts; on Linux it also dies with its parent
    (a run killed outright leaves no worker behind)."""
    if hasattr(os, "setsid"):
        with contextlib.suppress(OSError):
            os.setsid()
    if sys.platform.startswith("linux"):
        parent = os.getppid()
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the line above took effect
            os._exit(1)


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (its threads' children), from /proc; [] where there is none."""
    found = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError, ValueError):
            found += [int(p) for p in path.read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``: its children, theirs, …"""
    found, todo = [], children(pid)
    while todo:
        child = todo.pop()
        if child not in found:
            found.append(child)
            todo += children(child)
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]  # a zombie has ended, only not been waited for


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def _library_process(pid: int) -> bool:
    """Whether a process runs a file of an installed package (a library's worker pool: PyTorch's
    compile workers are ``python …/torch/_inductor/compile_worker/__main__.py``)."""
    import sysconfig

    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    packages = {os.path.join(os.path.realpath(sysconfig.get_paths()[k]), "") for k in ("purelib", "platlib")}
    return any(os.path.isabs(arg) and os.path.realpath(arg).startswith(tuple(packages)) for arg in argv[1:])


def end_tree(process) -> None:
    """End a worker (a :class:`multiprocessing.Process` that called :func:`own_session`) and every
    process it started: those still below it, and whatever is left of its process group."""
    if process.pid is None:
        return
    if process.is_alive():  # not yet waited for: its pid and its /proc children are its own
        for pid in descendants(process.pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    if hasattr(os, "killpg") and process.pid != os.getpgrp():  # never the caller's own group
        with contextlib.suppress(OSError):  # none left (or the worker never led a group)
            os.killpg(process.pid, signal.SIGKILL)


@functools.cache
def _trusted_folders() -> tuple[str, ...]:
    """Where the code of the standard library, the installed packages and diffbench lies."""
    import sysconfig

    here = Path(__file__).resolve().parent.parent  # harness/, beside cases/
    found = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    found |= {str(here), str(here.parent / "cases")}
    return tuple(os.path.join(os.path.realpath(folder), "") for folder in found)


@functools.cache
def _foreign(filename: str) -> bool:
    """Whether code from ``filename`` is a plugin's or a script's: outside the standard library,
    the installed packages and diffbench (code made at run time, ``<string>``, is none's)."""
    if filename.startswith("<"):
        return False
    return not os.path.realpath(filename).startswith(_trusted_folders())


def _code(value):
    """The code object of a callable (a function, a bound method, a partial), or None."""
    while isinstance(value, functools.partial):
        value = value.func
    return getattr(getattr(value, "__func__", value), "__code__", None)


def _named(code) -> str:
    return f"{Path(code.co_filename).name} {getattr(code, 'co_qualname', code.co_name)}"


def _foreign_code(thread: threading.Thread) -> str | None:
    """The first code of a plugin's or a script's that ``thread`` runs now, was started with or
    holds to call (a Timer's function, an argument), as ``file function``; None where there is
    none (a library's thread, an idle worker of an executor)."""
    frame = sys._current_frames().get(thread.ident) if hasattr(sys, "_current_frames") else None
    while frame is not None:
        if _foreign(frame.f_code.co_filename):
            return _named(frame.f_code)
        frame = frame.f_back
    held = [type(thread).run, *vars(thread).values(), *getattr(thread, "_args", ()),
            *getattr(thread, "_kwargs", {}).values()]
    codes = [_code(value) for value in held if callable(value)]
    return next((_named(code) for code in codes if code is not None and _foreign(code.co_filename)), None)


class Watch:
    """What a worker holds between cells, recorded when it is ready, compared after each cell."""

    def __init__(self):
        self.modules: dict[str, tuple[types.ModuleType, dict]] = {}
        self.threads: set = set()
        self.children: set[int] = set()
        self._known = 0  # how many modules were loaded when the watched ones were last looked for
        self._seen: set[int] | None = None  # the processes the last clean check found (before() reuses it)
        self._see_modules()

    def _names(self) -> list[str]:
        own = [n for n in sys.modules if n in OWN or n.startswith(tuple(f"{o}." for o in OWN))]
        return [*WATCHED, *own]

    def _see_modules(self) -> None:
        if len(sys.modules) == self._known:  # nothing imported since (looking costs ms among 10⁴ modules)
            return
        self._known = len(sys.modules)
        for name in self._names():
            if name not in self.modules:
                module = _loaded(name)
                if module is not None:
                    self.modules[name] = (module, _public(module))

    def before(self) -> None:
        """Just before a cell: the threads and child processes there are (the processes as the last
        cell's check found them, where there was one: reading /proc/<pid>/task/*/children costs a
        millisecond a cell in a worker of 20 threads, and nothing starts a process between cells)."""
        self.threads = set(threading.enumerate())
        seen, self._seen = self._seen, None
        if seen is None:
            seen = {pid for pid in descendants(os.getpid()) if _running(pid)}
        self.children = seen

    def after(self) -> list[str]:
        """Just after a cell: what it left behind, in words (none: [])."""
        found = []
        patched = self._patched()
        if patched:
            found.append(f"{_list(patched)} patched")
        new = [t for t in threading.enumerate() if t not in self.threads and t.is_alive()]
        threads = [f"{t.name}: {code}" for t, code in zip(new, map(_foreign_code, new)) if code]
        if threads:
            found.append(f"{_count(len(threads), 'thread')} running ({_list(threads)})")
        running = {pid for pid in descendants(os.getpid()) if _running(pid)}
        started = [pid for pid in running if pid not in self.children and not _library_process(pid)]
        if started:
            commands = sorted({_command(pid) for pid in started})
            found.append(f"{_count(len(started), 'child process', 'child processes')} running "
                         f"({_list(commands)})")
        self._see_modules()  # modules the cell imported: recorded as it leaves them
        self._seen = None if found else running  # a worker that found something is replaced anyway
        return found

    def _patched(self) -> list[str]:
        found = []
        for name, (module, public) in self.modules.items():
            if sys.modules.get(name, module) is not module:
                found.append(f"the module {name}")
                continue
            now = vars(module)
            found += [f"{name}.{attr}" for attr, value in public.items()
                      if attr not in now or now[attr] is not value and not _own_code(name, now[attr])]
        return found


def _loaded(name: str) -> types.ModuleType | None:
    """Module ``name`` if it is loaded (never importing it): from sys.modules, or as a module
    attribute of a loaded parent (TensorFlow's ``tensorflow.math``)."""
    if name in sys.modules:
        return sys.modules[name]
    parent, _, child = name.rpartition(".")
    if not parent:
        return None
    above = _loaded(parent)
    found = vars(above).get(child) if above is not None else None
    return found if isinstance(found, types.ModuleType) else None


@functools.cache
def _home(package: str) -> Path | None:
    """The folder of a loaded package's code (None for a module without one: math, builtins)."""
    where = getattr(sys.modules.get(package), "__file__", None)
    return Path(where).resolve().parent if where and Path(where).name == "__init__.py" else None


def _own_code(module: str, value) -> bool:
    """Whether ``value``, now at an attribute of ``module``, is a function of that package's own
    code: a library that wraps its own function on first use (importing ``torch._dynamo`` wraps
    ``torch.manual_seed``), not a cell's patch."""
    code = getattr(value, "__code__", None)
    home = _home(module.partition(".")[0])
    if code is None or home is None:
        return False
    return Path(code.co_filename).resolve().is_relative_to(home)


def _public(module: types.ModuleType) -> dict:
    return {k: v for k, v in list(vars(module).items()) if not k.startswith("_")}


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"a {one}" if n == 1 else f"{n} {many or one + 's'}"


def _list(items, most: int = 5) -> str:
    items = list(items)
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def note(found: list[str], who: str = "the cell") -> str:
    """A row's words for what its cell left behind."""
    return f"{who} left {'; '.join(found)}; its worker was replaced"
