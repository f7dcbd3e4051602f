"""A central difference whose file leaves a mark when it is imported: the file named by
``DIFFBENCH_TEST_MARKER`` (when set) gains a line per import, so that a test can tell whether a
process loaded this plugin."""

import os
from pathlib import Path

from harness.extend import Method, register_method
from harness.methods import finite_diff

marker = os.environ.get("DIFFBENCH_TEST_MARKER")
if marker:
    with Path(marker).open("a") as fh:
        fh.write(f"imported by process {os.getpid()}\n")

register_method(Method("marked", "numerical", lambda cell: finite_diff.prepare(cell, scheme="central"),
                       description="central difference, from a plugin that marks its imports"))
