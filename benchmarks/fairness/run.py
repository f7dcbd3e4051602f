"""Whether diffbench's one-objective-for-every-backend formulation handicaps JAX or PyTorch.

    python benchmarks/fairness/run.py [--cases gmm,lstm] [--out FILE] [--rounds 25] [--min-batch-ms 10]
                                      [--clock cpu|wall]

For every field workload (gmm, lstm, ode, kmeans, lse, llsq, det, ba, mlp_loss) at each of its
default sizes, diffbench's own ``jax`` and ``torch`` cell evaluators (the case's ``fn(xp, θ)``
differentiated by the method, prepared and called as ``harness.measure.pipeline`` does) are timed
against an idiomatic JAX (``with_jax.py``: ``jax.jit(jax.grad(f))``) and PyTorch (``with_torch.py``:
``backward()``) implementation of the same objective, written as a user of the library would.

First every implementation is checked: its f(θ) against the case's own objective (NumPy) and its
gradient (ba: sparse Jacobian) against diffbench's, to ``RTOL`` relative to the largest entry, in
float64; a mismatch stops the run.  Then, in one process on one thread, the four callables are
timed interleaved: after warm-up (jit compiling) and calibration (calls per batch for a batch of
≥ ``--min-batch-ms``), each round times one batch of each in a shuffled order, with the garbage
collector off inside a batch, by the process's CPU time (``--clock wall``: wall time); results
are synchronised inside the clock (``block_until_ready``; PyTorch on the CPU is synchronous).
The figure per workload × size × library is the median over rounds of the per-round ratio
diffbench / idiomatic, with the median's order-statistic interval (``harness.stats.noise``); a
ratio above ``TARGET`` is flagged.  Both sides compute at the one point
θ = ``case.points()[0]`` (a run of diffbench grades small cases at a few more points).

Where the method declares diffbench's cell unsupported (``ba`` in ``torch``: a dense Jacobian only;
``det`` at ℓ = 6 in ``jax``: a trace too long to compile) the row says so; the idiomatic version is
still checked (against the other library's cell) unless it too would compile that trace.  The first
rows, ``sum_squares``, time the call path alone: Σx² at n = 10, as one θ and as two parameter blocks
(gmm, lstm and kmeans declare blocks), what a small workload's ratio carries whatever its formulation.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from harness.host import threads  # noqa: E402

threads.apply(1)  # before JAX and PyTorch load: every library on one thread, pinned to one core

import inputs  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse  # noqa: E402

from harness.errors import UsageError  # noqa: E402
from harness.model.method import Cell  # noqa: E402
from harness.model.namespaces import namespace  # noqa: E402
from harness.model.registry import CASES, METHODS  # noqa: E402
from harness.stats import noise  # noqa: E402
from harness.store import atomic  # noqa: E402

WORKLOADS = ("gmm", "lstm", "ode", "kmeans", "lse", "llsq", "det", "ba", "mlp_loss")
LIBRARIES = ("jax", "torch")
RTOL = 1e-10  # agreement of values and derivatives, relative to the largest entry
TARGET = 1.25  # diffbench's cell within this factor of the idiomatic implementation
ROUNDS = 25
MIN_BATCH_S = 0.010
WARMUP_CALLS = 3
# what a batch is timed by: the process's CPU time (every thread of it: JAX's runtime dispatches work to
# threads of its own) counts the work of the call, not the moments the machine gave to something else,
# which on a shared machine moved a ratio of two unchanged callables by 1.1–1.4× between runs; or wall time
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


class Mismatch(RuntimeError):
    """An implementation disagrees with the case: no timing of it would mean anything."""


def _deviation(found, expected) -> float:
    """max |found − expected| over max |expected| (sparse matrices entry by entry); 0 where both are 0."""
    if scipy.sparse.issparse(expected) or scipy.sparse.issparse(found):
        diff = scipy.sparse.csr_matrix(found) - scipy.sparse.csr_matrix(expected)
        worst = float(np.max(np.abs(diff.data), initial=0.0))
        scale = float(np.max(np.abs(scipy.sparse.csr_matrix(expected).data), initial=0.0))
    else:
        found, expected = np.asarray(found, dtype=float), np.asarray(expected, dtype=float)
        if found.shape != expected.shape:
            return math.inf
        worst = float(np.max(np.abs(found - expected), initial=0.0))
        scale = float(np.max(np.abs(expected), initial=0.0))
    if worst == 0.0:
        return 0.0
    return worst / scale if scale > 0 else math.inf


def _check(what: str, found, expected) -> float:
    deviation = _deviation(found, expected)
    if not deviation <= RTOL:
        raise Mismatch(f"{what}: off by {deviation:.3g} relative to the largest entry (allowed {RTOL:g})")
    return deviation


def diffbench_cell(library: str, cell: Cell, theta: np.ndarray):
    """diffbench's evaluator for ``cell`` as the pipeline readies it (prepare, to_device, compile, first
    call): (timed call, its result as NumPy or scipy.sparse), or (None, why) where the method declares
    the cell unsupported."""
    method = METHODS.get(library)
    reason = method.unsupported_reason(cell)
    if reason:
        return None, reason
    evaluator = method.prepare(cell)
    xd = evaluator.to_device(theta[None, :].astype(cell.dtype))
    if evaluator.compile is not None:
        evaluator.compile(xd)
    out = evaluator.to_numpy(evaluator.call(xd))
    return (lambda: evaluator.call(xd)), (out if scipy.sparse.issparse(out) else np.asarray(out)[0])


def idiomatic(library: str, name: str, data: dict, theta: np.ndarray):
    """(timed call, f(θ), derivative) of the idiomatic implementation; ``ba``'s derivative is its
    scipy.sparse CSR Jacobian, built from the non-zeros inside the call (as diffbench's is)."""
    if library == "jax":
        import jax.numpy as jnp
        import with_jax

        objective, derivative = with_jax.make(name, data)
        x = jnp.asarray(theta)

        def raw():
            return np.asarray(derivative(x).block_until_ready())

        value = np.asarray(objective(x))
    else:
        import torch
        import with_torch

        objective, derivative = with_torch.make(name, data)
        x = torch.as_tensor(theta, dtype=torch.float64)

        def raw():
            return derivative(x).numpy()

        with torch.no_grad():
            value = objective(x).numpy()
    call = raw
    if name == "ba":
        pattern = inputs.ba_pattern(data["n"], data["m"], data["p"])

        def call():
            return scipy.sparse.csr_matrix((raw(), pattern["indices"], pattern["indptr"]),
                                           shape=pattern["shape"])

    return call, value, call()


def overhead_cases() -> list:
    """The call path alone: Σx² at n = 10, as one θ and as two parameter blocks (gmm, lstm and kmeans
    declare blocks: the ``torch`` method then differentiates one leaf tensor per block)."""
    from harness.model.case import Case

    common = dict(formula="Σ x²", domain=(0.0, 1.0), grid=0, seed_points=(tuple(np.linspace(0.1, 1, 10)),),
                  dim=10, quantities=("gradient",))
    plain = Case("sum_squares", lambda xp, x: xp.sum(x * x, axis=-1), size=(("n", 10),), **common)
    blocks = Case("sum_squares", plain.fn, size=(("n", 10), ("blocks", 2)),
                  parameters=(("a", (5,)), ("b", (5,))), **common)
    return [plain, blocks]


def prepare(name: str, size: dict, libraries, case=None) -> dict:
    """One workload at one size (or ``case`` itself): every implementation built, checked, and its
    timed call."""
    case = CASES.get(name).at(size) if case is None else case
    quantity = "jacobian" if name == "ba" else "gradient"
    cell = Cell(case, 1, "float64", "cpu", quantity)
    theta = case.points()[0]
    data = inputs.data(name, size)
    where = f"{name} {case.size_label}"
    f_case = np.asarray(case.fn(namespace("numpy"), theta[None, :]))[0]
    calls, skipped, worst = {}, {}, 0.0
    ours = {}
    for library in libraries:
        call, found = diffbench_cell(library, cell, theta)
        if call is None:
            skipped[library] = found
            continue
        calls[library, "diffbench"], ours[library] = call, found
    if not ours:
        raise Mismatch(f"{where}: no diffbench cell to compare with ({skipped})")
    if len(ours) == 2:  # diffbench's two methods against each other
        worst = max(worst, _check(f"{where}: diffbench torch against diffbench jax", ours["torch"],
                                  ours["jax"]))
    for library in libraries:
        if library in skipped and "compiles one trace" in skipped[library]:
            continue  # no timing to make, and the trace is what would take long to compile
        call, value, derivative = idiomatic(library, name, data, theta)
        expected = ours.get(library, next(iter(ours.values())))
        worst = max(worst,
                    _check(f"{where}: idiomatic {library} f(θ) against the case's objective", value, f_case),
                    _check(f"{where}: idiomatic {library} derivative against diffbench's", derivative,
                           expected))
        if library not in skipped:
            calls[library, "idiomatic"] = call
    return {"name": name, "size": case.size_label or "(defaults)", "calls": calls, "skipped": skipped,
            "deviation": worst}


def _batch(call, number: int, clock=time.perf_counter) -> float:
    """Seconds per call over one batch of ``number`` calls by ``clock``, the garbage collector off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        for _ in range(number):
            call()
        return (clock() - start) / number
    finally:
        if enabled:
            gc.enable()


def time_interleaved(calls: dict, rounds: int, min_batch_s: float, rng: random.Random,
                     clock=time.perf_counter) -> dict:
    """{key: per-call seconds, one per round}: each round one batch of every call, in a shuffled order."""
    for call in calls.values():
        for _ in range(WARMUP_CALLS):
            call()
    numbers = {key: max(1, math.ceil(min_batch_s / min(_batch(call, 1) for _ in range(3))))
               for key, call in calls.items()}
    samples = {key: [] for key in calls}
    keys = list(calls)
    for _ in range(rounds):
        rng.shuffle(keys)
        gc.collect()
        for key in keys:
            samples[key].append(_batch(calls[key], numbers[key], clock))
    return samples


def measure(entry: dict, rounds: int, min_batch_s: float, rng: random.Random, libraries,
            clock=time.perf_counter) -> list[dict]:
    samples = time_interleaved(entry["calls"], rounds, min_batch_s, rng, clock)
    rows = []
    for library in libraries:
        row = {"workload": entry["name"], "size": entry["size"], "library": library}
        if library in entry["skipped"]:
            rows.append({**row, "note": f"diffbench's cell is unsupported: {entry['skipped'][library]}"})
            continue
        ours, theirs = samples[library, "diffbench"], samples[library, "idiomatic"]
        ratios = [a / b for a, b in zip(ours, theirs)]
        interval = noise.median_interval(ratios)
        rows.append({**row, "diffbench_s": float(np.median(ours)), "idiomatic_s": float(np.median(theirs)),
                     "ratio": float(np.median(ratios)), "lo": interval.lo_s, "hi": interval.hi_s,
                     "coverage": interval.coverage})
    return rows


def _time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def table(rows: list[dict], header: str) -> str:
    lines = [header, "",
             "| workload | size | library | diffbench | idiomatic | ratio | 95% interval | within 1.25× |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        start = f"| {r['workload']} | {r['size']} | {r['library']} |"
        if "ratio" not in r:
            lines.append(f"{start} — | — | — | — | {r['note']} |")
            continue
        verdict = ("(the call path)" if r["workload"] == "sum_squares"
                   else "yes" if r["ratio"] <= TARGET else "**no**")
        lines.append(f"{start} {_time(r['diffbench_s'])} | {_time(r['idiomatic_s'])} | {r['ratio']:.2f} | "
                     f"{r['lo']:.2f} – {r['hi']:.2f} | {verdict} |")
    return "\n".join(lines) + "\n"


def _versions() -> str:
    import jax
    import torch

    return f"Python {platform.python_version()}, JAX {jax.__version__}, PyTorch {torch.__version__}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(WORKLOADS), help="workloads, comma-separated")
    parser.add_argument("--out", help="also write the Markdown table to this file (atomically)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"interleaved rounds (default {ROUNDS})")
    parser.add_argument("--min-batch-ms", type=float, default=MIN_BATCH_S * 1e3,
                        help=f"a batch's least duration (default {MIN_BATCH_S * 1e3:g} ms)")
    parser.add_argument("--seed", type=int, default=0, help="the shuffles' seed")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="time a batch by the process's CPU time (default) or by wall time")
    parser.add_argument("--no-overhead", dest="overhead", action="store_false",
                        help="leave out the rows of the call path alone (Σx², n = 10)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    unknown = sorted(set(names) - set(WORKLOADS))
    if unknown or not names:
        raise UsageError(f"--cases: unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    if args.rounds < 5:
        raise UsageError("--rounds must be at least 5")
    if args.out:
        atomic.check_writable(Path(args.out).resolve().parent, "table")
    rng = random.Random(args.seed)
    started = time.perf_counter()
    rows = []
    jobs = [("sum_squares", {}, case) for case in overhead_cases()] if args.overhead else []
    jobs += [(name, size, None) for name in names for size in CASES.get(name).profiles["default"]]
    for name, size, case in jobs:
        entry = prepare(name, size, LIBRARIES, case)
        found = measure(entry, args.rounds, args.min_batch_ms / 1e3, rng, LIBRARIES, CLOCKS[args.clock])
        rows += found
        for r in found:
            figure = (f"{r['ratio']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]" if "ratio" in r else r["note"])
            print(f"{name} {entry['size']} {r['library']}: {figure} (checked to "
                  f"{entry['deviation']:.1e})", file=sys.stderr, flush=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    header = (f"diffbench's `jax` and `torch` cells over idiomatic JAX and PyTorch, float64, CPU, 1 thread; "
              f"median of {args.rounds} interleaved rounds (batches ≥ {args.min_batch_ms:g} ms, "
              f"{'the process CPU time' if args.clock == 'cpu' else 'wall time'}); "
              f"{_versions()}; load {load[0]:.1f} at the end; {time.perf_counter() - started:.0f} s.")
    text = table(rows, header)
    print(text)
    if args.out:
        atomic.write_text(args.out, text, "table")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (UsageError, Mismatch) as exc:
        sys.exit(f"fairness: {exc}")
