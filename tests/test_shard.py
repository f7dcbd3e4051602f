"""``--shard i/N``: a balanced, deterministic split of the plan (harness.runner.shard)."""

import os
import subprocess
import sys

import pytest

import harness
from harness.cli import main
from harness.extend import Case, Cell, Method
from harness.model.case import DEFAULT_TIMEOUT_S
from harness.model.quantities import tasks
from harness.model.registry import UsageError
from harness.runner import plan, shard


def _never(cell):
    raise AssertionError("the split only estimates: no method is prepared")


def _f(xp, x):
    return x


EVERY = ("derivative", "gradient", "hessian", "jacobian", "jvp", "vjp")
SYM, STENCIL, LOOP, AD, TAPE = METHODS = [
    Method("sym", "symbolic", _never, quantities=EVERY, max_order=4, backend="sympy"),
    Method("stencil", "numerical", _never, quantities=("derivative", "gradient", "jacobian")),
    Method("loop", "numerical", _never, quantities=("derivative", "gradient"),
           batched="no: a Python loop over points", dtypes=("float64",)),
    Method("ad", "automatic", _never, quantities=EVERY, max_order=4, backend="jax", devices=("cpu", "gpu")),
    Method("tape", "automatic", _never, quantities=("derivative", "gradient", "hessian"), backend="torch"),
]


def synthetic_plan():
    """Cheap and dear cells mixed: symbolic, stencils, a loop over points, AD; scalar cases from
    10 to 10⁴ points, vector cases up to dimension 20, a composition sweep."""
    cases = [Case(f"scalar{g}", _f, "x", grid=g, orders=(1, 2)) for g in (10, 100, 1000, 10**4)]
    cases += [Case("nested", _f, "x", orders=(1,), size=(("depth", d),)) for d in (1, 3, 5)]
    cases += [Case(f"vector{d}", _f, "x", dim=d, grid=20, quantities=("gradient", "hessian", "jvp"))
              for d in (2, 5, 10, 20)]
    return [(m, Cell(c, order, dtype, device, quantity)) for c in cases for quantity, order in tasks(c)
            for m in METHODS for dtype in ("float64", "float32") for device in ("cpu", "gpu")]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8])
def test_the_split_is_balanced_disjoint_covering_and_deterministic(n):
    pairs = synthetic_plan()
    parts = [shard.select(pairs, f"{i}/{n}") for i in range(1, n + 1)]
    chosen = [id(p) for part in parts for p in part]
    assert len(chosen) == len(set(chosen)) == len(pairs)  # disjoint, and together the whole plan
    assert [shard.select(pairs, f"{i}/{n}") for i in range(1, n + 1)] == parts  # deterministic
    for part in parts:  # each shard keeps plan order
        positions = [next(k for k, p in enumerate(pairs) if p is q) for q in part]
        assert positions == sorted(positions)
    loads = shard.estimated_loads(pairs, n)
    assert max(loads) <= 1.5 * sum(loads) / n
    # greedy list scheduling's bound: no shard exceeds the mean by more than the dearest cell
    assert max(loads) <= sum(loads) / n + max(shard.cost(*p) for p in pairs)
    # cheap and dear cells both spread: every shard gets some of the dearest tenth
    dear = sorted(pairs, key=lambda p: -shard.cost(*p))[: len(pairs) // 10]
    assert all(any(p in part for p in dear) for part in parts) or n > len(dear)


def test_the_default_matrix_splits_evenly_by_the_model():
    pairs = plan.cells(plan.Selection.of(devices="cpu"))
    for n in (2, 3, 4, 8, 16):
        loads = shard.estimated_loads(pairs, n)
        assert max(loads) <= 1.05 * sum(loads) / n, n


def test_the_cost_model_orders_cells_sensibly():
    case = Case("wide", _f, "x", dim=50, grid=20, quantities=("gradient", "hessian"))
    gradient = Cell(case, 1, "float64", "cpu", "gradient")
    hessian = Cell(case, 2, "float64", "cpu", "hessian")
    assert shard.cost(STENCIL, hessian) == shard.SKIP_S  # declared unsupported: no work
    assert shard.cost(SYM, hessian) > shard.cost(SYM, gradient) > shard.cost(STENCIL, gradient)
    assert shard.cost(AD, hessian) < shard.cost(SYM, hessian)
    assert shard.cost(LOOP, gradient) > shard.cost(STENCIL, gradient)  # a Python loop over points
    nested = [Case("nested", _f, "x", size=(("depth", d),)) for d in (1, 2, 4)]
    assert [shard.cost(SYM, Cell(c, 1, "float64", "cpu")) for c in nested] == sorted(
        shard.cost(SYM, Cell(c, 1, "float64", "cpu")) for c in nested)  # expression swell
    huge = Case("huge", _f, "x", grid=10**9)
    assert shard.cost(LOOP, Cell(huge, 1, "float64", "cpu")) == DEFAULT_TIMEOUT_S  # capped


def test_the_split_is_the_same_in_any_interpreter():
    """No hash order, machine or backend import enters the split."""
    code = ("import sys, hashlib; from harness.runner import plan, shard\n"
            "pairs = plan.cells(plan.Selection.of(devices='cpu,gpu'))\n"
            "print(hashlib.sha256(repr(shard.assign(pairs, 7)).encode()).hexdigest())\n"
            "print(sorted(m for m in ('jax', 'torch', 'tensorflow', 'sympy') if m in sys.modules))")
    found = []
    for seed in ("12345", "987"):  # two fresh interpreters: this one may hold other tests' plugins
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                             timeout=300)
        assert out.returncode == 0, out.stderr
        found.append(out.stdout.split("\n")[:2])
    (digest, imported), (other, _) = found
    assert digest == other
    assert imported == "[]"


@pytest.mark.parametrize("spec", ["0/3", "4/3", "a/b", "1/0", "1/3/4", "", "-1/3", "2"])
def test_a_bad_shard_is_a_usage_error(spec):
    with pytest.raises(UsageError, match="--shard"):
        shard.parse(spec)


@pytest.mark.parametrize("spec", ["0/3", "4/3", "a/b", "1/0"])
def test_a_bad_shard_on_the_command_line_is_one_line_and_exit_2(spec, tmp_path, capsys):
    code = main(["run", "--cases", "tanh", "--methods", "central", "--shard", spec, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("diffbench: --shard"), err
    assert not list(tmp_path.iterdir())  # nothing ran


def test_run_records_the_shard_and_measures_only_its_cells(untimed):
    whole = plan.cells(plan.Selection.of(cases="tanh", methods="central,forward", dtypes="float64",
                                         sizes="quick"))
    mine = shard.select(whole, "2/2")
    df = harness.run(cases="tanh", methods="central,forward", dtypes="float64", sizes="quick",
                     shard=" 2 / 2 ", timing=untimed)
    assert df.attrs["meta"].shard == "2/2"
    assert list(zip(df["method"], df["order"])) == [(m.name, c.order) for m, c in mine]
