"""A task's shared rounds (harness.runner.rounds): every method of a task is timed side by side, one
batch of each per round in an order shuffled with the task's own seed, and a method that fails,
crashes or loses its worker keeps the rounds it had.

Nothing here depends on the machine's speed: the runs give ``rounds_max_s`` as infinity (every round
is run) or 0 (the MIN_ROUNDS floor), the plugin methods (tests/plugins/rounds.py) sleep in every call
so that each of their batches is one call and their n-th call is known, and the unit tests feed
:func:`run_task` held cells whose batches are scripted."""

import io
import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import harness
from harness.errors import UsageError
from harness.host.limits import StopRun
from harness.measure.outcomes import Measured
from harness.measure.pipeline import RunContext, skeleton
from harness.measure.timing import MIN_ROUNDS, TimingSettings
from harness.model.method import Cell
from harness.model.registry import CASES, METHODS
from harness.runner import rounds
from harness.runner.rounds import Entrant, run_task
from harness.stats.noise import paired_ratio
from harness.store.schema import TASK
from tests.conftest import PLUGINS, ROOT

PLUGIN = PLUGINS / "rounds.py"
EVERY_ROUND = {"rounds": 5, "min_batch_s": 0.002, "rounds_max_s": math.inf}  # never cut short by time
BUILT_IN = "central,forward,dual,complex-step"
SLEEPS_S = 0.003  # tests/plugins/rounds.py's SLEEP_S


def _run(methods, timing=None, isolate=False, cases="cubic,tanh", progress=None):
    return harness.run(cases=cases, methods=methods, dtypes="float64", orders="1", sizes="quick",
                       plugins=[PLUGIN], timing=timing or EVERY_ROUND, isolate=isolate, progress=progress,
                       log=progress is not None)


@pytest.fixture
def batches(monkeypatch):
    """Each batch the runner asks for, in order: (case, round id, method)."""
    seen = []
    original = rounds._one_batch

    def recording(entrant, round_id, pool, context):
        seen.append((entrant.cell.case.name, round_id, entrant.method.name))
        return original(entrant, round_id, pool, context)

    monkeypatch.setattr(rounds, "_one_batch", recording)
    return seen


def _orders(seen) -> dict:
    """(case, round id) → the methods in the order their batches were asked for."""
    found = {}
    for case, round_id, method in seen:
        found.setdefault((case, round_id), []).append(method)
    return found


# (a) one task, one set of rounds ------------------------------------------------------------------

@pytest.mark.parametrize("isolate", [False, True])
def test_every_method_of_a_task_is_timed_in_the_same_rounds(isolate, batches):
    df = _run(BUILT_IN, isolate=isolate)
    assert df.attrs["meta"].rounds == 5 and len(df) == 8 and (df.status == "ok").all()
    for _, task in df.groupby(TASK):
        assert task.timing_rounds.nunique() == 1 and len(task) == 4
    for row in df.itertuples():
        d, f = np.array(row.eval_samples_s), np.array(row.primal_samples_s)
        assert row.timing_rounds == 5 and list(row.eval_round_ids) == list(range(5))
        assert len(d) == len(f) == row.timing_repeats == 5  # one batch of each, every round
        assert row.eval_s == np.median(d) and row.primal_s == np.median(f)
        assert row.cost_ratio == pytest.approx(np.median(d / f), rel=1e-12)  # paired round by round
        assert (row.eval_ci_lo_s, row.eval_ci_hi_s) == (d.min(), d.max())  # 5 rounds: the extremes
        assert row.message == ""
    # the runner asked each method for one batch a round, each task's rounds one after the other
    orders = _orders(batches)
    assert sorted(orders) == [(case, r) for case in ("cubic", "tanh") for r in range(5)]
    assert all(sorted(o) == sorted(BUILT_IN.split(",")) for o in orders.values())


@pytest.mark.parametrize("rounds_asked, ran", [(10, MIN_ROUNDS), (2, 2)])
def test_a_task_whose_time_is_spent_stops_after_the_least_rounds(rounds_asked, ran):
    df = _run(BUILT_IN, timing={"rounds": rounds_asked, "min_batch_s": 0.002, "rounds_max_s": 0.0},
              cases="cubic")
    assert df.attrs["meta"].rounds == rounds_asked and (df.status == "ok").all()
    assert (df.timing_rounds == ran).all() and (df.timing_repeats == ran).all()
    assert all(list(ids) == list(range(ran)) for ids in df.eval_round_ids)


# (b) the order: shuffled each round, the same on a rerun ----------------------------------------

def test_the_order_is_shuffled_afresh_each_round_and_the_same_on_a_rerun(batches):
    timing = {"rounds": 8, "min_batch_s": 0.002, "rounds_max_s": math.inf}
    _run(BUILT_IN, timing=timing, cases="cubic")
    first = list(batches)
    batches.clear()
    _run(BUILT_IN, timing=timing, cases="cubic")
    assert batches == first  # the task's seed is fixed
    orders = _orders(first)
    assert len(orders) == 8 and all(sorted(o) == sorted(BUILT_IN.split(",")) for o in orders.values())
    assert len({tuple(o) for o in orders.values()}) > 1  # not one order for every round


def _cell(case="cubic", quantity="derivative"):
    return Cell(CASES.all()[case], 1, "float64", "cpu", quantity)


def test_a_tasks_seed_is_its_own_whatever_its_first_method_and_the_process():
    central, forward = METHODS.get("central"), METHODS.get("forward")
    seed = rounds._seed([(central, _cell())])
    assert seed == rounds._seed([(forward, _cell()), (central, _cell())])  # the task's, not a method's
    assert seed != rounds._seed([(central, _cell("softplus"))])
    code = ("from harness.model.method import Cell; from harness.model.registry import CASES, METHODS; "
            "from harness.runner.rounds import _seed; "
            "print(_seed([(METHODS.get('forward'), Cell(CASES.all()['cubic'], 1, 'float64', 'cpu', "
            "'derivative'))]))")
    for hash_seed in ("1", "2"):  # a rerun is another process, with other string hashes
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                             env=dict(os.environ, PYTHONHASHSEED=hash_seed), timeout=120)
        assert out.returncode == 0, out.stderr
        assert int(out.stdout) == seed


# (c) a crash mid-rounds ---------------------------------------------------------------------------

def test_a_crash_mid_rounds_ends_its_method_and_its_workers_other_cells_keep_their_rounds(batches):
    df = _run("sleeps,sleeps-elsewhere,crashes-in-round-2", isolate=True)
    orders = _orders(batches)
    for case, task in df.groupby("case"):
        by = task.set_index("method")
        crashed = by.loc["crashes-in-round-2"]
        assert crashed.status == "crashed"
        assert crashed.message.startswith("the worker process exited with status 9\n[last output]\n")
        assert crashed.message.endswith("ending its worker in round 2")  # its own round's output
        assert list(crashed.eval_round_ids) == [0, 1] and crashed.timing_repeats == 2  # what it had
        assert crashed.digits > 8 and crashed.setup_s > 0 and crashed.eval_s >= SLEEPS_S
        assert np.isnan(crashed.peak_host_bytes)  # never finished
        # on the dead worker's backend: timed in round 2 only where its batch came before the crash
        order = orders[(case, 2)]
        had = 3 if order.index("sleeps") < order.index("crashes-in-round-2") else 2
        sibling = by.loc["sleeps"]
        assert sibling.status == "ok" and list(sibling.eval_round_ids) == list(range(had))
        assert sibling.message == f"its worker was lost (crashed): timed in {had} of its task's rounds"
        # in a worker of its own: every round, and its memory measured after them
        other = by.loc["sleeps-elsewhere"]
        assert other.status == "ok" and other.message == "" and list(other.eval_round_ids) == list(range(5))
        assert (task.timing_rounds == 5).all()
        assert all("crashes-in-round-2" not in orders[(case, r)] for r in (3, 4))  # never asked again
        assert orders[(case, 4)] == ["sleeps-elsewhere"]


def test_a_cell_whose_worker_is_lost_before_the_rounds_is_prepared_again_and_timed():
    log = io.StringIO()
    df = _run("sleeps,crashes-when-prepared,sleeps-elsewhere", isolate=True, cases="cubic", progress=log)
    by = df.set_index("method")
    crashed = by.loc["crashes-when-prepared"]
    assert crashed.status == "crashed"
    assert crashed.message.startswith("the worker process exited with status 9")
    # prepared in the worker that then died: prepared again in a fresh one, and timed in every round
    sibling = by.loc["sleeps"]
    assert sibling.status == "ok" and sibling.digits > 8 and sibling.setup_s > 0
    assert list(sibling.eval_round_ids) == list(range(5)) and sibling.timing_rounds == 5
    assert sibling.message == "prepared again: its worker was lost (crashed) before the rounds"
    assert list(by.loc["sleeps-elsewhere"].eval_round_ids) == list(range(5))
    lines = log.getvalue().splitlines()  # --log: a line for each cell
    assert len(lines) == 3 and all(line.startswith("[") for line in lines)


# (d) a failure in a later round -------------------------------------------------------------------

@pytest.mark.parametrize("isolate", [False, True])
def test_a_method_that_fails_in_a_later_round_keeps_its_earlier_figures(isolate):
    df = _run("sleeps,raises-in-round-2,sleeps-elsewhere", isolate=isolate, cases="cubic")
    by = df.set_index("method")
    failed = by.loc["raises-in-round-2"]
    assert (failed.status, failed.message) == ("failed", "RuntimeError: gave up in round 2")
    assert failed.digits > 8 and failed.setup_s > 0 and failed.first_call_s >= SLEEPS_S
    assert list(failed.eval_round_ids) == [0, 1] and failed.timing_repeats == 2 and failed.timing_rounds == 5
    assert failed.eval_s >= SLEEPS_S and len(failed.primal_samples_s) == 2
    assert np.isnan(failed.peak_host_bytes)  # not finished: its memory is not measured
    for name in ("sleeps", "sleeps-elsewhere"):  # the others are not held back
        row = by.loc[name]
        assert row.status == "ok" and row.message == "" and list(row.eval_round_ids) == list(range(5))


# the rounds with scripted cells: stops, budgets, the figures ---------------------------------------

class Scripted:
    """A held cell whose batches take the times given, round by round (no clock); ``stop_in``: the
    round in which the run is stopped while it is timed."""

    def __init__(self, name, log, times, stop_in=None):
        self.name, self.log, self.times, self.stop_in = name, log, list(times), stop_in
        self.finished = []

    def batch(self):
        self.log.append(self.name)
        round_id = self.log.count(self.name) - 1
        if round_id == self.stop_in:  # a stop (Ctrl-C) while this batch is timed
            raise StopRun("SIGINT")
        return list(self.times[round_id % len(self.times)])

    def finish(self, median_s, context=None):
        self.finished.append(median_s)
        return {"peak_host_bytes": 1234}


class SlowPool:
    """A pool whose worker holds every cell, each batch of which takes 50 ms."""

    lost_why: dict = {}

    def __init__(self):
        self.asked = []

    def holds(self, method, cell):
        return True

    def round(self, method, cell, budget):
        self.asked.append(("round", method.name, budget))
        time.sleep(0.05)  # at least
        return [0.05, 0.01]

    def finish(self, method, cell, median_s, budget):
        self.asked.append(("finish", method.name, median_s, budget))
        return {} if median_s is None else {"peak_host_bytes": 99}  # None: only let go, as a worker does


def _entrant(name, held=None, budget=None, cell_s=0.0):
    method = METHODS.get(name)
    row = skeleton(method, _cell(), "r", "ok", "", cell_s=cell_s, digits=12.0)
    return Entrant(method, _cell(), Measured(row, []), (10, 20), budget, held)


def _run_task(monkeypatch, entrants, timing, pool=None):
    """``run_task`` over entrants already prepared; the rows it records, by method."""
    by_name = {e.method.name: e for e in entrants}
    monkeypatch.setattr(rounds, "_prepare", lambda method, cell, *rest: by_name[method.name])
    recorded = []
    run_task([(e.method, e.cell) for e in entrants], "r", TimingSettings.of(timing), None, pool, RunContext(),
             lambda row, points: recorded.append(row))
    assert sorted(row.method for row in recorded) == sorted(by_name)  # each recorded once
    return {row.method: row for row in recorded}


def test_a_rows_figures_are_its_rounds(monkeypatch):
    log = []
    a = _entrant("central", Scripted("a", log, [(2.0, 1.0), (4.0, 2.0), (6.0, 2.0)]))
    b = _entrant("forward", Scripted("b", log, [(1.0, 1.0)]))
    rows = _run_task(monkeypatch, [a, b], {"rounds": 3, "rounds_max_s": math.inf})
    row = rows["central"]
    assert (row.eval_s, row.primal_s, row.cost_ratio) == (4.0, 2.0, 2.0)  # medians; the rounds' ratios
    assert row.eval_samples_s == [2.0, 4.0, 6.0] and row.primal_samples_s == [1.0, 2.0, 2.0]
    assert row.eval_round_ids == [0, 1, 2] == rows["forward"].eval_round_ids
    assert (row.eval_ci_lo_s, row.eval_ci_hi_s) == (2.0, 6.0)
    assert (row.timing_number, row.timing_repeats, row.timing_rounds) == (10, 3, 3)
    assert (row.status, row.message, row.digits, row.peak_host_bytes) == ("ok", "", 12.0, 1234)
    assert a.held is None and b.held is None and log.count("a") == log.count("b") == 3  # let go


def test_a_spent_budget_ends_a_cells_rounds_and_is_never_sent_as_a_limit(monkeypatch):
    log = []
    pool = SlowPool()
    quick = _entrant("central", Scripted("quick", log, [(1.0, 1.0)]))
    slow = _entrant("forward", budget=0.04)  # held by the pool's worker; its first batch spends it
    rows = _run_task(monkeypatch, [quick, slow], {"rounds": 4, "rounds_max_s": math.inf}, pool)
    assert rows["forward"].status == "ok" and rows["forward"].eval_round_ids == [0]
    assert rows["forward"].message == "its budget ran out after 1 of its task's rounds"
    assert rows["forward"].timing_rounds == rows["central"].timing_rounds == 4
    assert rows["central"].eval_round_ids == [0, 1, 2, 3] and rows["central"].peak_host_bytes == 1234
    # its one batch had the budget it had; then it is only let go, with no limit and nothing measured
    assert pool.asked == [("round", "forward", 0.04), ("finish", "forward", None, None)]
    assert rows["forward"].peak_host_bytes is None


def test_a_stop_mid_rounds_keeps_each_cell_with_the_rounds_it_had(monkeypatch):
    log = []
    stopper = _entrant("central", Scripted("stopper", log, [(1.0, 1.0)], stop_in=2))
    other = _entrant("forward", Scripted("other", log, [(1.0, 1.0)]))
    recorded = []
    by_name = {"central": stopper, "forward": other}
    monkeypatch.setattr(rounds, "_prepare", lambda method, cell, *rest: by_name[method.name])
    with pytest.raises(StopRun):
        run_task([(stopper.method, stopper.cell), (other.method, other.cell)], "r",
                 TimingSettings.of({"rounds": 5, "rounds_max_s": math.inf}), None, None, RunContext(),
                 lambda row, points: recorded.append(row))
    rows = {row.method: row for row in recorded}
    assert sorted(rows) == ["central", "forward"]
    had = {"central": 2, "forward": 3 if log[4] == "other" else 2}  # log[4:]: round 2's batches
    for name, row in rows.items():
        assert row.status == "ok" and row.eval_round_ids == list(range(had[name]))
        assert row.message == f"the run was stopped after {had[name]} of its task's rounds"
        assert row.timing_rounds == max(had.values()) and row.peak_host_bytes is None  # not finished
    assert stopper.held.finished == [] == other.held.finished


# (e) how many rounds -------------------------------------------------------------------------------

def test_more_rounds_known_answers():
    ten = TimingSettings()  # 10 rounds, 3 s
    assert ten.more_rounds(0, 0.0) and ten.more_rounds(9, 2.9)
    assert not ten.more_rounds(10, 0.0)  # the cap
    assert ten.more_rounds(2, 100.0) and not ten.more_rounds(3, 100.0)  # MIN_ROUNDS, then time counts
    assert ten.more_rounds(3, 2.999) and not ten.more_rounds(3, 3.0)  # rounds_max_s
    two = TimingSettings(rounds=2, rounds_max_s=0.0)
    assert two.more_rounds(1, 100.0) and not two.more_rounds(2, 0.0)  # the floor never passes the cap
    assert not TimingSettings(rounds=0).more_rounds(0, 0.0)  # untimed
    endless = TimingSettings(rounds=1000, rounds_max_s=math.inf)
    assert endless.more_rounds(999, 1e9) and not endless.more_rounds(1000, 0.0)


# (f) the settings: the older name, the retired ones --------------------------------------------------

def test_repeats_is_the_older_name_of_rounds_and_the_retired_settings_are_named():
    assert TimingSettings.of({"repeats": 3}) == TimingSettings(rounds=3)
    for retired in ("passes", "later_pass_max_s"):
        with pytest.raises(UsageError) as caught:
            TimingSettings.of({retired: 2})
        said = str(caught.value)
        assert "\n" not in said and f"unknown timing setting {retired!r}" in said
        assert "every method of a task is timed in the same rounds" in said
    # a recorded selection (an older results file) is read without them
    assert TimingSettings.of({"passes": 2, "repeats": 5}, recorded=True) == TimingSettings(rounds=5)
    assert TimingSettings.of({"passes": 1, "later_pass_max_s": 0.1, "repeats": 3, "min_batch_s": 0.002},
                             recorded=True) == TimingSettings(rounds=3, min_batch_s=0.002)
    with pytest.raises(UsageError, match="'passes'"):
        harness.run(cases="cubic", methods="central", timing={"passes": 2})


# (g) paired ratios -----------------------------------------------------------------------------------

def test_paired_ratio_by_position():
    both = paired_ratio([2.0, 4.0, 8.0], [1.0, 2.0, 4.0])  # a burst doubles both in a round: still 2
    assert (both.ratio, both.lo, both.hi, both.rounds) == (2.0, 2.0, 2.0, 3)
    assert both.coverage == pytest.approx(0.75)  # 3 rounds: the extremes, 1 − 2/2³
    five = paired_ratio([3.0, 10.0, 4.0, 6.0, 5.0], [1.0, 2.0, 2.0, 2.0, 1.0])  # ratios 3, 5, 2, 3, 5
    assert (five.ratio, five.lo, five.hi, five.rounds) == (3.0, 2.0, 5.0, 5)
    assert five.coverage == pytest.approx(1 - 2 / 2**5)
    assert paired_ratio([2.0, 4.0, 6.0], [1.0, 2.0]).rounds == 2  # as far as both go


def test_paired_ratio_by_round_id():
    a, a_ids = [2.0, 4.0, 6.0, 8.0], [0, 1, 2, 3]
    b, b_ids = [2.0, 2.0, 9.0], [1, 3, 4]  # b lost rounds 0 and 2 (say, its worker was lost)
    matched = paired_ratio(a, b, a_ids, b_ids)  # rounds 1 and 3: 4/2 and 8/2
    assert (matched.ratio, matched.rounds) == (3.0, 2)
    assert paired_ratio(a, b).ratio != matched.ratio  # by position they would pair wrongly
    assert paired_ratio(a, b, [0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 4.0]) == matched  # ids as a file holds them
    assert paired_ratio([1.0, 2.0], [1.0, 2.0], [0, 1], [2, 3]) is None  # no round in common
    assert paired_ratio([], []) is None
    dropped = paired_ratio([1.0, 2.0, 3.0], [0.0, 1.0, 1.0])  # a zero time is no ratio
    assert (dropped.ratio, dropped.rounds) == (2.5, 2)
