"""harness.model.namespaces.scan: a compiled loop where the library has one (JAX's lax.scan,
TensorFlow's foldl), a Python loop elsewhere; the workloads written with it (lstm, ode) against
plain-Python evaluations of their specs' formulas, written here independently."""

import math

import numpy as np
import pytest

import cases  # noqa: F401
from harness.model.namespaces import namespace, scan
from harness.model.registry import CASES


def lstm_by_hand(main, extra, state, sequence) -> float:
    """ADBench's diagonal LSTM objective, one float at a time (gradbench evals/lstm/README.md)."""
    l, b = len(main) // 2, len(main[0]) // 4  # noqa: E741
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    hidden = [list(state[2 * i]) for i in range(l)]
    cell = [list(state[2 * i + 1]) for i in range(l)]
    total = 0.0
    for t in range(len(sequence) - 1):
        v = [sequence[t][j] * extra[0][j] for j in range(b)]
        for i in range(l):
            w, bias = main[2 * i], main[2 * i + 1]
            h_prev, h_new = hidden[i], []
            for j in range(b):
                forget = sig(v[j] * w[j] + bias[j])
                ingate = sig(h_prev[j] * w[b + j] + bias[b + j])
                outgate = sig(v[j] * w[2 * b + j] + bias[2 * b + j])
                change = math.tanh(h_prev[j] * w[3 * b + j] + bias[3 * b + j])
                cell[i][j] = cell[i][j] * forget + ingate * change
                h_new.append(outgate * math.tanh(cell[i][j]))
            hidden[i] = h_new
            v = hidden[i]
        y = [v[j] * extra[1][j] + extra[2][j] for j in range(b)]
        log_norm = math.log(2 + sum(math.exp(yj) for yj in y))
        total += sum(sequence[t + 1][j] * (y[j] - log_norm) for j in range(b))
    return -total / ((len(sequence) - 1) * b)


def ode_by_hand(x, s: int) -> float:
    """s RK4 steps to t = 2 of y′₀ = x₀, y′ᵢ = xᵢ yᵢ₋₁ from y = 0 (cmpad's an_ode)."""
    n, h = len(x), 2.0 / s
    rhs = lambda y: [x[0]] + [x[i] * y[i - 1] for i in range(1, n)]  # noqa: E731
    y = [0.0] * n
    for _ in range(s):
        k1 = rhs(y)
        k2 = rhs([a + h / 2 * b for a, b in zip(y, k1)])
        k3 = rhs([a + h / 2 * b for a, b in zip(y, k2)])
        k4 = rhs([a + h * b for a, b in zip(y, k3)])
        y = [a + h / 6 * (p + 2 * q + 2 * r + u) for a, p, q, r, u in zip(y, k1, k2, k3, k4)]
    return y[-1]


def evaluate(case, backend: str) -> float:
    x0 = np.array(case.seed_points[0])
    if backend == "tensorflow":
        tf = pytest.importorskip("tensorflow")
        from harness.methods.tensorflow_method import namespace as tf_namespace

        value = tf.function(lambda x: case.fn(tf_namespace(tf), x))(tf.constant(x0[None, :]))
        return float(value.numpy()[0])
    if backend != "numpy":
        pytest.importorskip(backend)
    xp = namespace(backend)
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        return float(jax.jit(lambda x: case.fn(xp, x))(xp.asarray(x0)))
    return float(case.fn(xp, xp.asarray(x0)))


BACKENDS = ("numpy", "jax", "torch", "tensorflow")


@pytest.mark.parametrize("backend", BACKENDS)
def test_lstm_written_with_scan_is_the_specs_objective(backend):
    from cases.gradbench import lstm_generate

    inputs = {key: np.float32(v).astype(np.float64) for key, v in lstm_generate(2, 9).items()}
    case = CASES.get("lstm").at({"l": 2, "c": 9})
    names = ("main_params", "extra_params", "state", "sequence")
    expected = lstm_by_hand(*(inputs[k].tolist() for k in names))
    assert evaluate(case, backend) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ode_written_with_scan_is_rk4_by_hand(backend):
    case = CASES.get("ode").at({"n": 12, "s": 3})
    assert evaluate(case, backend) == pytest.approx(ode_by_hand(list(case.seed_points[0]), 3), rel=1e-13)


def test_scan_keeps_a_batch_of_points_and_its_carry():
    xp = namespace("numpy")
    xs = (np.arange(5.0), np.ones(5))
    (total, count) = scan(xp, lambda c, x: (c[0] + x[0] * x[1], c[1] + 1), (np.zeros(3), 0), xs)
    assert total.tolist() == [10.0, 10.0, 10.0] and count == 5


def test_mpmath_runs_scan_as_a_python_loop():
    case = CASES.get("ode").at({"n": 6, "s": 2})
    xp = namespace("mpmath")
    x = np.array([float(v) for v in case.seed_points[0]], dtype=object)
    assert float(case.fn(xp, x)) == pytest.approx(ode_by_hand(list(case.seed_points[0]), 2), rel=1e-15)


# -- PyTorch: data made once, max/min along an axis as torch.max/torch.min ---------------------

def test_torch_constants_are_made_once_per_array_and_views_afresh():
    torch = pytest.importorskip("torch")
    from harness.model import namespaces

    xp = namespace("torch")
    like = torch.zeros(3, dtype=torch.float64)
    data = np.arange(6.0).reshape(2, 3)
    first = namespaces.constant(xp, data, like)
    assert namespaces.constant(xp, data, like) is first  # the same array: the same tensor
    assert namespaces.constant(xp, data, like.float()) is not first  # another dtype: another tensor
    assert namespaces.constant(xp, data, like.float()).dtype == torch.float32
    view = namespaces.constant(xp, data.T, like)  # a view made afresh: converted, never mistaken
    np.testing.assert_array_equal(view.numpy(), data.T)
    other = np.arange(6.0).reshape(2, 3) + 10  # another array with the same shape
    np.testing.assert_array_equal(namespaces.constant(xp, other, like).numpy(), other)


def test_torch_constants_are_bounded_and_never_stale():
    torch = pytest.importorskip("torch")
    from harness.model import namespaces

    xp = namespace("torch")
    like = torch.zeros(1, dtype=torch.float64)
    for i in range(3 * namespaces.TORCH_CONSTANTS):  # arrays made and dropped, as a case's np.zeros(s)
        fresh = np.full(4, float(i))
        assert namespaces.constant(xp, fresh, like)[0].item() == i
    assert len(namespaces._TorchTensors.made) <= namespaces.TORCH_CONSTANTS


def test_torch_max_and_min_along_an_axis_agree_with_the_standard_ones():
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as compat

    xp = namespace("torch")
    x = torch.tensor(np.random.default_rng(0).normal(size=(3, 4, 5)), requires_grad=True)
    for name in ("max", "min"):
        for axis in (-1, -2, 0):
            ours, standard = getattr(xp, name)(x, axis=axis), getattr(compat, name)(x, axis=axis)
            assert torch.equal(ours, standard)
            (g_ours,) = torch.autograd.grad(ours.sum(), x)
            (g_standard,) = torch.autograd.grad(standard.sum(), x)
            assert torch.equal(g_ours, g_standard)  # no ties: the same gradient
        assert torch.equal(getattr(xp, name)(x), getattr(compat, name)(x))  # over every entry
        kept = getattr(xp, name)(x, axis=1, keepdims=True)
        assert kept.shape == (3, 1, 5)


def test_torch_gradient_at_one_point_is_the_batched_gradient():
    """The torch method differentiates a single point without the batch axis; every case that a
    workload sweep holds gives the same gradient (and vjp) as in a batch of two points."""
    pytest.importorskip("torch")
    from harness.model.method import Cell
    from harness.model.registry import METHODS

    method, checked = METHODS.get("torch"), 0
    for name in ("gmm", "lstm", "lse", "llsq", "ode", "det", "kmeans", "mlp_loss"):
        case = CASES.get(name).at(CASES.get(name).profiles["quick"][0])
        for quantity in ("gradient", "vjp"):
            if quantity not in case.quantities:
                continue
            cell = Cell(case, 1, "float64", "cpu", quantity)
            evaluator = method.prepare(cell)
            p = case.points()[0]
            one = evaluator.to_numpy(evaluator.call(evaluator.to_device(p[None, :])))
            two = evaluator.to_numpy(evaluator.call(evaluator.to_device(np.stack([p, 2 * p]))))
            assert one.shape[1:] == two.shape[1:]
            np.testing.assert_allclose(one[0], two[0], rtol=1e-13, atol=1e-15)
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_a_librarys_own_logsumexp_is_the_primitives_one(backend):
    """gmm takes torch.logsumexp / jax.nn.logsumexp: the same values as the primitives' (checked
    here against math.fsum of exp at one point, independently), on both axes."""
    library = pytest.importorskip(backend)
    if backend == "jax":
        library.config.update("jax_enable_x64", True)  # as the jax method does: float64 data stays float64
    from harness.model.namespaces import logsumexp

    xp = namespace(backend)
    a = np.random.default_rng(3).normal(size=(2, 3, 4)) * 5
    for axis in (-1, -2):
        ours = np.asarray(logsumexp(xp, xp.asarray(a), axis=axis, library=True))
        primitives = np.asarray(logsumexp(xp, xp.asarray(a), axis=axis))
        np.testing.assert_allclose(ours, primitives, rtol=1e-14)
        lane = a[1, :, 2] if axis == -2 else a[1, 2, :]
        expected = math.log(math.fsum(math.exp(v) for v in lane))
        assert ours[1, 2] == pytest.approx(expected, rel=1e-14)
