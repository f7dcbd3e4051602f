"""Inputs in gradbench's format: the ``input`` object of an evaluate message (gradbench's
``{"kind": "evaluate", "module": ..., "function": ..., "input": {...}}``), or that object alone.

``diffbench run --input FILE`` measures a workload on such a file rather than on its generated
inputs, so that the same input can be measured by both suites.  The file travels as the case's
size (``input=FILE``): a worker process rebuilds the case from it as from any size.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import UsageError


def read(path) -> tuple[str | None, dict]:
    """(the message's module or None, the input object) of a gradbench-format JSON file."""
    path = Path(path)
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"--input {path}: not a readable JSON file ({exc})") from None
    if isinstance(found, dict) and isinstance(found.get("input"), dict):
        return found.get("module"), found["input"]
    if isinstance(found, dict):
        return None, found
    raise UsageError(f"--input {path}: expected a JSON object (an evaluate message or its input)")


def fields(path, data: dict, names: tuple[str, ...]) -> dict:
    """The named fields of an input object, or a one-line UsageError naming what is missing."""
    missing = [n for n in names if n not in data]
    if missing:
        raise UsageError(f"--input {path}: missing field(s) {', '.join(missing)}")
    return {n: data[n] for n in names}
