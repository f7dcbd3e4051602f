"""What ``diffbench run`` shows while it measures, and the one-screen summary at the end.

On a terminal: a progress bar (cells done / total, the current cell, elapsed and
estimated time left; rich's), with each failed or timed-out cell printed above
it.  Anywhere else (a pipe, a log file, ``CI=true``) nothing per cell: a
scheduled job's log holds the summary only, unless one line per cell is asked
for (``diffbench run --log``).
"""

from __future__ import annotations

import contextlib
import io
import os

from harness.store.text import printable

SLOWEST_SHOWN = 5


def interactive(stream) -> bool:
    """A terminal a person watches: not CI (``CI`` set to anything but false/0/empty)."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    isatty = getattr(stream, "isatty", None)
    return bool(stream is not None and not ci and isatty is not None and isatty())


def cell_name(row: dict) -> str:
    """A cell as one plain line: its names (a plugin's, an ``--input`` file's path) without the
    escape sequences and control characters they may hold (:func:`harness.store.text.printable`)."""
    case = f"{row['case']}[{row['size']}]" if row.get("size") else row["case"]
    what = f"{case}/{row['method']}/{row['dtype']}/{row['device']} {row['quantity']}"
    return printable(what + (f" {row['order']}" if row["quantity"] == "derivative" else ""))


def first_line(message) -> str:
    """A message's first line (a failed cell's message may end with the output it printed), plain."""
    return printable(str(message or "").split("\n", 1)[0])


def line(i: int, n: int, row: dict) -> str:
    """One cell's log line: ``[  3/120] tanh[grid=100]/jax/float64/cpu derivative 1  ok ...``."""
    if row["status"] == "ok":
        timed = f"{row['eval_s'] * 1e6:10.1f} µs" if row.get("eval_s") is not None else f"{'untimed':>13}"
        result = f"ok  {row['digits']:5.1f} digits  {timed}"
    else:
        result = f"{row['status']}: {first_line(row['message'])[:80]}"
    return f"[{i:>{len(str(n))}}/{n}] {cell_name(row):<45} {result}"


@contextlib.contextmanager
def bar(stream, total: int, lines: bool = False):
    """A callable ``done(row)`` (a :class:`~harness.store.schema.CellRow`) to call after each cell:
    with ``lines``, one log line per cell; else a bar on a terminal, and silence anywhere else."""
    if lines and stream is not None:
        count = iter(range(1, total + 1))
        yield lambda row: print(line(next(count), total, row.to_dict()), file=stream, flush=True)
        return
    if not interactive(stream):
        yield lambda row: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("left"),
               TimeRemainingColumn(), TextColumn("{task.description}", markup=False))  # a name's [ ] as typed
    with _own_copy(stream) as terminal, Progress(*columns, console=Console(file=terminal),
                                                 transient=True) as progress:
        task = progress.add_task("", total=total)

        def done(cell_row) -> None:
            row = cell_row.to_dict()
            if row["status"] in ("failed", "timeout", "crashed"):
                text = f"{row['status']}: {cell_name(row)}: {first_line(row['message'])[:120]}"
                progress.console.print(text, markup=False, highlight=False)
            progress.update(task, advance=1, description=cell_name(row))

        yield done


@contextlib.contextmanager
def _own_copy(stream):
    """A stream on a copy of ``stream``'s descriptor: the bar keeps drawing on the terminal while
    a cell measured in this process has file descriptors 1 and 2 redirected (harness.host.capture)."""
    try:
        fd = os.dup(stream.fileno())
    except (AttributeError, OSError, io.UnsupportedOperation):  # not backed by a descriptor
        yield stream
        return
    own = io.TextIOWrapper(io.FileIO(fd, "w"), encoding="utf-8", line_buffering=True)
    try:
        yield own
    finally:
        own.close()


def summary(cells, elapsed_s: float, paths=()) -> str:
    """Counts by status, the slowest cells, the workers' starts and where the files are."""
    import pandas as pd

    meta = getattr(cells, "attrs", {}).get("meta")
    cells = pd.DataFrame(cells.to_dict("list"))  # without harness.run's attrs (DataFrames)
    counts = cells["status"].value_counts()
    lines = [f"{len(cells)} cells in {elapsed_s / 60:.1f} min: "
             + ", ".join(f"{n} {printable(s)}" for s, n in counts.items())]
    slow = cells.dropna(subset=["cell_s"]).nlargest(SLOWEST_SHOWN, "cell_s")
    if len(slow):
        lines.append("slowest cells:")
        lines += [f"  {r['cell_s']:7.1f} s  {cell_name(r)}  ({printable(r['status'])})"
                  for r in slow.to_dict("records")]
    starts = meta.worker_starts_s if meta is not None else {}
    if starts:  # the workers' starts, with their backends' imports: in no cell's time
        slowest = sorted(starts.items(), key=lambda kv: -max(kv[1]))
        lines.append("worker starts, imports included (in no cell's time): " + ", ".join(
            f"{printable(backend)} {max(s):.1f} s" + (f" (×{len(s)})" if len(s) > 1 else "")
            for backend, s in slowest))
    if meta is not None and meta.reference_s is not None and "reference_cached" in cells:
        cached = int((cells["reference_cached"] == True).sum())  # noqa: E712 (a column with gaps)
        graded = int(cells["reference_cached"].notna().sum())
        lines.append(f"references: {meta.reference_s:.1f} s ({cached} of {graded} cells' from the cache)")
    lines += [f"{what}: {printable(path)}" for what, path in paths]
    return "\n".join(lines)
