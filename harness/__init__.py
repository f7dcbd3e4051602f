"""diffbench's engine: compare ways of differentiating functions in Python.

``import harness`` needs only NumPy; every backend is imported by the method that uses it.
A run flows one way: :mod:`harness.runner.plan` turns a selection into cells,
:mod:`harness.runner.loop` measures them (each with :mod:`harness.measure.pipeline`, in a worker process of
:mod:`harness.runner.pool` or here) and :mod:`harness.store.results` writes them; reports and
comparisons read only those files.  Extending: see :mod:`harness.extend`.

The folders are the layers, each importing only those below it (``nox -s lint`` checks it):
:mod:`harness.cli` → :mod:`harness.api` → :mod:`harness.runner` | :mod:`harness.read` →
:mod:`harness.measure` → :mod:`harness.truth` | :mod:`harness.methods` | ``cases`` →
:mod:`harness.model` → :mod:`harness.host` → :mod:`harness.store` | :mod:`harness.stats`.
This module only re-exports.
"""

from __future__ import annotations

from harness.api import run
from harness.errors import UsageError

__version__ = "0.1.0"
__all__ = ["UsageError", "run"]
