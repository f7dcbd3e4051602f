"""Each method's declared limits (harness.model.method.Method): the arithmetic of a stencil's n
evaluations of f (``max_stencil_work``) and the size of one unrolled trace (``max_traced``) make a
cell ``unsupported`` with the figures, before anything is prepared."""

import pytest

import cases  # noqa: F401
from harness.extend import Case, Cell, Method
from harness.model.registry import CASES, METHODS


def reason(method: str, case: str, size: dict, quantity: str = "gradient") -> str | None:
    cell = Cell(CASES.get(case).at(size), 1, "float64", "cpu", quantity)
    return METHODS.get(method).unsupported_reason(cell)


def test_adaptive_differences_stop_where_a_central_difference_still_runs():
    gmm = {"d": 10, "k": 5, "n": 1000}  # 330 parameters, 7·10⁵ operations per evaluation
    assert reason("central", "gmm", gmm) is None
    for name in ("numdifftools", "richardson", "scipy-differentiate"):
        why = reason(name, "gmm", gmm)
        assert why is not None and "2.31e+08 operations of f (points · n · work) at n = 330" in why, why
        assert reason(name, "gmm", {"d": 2, "k": 5, "n": 10}) is None  # 1.8·10⁴ operations


def test_every_stencil_method_stops_at_its_work():
    mlp = {"layers": 3, "width": 64, "batch": 256}
    assert "stencil is 4.17e+10 operations of f" in reason("central", "mlp_loss", mlp)
    for name in ("forward", "central4", "complex-step", "dual", "jax-fwd"):  # time or memory
        assert "at n = 12480" in (reason(name, "mlp_loss", mlp) or ""), name
    for name in ("jax", "jax-rev", "torch", "autograd"):  # reverse mode: one pass, whatever n
        assert reason(name, "mlp_loss", mlp) is None, name


def test_tracing_compilers_stop_at_an_unrolled_recursion():
    for name in ("jax", "jax-fwd", "jax-rev", "tensorflow"):
        assert "unrolled operations" in reason(name, "det", {"ell": 7}), name
        assert reason(name, "det", {"ell": 5}) is None, name
    for name in ("jax-nojit", "torch", "autograd", "central"):  # nothing compiled
        assert reason(name, "det", {"ell": 7}) is None, name
    # a loop written with scan is traced once, whatever its length
    assert reason("jax", "lstm", {"l": 4, "c": 8192}) is None


def test_a_users_method_declares_its_limits_once():
    method = Method("slow-fd", "numerical", prepare=lambda cell: None, quantities=("gradient",),
                    max_stencil_work=1e4, max_traced=10)
    big = Case("big", lambda xp, x: xp.sum(x * x, axis=-1), "Σ x²", grid=0, seed_points=((1.0,) * 50,),
               dim=50, quantities=("gradient",), work=1e3)
    unrolled = Case("unrolled", lambda xp, x: xp.sum(x, axis=-1), "Σ x", grid=0, seed_points=((1.0, 2.0),),
                    dim=2, quantities=("gradient",), traced=11)
    small = Case("small", lambda xp, x: xp.sum(x, axis=-1), "Σ x", grid=0, seed_points=((1.0, 2.0),),
                 dim=2, quantities=("gradient",))
    def why(case):
        return method.unsupported_reason(Cell(case, 1, "float64", "cpu", "gradient"))

    assert "5e+04 operations of f (points · n · work) at n = 50 (limit 1e+04)" in why(big)
    assert "11 unrolled operations" in why(unrolled)
    assert why(small) is None


@pytest.mark.parametrize("name", ["gmm", "lstm", "lse", "llsq", "ode", "det", "kmeans", "ba", "mlp_loss"])
def test_every_workload_has_a_default_size_that_reverse_mode_runs(name):
    sizes = CASES.get(name).profiles["default"]
    method = "jax" if name != "det" else "torch"
    quantity = "jacobian" if name == "ba" else "gradient"
    assert any(reason(method, name, size, quantity) is None for size in sizes)


def test_adaptive_steps_stop_at_a_million_points_of_a_scalar_case():
    for name in ("richardson", "scipy-differentiate"):
        assert reason(name, "tanh", {"grid": 10**4}, "derivative") is None
        assert "stencil is 1e+06 operations" in reason(name, "tanh", {"grid": 10**6}, "derivative")
    assert reason("central", "tanh", {"grid": 10**6}, "derivative") is None


def test_a_coloured_jacobian_is_a_stencil_of_its_colours():
    """ba1's 55,710 columns compress into a handful of colours: the differences that colour it
    take it; a dense stencil of 55,710 shifts would be 5·10¹⁰ numbers."""
    for name in ("forward", "central"):
        assert reason(name, "ba", {"problem": 1}, "jacobian") is None, name
    assert "builds a dense Jacobian" in reason("central4", "ba", {"problem": 1}, "jacobian")


def test_ba_declares_the_colours_its_pattern_takes():
    from harness.model.sparse import colouring

    for size in ({"problem": 1, "scale": 1000}, {"problem": 1, "scale": 30}, {"problem": 1}):
        case = CASES.get("ba").at(size)
        assert colouring(case).count == case.colours
