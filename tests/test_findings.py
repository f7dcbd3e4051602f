"""The findings (harness.read.findings), by construction: hand-made cells whose answers are known."""

import math

import pytest

from harness.read import findings as F
from tests.test_analysis import cells as synthetic_cells


def cell(method, task, eval_s, digits=15.0, lo=None, hi=None, family="automatic", mode="reverse",
         setup_s=0.01, **extra):
    return dict(method=method, case=task, size="", quantity="gradient", dim=500, n_points=10, eval_s=eval_s,
                eval_ci_lo_s=eval_s * 0.95 if lo is None else lo,
                eval_ci_hi_s=eval_s * 1.05 if hi is None else hi,
                digits=digits, family=family, mode=mode, setup_s=setup_s, **extra)


def test_kinds_and_size_ranges():
    assert F.kind_of("derivative", 1) == "elementwise derivatives"
    assert F.kind_of("gradient", 100) == "low-dimensional gradients"
    assert F.kind_of("gradient", 101) == "high-dimensional gradients"
    assert F.kind_of("vjp", 5000) == "high-dimensional gradients"
    assert F.kind_of("hvp", 5000) == F.kind_of("hessian", 2) == "Hessians and hvp"
    assert F.kind_of("jacobian", 1849) == "Jacobians"
    assert F.kind_of("gradient", 938, sequential=True) == "sequential loops"
    assert F.kind_of("training", 3) == "training"
    assert F.size_range(1000, "points") == "≤ 10³ points"
    assert F.size_range(1001, "parameters") == "10³–10⁵ parameters"
    assert F.size_range(640_000, "parameters") == "> 10⁵ parameters"


def test_payback_is_the_break_even_number_of_calls():
    # setup 46 ms + 1 µs a call against 7 ms + 3 µs a call: equal after 39 ms / 2 µs = 19,500 calls
    assert F.payback_calls(0.046, 1e-6, 0.007, 3e-6) == pytest.approx(19_500)
    assert F.payback_calls(0.001, 1e-6, 0.007, 3e-6) == 0.0  # no dearer setup: at once
    assert math.isinf(F.payback_calls(0.046, 3e-6, 0.007, 1e-6))  # no cheaper call: never


def two_tasks():
    """jax and torch indistinguishable (overlapping intervals), tf 2× slower, a fast but inaccurate
    method, central 50–100× slower and 8 digits short."""
    rows = []
    for task, scale in (("a", 1.0), ("b", 2.0)):
        rows += [cell("jax", task, 1.00e-3 * scale, setup_s=0.050),
                 cell("torch", task, 1.02e-3 * scale, setup_s=0.020),
                 cell("tf", task, 2.0e-3 * scale, setup_s=0.010),
                 cell("sloppy", task, 1e-4 * scale, digits=3.0),  # fastest, but below 10 digits
                 cell("central", task, (0.05 if task == "a" else 0.1) * scale, digits=7.0, family="numerical",
                      mode="none")]
    return synthetic_cells(rows)


def test_the_tied_fastest_the_next_and_the_tiers():
    (f,) = F.findings(two_tasks())
    assert (f.kind, f.sizes, f.dtype, f.device, f.tasks) == ("high-dimensional gradients", "≤ 10³ parameters",
                                                             "float64", "cpu", 2)
    assert [m["method"] for m in f.tied] == ["jax", "torch"]  # their intervals overlap; tf's do not
    assert f.tied[0]["eval_s"] == pytest.approx(1.5e-3)  # the median over the two tasks
    assert f.next["method"] == "tf"
    # jax: 50 ms + 1.5 ms a call; tf: 10 ms + 3 ms a call → equal after 40 / 1.5 = 26.7 calls
    assert f.payback_calls == pytest.approx(0.040 / 1.5e-3)
    assert f.tiers == [("≥ 13 digits", ["jax", "tf", "torch"]), ("< 8 digits", ["central", "sloppy"])]


def test_a_tie_needs_overlapping_intervals():
    rows = two_tasks()
    torch = rows["method"] == "torch"
    rows.loc[torch, "eval_ci_lo_s"] = rows.loc[torch, "eval_s"] * 1.06 / 1.02  # above jax's upper end
    (f,) = F.findings(rows)
    assert [m["method"] for m in f.tied] == ["jax"] and f.next["method"] == "torch"


def test_the_sentences_are_read_off_the_cells():
    (sentence, payback) = F.sentences(two_tasks())
    assert sentence == ("For high-dimensional gradients of ≤ 10³ parameters, reverse mode (jax, torch) tie "
                        "for fastest: jax is 50–100× faster than central differences and 8 digits more "
                        "accurate.")
    assert payback == "There jax's setup (50 ms, against tf's 10 ms) pays for itself after 27 calls."
    assert F.verdict_lines(two_tasks()) == [sentence]


def test_no_accurate_method_leaves_the_tiers_alone():
    rows = synthetic_cells([cell("sloppy", "a", 1e-4, digits=3.0)])
    (f,) = F.findings(rows)
    assert f.tied == [] and f.next is None and f.tiers == [("< 8 digits", ["sloppy"])]
    assert F.sentences(rows) == []
