"""Methods that misbehave without crashing: they exit, interrupt, print, or write into their input.

A harness must tell each truthfully: the cell ``failed`` with what was raised (not a timeout),
the run goes on, and nothing they print reaches diffbench's own output.
"""

import ctypes
import os
import sys

from harness.extend import Evaluator, Method, register_method
from harness.methods import finite_diff

MB = 2**20


def _central(cell):
    return finite_diff.prepare(cell, scheme="central").call


def _raising(exc):
    def prepare(cell):
        def call(x):
            print("about to give up", flush=True)  # the failed cell's message ends with this
            raise exc

        return Evaluator(call=call)

    return prepare


def chatty(cell):
    """A correct derivative that prints 10 MB to stdout and to stderr, from Python and natively."""
    d = _central(cell)
    libc = ctypes.CDLL(None)
    line = b"chatter " * 127 + b"\n"  # 1 KiB a line

    def call(x):
        sys.stdout.write(line.decode() * (5 * MB // len(line)))
        sys.stderr.write(line.decode() * (5 * MB // len(line)))
        os.write(1, line * (5 * MB // len(line)))  # native writes, past Python's streams
        os.write(2, line * (5 * MB // len(line)))
        libc.puts(b"from C's stdio")
        return d(x)

    return Evaluator(call=call)


def mutates(cell):
    """A correct derivative that scribbles over its input as it goes."""
    d = _central(cell)

    def call(x):
        result = d(x)
        x[:3] += 1.0
        return result

    return Evaluator(call=call)


def stops(cell):
    def call(x):
        raise StopIteration("no more")

    return Evaluator(call=call)


register_method(Method("exits", "numerical", _raising(SystemExit(3)), dtypes=("float64",)))
register_method(Method("interrupts", "numerical", _raising(KeyboardInterrupt()), dtypes=("float64",)))
register_method(Method("generator-exit", "numerical", _raising(GeneratorExit("closed")), dtypes=("float64",)))
register_method(Method("stops", "numerical", stops, dtypes=("float64",)))
register_method(Method("chatty", "numerical", chatty, dtypes=("float64",)))
register_method(Method("mutates", "numerical", mutates, dtypes=("float64",)))
