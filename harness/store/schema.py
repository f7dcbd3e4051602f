"""The results schema, defined once: what a cell's row and a point's row hold, their types, the
cell key, the statuses, and the files a run is written as.

The writer (:mod:`harness.store.results`), the journal and every reader (report, compare, history,
merge) take the columns and types from here.  Only the standard library is imported: the
reading side never loads a differentiation backend, and this module never makes it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, get_args, get_origin, get_type_hints

SCHEMA_VERSION = 8
READABLE_VERSIONS = (2, 3, 4, 5, 6, 7, 8)  # older files lack the newer columns: they read as missing
META_KEY = b"diffbench"  # the Parquet key-value metadata holding the run's metadata

Status = Literal["ok", "failed", "unsupported", "unavailable", "out_of_range", "timeout", "crashed"]
STATUSES: tuple[str, ...] = get_args(Status)
# quantities whose cell is a whole workload run (harness.measure.workloads), not a value at points: its
# eval_s is the run's wall time and timing_number its steps, so no reader takes it for a call's time
WORKLOADS: tuple[str, ...] = ("training",)

# the clock a cell's batches were timed by where its file says none (before schema 8)
CLOCK_BEFORE_8 = "wall"


def clock_of(value) -> str:
    """A row's ``timing_clock``, or :data:`CLOCK_BEFORE_8` where it has none (None, NaN, absent)."""
    return value if isinstance(value, str) else CLOCK_BEFORE_8


# −log10(max_rel_err) is capped here: 17 digits means "exact at every point"
DIGITS_CAP = 17.0

# ``Evaluator.info`` keys that become result columns (expression swell and program size)
SWELL_KEYS = {
    "expr_nodes": "nodes of the derivative's expression tree (SymPy)",
    "expr_ops": "sympy.count_ops of the derivative",
    "cse_ops": "operations after common-subexpression elimination (the derivative as a DAG)",
    "expr_chars": "length of the printed derivative",
    "graph_nodes": "operations in the derivative program (jaxpr equations, torch.fx nodes)",
    "flops": "XLA's flop estimate of the compiled derivative (cost_analysis), for all points",
}


class CellKey(NamedTuple):
    """What identifies a cell across runs, shards and hosts (``size`` is "" for an unswept case)."""

    case: str
    size: str
    method: str
    quantity: str
    order: int
    dtype: str
    device: str

    @classmethod
    def of_cell(cls, method, cell) -> CellKey:
        """The key of a method on a cell (:class:`harness.model.method.Cell`), as its row will have it."""
        c = cell.case
        return cls(c.name, c.size_label, method.name, cell.quantity, cell.order, cell.dtype, cell.device)

    @classmethod
    def of(cls, row) -> CellKey:
        """The key of a row: a :class:`CellRow`, a dict or a pandas row."""
        get = row.get if hasattr(row, "get") else (lambda k: getattr(row, k))
        values = [get(k) for k in cls._fields]
        return cls(*values[:1], values[1] or "", *values[2:4], int(values[4]), *values[5:])

    @property
    def task(self) -> tuple:
        """Its task's key (:data:`TASK`): the methods of one task are timed in the same rounds."""
        return tuple(getattr(self, k) for k in TASK)


KEY: list[str] = list(CellKey._fields)
# a task: a cell's key but its method; in one run, its methods' batches are timed round by round
# together, so that two of them pair by round id (eval_round_ids)
TASK: list[str] = [k for k in KEY if k != "method"]


@dataclass(slots=True)
class CellRow:
    """One cell's row of ``<run-id>.parquet``: what was measured, how it ended, and its figures.

    Every figure is None where the cell did not reach it (an unsupported cell has none)."""

    run_id: str
    case: str
    size: str
    method: str
    family: str
    mode: str
    batched: str
    quantity: str
    order: int
    dtype: str
    device: str
    status: Status
    message: str
    dim: int
    n_points: int
    n_undefined: int | None = None
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    digits: float | None = None
    seed_digits: float | None = None
    setup_s: float | None = None
    first_call_s: float | None = None
    eval_s: float | None = None
    eval_iqr_s: float | None = None
    timing_number: int | None = None
    timing_repeats: int | None = None
    reference: str | None = None
    detail: str | None = None
    cell_s: float | None = None
    # schema 3: the setup split, the primal and cost ratio, swell, memory, bandwidth
    derive_s: float | None = None
    compile_s: float | None = None
    transfer_s: float | None = None
    eval_samples_s: list[float] | None = None
    primal_s: float | None = None
    primal_backend: str | None = None
    cost_ratio: float | None = None
    expr_nodes: int | None = None
    expr_ops: int | None = None
    cse_ops: int | None = None
    expr_chars: int | None = None
    graph_nodes: int | None = None
    flops: float | None = None
    peak_host_bytes: int | None = None
    peak_device_bytes: int | None = None
    bytes_moved: int | None = None
    bandwidth_share: float | None = None
    # schema 4: the function's batches, timed alternating with the derivative's (cost_ratio is
    # the median of their ratios round by round)
    primal_samples_s: list[float] | None = None
    # the median's order-statistic interval from the batches, its coverage, its width over the
    # median, and whether that is above harness.stats.noise.NOISY
    eval_ci_lo_s: float | None = None
    eval_ci_hi_s: float | None = None
    eval_ci_coverage: float | None = None
    eval_noise: float | None = None
    noisy: bool | None = None
    # the machine's 1-, 5- and 15-minute load averages as the cell started and ended
    load_start: list[float] | None = None
    load_end: list[float] | None = None
    # schema 6: whether the cell's reference was read from the disk cache (computed by an earlier
    # run: harness.truth.cache) rather than computed by this run; None where it had none
    reference_cached: bool | None = None
    # schema 7: the rounds of its task (harness.runner.rounds) each of eval_samples_s (and
    # primal_samples_s) was timed in, and how many rounds its task ran: two methods of one task of
    # one run pair by round id (harness.stats.noise.paired_ratio)
    eval_round_ids: list[int] | None = None
    timing_rounds: int | None = None
    # schema 8: the clock its batches were timed by (harness.measure.timing.CLOCKS): "cpu", the
    # process's CPU time (a cell on the CPU on one thread), or "wall"; earlier files timed by "wall"
    timing_clock: str | None = None

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")

    @property
    def key(self) -> CellKey:
        return CellKey.of(self)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in CELL_COLUMNS}


PointRow = NamedTuple("PointRow", [
    ("run_id", str), *get_type_hints(CellKey).items(),  # the cell's run and key, then the point's
    ("point", int), ("x", float), ("value", float), ("ref", float), ("ref_lo", float), ("ref_text", str),
    ("f", float), ("abs_err", float), ("rel_err", float), ("seed", bool), ("defined", bool),
])
PointRow.__doc__ = """One point's row of ``<run-id>.points.parquet``.  A vector point or value is
summarised by its first coordinate (``x``) and its largest magnitude (``value``, ``ref``)."""


class StepRow(NamedTuple):
    """One row of ``<run-id>.steps.parquet``: a finite difference's error at one step h."""

    run_id: str
    case: str
    method: str
    dtype: str
    h: float
    max_rel_err: float
    digits: float
    chosen_h: float  # the relative step the registered method takes
    optimal_h: float  # the textbook optimum ε^(1/(p+1))


CELL_COLUMNS: list[str] = [f.name for f in dataclasses.fields(CellRow)]
POINT_COLUMNS: list[str] = list(PointRow._fields)
STEP_COLUMNS: list[str] = list(StepRow._fields)


def _kind(annotation) -> str:
    """How a column is stored, from its type: ``int`` as int64 (present in every row), a count
    that may be missing (``int | None``) as float64 with NaN, as pandas holds it; ``float`` as
    float64; ``bool``; ``list[float]`` as a list of float64; anything else (``str``, a
    ``Literal``) as a string."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    optional = type(None) in get_args(annotation)
    base = args[0] if optional and len(args) == 1 else annotation
    if get_origin(base) is list:
        return "floats"
    if base is bool:
        return "bool"
    if base is int:
        return "float" if optional else "int"
    if base is float:
        return "float"
    return "str"


CELL_KINDS: dict[str, str] = {k: _kind(t) for k, t in get_type_hints(CellRow).items()}
POINT_KINDS: dict[str, str] = {k: _kind(t) for k, t in get_type_hints(PointRow).items()}
STEP_KINDS: dict[str, str] = {k: _kind(t) for k, t in get_type_hints(StepRow).items()}


CELLS_SUFFIX = ".parquet"
POINTS_SUFFIX = ".points.parquet"
STEPS_SUFFIX = ".steps.parquet"  # optional: the finite differences' step sweep (harness.measure.step_sweep)
JOURNAL_SUFFIX = ".journal.jsonl"
COMPANION_SUFFIXES = (POINTS_SUFFIX, STEPS_SUFFIX)


@dataclass(frozen=True)
class RunFiles:
    """The files of run ``<run-id>`` in a folder: the cells (the results file), its companions
    (per-point table, optional step sweep) and the journal of a run in progress."""

    cells: Path

    @classmethod
    def of(cls, folder, run_id: str) -> RunFiles:
        return cls(Path(folder) / f"{run_id}{CELLS_SUFFIX}")

    @classmethod
    def beside(cls, path) -> RunFiles:
        """The run a results file, companion or journal belongs to."""
        path = Path(path)
        for suffix in COMPANION_SUFFIXES + (JOURNAL_SUFFIX, CELLS_SUFFIX):
            if path.name.endswith(suffix):
                return cls(path.with_name(path.name[: -len(suffix)] + CELLS_SUFFIX))
        return cls(path)

    @property
    def stem(self) -> str:
        return self.cells.name[: -len(CELLS_SUFFIX)]

    @property
    def points(self) -> Path:
        return self.cells.with_name(self.stem + POINTS_SUFFIX)

    @property
    def steps(self) -> Path:
        return self.cells.with_name(self.stem + STEPS_SUFFIX)

    @property
    def journal(self) -> Path:
        return self.cells.with_name(self.stem + JOURNAL_SUFFIX)


def is_companion(path) -> bool:
    """Whether ``path`` is a per-point or step-sweep file rather than a results (cells) file."""
    return Path(path).name.endswith(COMPANION_SUFFIXES)
