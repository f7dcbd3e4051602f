"""The plan: from what a user selects to the list of cells a run measures, in a stable order.

A :class:`Selection` (names or patterns of cases and methods, dtypes, devices, orders,
quantities, the sizes profile or a preset, a shard, plugins, budgets) is what a run records
in its metadata, so that ``--resume`` redoes the same plan.  :func:`build` expands it —
sweeps to the profile's sizes, presets to their cells, the shard to its balanced part
(:mod:`harness.runner.shard`) — into :class:`PlannedCell` pairs of (method, cell), whose
:attr:`~PlannedCell.key` is the cell's identity in every results file.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from harness.errors import UsageError
from harness.host import threads as threads_setting
from harness.host.environment import gpus
from harness.host.threads import Threads
from harness.measure import step_sweep
from harness.measure.step_sweep import StepSweepPlan
from harness.measure.timing import TimingSettings
from harness.model import presets
from harness.model.case import PROFILES, CaseSweep
from harness.model.method import Cell, Method
from harness.model.quantities import QUANTITIES, tasks
from harness.model.registry import CASES, METHODS, load_plugin
from harness.runner import shard as sharding
from harness.store.schema import CellKey

DTYPES = ("float64", "float32")
DEVICES = ("cpu", "gpu")
# The quick profile is a smoke run, not for publishing: every case at its smallest sizes, but
# only float64, one method per family and main backend, and a shorter timing loop
QUICK_TIMING = TimingSettings(rounds=5, min_batch_s=0.002)
QUICK_METHODS = ("sympy", "central", "dual", "jax", "torch")
QUICK_DTYPES = ("float64",)
MAX_ROUNDS = 1000

Names = tuple[str, ...] | None  # names or glob patterns, as given; None: all (the default)


class PlannedCell(NamedTuple):
    """One cell of a plan: a method on a :class:`~harness.model.method.Cell`.  Unpacks as
    ``method, cell``."""

    method: Method
    cell: Cell

    @property
    def key(self) -> CellKey:
        return CellKey.of_cell(self.method, self.cell)


@dataclass(frozen=True)
class Selection:
    """What a run measures, as the user said it, parsed and checked once (:meth:`of`); recorded as
    the metadata's ``selection`` and read back by :meth:`from_dict` (``--resume``)."""

    cases: Names = None
    methods: Names = None
    dtypes: tuple[str, ...] | None = None  # of DTYPES; None: both (a case's own where it has some)
    devices: tuple[str, ...] | None = None  # of DEVICES; None: the CPU, and the GPU when one is present
    orders: tuple[int, ...] | None = None  # None: every order a case declares
    quantities: tuple[str, ...] | None = None  # of QUANTITIES; None: every one a case declares
    sizes: str = "default"
    preset: str | None = None
    shard: str | None = None  # "i/N", as harness.runner.shard.parse reads it
    input: str | None = None  # a gradbench-format input file for one workload, as an absolute path
    plugins: tuple[str, ...] = ()  # plugin files, as absolute paths
    timeout: float | None = None  # every cell's budget in seconds (default: its case's own)
    timing: TimingSettings | None = None  # None: the profile's (QUICK_TIMING for quick, else the defaults)
    step_sweep: bool | tuple[str, ...] = False  # True: STEP_CASES the run measures; names: those cases
    threads: Threads = threads_setting.DEFAULT  # every backend's threads: N, or "all"
    rounds: int | None = None  # timing rounds per task, over the timing settings' own
    reference_cache: bool = True  # take references cached on disk by earlier runs (False: --no-cache)

    def given(self) -> list[str]:
        """The fields set to something other than their default."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != f.default]

    def to_dict(self) -> dict:
        """As a run records it: JSON's types (lists, not tuples), so that it reads back equal."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def resumed_with(self, plugins) -> Selection:
        """This recorded selection, resumed with the plugin files the resuming command names (as
        absolute paths): exactly the ones it recorded, for a plugin's code is never loaded because
        a results file names it."""
        missing = [p for p in self.plugins if p not in plugins]
        if missing:
            them, its = ("them", "their") if len(missing) > 1 else ("it", "its")
            raise UsageError(f"this run used {' '.join(f'--plugin {p}' for p in missing)}: pass {them} "
                             f"again to resume ({its} code is not loaded from the results file)")
        extra = [p for p in plugins if p not in self.plugins]
        if extra:
            raise UsageError(f"a resumed run keeps its own selection: drop "
                             f"{' '.join(f'--plugin {p}' for p in extra)} (the run did not use it)")
        return self

    @classmethod
    def from_dict(cls, recorded: dict) -> Selection:
        """The selection a results file or journal recorded; one that could not have been written by
        a run (a field of the wrong type: a file edited by hand) is a one-line UsageError."""
        if not isinstance(recorded, dict):
            raise UsageError(f"the recorded selection is {type(recorded).__name__}, not a run's selection")
        known = {f.name for f in dataclasses.fields(cls)}
        for name, value in recorded.items():
            if name in known and not _recordable(name, value):
                raise UsageError(f"the recorded selection's {name} is {str(value)[:60]!r}: "
                                 "not what a run records")
        return cls.of(**{k: v for k, v in recorded.items() if k in known}, recorded=True)

    @classmethod
    def of(cls, cases=None, methods=None, dtypes=None, devices=None, orders=None, quantities=None,
           sizes="default", preset=None, shard=None, input=None, plugins=(), timeout=None,  # noqa: A002
           timing=None, step_sweep=False, threads=None, rounds=None, reference_cache=True,
           recorded=False) -> Selection:
        """A selection from what a user gave (lists or comma-separated strings; ``threads`` N or
        "all"; ``timing`` a mapping of :class:`~harness.measure.timing.TimingSettings` fields;
        ``reference_cache`` True or False: :mod:`harness.truth.cache`), each value checked here, its
        plugin and input files resolved (a resumed run may start elsewhere).
        Case and method names are checked against the registry when the plan is built, once the
        plugins are loaded.  ``recorded``: read back from a results file, whose retired timing
        settings are dropped (:data:`harness.measure.timing.RETIRED`)."""
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or not 0 < timeout < float("inf")):
            raise UsageError(f"--timeout must be a finite positive number of seconds, got {timeout!r}")
        if rounds is not None and (isinstance(rounds, bool) or not isinstance(rounds, int)
                                   or not 1 <= rounds <= MAX_ROUNDS):
            raise UsageError(f"--rounds must be a whole number from 1 to {MAX_ROUNDS}, got {rounds!r}")
        if not isinstance(reference_cache, bool):
            raise UsageError(f"reference_cache must be True or False, got {reference_cache!r}")
        if sizes not in PROFILES:
            raise UsageError(f"unknown sizes profile {sizes!r} (choose from {', '.join(PROFILES)})")
        if shard is not None:
            shard = sharding.label(shard)
        devices = _listed(devices)
        if devices is not None and "all" in devices:  # without a GPU, gpu cells say unavailable
            devices = DEVICES
        sweep = _listed(step_sweep) if isinstance(step_sweep, (str, list, tuple)) else bool(step_sweep)
        return cls(cases=_listed(cases), methods=_listed(methods), dtypes=_known(dtypes, DTYPES, "dtype"),
                   devices=_known(devices, DEVICES, "device"), orders=_orders(orders),
                   quantities=_known(quantities, QUANTITIES, "quantity"), sizes=sizes, preset=preset,
                   shard=shard, input=str(Path(input).resolve()) if input else None,
                   plugins=tuple(str(Path(p).resolve()) for p in plugins),
                   timeout=None if timeout is None else float(timeout),
                   timing=None if timing is None else TimingSettings.of(timing, recorded=recorded),
                   step_sweep=sweep or False,
                   threads=threads_setting.parse(threads), rounds=rounds, reference_cache=reference_cache)


def _listed(value) -> tuple[str, ...] | None:
    """A list, or a comma-separated string, as a tuple of its non-empty items."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    return tuple(str(item).strip() for item in items if str(item).strip())


def _known(value, known, what) -> tuple[str, ...] | None:
    items = _listed(value)
    for item in items or ():
        if item not in known:
            raise UsageError(f"unknown {what} {item!r} (choose from {', '.join(known)})")
    return items


def _orders(value) -> tuple[int, ...] | None:
    items = _listed(value)
    if items is None:
        return None
    try:
        return tuple(int(o) for o in items)
    except ValueError:
        raise UsageError(f"orders must be whole numbers, got {value!r}") from None


def _recordable(name: str, value) -> bool:
    """Whether ``value`` is of a type a run records for the selection's field ``name``."""
    def strings(v):
        return isinstance(v, list) and all(isinstance(s, str) for s in v)

    if name == "plugins":
        return strings(value)
    if name in ("timeout",):
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
    if name == "reference_cache":
        return isinstance(value, bool)
    if name == "rounds":
        return value is None or (isinstance(value, int) and not isinstance(value, bool))
    if name == "timing":
        return value is None or (isinstance(value, dict) and all(isinstance(k, str) for k in value))
    if name == "threads":
        return value is None or isinstance(value, (str, int)) and not isinstance(value, bool)
    if name == "step_sweep":
        return isinstance(value, (bool, str)) or strings(value)
    if name == "orders":
        whole = [isinstance(o, (int, str)) and not isinstance(o, bool) for o in value] \
            if isinstance(value, list) else [False]
        return value is None or isinstance(value, str) or all(whole)
    return value is None or isinstance(value, str) or strings(value)  # names, patterns, paths


@dataclass
class Plan:
    """The cells of a run and how to measure them."""

    cells: list[PlannedCell]
    selection: Selection
    timing: TimingSettings  # the timing loop's settings, resolved (the quick profile's shorter loop)
    step_sweep: StepSweepPlan | None  # what the step sweep covers, or None
    done: list = dataclasses.field(default_factory=list)  # a resumed run's cells measured before


def device_names(devices: tuple[str, ...] | None) -> list[str]:
    """The devices of a selection: by default the CPU, and the GPU when one is present."""
    return list(devices) if devices is not None else (["cpu", "gpu"] if gpus() else ["cpu"])


def expand(entries, profile: str) -> list:
    """Cases, with each sweep expanded to the sizes of ``profile``."""
    return [c for e in entries for c in (e.cases(profile) if isinstance(e, CaseSweep) else [e])]


def input_case(path: str, cases: Names = None):
    """The workload of a gradbench-format input file: its message's module, else the one case
    named by ``cases``, at the size ``input=FILE``."""
    from cases.gradbench_input import read

    module, _ = read(path)
    names = [module] if module else list(cases or [])
    if len(names) != 1 or names[0] not in CASES.all():
        raise UsageError(f"--input {path}: name its one workload with --cases (the file has no module)")
    sweep = CASES.all()[names[0]]
    if not isinstance(sweep, CaseSweep) or "input" not in inspect.signature(sweep.factory).parameters:
        raise UsageError(f"--input: case {names[0]!r} takes no gradbench input file")
    return sweep.at({"input": path})


def cells(s: Selection) -> list[PlannedCell]:
    """Every (method, cell) of a selection, in a stable order: case, task, method, dtype, device."""
    if s.preset is not None:
        return preset_cells(s)
    case_list = [input_case(s.input, s.cases)] if s.input else expand(CASES.select(s.cases), s.sizes)
    quick = s.sizes == "quick"
    method_list = METHODS.select(QUICK_METHODS if quick and s.methods is None else s.methods)
    if s.methods is None:  # opt-in methods (slow to set up) only when asked for by name or pattern
        method_list = [m for m in method_list if m.default]
    dtype_list = s.dtypes or (QUICK_DTYPES if quick else DTYPES)
    device_list = device_names(s.devices)
    quantity_list = s.quantities or QUANTITIES
    found = [
        PlannedCell(method, Cell(case, order, dtype, device, quantity))
        for case in case_list
        for quantity, order in tasks(case)
        if (s.orders is None or order in s.orders) and quantity in quantity_list
        for method in method_list
        # a case's own dtypes where the run names none (a workload measured in float64 only)
        for dtype in (dtype_list if s.dtypes is not None or not case.dtypes else
                      [d for d in dtype_list if d in case.dtypes])
        for device in device_list
    ]
    if not found:
        raise UsageError("the selection has no cells (no case has the orders or quantities asked for)")
    return found


def preset_cells(s: Selection) -> list[PlannedCell]:
    """The cells of the selection's preset on its devices (default: the CPU, and a GPU if present).
    Any other choice of cells (cases, methods, …) clashes."""
    preset = presets.get(s.preset)
    fixed = ("cases", "methods", "dtypes", "orders", "quantities", "sizes", "input")
    clash = [name for name in fixed if name in s.given()]
    if clash:
        raise UsageError(f"preset {preset.name} fixes the selection: drop {', '.join(clash)}")
    cases = [CASES.get(name).at(size) for name, sizes in preset.cases for size in sizes]
    return [PlannedCell(method, Cell(case, preset.order, dtype, device, preset.quantity))
            for case in cases for method in METHODS.select(preset.methods)
            for dtype in preset.dtypes for device in device_names(s.devices)]


def timing_of(s: Selection) -> TimingSettings:
    """The timing settings a selection runs with: its own, else its profile's; ``rounds`` over them."""
    timing = s.timing or (QUICK_TIMING if s.sizes == "quick" and s.preset is None else TimingSettings())
    return timing if s.rounds is None else dataclasses.replace(timing, rounds=s.rounds)


def build(selection: Selection, done: set | frozenset = frozenset()) -> Plan:
    """The plan of ``selection`` (its plugins loaded), without the cells whose keys are in
    ``done`` (a resumed run's finished cells)."""
    s = selection
    for plugin in s.plugins:
        load_plugin(plugin)
    planned = cells(s)
    # chosen from the whole plan, before any cell runs: a bad case name fails at once
    sweep = step_sweep.selection(planned, s.step_sweep) if s.step_sweep else None
    if s.shard is not None:  # one balanced part of the plan; the step sweep goes with the first
        sweep = sweep if sharding.parse(s.shard)[0] == 1 else None
        planned = sharding.select(planned, s.shard)
    return Plan([p for p in planned if p.key not in done], s, timing_of(s), sweep,
                [p for p in planned if p.key in done])


def describe_cases(planned) -> dict:
    """The cases of a plan as the run's metadata lists them (a sweep by its first size)."""
    found = {cell.case.name: cell.case for _, cell in planned}
    return {n: {"formula": c.formula, "domain": list(c.domain), "grid": c.grid, "dim": c.dim,
                "out_dim": c.out_dim, "quantities": list(c.quantities),
                "seed_points": len(c.seed_points), "kinks": list(c.kinks),
                "source": c.source, "note": c.note, "sequential": c.sequential} for n, c in found.items()}


def describe_methods(planned) -> dict:
    """The methods of a plan as the run's metadata lists them."""
    found = {m.name: m for m, _ in planned}
    return {n: {"family": m.family, "mode": m.mode, "backend": m.backend, "batched": m.batched,
                "description": m.description} for n, m in found.items()}
