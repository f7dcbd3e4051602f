"""How far a task's paired ratios move between identical runs: the stability a verdict needs.

    python benchmarks/stability.py OUT [--runs 3] [--burners 0] [--rounds N] [-- diffbench run options]

Runs ``diffbench run`` RUNS times back to back on the same commit (default selection: the field's
workloads where jax, torch, tensorflow and autograd compete: ``--cases gmm,lstm,mlp_loss,lse,llsq,ode
--methods jax,torch,tensorflow,autograd --dtypes float64``), each into OUT/run-<k>, with BURNERS
processes spinning on a core each beside them (a loaded machine).  Then, for every task and every
pair of its methods ok in every run, the paired ratio of each run (the median of the per-round
ratios, :func:`harness.stats.noise.paired_ratio`) and how far it moved: max over min across the runs.
Prints the median and largest movement, the share of pairs within 1.25× (and the same for jax/torch
alone), and the ten pairs that moved most; runs from before schema 7 (no rounds) count the ratio of
the two medians; writes every pair's row to OUT/stability.csv.  Exit status 0 always: this is a measurement,
not a test (the targets are judged by whoever reads it).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.stats.noise import paired_ratio  # noqa: E402
from harness.store.results import read  # noqa: E402
from harness.store.schema import TASK  # noqa: E402

SELECTION = ["--cases", "gmm,lstm,mlp_loss,lse,llsq,ode", "--methods", "jax,torch,tensorflow,autograd",
             "--dtypes", "float64"]


def _burn(_):  # a core kept busy: the load a shared machine has
    while True:
        pass


def run_all(out: Path, runs: int, burners: int, options: list[str]) -> list[Path]:
    pool = multiprocessing.Pool(burners) if burners else None
    if pool:
        pool.map_async(_burn, range(burners))
    folders = []
    try:
        for k in range(1, runs + 1):
            folder = out / f"run-{k}"
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "harness", "run", *(options or SELECTION), "--out",
                            str(folder), "--quiet", "--no-step-sweep"], check=True,
                           cwd=Path(__file__).resolve().parent.parent)
            print(f"run {k}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
            folders.append(folder)
    finally:
        if pool:
            pool.terminate()
    return folders


def pair_ratios(folder: Path) -> dict:
    """{(task, a, b): paired ratio a/b} over the ok cells of the run in ``folder``."""
    cells, _, _ = read([str(folder)])
    ok = cells[(cells["status"] == "ok") & cells["eval_s"].notna()]
    found = {}
    for task, group in ok.groupby(TASK, sort=True):
        rows = group.sort_values("method").to_dict("records")
        for a, b in itertools.combinations(rows, 2):
            if a["eval_round_ids"] is None or b["eval_round_ids"] is None:  # a run before schema 7
                found[(task, a["method"], b["method"])] = a["eval_s"] / b["eval_s"]
                continue
            r = paired_ratio(a["eval_samples_s"], b["eval_samples_s"],
                             a["eval_round_ids"], b["eval_round_ids"])
            if r is not None:
                found[(task, a["method"], b["method"])] = r.ratio
    return found


def movement(rows) -> str:
    """The median and largest of how far the ratios of ``rows`` moved, and the share within 1.25×."""
    moved = sorted(r[-1] for r in rows)
    if not moved:
        return "no pairs"
    half = len(moved) // 2
    median = moved[half] if len(moved) % 2 else math.sqrt(moved[half - 1] * moved[half])
    within = sum(m <= 1.25 for m in moved) / len(moved)
    return f"median {median:.3f}x, max {moved[-1]:.3f}x; {within:.0%} within 1.25x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--burners", type=int, default=0, help="processes spinning beside the runs")
    parser.add_argument("--reuse", action="store_true", help="read the runs already in OUT, run none")
    parser.add_argument("--rounds", type=int, help="diffbench run's --rounds (default: its own)")
    args, options = parser.parse_known_args()  # the rest: diffbench run options instead of the selection
    args.options = [o for o in options if o != "--"] + (["--rounds", str(args.rounds)] if args.rounds else [])
    if args.rounds and len(args.options) == 2:
        args.options = SELECTION + args.options
    folders = sorted(args.out.glob("run-*")) if args.reuse else run_all(args.out, args.runs, args.burners,
                                                                          args.options)
    ratios = [pair_ratios(f) for f in folders]
    shared = set.intersection(*(set(r) for r in ratios))
    rows = []
    for key in sorted(shared):
        values = [r[key] for r in ratios]
        rows.append((*key, values, max(values) / min(values)))
    if not rows:
        print("no pair of methods was ok in every run")
        return 0
    load = os.getloadavg()[0]
    print(f"{len(rows)} task-method pairs over {len(folders)} runs ({args.burners} burners, "
          f"load now {load:.1f}): paired ratio moved {movement(rows)}")
    jax_torch = [r for r in rows if {r[1], r[2]} == {"jax", "torch"}]
    if jax_torch:
        print(f"  jax/torch alone ({len(jax_torch)} tasks): {movement(jax_torch)}")
    for task, a, b, values, m in sorted(rows, key=lambda r: -r[-1])[:10]:
        size = f" {task[1]}" if task[1] else ""
        print(f"  {m:.3f}x  {task[0]}{size} {task[2]} {a}/{b}: " + ", ".join(f"{v:.3g}" for v in values))
    with open(args.out / "stability.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([*TASK, "a", "b", *(f"run{k + 1}" for k in range(len(folders))), "moved"])
        for task, a, b, values, m in rows:
            out.writerow([*task, a, b, *(f"{v:.6g}" for v in values), f"{m:.4f}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
