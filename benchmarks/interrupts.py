"""Stop runs at random moments and check that no finished cell is ever lost.

    python benchmarks/interrupts.py [--stops 10] [--kills 5] [--seed 0] [--work DIR]

1. An uninterrupted run of a ~30-cell selection with a slow cell (tests/plugins/sleepy.py) is the
   reference.
2. The same run, stopped ``--stops`` times by SIGINT and as many by SIGTERM at a uniformly random
   moment of its duration: each must exit 130 (or 0 where it finished first); every cell it
   logged as finished must be in its results file or its journal; ``--resume`` must then finish
   it to the reference's cells and statuses.
3. A run of a ≥ 200-cell selection is killed outright (SIGKILL) once its journal holds 200 cells;
   its ``--resume`` is killed ``--kills`` times at a random moment of its first 2 seconds (reading
   the journal and opening it again): the journal must still hold every one of those cells after
   each kill, and a last ``--resume`` must finish to the reference's cells.

Prints one line per trial and a summary; exit status 1 if any trial lost a cell.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.runner import journal  # noqa: E402
from harness.store.results import read  # noqa: E402
from harness.store.schema import JOURNAL_SUFFIX, KEY  # noqa: E402

SLEEPY = ROOT / "tests" / "plugins" / "sleepy.py"
SMALL = ["--plugin", str(SLEEPY), "--cases", "tanh,cubic,exp_sin", "--methods",
         "central,forward,backward,sleepy,dual,complex-step", "--orders", "1,2", "--dtypes", "float64",
         "--sizes", "quick", "--no-step-sweep"]
LARGE = ["--cases", "tanh,cubic,exp_sin,softplus,abs,square,nested_polynomial,sin_square,logistic_map",
         "--methods",
         "central,forward,backward,central4,dual,complex-step,richardson", "--orders", "1,2,3,4",
         "--dtypes", "float64,float32", "--sizes", "quick", "--no-step-sweep"]
ENV = {**os.environ, "DIFFBENCH_TEST_SLEEP": "0.3", "CI": "true"}


def diffbench(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness", "run", *map(str, args)], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def cells_of(folder: Path) -> set:
    """(key, status) of every cell the run's results file or journal holds (the journal wins)."""
    found = {}
    results = [p for p in folder.glob("*.parquet") if p.name.count(".") == 1]
    if results:
        cells = read(results)[0]
        rows = cells[KEY + ["status"]].itertuples(index=False)
        found.update({tuple(map(str, k[:-1])): k[-1] for k in rows})
    for log in folder.glob(f"*{JOURNAL_SUFFIX}"):
        found.update({tuple(map(str, r.key)): r.status for r in journal.read(log)[1]})
    return found


def logged_keys(lines: list[str]) -> int:
    return sum(line.startswith("[") for line in lines)


def reference(work: Path, selection: list[str]) -> dict:
    proc = diffbench(*selection, "--out", work)
    started = time.perf_counter()
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    return {"cells": cells_of(work), "seconds": time.perf_counter() - started}


def stop_trials(work: Path, ref: dict, n: int, rng: random.Random) -> list[str]:
    problems = []
    for i, sig in enumerate([signal.SIGINT] * n + [signal.SIGTERM] * n):
        folder = work / f"stop-{i:02d}"
        proc = diffbench(*SMALL, "--out", folder, "--log")
        lines: list[str] = []
        reader = threading.Thread(target=lambda p=proc, seen=lines: seen.extend(p.stderr), daemon=True)
        reader.start()
        at = rng.uniform(0.2, 0.9 * ref["seconds"])  # a moment of the run, its start included
        time.sleep(at)
        proc.send_signal(sig)
        proc.wait(timeout=300)
        reader.join(timeout=30)
        finished = logged_keys(lines)
        kept = cells_of(folder)
        ok = proc.returncode in (0, 130) and len(kept) >= finished and "Traceback" not in "".join(lines)
        resumed = "finished first" if proc.returncode == 0 else ""
        if proc.returncode == 130:
            source = next(folder.glob(f"*{JOURNAL_SUFFIX}"), None) or next(
                p for p in folder.glob("*.parquet") if p.name.count(".") == 1)
            again = diffbench("--resume", source, "--plugin", SLEEPY)  # a plugin is never loaded unasked
            _, err = again.communicate(timeout=600)
            ok &= again.returncode == 0 and cells_of(folder) == ref["cells"]
            resumed = f"resumed to {len(cells_of(folder))} cells (rc {again.returncode})"
        line = (f"{signal.Signals(sig).name:<8} at {at:5.1f} s: exit {proc.returncode}, "
                f"{finished:2d} logged, {len(kept):2d} kept; {resumed}")
        print(("ok    " if ok else "LOST  ") + line, flush=True)
        if not ok:
            problems.append(line + "\n" + "".join(lines[-5:]))
    return problems


def kill_trials(work: Path, ref: dict, n: int, rng: random.Random) -> list[str]:
    folder = work / "killed"
    proc = diffbench(*LARGE, "--out", folder, "--log", start_new_session=True)
    finished = 0
    for line in proc.stderr:
        finished += line.startswith("[")
        if finished >= 200:  # of 252: a resume has 52 to measure
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    (log,) = folder.glob(f"*{JOURNAL_SUFFIX}")
    held = cells_of(folder)
    print(f"journal of {len(held)} cells after a SIGKILL at {finished} logged", flush=True)
    problems = []
    if len(held) < 200:
        problems.append(f"the killed run's journal holds {len(held)} cells, fewer than the 200 logged")
    for i in range(n):
        again = diffbench("--resume", log, start_new_session=True)
        at = rng.uniform(0.0, 2.0)
        time.sleep(at)
        os.killpg(again.pid, signal.SIGKILL)
        again.wait()
        now = cells_of(folder)
        ok = all(now.get(k) == v for k, v in held.items())
        print(("ok    " if ok else "LOST  ") + f"kill {i + 1} of --resume at {at:4.2f} s: the journal holds "
              f"{len(now)} cells, {sum(k in now for k in held)} of the {len(held)} before", flush=True)
        if not ok:
            problems.append(f"kill {i + 1} at {at:.2f} s lost cells")
        held = now
    status, err = "finished by a resume before its kill", ""
    if log.exists():  # else a resume finished before its kill came, and removed it
        last = diffbench("--resume", log)
        err = last.communicate(timeout=900)[1]
        status = f"exit {last.returncode}" + ("" if last.returncode == 0 else f" ({err.strip()[-200:]})")
    ok = not log.exists() and cells_of(folder) == ref["cells"]
    print(("ok    " if ok else "LOST  ") + f"--resume: {status}; {len(cells_of(folder))} cells, as the "
          f"uninterrupted run's {len(ref['cells'])}", flush=True)
    if not ok:
        problems.append("the last resume did not finish to the reference's cells: " + err[-500:])
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stops", type=int, default=10, help="SIGINTs, and as many SIGTERMs")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs during --resume's start")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="folder for the runs (default: a temporary one)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = args.work or Path(tempfile.mkdtemp(prefix="diffbench-interrupts-"))
    small = reference(work / "reference-small", SMALL)
    print(f"reference: {len(small['cells'])} cells in {small['seconds']:.1f} s", flush=True)
    problems = stop_trials(work, small, args.stops, rng) if args.stops else []
    if args.kills:
        large = reference(work / "reference-large", LARGE)
        print(f"reference: {len(large['cells'])} cells in {large['seconds']:.1f} s", flush=True)
        problems += kill_trials(work, large, args.kills, rng)
    print(f"{len(problems)} trial(s) lost cells" if problems else "no finished cell was lost")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
