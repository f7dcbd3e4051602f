"""Output of the code under test kept off diffbench's own.

A method, or a library it loads, may write to stdout or stderr from Python or from native
code (TensorFlow's and XLA's C++ logs).  diffbench's stdout carries only the paths of what it
wrote and its stderr only its own lines, so a cell's file descriptors 1 and 2 — and Python's
``sys.stdout`` and ``sys.stderr`` — point into a file of the run's while the cell runs.  The
file is emptied before each cell; the last lines of a failed or crashed cell's output are
attached to its message.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import io
import os
import sys
import tempfile
from pathlib import Path

TAIL_LINES = 5  # lines of a failed cell's output attached to its message
TAIL_BYTES = 16384
LINE_CHARS = 200


@functools.cache
def _libc():
    return ctypes.CDLL(None)


def _flush() -> None:
    """Push out what Python and C's stdio still buffer, so that it lands where it was written."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):
        _libc().fflush(None)


@contextlib.contextmanager
def _redirected(fd: int):
    """File descriptors 1 and 2, and sys.stdout/sys.stderr, onto ``fd`` for the body."""
    _flush()
    saved = (os.dup(1), os.dup(2))
    streams = (sys.stdout, sys.stderr)
    text = io.TextIOWrapper(io.FileIO(os.dup(fd), "w"), encoding="utf-8", errors="replace",
                            write_through=True)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = sys.stderr = text
        yield
    finally:
        _flush()
        sys.stdout, sys.stderr = streams
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for descriptor in saved:
            os.close(descriptor)
        text.close()


@contextlib.contextmanager
def quiet():
    """Whatever the body prints (Python or native) is dropped."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        with _redirected(null):
            yield
    finally:
        os.close(null)


def anonymous_file() -> int:
    """A descriptor of a file with no name (O_APPEND): nothing is left in the temporary folder
    however its process ends, even killed outright."""
    handle, path = tempfile.mkstemp(prefix="diffbench-output-", suffix=".log")
    os.unlink(path)
    fcntl.fcntl(handle, fcntl.F_SETFL, fcntl.fcntl(handle, fcntl.F_GETFL) | os.O_APPEND)
    return handle


def tail_of(source, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` non-empty lines of a file (a path, or an open descriptor), each cut to
    LINE_CHARS, or "".  A native crash's dump (faulthandler's, most recent call first) gives its
    error and innermost frames."""
    try:
        if isinstance(source, int):
            size = os.fstat(source).st_size
            start = max(0, size - TAIL_BYTES)
            text = os.pread(source, size - start, start).decode("utf-8", errors="replace")
        else:
            with open(source, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - TAIL_BYTES))
                text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.rstrip()[:LINE_CHARS] for line in text.splitlines() if line.strip()]
    fatal = [i for i, line in enumerate(kept) if line.startswith("Fatal Python error")]
    if fatal:
        frames = [line for line in kept[fatal[-1] + 1:] if line.lstrip().startswith("File ")]
        return "\n".join([kept[fatal[-1]], *frames[: lines - 1]])
    return "\n".join(kept[-lines:])


class Capture:
    """A file that the output of cells goes into (one per worker process, or per run)."""

    def __init__(self, path: str | os.PathLike | None = None, fd: int | None = None):
        """The file at ``path``, or the open descriptor ``fd`` (a worker's, from its parent), else
        a file with no name (:func:`anonymous_file`)."""
        self.path = Path(path) if path is not None else None
        if fd is not None:
            self.fd = fd
        elif self.path is not None:
            # O_APPEND: after the file is emptied, every writer (whatever its offset) writes at its end
            self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        else:
            self.fd = anonymous_file()
        self.forever = False

    def redirect_forever(self) -> None:
        """This process's fds 1 and 2 go into the file from now on (a worker: its start-up and
        shutdown chatter too, and a crash's last words)."""
        _flush()
        os.dup2(self.fd, 1)
        os.dup2(self.fd, 2)
        self.forever = True

    @contextlib.contextmanager
    def cell(self):
        """One cell's output, in the emptied file."""
        _flush()
        os.ftruncate(self.fd, 0)
        if self.forever:
            yield
            _flush()
        else:
            with _redirected(self.fd):
                yield

    def tail(self, lines: int = TAIL_LINES) -> str:
        _flush()
        return tail_of(self.fd, lines)

    def close(self) -> None:
        os.close(self.fd)
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def with_output(message: str, output: str) -> str:
    """A cell's message with the last lines its code printed, if any."""
    return f"{message}\n[last output]\n{output}" if output else message
