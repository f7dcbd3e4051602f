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
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from harness.errors import UsageError
from harness.host.environment import gpus
from harness.model import presets
from harness.model.case import PROFILES, CaseSweep
from harness.model.method import Cell, Method
from harness.model.quantities import QUANTITIES, tasks
from harness.model.registry import CASES, METHODS, load_plugin
from harness.runner import shard
from harness.store.schema import CellKey

DTYPES = ("float64", "float32")
DEVICES = ("cpu", "gpu")
# The quick profile is a smoke run, not for publishing: every case at its smallest sizes, but
# only float64, one method per family and main backend, and a shorter timing loop
QUICK_TIMING = {"repeats": 3, "min_batch_s": 0.002, "passes": 1}
QUICK_METHODS = ("sympy", "central", "dual", "jax", "torch")
QUICK_DTYPES = ("float64",)


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
    """What a run measures, as the user said it (recorded as the metadata's ``selection``)."""

    cases: object = None  # names or glob patterns, a list or a comma-separated string; None: all
    methods: object = None
    dtypes: object = None
    devices: object = None
    orders: object = None
    quantities: object = None
    sizes: str = "default"
    preset: str | None = None
    shard: str | None = None
    input: str | None = None  # a gradbench-format input file for one workload, as an absolute path
    plugins: tuple = ()  # plugin files, as absolute paths
    timeout: float | None = None  # every cell's budget (default: its case's own)
    timing: dict | None = None  # the timing loop's repeats / min_batch_s
    step_sweep: object = False  # True, or the scalar cases to sweep finite-difference steps on
    threads: object = None  # every backend's threads: N, or "all"; None: harness.host.threads.DEFAULT
    passes: int | None = None  # timing passes per cell; None: harness.measure.timing.PASSES (quick: 1)

    def given(self) -> list[str]:
        """The fields set to something other than their default."""
        return [f.name for f in dataclasses.fields(self)
                if getattr(self, f.name) not in (None, False, (), [], "default")]

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "plugins": list(self.plugins)}

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
        return cls(**{k: (tuple(v) if k == "plugins" else v) for k, v in recorded.items() if k in known})

    @classmethod
    def of(cls, plugins=(), input=None, **chosen) -> Selection:  # noqa: A002
        """A selection with its plugin and input files resolved (a resumed run may start elsewhere)."""
        return cls(plugins=tuple(str(Path(p).resolve()) for p in plugins),
                   input=str(Path(input).resolve()) if input else None, **chosen)


def _recordable(name: str, value) -> bool:
    """Whether ``value`` is of a type a run records for the selection's field ``name``."""
    def strings(v):
        return isinstance(v, list) and all(isinstance(s, str) for s in v)

    if name == "plugins":
        return strings(value)
    if name in ("timeout",):
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
    if name == "passes":
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
    timing: dict | None  # the timing loop's settings (the quick profile's shorter loop)
    step_sweep: dict | None  # what the step sweep covers, or None
    done: list = dataclasses.field(default_factory=list)  # a resumed run's cells measured before


def device_names(devices) -> list[str]:
    """``--devices``: names from DEVICES, or ``all`` (without a GPU, gpu cells say unavailable);
    by default the CPU, and the GPU when one is present."""
    if devices == "all" or (not isinstance(devices, str) and devices and "all" in devices):
        return list(DEVICES)
    return _names(devices or (["cpu", "gpu"] if gpus() else ["cpu"]), DEVICES, "device")


def _names(value, known, what) -> list[str]:
    if value is None:
        return list(known)
    items = [v.strip() for v in (value.split(",") if isinstance(value, str) else value)]
    for item in items:
        if item not in known:
            raise UsageError(f"unknown {what} {item!r} (choose from {', '.join(known)})")
    return items


def expand(entries, profile: str) -> list:
    """Cases, with each sweep expanded to the sizes of ``profile``."""
    if profile not in PROFILES:
        raise UsageError(f"unknown sizes profile {profile!r} (choose from {', '.join(PROFILES)})")
    return [c for e in entries for c in (e.cases(profile) if isinstance(e, CaseSweep) else [e])]


def input_case(path: str, cases=None):
    """The workload of a gradbench-format input file: its message's module, else the one case
    named by ``cases``, at the size ``input=FILE``."""
    from cases.gradbench_input import read

    module, _ = read(path)
    names = [module] if module else [n for n in (cases.split(",") if isinstance(cases, str) else cases or [])]
    if len(names) != 1 or names[0] not in CASES.all():
        raise UsageError(f"--input {path}: name its one workload with --cases (the file has no module)")
    sweep = CASES.all()[names[0]]
    if not isinstance(sweep, CaseSweep) or "input" not in inspect.signature(sweep.factory).parameters:
        raise UsageError(f"--input: case {names[0]!r} takes no gradbench input file")
    return sweep.at({"input": path})


def cells(cases=None, methods=None, dtypes=None, devices=None, orders=None, quantities=None,
          sizes="default", input=None) -> list[PlannedCell]:  # noqa: A002
    """Every (method, cell) of a selection, in a stable order: case, task, method, dtype, device."""
    case_list = [input_case(input, cases)] if input else expand(CASES.select(cases), sizes)
    quick = sizes == "quick"
    method_list = METHODS.select(QUICK_METHODS if quick and methods is None else methods)
    if methods is None:  # opt-in methods (slow to set up) only when asked for by name or pattern
        method_list = [m for m in method_list if m.default]
    dtype_list = _names(QUICK_DTYPES if quick and dtypes is None else dtypes, DTYPES, "dtype")
    device_list = device_names(devices)
    if orders is not None:
        try:
            orders = {int(o) for o in (orders.split(",") if isinstance(orders, str) else orders)}
        except ValueError:
            raise UsageError(f"orders must be whole numbers, got {orders!r}") from None
    quantity_list = _names(quantities, QUANTITIES, "quantity")
    found = [
        PlannedCell(method, Cell(case, order, dtype, device, quantity))
        for case in case_list
        for quantity, order in tasks(case)
        if (orders is None or order in orders) and quantity in quantity_list
        for method in method_list
        # a case's own dtypes where the run names none (a workload measured in float64 only)
        for dtype in (dtype_list if dtypes is not None or not case.dtypes else
                      [d for d in dtype_list if d in case.dtypes])
        for device in device_list
    ]
    if not found:
        raise UsageError("the selection has no cells (no case has the orders or quantities asked for)")
    return found


def preset_cells(name: str, devices=None, **selection) -> list[PlannedCell]:
    """The cells of preset ``name`` on ``devices`` (default: the CPU, and a GPU if present).
    Any other ``selection`` (cases=, methods=, …) that is not None clashes."""
    preset = presets.get(name)
    clash = [k for k, v in selection.items() if v is not None]
    if clash:
        raise UsageError(f"preset {name} fixes the selection: drop {', '.join(clash)}")
    cases = []
    for entry in CASES.select(preset.cases):
        if not isinstance(entry, CaseSweep) or preset.sizes not in entry.profiles:
            raise UsageError(f"preset {name}: case {entry.name} has no '{preset.sizes}' sizes")
        cases += entry.cases(preset.sizes)
    return [PlannedCell(method, Cell(case, preset.order, dtype, device, preset.quantity))
            for case in cases for method in METHODS.select(preset.methods)
            for dtype in preset.dtypes for device in device_names(devices)]


def build(selection: Selection, done: set | frozenset = frozenset()) -> Plan:
    """The plan of ``selection`` (its plugins loaded), without the cells whose keys are in
    ``done`` (a resumed run's finished cells)."""
    from harness.measure import step_sweep

    s = selection
    for plugin in s.plugins:
        load_plugin(plugin)
    if s.preset is None:
        planned = cells(s.cases, s.methods, s.dtypes, s.devices, s.orders, s.quantities, s.sizes, s.input)
    else:
        planned = preset_cells(s.preset, s.devices, cases=s.cases, methods=s.methods, dtypes=s.dtypes,
                               orders=s.orders, quantities=s.quantities,
                               sizes=None if s.sizes == "default" else s.sizes)
    timing = s.timing
    if timing is None and s.sizes == "quick" and s.preset is None:  # a smoke run: shorter timing loops
        timing = QUICK_TIMING
    if s.passes is not None:
        timing = {**(timing or {}), "passes": s.passes}
    # chosen from the whole plan, before any cell runs: a bad case name fails at once
    sweep = step_sweep.selection(planned, s.step_sweep) if s.step_sweep else None
    if s.shard is not None:  # one balanced part of the plan; the step sweep goes with the first
        sweep = sweep if shard.parse(s.shard)[0] == 1 else None
        planned = shard.select(planned, s.shard)
    return Plan([p for p in planned if p.key not in done], s, timing, sweep,
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
