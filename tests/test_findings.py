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
    # shown with the medians of its interval over them (±5 % here) and how many tasks
    assert (f.tied[0]["lo_s"], f.tied[0]["hi_s"], f.tied[0]["tasks"]) == \
        (pytest.approx(1.5e-3 * 0.95), pytest.approx(1.5e-3 * 1.05), 2)
    assert f.next["method"] == "tf"
    # per task: jax 50 ms + 1 ms (2 ms) a call, tf 10 ms + 2 ms (4 ms): equal after 40 and 20 calls
    assert f.paybacks == pytest.approx([0.040 / 1e-3, 0.040 / 2e-3])
    assert F.payback_words(f.paybacks) == "after 20–40 calls"
    assert f.tiers == [("≥ 13 digits", ["jax", "tf", "torch"]), ("< 8 digits", ["central", "sloppy"])]


def test_a_tie_needs_the_ratios_interval_to_reach_below_five_percent():
    rows = two_tasks()
    torch = rows["method"] == "torch"
    # 1.3× jax's time: its interval's low end over jax's high end is 1.24/1.05 = 1.18, beyond 1.05
    rows.loc[torch, ["eval_s", "eval_ci_lo_s", "eval_ci_hi_s"]] = \
        rows.loc[torch, ["eval_s"]].to_numpy() * [[1.3 / 1.02, 1.3 * 0.95 / 1.02, 1.3 * 1.05 / 1.02]]
    (f,) = F.findings(rows)
    assert [m["method"] for m in f.tied] == ["jax"] and f.next["method"] == "torch"


def test_the_sentences_are_read_off_the_cells():
    (sentence, payback) = F.sentences(two_tasks())
    assert sentence == ("For high-dimensional gradients of ≤ 10³ parameters (2 tasks), reverse mode (jax, "
                        "torch) tie for fastest (torch on 2 of 2 tasks, 1.02×): jax is 50–100× faster than "
                        "central differences on both tasks, and 8 digits more accurate.")
    assert payback == "There jax's setup (50 ms, against tf's 10 ms) pays for itself after 20–40 calls."
    assert F.verdict_lines(two_tasks()) == [sentence]


def test_no_accurate_method_leaves_the_tiers_alone():
    rows = synthetic_cells([cell("sloppy", "a", 1e-4, digits=3.0)])
    (f,) = F.findings(rows)
    assert f.tied == [] and f.next is None and f.tiers == [("< 8 digits", ["sloppy"])]
    assert F.sentences(rows) == []


# --- known answers where the rules must say no (each failed on the rules before them) -------------


def test_wide_intervals_tie_no_method_four_times_slower():
    """The default run's `> 10⁵ points` row: nine methods "tied" because one noisy leader's interval
    (1.245–11.0 ms around 1.305 ms) overlapped theirs, though autograd was 1.9–19.6× slower."""
    slower = {"autograd": (3.9, 10.5, 19.6, 1.9), "torch-func": (5.5, 19.0, 8.0, 12.0),
              "close": (1.02, 0.99, 1.03, 1.01)}  # a method the run truly cannot tell apart
    rows = []
    for i, task in enumerate("abcd"):
        rows.append(cell("jax", task, 1.305e-3, lo=1.245e-3, hi=30e-3))  # a burst: a noisy leader
        rows += [cell(m, task, 1.305e-3 * r[i]) for m, r in slower.items()]
    rows += [cell("mygrad", t, 1.305e-3 * r) for t, r in (("a", 4.4), ("b", 2.3))]  # half the tasks
    (f,) = F.findings(synthetic_cells(rows))
    assert [m["method"] for m in f.tied] == ["jax", "close"]
    assert f.next["method"] not in ("jax", "close")
    autograd = F.against_leader(*(synthetic_cells(rows).pipe(F._cells, ()).query("method == @m")
                                  .set_index(F.TASK) for m in ("autograd", "jax")))
    # its interval reaches the leader's on every task: only the geometric mean tells it apart
    assert autograd["tied_tasks"] == 4 and autograd["geomean"] > 5 and not autograd["tied"]


def test_payback_is_per_task_and_never_only_where_it_never_pays():
    """"sympy-cse pays back after 2,220 calls" was one figure from medians over different tasks;
    per task it was 396–10,936 calls, and never on 7 of 17."""
    rows = []
    for task, lead_s, next_s in (("a", 1e-6, 2e-6), ("b", 1e-6, 5e-6), ("c", 4e-6, 3e-6)):
        rows += [cell("lead", task, lead_s, setup_s=0.5), cell("next", task, next_s, setup_s=0.1)]
        rows.append(cell("slow", task, 1e-3))
    (f,) = F.findings(synthetic_cells(rows))
    assert (f.tied[0]["method"], f.next["method"]) == ("lead", "next")
    assert f.paybacks == pytest.approx([0.4 / 1e-6, 0.4 / 4e-6, math.inf])
    assert F.payback_words(f.paybacks) == "after 100,000–400,000 calls on 2 of 3 tasks, never on 1 of 3 " \
        "tasks (no cheaper call)"
    assert F.payback_words([math.inf, math.inf]) == \
        "never (its calls are no cheaper on any of the 2 tasks both ran)"


def test_never_is_not_said_when_the_shared_task_pays_back():
    """The quick run's "jax never pays back against sympy (25.9 µs a call)" held jax's median over
    lstm and ode against sympy's over ode alone; on ode, the one task both ran, jax was 3× faster."""
    rows = [cell("jax", "lstm", 40e-6, setup_s=1.0), cell("jax", "ode", 5e-6, setup_s=1.0),
            cell("sympy", "ode", 15e-6, setup_s=0.2)]
    (f,) = F.findings(synthetic_cells(rows))
    assert (f.tied[0]["method"], f.next["method"]) == ("jax", "sympy")
    assert f.paybacks == pytest.approx([0.8 / 10e-6]) and "never" not in F.payback_words(f.paybacks)


def test_a_claim_resting_on_one_task_says_so():
    """"jax is 2,847× faster than central differences" for 10³–10⁵ parameters came from 1 of 5 tasks."""
    rows = [cell("jax", t, 1e-5) for t in "abcde"]
    rows.append(cell("central", "a", 2.847e-2, family="numerical", mode="none"))
    (sentence,) = F.sentences(synthetic_cells(rows))
    assert "2,847× faster than central differences on the one task both ran" in sentence
    assert "(5 tasks)" in sentence


def test_a_training_run_timed_once_names_no_fastest():
    """The training row's winner beat the next by 2.5 % on one sample with no interval."""
    rows = [{**cell(m, "logistic", s, timing_repeats=1, lo=s, hi=s), "quantity": "training", "dim": 3}
            for m, s in (("jax", 1.0), ("torch", 1.025))]
    (f,) = F.findings(synthetic_cells(rows))
    assert f.kind == "training" and f.tied == [] and "one run" in f.note
    assert f.tiers and F.sentences(synthetic_cells(rows)) == []


def test_a_row_of_mostly_noisy_cells_says_so():
    rows = two_tasks()
    rows["noisy"] = rows["method"] != "central"  # 8 of 10
    (sentence, _) = F.sentences(rows)
    assert sentence.endswith("(80% of these cells' times are noisy).")


def test_a_leader_slower_than_an_inaccurate_comparator_is_said_plainly():
    rows = [cell("five-point", "a", 4e-3, family="numerical", mode="none"),
            cell("central", "a", 1e-3, digits=8.0, family="numerical", mode="none")]  # below 10 digits
    (sentence,) = F.sentences(synthetic_cells(rows))
    assert "five-point is 0.25× as fast as central differences on its one task" in sentence


# --- paired ratios: methods timed side by side in the same rounds (harness.runner.rounds) ----------


def timed(method, task, unit, loads, rounds, eval_s, lo, hi, run_id="r1", **extra):
    """A cell timed in its task's rounds: ``unit × load`` per call in each round of ``rounds``, as
    the runner records it (``eval_samples_s``, ``eval_round_ids``) with its median and the
    median's interval, given here in closed form (``eval_s``, ``lo``, ``hi`` in units)."""
    return cell(method, task, eval_s * unit, lo=lo * unit, hi=hi * unit, run_id=run_id,
                eval_samples_s=[unit * x for x in loads], eval_round_ids=list(rounds), timing_rounds=10,
                timing_repeats=len(loads), **extra)


LOADS = [1.0 + r for r in range(10)]  # round r: the machine's load slows every method (r + 1)×
# of 10 samples 1…10: median 5.5, interval the 2nd and 9th smallest (97.9 %): 2 and 9
SPREAD = dict(eval_s=5.5, lo=2.0, hi=9.0)


def moving_together(torch_run):
    """jax and torch timed in the same 10 rounds while the load moves them together from 1× to
    10×: torch is 1.3× jax in every round.  Each cell's interval spans 2–9× its unit, so the
    medians' intervals overlap widely.  torch's samples are recorded in the reverse round order:
    only their round ids pair them."""
    rows = []
    for task, scale in (("a", 1.0), ("b", 2.0)):
        rows += [timed("jax", task, 1e-3 * scale, LOADS, range(10), **SPREAD, setup_s=0.050),
                 timed("torch", task, 1.3e-3 * scale, LOADS[::-1], range(9, -1, -1), run_id=torch_run,
                       **SPREAD, setup_s=0.020)]
    return synthetic_cells(rows)


def test_a_consistent_ratio_of_1_3_is_no_tie_when_paired():
    (f,) = F.findings(moving_together("r1"))
    # every round's ratio is 1.3: the paired interval is [1.3, 1.3], not below 1.05 on either task
    assert [m["method"] for m in f.tied] == ["jax"] and f.next["method"] == "torch"
    against = f.next["against"]
    assert (against["tied_tasks"], against["shared"]) == (0, 2)
    assert (against["paired"], against["rounds"]) == (2, (10, 10))  # both tasks, in 10 rounds each
    assert against["geomean"] == pytest.approx(1.3) and not against["tied"]
    # jax's ratio to torch, 1/1.3 in every round, is below 1 beyond its interval on both tasks
    assert f.leader_fastest == 2
    # torch's call is 1.3× jax's (5.5 ms, 11 ms): 30 ms more setup pays back after 0.03 / (0.3 × jax's call)
    assert f.paybacks == pytest.approx([0.03 / (0.3 * 5.5e-3), 0.03 / (0.3 * 11e-3)])


def test_the_same_cells_from_different_runs_are_tied_on_their_medians_intervals():
    (f,) = F.findings(moving_together("r2"))
    # not timed in the same rounds: on each task torch's interval over jax's is 1.3·2/9 = 0.29–1.3·9/2
    # = 5.85, reaching below 1.05, and the ratio of the medians 1.3 is below 1.5: tied for the row
    assert [m["method"] for m in f.tied] == ["jax", "torch"] and f.next is None
    against = f.tied[1]["against"]
    assert (against["tied_tasks"], against["paired"], against["rounds"]) == (2, 0, None)
    assert against["range"] == (pytest.approx(1.3), pytest.approx(1.3))
    assert f.leader_fastest == 0  # jax over torch reaches 9 / 2.6 = 3.5: not beyond 1


def cut_short(run_id="r1"):
    """10 rounds, the first 5 under a 10× load, the last 5 quiet.  jax is timed in all 10; torch and
    tf ran out of their budgets after the loaded five, torch 1.01× jax and tf 1.2× in each."""
    loads = [10.0] * 5 + [1.0] * 5
    rows = []
    for task, scale in (("a", 1.0), ("b", 2.0)):
        u = 1e-3 * scale
        # jax: five samples of 10 and five of 1: median 5.5, 2nd and 9th smallest 1 and 10
        rows.append(timed("jax", task, u, loads, range(10), 5.5, 1.0, 10.0, setup_s=0.050))
        # five equal samples: the median and its interval (the extremes, 93.75 %) are that sample
        rows += [timed(m, task, u * k, [10.0] * 5, range(5), 10.0, 10.0, 10.0, run_id=run_id, setup_s=s)
                 for m, k, s in (("torch", 1.01, 0.020), ("tf", 1.2, 0.010))]
    return synthetic_cells(rows)


def test_a_consistent_ratio_of_1_01_is_a_tie_when_paired():
    (f,) = F.findings(cut_short())
    # paired over the 5 rounds all three ran: torch 1.01× jax in each, tf 1.2×
    assert [m["method"] for m in f.tied] == ["jax", "torch"] and f.next["method"] == "tf"
    torch = f.tied[1]["against"]
    assert (torch["tied_tasks"], torch["paired"], torch["rounds"]) == (2, 2, (5, 5))
    assert torch["geomean"] == pytest.approx(1.01) and torch["tied"]
    assert f.next["against"]["geomean"] == pytest.approx(1.2) and f.next["against"]["tied_tasks"] == 0
    # tf's call is 1.2× jax's 5.5 ms (11 ms on b): 40 ms more setup pays back after 0.04 / (0.2 × jax's call)
    assert f.paybacks == pytest.approx([0.04 / (0.2 * 5.5e-3), 0.04 / (0.2 * 11e-3)])
    assert "(torch on 2 of 2 tasks, 1.01×, paired in 5 rounds)" in F.sentences(cut_short())[0]
    assert f.tied[0]["rounds"] == (10, 10)  # the rounds its tasks ran, for the report's evidence


def test_the_cut_short_cells_unpaired_are_no_tie():
    (f,) = F.findings(cut_short(run_id="r2"))  # torch and tf from another run: medians only
    # torch's median 10.1 ms over jax's 5.5 ms is 1.84× (its interval 10.1/10 = 1.01 reaches below
    # 1.05, but the geometric mean is beyond 1.5), tf's 12/5.5 = 2.18×: torch is the next, not tied
    assert [m["method"] for m in f.tied] == ["jax"] and f.next["method"] == "torch"
    assert f.next["against"]["geomean"] == pytest.approx(10.1 / 5.5)
    assert f.next["against"]["tied_tasks"] == 2 and not f.next["against"]["tied"]
    # against torch's median: 30 ms more setup over 10.1 − 5.5 = 4.6 ms a call (9.2 ms on b)
    assert f.paybacks == pytest.approx([0.03 / 4.6e-3, 0.03 / 9.2e-3])


def test_what_pairs_two_cells():
    a = dict(run_id="r1", eval_samples_s=[1.0, 2.0, 3.0, 4.0], eval_round_ids=[0, 1, 2, 3])
    b = dict(run_id="r1", eval_samples_s=[2.0, 4.0, 6.0], eval_round_ids=[3, 1, 0])  # rounds 0, 1, 3
    found = F.paired(a, b)  # round 0: 1/6, round 1: 2/4, round 3: 4/2
    assert (found.ratio, found.lo, found.hi, found.rounds) == (0.5, 1 / 6, 2.0, 3)
    assert F.paired(a, {**b, "run_id": "r2"}) is None  # another run: its rounds are not a's
    assert F.paired(a, {**b, "eval_round_ids": None}) is None  # a file before rounds
    assert F.paired(a, {**b, "eval_round_ids": [3, 1, 9]}) is None  # 2 rounds in common: too few
    assert F.paired(a, {**b, "eval_round_ids": [3, 1]}) is None  # ids that do not match the samples
