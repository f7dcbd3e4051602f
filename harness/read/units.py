"""Figures as the pages and the terminal show them: times, numbers, bytes and shares, each written
one way everywhere (the report's filters, compare's table, history's steps, the findings'
sentences).  A missing figure (None, NaN) is the empty string."""

from __future__ import annotations

import math


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_time(seconds) -> str:
    """``1.23 ms``: three significant digits in s, ms, µs or ns."""
    if _missing(seconds):
        return ""
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_number(value, spec: str = ".1f") -> str:
    return "" if _missing(value) else format(value, spec)


def format_bytes(n) -> str:
    """``8 MB``: three significant digits in GB, MB, kB (powers of 2), or whole bytes."""
    if _missing(n):
        return ""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def format_percent(share) -> str:
    """``4.2 %`` below ten per cent, ``37 %`` above."""
    if _missing(share):
        return ""
    percent = 100 * share
    return f"{percent:.2g} %" if percent < 10 else f"{percent:.0f} %"
