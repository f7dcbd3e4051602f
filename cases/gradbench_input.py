"""Inputs in gradbench's format: the ``input`` object of an evaluate message (gradbench's
``{"kind": "evaluate", "module": ..., "function": ..., "input": {...}}``), or that object alone.

``diffbench run --input FILE`` measures a workload on such a file rather than on its generated
inputs, so that the same input can be measured by both suites.  The file travels as the case's
size (``input=FILE``): a worker process rebuilds the case from it as from any size.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from harness.errors import UsageError

# The largest size (d, k, n, …) an input may declare: far beyond gradbench's (n ≤ 10⁴, d ≤ 128,
# k ≤ 200); a size beyond it is a mistake, refused before anything is allocated for it
MAX_SIZE = 10**7


class _NotFinite(ValueError):
    """A number JSON does not have: NaN, Infinity, or a float beyond a double's range."""


def _refuse_constant(name: str):
    raise _NotFinite(f"{name} is not a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(f"{text} is beyond a double's range")
    return value


def read(path) -> tuple[str | None, dict]:
    """(the message's module or None, the input object) of a gradbench-format JSON file.

    Numbers must be finite: Python's json takes NaN and Infinity (and 1e400 as infinity), JSON
    does not."""
    path = Path(path)
    try:
        found = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant,
                           parse_float=_finite_float)
    except _NotFinite as exc:
        raise UsageError(f"--input {path}: {exc} (a gradbench input holds finite numbers only)") from None
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: not UTF-8, or not JSON
        raise UsageError(f"--input {path}: not a readable JSON file ({_one_line(exc)})") from None
    if not isinstance(found, dict):
        raise UsageError(f"--input {path}: expected a JSON object (an evaluate message or its input)")
    module = found.get("module") if isinstance(found.get("input"), dict) else None
    if module is not None and not isinstance(module, str):
        raise UsageError(f"--input {path}: the message's module is {_describe(module)}, not a name")
    return (module, found["input"]) if isinstance(found.get("input"), dict) else (None, found)


def fields(path, data: dict, names: tuple[str, ...]) -> dict:
    """The named fields of an input object, or a one-line UsageError naming what is missing."""
    missing = [n for n in names if n not in data]
    if missing:
        raise UsageError(f"--input {path}: missing field(s) {', '.join(missing)}")
    return {n: data[n] for n in names}


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _describe(value) -> str:
    """A field's value as a message shows it: a number or short text as it is, else its kind."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        text = repr(value)
        return text if len(text) <= 24 else f"a {len(str(abs(value)))}-digit number"
    if isinstance(value, str):
        text = _one_line(json.dumps(value))
        return f"the text {text if len(text) <= 24 else text[:23] + '…'}"
    return "an array" if isinstance(value, list) else "an object"


def integer(path, name: str, value, minimum: int = 1, maximum: int = MAX_SIZE) -> int:
    """A size field: a JSON integer (not 2.7, true or "3") from ``minimum`` to ``maximum``."""
    if type(value) is not int or not minimum <= value <= maximum:
        what = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise UsageError(f"--input {path}: field {name} is {_describe(value)}, expected {what} "
                         f"(at most {maximum})")
    return value


def number(path, name: str, value, positive: bool = False) -> float:
    """A scalar field: a finite JSON number (``positive``: above 0)."""
    try:
        ok = type(value) in (int, float) and math.isfinite(value) and (value > 0 or not positive)
    except OverflowError:  # an integer beyond a double's range
        ok = False
    if not ok:
        raise UsageError(f"--input {path}: field {name} is {_describe(value)}, expected a "
                         f"{'positive ' if positive else ''}finite number")
    return float(value)


def _shape_text(dims) -> str:
    return "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"


def _layout(value) -> tuple[tuple | None, list | str]:
    """(shape, the numbers in row-major order) of nested JSON arrays of numbers, or (None, what is
    wrong with them): arrays of unequal length, or something that is not a number in them."""
    shape, level = [], [value]
    while True:
        arrays = [type(v) is list for v in level]
        if all(arrays):
            lengths = {len(v) for v in level}
            if len(lengths) > 1:
                some = ", ".join(map(str, sorted(lengths)[:3]))
                return None, f"ragged (arrays of lengths {some} side by side)"
            shape.append(lengths.pop())
            level = [x for v in level for x in v]
            if not level:
                return tuple(shape), []
        elif any(arrays):
            return None, "ragged (numbers beside arrays)"
        else:
            strange = next((v for v in level if type(v) not in (int, float)), level)
            if strange is not level:
                return None, f"not an array of numbers (it holds {_describe(strange)})"
            return tuple(shape), level


def array(path, name: str, value, shape: tuple, names: tuple) -> np.ndarray:
    """An array field: nested JSON arrays of finite numbers, of exactly ``shape`` (an entry None:
    any length there), named ``names`` in messages (e.g. ``("n", "d")``), as float64."""
    expected = (f"{_shape_text(names)} = "
                f"{_shape_text([n if s is None else s for s, n in zip(shape, names)])}")
    found, numbers = _layout(value)
    if found is None:
        raise UsageError(f"--input {path}: field {name} is {numbers}, expected shape {expected}")
    if len(found) != len(shape) or any(s is not None and s != f for s, f in zip(shape, found)):
        raise UsageError(f"--input {path}: field {name} has shape {_shape_text(found)}, expected {expected}")
    try:
        out = np.array(numbers, dtype=np.float64).reshape(found)
    except OverflowError:  # an integer beyond a double's range
        out = np.array([math.inf])
    if not np.isfinite(out).all():
        raise UsageError(f"--input {path}: field {name} holds a number beyond a double's range")
    return out
