"""Strings from results files and plugins, made safe to print on a terminal.

A case's or method's name, a cell's message (an exception's text, what a method printed), a
results file's metadata edited by hand: any of them may hold escape sequences that clear the
screen, move the cursor or recolour what follows, a carriage return that overwrites the line,
a bell.  Every terminal line diffbench prints from such strings goes through :func:`printable`
(the HTML pages escape them instead: :mod:`harness.read.report`).  Imports nothing of diffbench's.
"""

from __future__ import annotations

import re

# ESC sequences (ECMA-48): CSI (ESC [ … final byte), OSC (ESC ] … BEL or ST), the string
# commands DCS, SOS, PM and APC (ESC P/X/^/_ … ST), and the two-byte escapes (ESC and one byte)
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?"
                     r"|[ -/]*[0-~]?)")
# what is left of the control characters (C0, DEL, C1) and the invisible direction overrides
# that reorder what a terminal shows (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAK = re.compile("[\t\n\r\u2028\u2029]+")  # one line: a line break or tab becomes a space


def shown(value, width: int = 40) -> str:
    """``repr(value)`` on one line, cut to ``width`` characters: a bad value named in an error."""
    text = " ".join(repr(value).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def printable(value) -> str:
    """``value`` as one line of plain text: escape sequences and control characters removed, line
    breaks and tabs turned into spaces."""
    return _CONTROL.sub("", _BREAK.sub(" ", _ESCAPE.sub("", str(value))))
