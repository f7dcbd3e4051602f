"""Every file diffbench writes appears whole or not at all.

Each output (a results file, a companion, a journal's first form, a page) is written to a
temporary file beside its place and renamed onto it once complete: a full disk, a kill or an
error halfway leaves the old file as it was, and no truncated one.  Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from harness.errors import UsageError


@contextlib.contextmanager
def replacing(path, what: str = "file") -> Iterator[Path]:
    """A temporary path beside ``path`` for the body to write; renamed onto ``path`` when the body
    ends, removed when it fails.  A write that fails (no space left, no permission) is a one-line
    UsageError naming ``path``."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(3)}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as exc:
        raise UsageError(f"cannot write the {what} {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def write_text(path, text: str, what: str = "file") -> Path:
    """``text`` as ``path``'s whole content (UTF-8), replacing it atomically."""
    with replacing(path, what) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def check_writable(folder, what: str) -> None:
    """A one-line UsageError now, rather than after the work, where ``folder`` cannot take a file."""
    import tempfile

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # a file of its own: runs started together from one folder (an array job's) never collide
        handle, name = tempfile.mkstemp(prefix=".diffbench-write-check-", dir=folder)
        os.close(handle)
        os.unlink(name)
    except OSError as exc:
        why = f"{folder} is not a folder" if isinstance(exc, FileExistsError) else exc.strerror
        raise UsageError(f"cannot write the {what} into {folder}: {why}") from exc
