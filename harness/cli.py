"""The ``diffbench`` command line: ``run``, ``list``, ``report``, ``compare`` and ``history``.

Bad input (unknown names, missing files, unwritable folders) ends with one line
on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.errors import UsageError
from harness.model.presets import PRESETS


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2 (argparse prints usage first)
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _add_plugin(p):
    p.add_argument("--plugin", action="append", default=[], metavar="FILE.py",
                   help="load cases/methods from a file of your own (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="diffbench", description="Compare ways of differentiating functions.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="measure case × method × order × dtype × device")
    run.add_argument("--cases", help="comma-separated names or glob patterns (default: all)")
    run.add_argument("--methods", help="comma-separated names or glob patterns (default: all)")
    run.add_argument("--dtypes", help="float64,float32 (default: both)")
    run.add_argument("--devices", help="cpu, gpu or all (default: cpu, and gpu when one is present)")
    run.add_argument("--orders", help="derivative orders, e.g. 1,2 (default: each case's own)")
    run.add_argument("--quantities", help="e.g. derivative,gradient (default: each case's own)")
    run.add_argument("--sizes", default="default",
                     help="profile: the sizes of swept cases, quick, default or full (quick, a smoke "
                          "run, also defaults to float64 and the methods sympy,central,dual,jax,torch)")
    run.add_argument("--preset", choices=list(PRESETS), metavar="NAME",
                     help="a fixed selection that redoes a seed's measurement (instead of --cases, "
                          "--methods, --dtypes, --orders, --quantities, --sizes): "
                          + "; ".join(f"{p.name}: {p.description}" for p in PRESETS.values()))
    run.add_argument("--input", metavar="FILE",
                     help="a gradbench-format input (an evaluate message, or its input object) for one "
                          "workload: its module, else the one case --cases names (gmm, lstm)")
    run.add_argument("--timeout", type=float, default=None,
                     help="seconds per cell (default: the case's own budget, else 120)")
    run.add_argument("--out", help="output folder (default: results/; a resumed run's own folder)")
    run.add_argument("--resume", metavar="FILE",
                     help="finish an interrupted run: its .journal.jsonl or results file (its own "
                          "selection is kept; only the cells it lacks are measured; name its --plugin "
                          "files again)")
    run.add_argument("--step-sweep", metavar="CASES",
                     help="the finite differences' error against step h on these scalar cases (default: "
                          "tanh, exp_sin and softplus, where the run measures them)")
    run.add_argument("--no-step-sweep", action="store_true", help="no step sweep")
    run.add_argument("--in-process", action="store_true",
                     help="measure in this process rather than a worker process per backend "
                          "(a crashing cell then ends the run)")
    run.add_argument("--threads", metavar="N",
                     help="threads of every backend (BLAS, OpenMP, PyTorch, XLA, TensorFlow) where the cells "
                          "are measured, the process pinned to N CPUs: a whole number, or 'all' for each "
                          "library's own choice (default: 1, every backend single-threaded)")
    run.add_argument("--rounds", type=int, metavar="N",
                     help="time every method of a task side by side in N rounds, one batch of each per "
                          "round in a shuffled order (fewer where a task's rounds pass 3 s; default 10, "
                          "quick sizes 5)")
    run.add_argument("--no-cache", action="store_true",
                     help="compute every reference afresh rather than take the one an earlier run cached "
                          "on disk (each is cached in its place; DIFFBENCH_CACHE_DIR moves the cache)")
    run.add_argument("--memory-limit", type=float, metavar="GB",
                     help="cap each worker's address space (JAX reserves a lot: allow for it)")
    run.add_argument("--report", action="store_true",
                     help="then write the run's HTML report into reports/ and print its path")
    run.add_argument("--shard", metavar="I/N",
                     help="measure only the I-th of N balanced parts of the cells, e.g. 2/8 "
                          "(then 'diffbench merge' the parts)")
    run.add_argument("--dry-run", action="store_true",
                     help="list the cells with their estimated seconds, and the shards' loads, "
                          "without measuring")
    run.add_argument("--quiet", action="store_true", help="no progress bar or log lines on stderr")
    run.add_argument("--log", action="store_true",
                     help="one line per cell on stderr (for log files; a terminal shows a progress bar)")
    _add_plugin(run)

    lst = sub.add_parser("list", help="print the registered cases or methods")
    lst.add_argument("what", choices=["cases", "methods"])
    _add_plugin(lst)

    rep = sub.add_parser("report", help="write a self-contained HTML report of results files")
    rep.add_argument("results", nargs="+", help="results .parquet files or folders")
    rep.add_argument("-o", "--output", help="HTML file (default: reports/<run-id>.html)")
    rep.add_argument("--baseline", nargs="+", metavar="OLD",
                     help="results files or folders of an earlier run: add a comparison with them")

    cmp = sub.add_parser("compare", help="compare two runs cell by cell (time and accuracy)")
    cmp.add_argument("old", help="results file or folder of the earlier run")
    cmp.add_argument("new", help="results file or folder of the later run")
    cmp.add_argument("--threshold", default="10%",
                     help="relative change of the median time that counts, e.g. 10%% or 0.1 (default 10%%)")
    cmp.add_argument("--alpha", type=float, default=0.05,
                     help="significance level of the Mann-Whitney U test on timing samples (default 0.05)")
    cmp.add_argument("--digits-tol", type=float, default=1.0,
                     help="digits a cell may lose or gain before it counts as changed (default 1)")
    cmp.add_argument("--noise", nargs=2, metavar=("A1", "A2"),
                     help="an A/A calibration: two runs of the same code on this machine; a cell's change "
                          "must then also exceed how far it moved between them")
    cmp.add_argument("--fail-on-regression", action="store_true",
                     help="exit with status 1 when a cell is slower, less accurate or no longer ok")

    hist = sub.add_parser("history", help="plot headline figures across the runs in a folder")
    hist.add_argument("folder", help="folder of results files")
    hist.add_argument("-o", "--output", default="reports/history.html",
                      help="HTML file (default: reports/history.html)")
    hist.add_argument("--threshold", default="10%",
                      help="how far a median must step, and stay, to count, e.g. 10%% or 0.1 (default 10%%)")
    hist.add_argument("--fail-on-step", action="store_true",
                      help="exit with status 1 when a slowdown beyond the threshold lasts to the last run")
    mrg = sub.add_parser("merge", help="combine shards and runs from several machines into one results file")
    mrg.add_argument("parts", nargs="+", help="results .parquet files or folders")
    mrg.add_argument("-o", "--output", required=True, help="the merged results file (.parquet) or a folder")
    return parser


def _run(args) -> int:
    from harness.host.limits import StopSignals

    # held: a stop at any moment is recorded, and acted on by harness.run where it can keep what it
    # measured (a stop after the run's files are written changes nothing)
    with StopSignals(held=True):
        import harness

        return _run_in(args, harness)


def _run_in(args, harness) -> int:
    import time

    from harness.runner.progress import summary

    started = time.perf_counter()
    if args.memory_limit is not None and not 0 < args.memory_limit < float("inf"):
        raise UsageError(f"--memory-limit must be a finite positive number of GB, got {args.memory_limit:g}")
    if args.dry_run:
        from harness.runner import dry_run, plan

        selection = plan.Selection.of(cases=args.cases, methods=args.methods, dtypes=args.dtypes,
                                      devices=args.devices, orders=args.orders, quantities=args.quantities,
                                      sizes=args.sizes, preset=args.preset, shard=args.shard,
                                      plugins=args.plugin, input=args.input, timeout=args.timeout,
                                      threads=args.threads, rounds=args.rounds)
        print("\n".join(dry_run.lines(selection)))
        return 0
    if args.report:  # an unwritable reports folder is known before anything is measured
        from harness.store.atomic import check_writable

        check_writable(Path("reports"), "report")
    df = harness.run(
        cases=args.cases, methods=args.methods, dtypes=args.dtypes, devices=args.devices,
        orders=args.orders, quantities=args.quantities, sizes=args.sizes,
        out=args.out or (None if args.resume else "results"),
        plugins=args.plugin, preset=args.preset, shard=args.shard,
        timeout=args.timeout, resume=args.resume, isolate=not args.in_process,
        step_sweep=None if args.resume else not args.no_step_sweep and (args.step_sweep or True),
        memory_limit=int(args.memory_limit * 2**30) if args.memory_limit else None,
        progress=None if args.quiet else sys.stderr, log=args.log, input=args.input, threads=args.threads,
        rounds=args.rounds, reference_cache=not args.no_cache,
    )
    if "path" not in df.attrs:  # a resumed run stopped before it read its own files: nothing changed
        print("interrupted before any cell was measured: the run's files are as they were", file=sys.stderr)
        return 130
    paths = [("results", df.attrs["path"])]
    if args.report and not df.attrs["meta"].complete:
        print(f"no report of an interrupted run: 'diffbench run --resume {df.attrs['path']}' finishes it "
              f"(or 'diffbench report {df.attrs['path']}' shows what it has)", file=sys.stderr)
    elif args.report:
        from harness.read.report import write_report

        paths.append(("report", write_report([df.attrs["path"]])))
    print(summary(df, time.perf_counter() - started, paths), file=sys.stderr)
    from harness.read.findings import verdict_lines

    verdict = verdict_lines(df, [df.attrs["meta"]])
    if verdict:  # the run's answer in three lines; the report's findings give the rest
        print("verdict:\n" + "\n".join(f"  {line}" for line in verdict), file=sys.stderr)
    for _, path in paths:  # stdout: the paths alone, for scripts
        print(path)
    return 0 if df.attrs["meta"].complete else 130


def _list(args) -> int:
    from harness.model.registry import CASES, METHODS, load_plugin

    for plugin in args.plugin:
        load_plugin(plugin)
    if args.what == "cases":
        from harness.model.case import CaseSweep

        for entry in CASES.all().values():
            c = entry.cases("default")[0] if isinstance(entry, CaseSweep) else entry
            kinks = f"  kinks at {', '.join(map(str, c.kinks))}" if c.kinks else ""
            source = f"  ({c.source})" if c.source else ""
            what = ",".join(f"{q}{' ' + ','.join(map(str, c.orders)) if q == 'derivative' else ''}"
                            for q in c.quantities)
            dims = f"R^{c.dim} -> R^{c.out_dim}" if c.dim > 1 or c.out_dim > 1 else "scalar"
            print(f"{entry.name:<18} {c.formula:<36} {dims:<14} {what:<36} "
                  f"on [{c.domain[0]:g}, {c.domain[1]:g}]{kinks}{source}")
            if isinstance(entry, CaseSweep):
                for profile, sizes in entry.profiles.items():
                    labels = "; ".join(",".join(f"{k}={v}" for k, v in s.items()) for s in sizes)
                    print(f"{'':<18}   sizes {profile}: {labels}")
    else:
        from harness.model.method import installed

        rows = [("method", "family", "mode", "backend", "devices", "dtypes", "computes", "status")]
        for m in METHODS.all().values():
            caps = ",".join(q if q != "derivative" else f"derivative≤{m.max_order}" for q in m.quantities)
            flags = [f for f, on in (("analytic-only", m.analytic_only), ("needs-symbolic", m.needs_symbolic),
                                     ("opt-in", not m.default)) if on]
            rows.append((m.name, m.family, m.mode, m.backend, ",".join(m.devices),
                         ",".join(d.removeprefix("float") for d in m.dtypes),
                         caps + (f" ({', '.join(flags)})" if flags else ""), installed(m)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for r in rows:
            print("  ".join(v.ljust(w) for v, w in zip(r, widths)) + "  " + r[-1])
    return 0


def _report(args) -> int:
    from harness.read.report import write_report

    path = write_report(args.results, Path(args.output) if args.output else None, baseline=args.baseline)
    print(path)
    return 0


def _comparison_options(args) -> dict:
    from harness.read.compare import parse_threshold

    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must lie between 0 and 1, got {args.alpha:g}")
    if not args.digits_tol >= 0:
        raise UsageError(f"--digits-tol must be a non-negative number, got {args.digits_tol:g}")
    return {"threshold": parse_threshold(args.threshold), "alpha": args.alpha, "digits_tol": args.digits_tol}


def _compare(args) -> int:
    from harness.read.compare import compare, format_table, missing, regressions
    from harness.store.results import read

    options = _comparison_options(args)
    if args.noise:
        options["noise"] = tuple(read([path])[0] for path in args.noise)
    compared = compare(read([args.old])[0], read([args.new])[0], **options)
    print(format_table(compared))
    bad, lost = regressions(compared), missing(compared)
    if len(bad):
        print(f"{len(bad)} regression{'s' if len(bad) > 1 else ''}", file=sys.stderr)
    if len(lost):
        print(f"{len(lost)} cell{'s' if len(lost) > 1 else ''} of {args.old} missing from {args.new}",
              file=sys.stderr)
    return 1 if args.fail_on_regression and (len(bad) or len(lost)) else 0


def _history(args) -> int:
    from harness.read.compare import parse_threshold
    from harness.read.history import regressions, write_history

    threshold = parse_threshold(args.threshold)
    path, steps = write_history(args.folder, Path(args.output), threshold)
    print(path)
    bad = regressions(steps, threshold)
    for step in bad:
        print(f"step: {step['what']} {step['ratio']:.3g}× slower from run {step['at']} ({step['run_id']})",
              file=sys.stderr)
    return 1 if args.fail_on_step and bad else 0


def _merge(args) -> int:
    from harness.read.merge import merge
    from harness.store.schema import is_companion

    path, meta = merge(args.parts, args.output)
    missing = meta.missing_shards
    runs = len(meta.parts)
    companions = sum(is_companion(p) for p in args.parts)
    print(f"{meta.n_cells} cells from {runs} run{'s' if runs > 1 else ''}"
          + (f"; shards missing: {', '.join(missing)}" if missing else "")
          + (f"; {companions} per-point or step-sweep file{'s' if companions > 1 else ''} named: read with "
             "their cells files" if companions else ""), file=sys.stderr)
    print(path)
    return 0


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return {"run": _run, "list": _list, "report": _report, "compare": _compare,
                "history": _history, "merge": _merge}[args.command](args)
    except UsageError as exc:  # one line, whatever a file's text put into it
        from harness.store.text import printable

        print(f"diffbench: {printable(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `diffbench list cases | head`
        return 0
    except KeyboardInterrupt:  # Ctrl-C, or a stop once a run's results were written
        print("diffbench: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """The ``diffbench`` command (and ``python -m harness``): :func:`main` as a process's whole life.
    A run's stop signals are recorded from here on (:func:`harness.host.limits.record_stops`), so that
    none, however early or late, ends the process without its status."""
    if sys.argv[1:2] != ["run"]:
        sys.exit(main())
    from harness.host.limits import record_stops

    record_stops()
    status = main()
    # the run's files are written and its lines printed: end here rather than in the interpreter's
    # finalisation, which puts the default handlers back (a SIGTERM then would end it as a kill)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


if __name__ == "__main__":
    entry()
