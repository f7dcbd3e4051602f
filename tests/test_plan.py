"""The plan (harness.runner.plan): from a selection to the cells of a run, and each cell's key and budget."""

import json
from dataclasses import replace

import pytest

import harness
from harness.errors import UsageError
from harness.measure.timing import TimingSettings
from harness.model.case import DEFAULT_TIMEOUT_S
from harness.model.method import Cell
from harness.model.registry import CASES
from harness.runner import plan
from harness.store.schema import CellKey


def test_devices_all_is_every_device_kind():
    pairs = plan.cells(plan.Selection.of(cases="square", methods="jax", dtypes="float64", devices="all",
                                         orders="1"))
    assert [cell.device for _, cell in pairs] == ["cpu", "gpu"]


@pytest.mark.parametrize("kwargs, message", [
    ({"cases": "tanhh"}, "did you mean tanh"),
    ({"cases": "zz*"}, r"unknown case 'zz\*'"),
    ({"methods": "jaxx"}, "did you mean jax"),
    ({"dtypes": "float16"}, "unknown dtype"),
    ({"devices": "tpu"}, "unknown device"),
    ({"cases": "softplus", "orders": "3"}, "no cells"),
])
def test_bad_selection(kwargs, message):
    with pytest.raises(UsageError, match=message):
        harness.run(**kwargs)


def test_a_cell_budget_is_the_runs_else_the_cases_else_the_default():
    tanh = CASES.case("tanh")
    own = replace(tanh, timeout_s=7.0)
    assert tanh.budget(None) == DEFAULT_TIMEOUT_S
    assert own.budget(None) == 7.0
    assert own.budget(3.0) == 3.0  # --timeout wins
    assert CASES.case("nested_polynomial").timeout_s == 60.0  # SymPy on a deep nest swells




def test_a_planned_cells_key_is_its_rows_key(untimed):
    planned = plan.cells(plan.Selection.of(cases="tanh,rosenbrock", methods="central,dual", dtypes="float64",
                                           sizes="quick"))
    df = harness.run(cases="tanh,rosenbrock", methods="central,dual", dtypes="float64", sizes="quick",
                     timing=untimed)
    assert [p.key for p in planned] == [CellKey.of(r) for r in df.to_dict("records")]
    assert planned[0].key == CellKey("tanh", "grid=100", "central", "derivative", 1, "float64", "cpu")
    method, cell = planned[0]  # a planned cell unpacks as (method, cell)
    assert method.name == "central" and isinstance(cell, Cell)


def test_a_selection_is_recorded_and_read_back_as_it_was(tmp_path):
    plugin = tmp_path / "mine.py"
    plugin.write_text("")
    chosen = plan.Selection.of(cases="tanh", methods=["central", "j*"], orders="1", timeout=3.0,
                               plugins=[plugin], timing={"rounds": 3}, step_sweep=True)
    assert chosen.plugins == (str(plugin.resolve()),)
    assert plan.Selection.from_dict(json.loads(json.dumps(chosen.to_dict()))) == \
        chosen
    assert chosen.given() == ["cases", "methods", "orders", "plugins", "timeout", "timing", "step_sweep"]
    assert plan.Selection().given() == [] == plan.Selection.of().given()
    # each value parsed once, to one type, whatever form it was given in
    assert chosen.methods == ("central", "j*") and chosen.orders == (1,)
    assert chosen.timing == TimingSettings(rounds=3) and chosen.threads == 1
    assert plan.Selection.of(threads="all").threads == "all" and plan.Selection.of(threads="2").threads == 2
    assert plan.Selection.of(devices="all").devices == ("cpu", "gpu")
    assert plan.Selection.of(step_sweep="tanh, cubic").step_sweep == ("tanh", "cubic")


def test_a_recorded_selection_of_an_older_run_means_what_it_meant():
    older = {"cases": "tanh", "orders": ["1"], "threads": None, "timing": {"repeats": 3}, "step_sweep": True}
    read = plan.Selection.from_dict(older)
    assert (read.cases, read.orders, read.threads) == (("tanh",), (1,), 1)  # None was the default, 1
    assert read.timing == TimingSettings(rounds=3) and read.step_sweep is True  # repeats: rounds' old name
    # the timing passes are retired: a run that recorded them is read (and resumed) without them
    with_passes = {"cases": "tanh", "passes": 2,
                   "timing": {"repeats": 5, "min_batch_s": 0.002, "passes": 2, "later_pass_max_s": 0.1}}
    read = plan.Selection.from_dict(with_passes)
    assert read.timing == TimingSettings(rounds=5, min_batch_s=0.002) and read.rounds is None
    assert plan.timing_of(read).rounds == 5


def test_rounds_over_the_timing_settings():
    assert plan.timing_of(plan.Selection.of()) == TimingSettings()
    assert plan.timing_of(plan.Selection.of(sizes="quick")) == plan.QUICK_TIMING
    quick = plan.Selection.of(sizes="quick", rounds=7)
    assert plan.timing_of(quick) == TimingSettings(rounds=7, min_batch_s=0.002)
    given = plan.Selection.of(timing={"rounds": 4, "rounds_max_s": 1.0}, rounds=2)
    assert plan.timing_of(given) == TimingSettings(rounds=2, rounds_max_s=1.0)
    assert plan.Selection.from_dict(given.to_dict()) == given  # rounds recorded and read back


@pytest.mark.parametrize("given, says", [
    ({"threads": "0"}, "--threads must be at least 1"), ({"timeout": -1.0}, "--timeout"),
    ({"rounds": 0}, "--rounds must be a whole number from 1"), ({"rounds": 1001}, "--rounds"),
    ({"rounds": 2.0}, "--rounds"), ({"orders": "one"}, "whole numbers"), ({"sizes": "huge"}, "profile"),
    ({"shard": "3/2"}, "shard"), ({"timing": {"repeat": 1}}, "unknown timing setting"),
    ({"timing": {"passes": 2}}, "unknown timing setting 'passes'"),
])
def test_a_bad_value_is_one_usage_error_where_the_selection_is_made(given, says):
    with pytest.raises(UsageError, match=says):
        plan.Selection.of(**given)


def test_build_leaves_out_the_finished_cells_and_keeps_the_quick_timing():
    chosen = plan.Selection.of(cases="tanh", methods="central,forward", dtypes="float64", orders="1",
                               sizes="quick")
    whole = plan.build(chosen)
    assert whole.timing == plan.QUICK_TIMING and whole.step_sweep is None
    rest = plan.build(chosen, done={whole.cells[0].key})
    assert [p.key for p in rest.cells] == [p.key for p in whole.cells[1:]]
    with_sweep = plan.build(replace(chosen, step_sweep=True, shard="2/2"))
    assert with_sweep.step_sweep is None  # the step sweep goes with the first shard only
    assert plan.build(replace(chosen, step_sweep=True, shard="1/2")).step_sweep.cases == ("tanh",)
