"""An end-to-end workload beside per-call timing: gradient descent driven by a method's gradient.

Seed 000 trains logistic regression on iris with 10,000 steps of θ ← θ − lr·∇L(θ),
lr = 0.05, from θ = 0.  :func:`train` runs that loop with the gradient of any
registered method (prepared once, then called every step) and times it as a
whole; :func:`reference_training` runs the same loop with a hand-written
closed-form gradient in float64 NumPy, independent of every method under test;
:func:`compare` says how far a method's final θ ends from the reference's.

Only NumPy is imported here: backends come in through ``method.prepare``.
:func:`measure_training` is one cell of the ``training`` quantity (a case with a ``training`` spec,
e.g. ``diffbench run --cases logistic_iris_training``): the pipeline hands such cells here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.model.case import Case
from harness.model.method import Cell, Method, Unsupported
from harness.truth import accuracy as acc


@dataclass
class TrainingResult:
    """The end of a training run.

    ``loss_history`` is (step, loss) at a few evenly spaced steps, the loss
    evaluated in float64 NumPy after the timed loop; None when not asked for.
    ``wall_s`` is the whole loop; ``setup_s`` is ``method.prepare`` alone; the
    first call's compilation or warm-up (JAX's jit) falls in the loop, as in the
    seed, and ``first_step_s`` shows it.
    """

    final: np.ndarray  # θ after the last step, shape (n,), in the run's dtype
    loss_history: list[tuple[int, float]] | None
    wall_s: float
    setup_s: float
    steps: int
    method: str = ""
    first_step_s: float = float("nan")


def _descend(gradient_of: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, steps: int,
             lr: float, sample_at: set[int]) -> tuple[np.ndarray, dict[int, np.ndarray], float, float]:
    """``steps`` updates of θ (shape (1, n)): the final θ, θ at the steps in ``sample_at``,
    the loop's wall time and the first step's."""
    lr = np.asarray(lr, dtype=theta.dtype)  # a Python float would promote float32 θ to float64
    snapshots = {}
    first_step_s = float("nan")
    t0 = time.perf_counter()
    for step in range(steps):
        if step in sample_at:
            snapshots[step] = theta[0].copy()
        # a new array each step, never in place: a backend may still hold a view of the old one
        theta = theta - lr * gradient_of(theta).astype(theta.dtype, copy=False)
        if step == 0:
            first_step_s = time.perf_counter() - t0
    wall_s = time.perf_counter() - t0
    snapshots[steps] = theta[0].copy()
    return theta[0], snapshots, wall_s, first_step_s


def _sample_steps(steps: int, loss_samples: int) -> set[int]:
    if loss_samples <= 0:
        return set()
    return {int(s) for s in np.linspace(0, steps, loss_samples + 1).round()}


def _history(case: Case, snapshots: dict, loss_samples: int) -> list[tuple[int, float]] | None:
    if loss_samples <= 0:
        return None
    from harness.model.namespaces import namespace

    xp = namespace("numpy")
    return [(step, float(case.fn(xp, theta.astype(np.float64)))) for step, theta in sorted(snapshots.items())]


def _start(case: Case, start, dtype: str) -> np.ndarray:
    theta = np.zeros(case.dim) if start is None else np.asarray(start, dtype=float)
    if theta.shape != (case.dim,):
        raise ValueError(f"start has shape {theta.shape}; case {case.name!r} needs ({case.dim},)")
    return theta.astype(dtype)[None, :]  # one point: shape (1, n)


def train(method: Method, case: Case, dtype: str = "float64", device: str = "cpu", steps: int = 10_000,
          lr: float = 0.05, start=None, loss_samples: int = 10) -> TrainingResult:
    """Gradient descent on ``case`` (a scalar loss of θ) with ``method``'s gradient.

    Raises :class:`Unsupported` when the method does not declare what this needs.
    """
    cell = Cell(case, 1, dtype, device, "gradient")
    reason = method.unsupported_reason(cell)
    if reason:
        raise Unsupported(reason)
    t0 = time.perf_counter()
    evaluator = method.prepare(cell)
    setup_s = time.perf_counter() - t0

    def gradient_of(theta):
        # the host↔device round trip every step is part of the workload, as in seed 000's loop:
        # the update is done in NumPy, so θ goes to the backend and ∇L comes back each step
        return evaluator.to_numpy(evaluator.call(evaluator.to_device(theta)))[0]

    theta = _start(case, start, dtype)
    final, snapshots, wall_s, first_s = _descend(gradient_of, theta, steps, lr,
                                                 _sample_steps(steps, loss_samples))
    return TrainingResult(final, _history(case, snapshots, loss_samples), wall_s, setup_s, steps,
                          method.name, first_s)


def reference_training(case: Case, steps: int, lr: float, start, gradient: Callable[[np.ndarray], np.ndarray],
                       loss_samples: int = 10) -> TrainingResult:
    """The same descent in float64 with ``gradient``, a closed form θ (n,) ↦ ∇L(θ) (n,) written by hand."""
    theta = _start(case, start, "float64")
    final, snapshots, wall_s, first_s = _descend(lambda t: gradient(t[0]), theta, steps, lr,
                                                 _sample_steps(steps, loss_samples))
    return TrainingResult(final, _history(case, snapshots, loss_samples), wall_s, 0.0, steps,
                          "reference", first_s)


def compare(result: TrainingResult, reference_final: np.ndarray) -> dict:
    """Deviation of ``result.final`` from the reference θ: largest absolute and relative.

    The relative deviation of an entry is |Δ| / max(|ref|, 1e-3·max|ref|), the
    floor keeping an entry near zero from dividing by next to nothing.
    """
    final = np.asarray(result.final, dtype=np.float64)
    ref = np.asarray(reference_final, dtype=np.float64)
    dev = np.abs(final - ref)
    scale = np.maximum(np.abs(ref), 1e-3 * np.abs(ref).max())
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(dev == 0, 0.0, dev / scale)
    return dict(max_abs_dev=float(dev.max()), max_rel_dev=float(rel.max()))


def measure_training(method: Method, cell: Cell) -> dict:
    """Gradient descent driven by the method's gradient, against the closed-form trajectory."""
    spec = cell.case.training
    result = train(method, cell.case, cell.dtype, cell.device, spec.steps, spec.lr, spec.start,
                   loss_samples=0)
    ref = reference_training(cell.case, spec.steps, spec.lr, spec.start, spec.gradient(), loss_samples=0)
    dev = compare(result, ref.final)
    score = spec.accuracy(result.final) if spec.accuracy else None
    detail = {"steps": spec.steps, "lr": spec.lr, "final": result.final.tolist(),
              "reference_final": ref.final.tolist(), "accuracy": score,
              "reference_accuracy": spec.accuracy(ref.final) if spec.accuracy else None,
              "first_step_s": result.first_step_s}
    return dict(
        eval_s=result.wall_s, setup_s=result.setup_s, first_call_s=result.first_step_s,
        max_abs_err=dev["max_abs_dev"], max_rel_err=dev["max_rel_dev"],
        digits=acc.digits_of(dev["max_rel_dev"]), n_points=1, timing_number=spec.steps, timing_repeats=1,
        timing_clock="wall",  # the run as a whole, as its user waits for it
        reference="closed-form gradient descent in float64", detail=json.dumps(detail),
        message=f"{spec.steps} steps in {result.wall_s:.3g} s; final θ off the reference by "
                f"{dev['max_abs_dev']:.2g}" + (f"; accuracy {score:.3f}" if score is not None else ""),
    )
