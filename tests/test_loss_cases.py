"""The loss cases (cases/losses.py): one loss in every backend, closed forms, the harness on them."""

import time
from dataclasses import replace

import mpmath
import numpy as np
import pytest

import harness
from cases import losses
from harness.extend import Cell, register_case
from harness.measure.timing import UNTIMED
from harness.model.namespaces import namespace
from harness.model.registry import CASES, METHODS
from harness.truth import reference as reference_mod

jax = pytest.importorskip("jax")
torch = pytest.importorskip("torch")
jax.config.update("jax_enable_x64", True)

CASE_LIST = [losses.mlp_loss(), losses.mlp_loss_seed(), losses.logistic_loss(), losses.logistic_iris(),
             losses.softmax_xent()]
BY_NAME = {case.name: case for case in CASE_LIST}
NAMES = list(BY_NAME)
AD = ("jax", "torch")


@pytest.fixture(scope="module", autouse=True)
def registered():
    """The loss cases, registered for this module only: other modules' default matrices stay as they are."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CASES, "_entries", CASES.all())
        losses.register()
        assert set(NAMES) <= set(CASES.all())
        for case in CASE_LIST:  # the same objects as here, so the runner reuses the references timed below
            register_case(case)
        yield


def mp_value(case, theta):
    with mpmath.workdps(30):
        point = np.array([mpmath.mpf(float(v)) for v in theta], dtype=object)
        return float(case.fn(namespace("mpmath"), point))


def jax_grad(case, theta):
    xp = namespace("jax")
    return np.asarray(jax.grad(lambda x: case.fn(xp, x))(jax.numpy.asarray(theta)))


# --- one loss, every backend -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_dim_and_points(name):
    case = BY_NAME[name]
    points = case.points()
    assert points.shape == (len(case.seed_points) + case.grid, case.dim)
    assert np.all(np.abs(points[len(case.seed_points):]) <= 1)
    assert all(q in ("gradient", "hessian") for q in case.quantities)
    # a Hessian only where its reference is cheap (logistic_loss: 16 entries of a 4-row sum)
    assert ("hessian" in case.quantities) == (name == "logistic_loss")


def test_dims():
    assert {c.name: c.dim for c in CASE_LIST} == {
        "mlp_loss": 24, "mlp_loss_seed": 24, "logistic_loss": 4, "logistic_iris": 3, "softmax_xent": 9}
    assert losses.mlp_loss(layers=3, width=4).dim == 3 * (16 + 4)


@pytest.mark.parametrize("name", NAMES)
def test_same_loss_in_every_backend(name):
    case = BY_NAME[name]
    points = case.points()
    expected = np.array([mp_value(case, p) for p in points])
    batched = {
        "numpy": np.asarray(case.fn(namespace("numpy"), points)),
        "jax": np.asarray(case.fn(namespace("jax"), jax.numpy.asarray(points))),
        "torch": case.fn(namespace("torch"), torch.tensor(points, dtype=torch.float64)).numpy(),
    }
    one_by_one = {
        "numpy": np.array([case.fn(namespace("numpy"), p) for p in points]),
        "jax vmap": np.asarray(jax.vmap(lambda p: case.fn(namespace("jax"), p))(jax.numpy.asarray(points))),
        "torch": np.array([case.fn(namespace("torch"), torch.tensor(p)).item() for p in points]),
    }
    for label, values in [*batched.items(), *one_by_one.items()]:
        assert values.shape == (len(points),), label
        np.testing.assert_allclose(values, expected, rtol=1e-13, atol=0, err_msg=label)


# --- closed forms and independent checks ----------------------------------------------------------------


def test_mlp_loss_seed_gradient_vanishes_but_in_the_last_layer():
    case = BY_NAME["mlp_loss_seed"]
    last = case.dim - 12  # width 3: W (9) and b (3) of the last layer
    ref = reference_mod.reference(case, 1, case.points(), "gradient")
    assert np.all(ref.hi[:, :last] == 0) and np.all(ref.lo[:, :last] == 0)
    assert np.all(ref.hi[:, last:] != 0)
    for theta in case.points():
        g = jax_grad(case, theta)
        assert np.all(g[:last] == 0) and np.all(g[last:] != 0)


def test_mlp_loss_seed_last_layer_is_mlp_loss_with_one_layer():
    chained, seed = losses.mlp_loss(layers=1), losses.mlp_loss_seed(layers=3)
    theta = np.random.default_rng(5).uniform(-1, 1, seed.dim)
    assert mp_value(seed, theta) == pytest.approx(mp_value(chained, theta[-12:]), rel=1e-15)


def test_mlp_loss_gradient_matches_the_seed_network_on_a_pytree():
    """Seed 000's predict (with `outputs` fed forward) on a list of (W, b), differentiated by jax."""
    jnp = jax.numpy
    case, layers, width = BY_NAME["mlp_loss"], 2, 3
    rng = np.random.default_rng(0)
    inputs, targets = rng.standard_normal((6, width)), rng.standard_normal((6, 1))

    def loss_fun(params):
        outputs = inputs
        for w, b in params:
            outputs = jnp.tanh(jnp.dot(outputs, w) + b)
        return jnp.sum((outputs - targets) ** 2)

    theta = case.points()[1]
    size = width * width + width
    params = [(jnp.asarray(theta[k * size : k * size + 9].reshape(3, 3)), jnp.asarray(theta[k * size + 9 :
              (k + 1) * size])) for k in range(layers)]
    flat = np.concatenate([np.concatenate([np.ravel(gw), gb]) for gw, gb in jax.grad(loss_fun)(params)])
    np.testing.assert_allclose(jax_grad(case, theta), flat, rtol=1e-13, atol=1e-15)
    assert float(loss_fun(params)) == pytest.approx(mp_value(case, theta), rel=1e-14)


def test_logistic_loss_gradient_at_zero_by_hand():
    # at θ = 0 every prediction is 1/2: ∂L/∂W = Σ (p − t) x, ∂L/∂b = Σ (p − t)
    case = BY_NAME["logistic_loss"]
    residual = 0.5 - losses.TOY_TARGETS
    expected = np.append(losses.TOY_INPUTS.T @ residual, residual.sum())
    ref = reference_mod.reference(case, 1, np.zeros((1, 4)), "gradient")
    np.testing.assert_allclose(ref.hi[0], expected, rtol=1e-15)
    np.testing.assert_allclose(jax_grad(case, np.zeros(4)), expected, rtol=1e-14)
    assert mp_value(case, np.zeros(4)) == pytest.approx(4 * np.log(2), rel=1e-15)


def test_logistic_loss_seed_point_reproduces_seed_003():
    # seed 003 printed these, in float32, at its own (W, b)
    case = BY_NAME["logistic_loss"]
    theta = np.array(case.seed_points[0])
    printed = [-0.16965583, -0.8774644, -1.4901346, -0.29227245]
    assert mp_value(case, theta) == pytest.approx(3.0519385, rel=1e-7)
    np.testing.assert_allclose(jax_grad(case, theta), printed, rtol=1e-6)


def test_logistic_iris_gradient_at_zero_by_hand():
    # ∂/∂w mean log(1 + e^(−yz)) = mean(−y σ(−yz) x), and σ(0) = 1/2
    case = BY_NAME["logistic_iris"]
    features, labels = losses.load_iris()
    x, y = features[labels != 2, :2], np.where(labels[labels != 2] == 0, -1.0, 1.0)
    expected = np.append(np.mean(-y[:, None] * x / 2, axis=0), np.mean(-y / 2))
    ref = reference_mod.reference(case, 1, np.zeros((1, 3)), "gradient")
    np.testing.assert_allclose(ref.hi[0], expected, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(jax_grad(case, np.zeros(3)), expected, rtol=1e-14, atol=1e-16)
    assert mp_value(case, np.zeros(3)) == pytest.approx(np.log(2), rel=1e-15)


def test_softmax_xent_gradient_at_zero_by_hand():
    # at θ = 0 every class has probability 1/3: ∂L/∂W = mean xᵀ(p − onehot), ∂L/∂b = mean(p − onehot)
    case = BY_NAME["softmax_xent"]
    features, labels = losses.load_iris()
    x, onehot = features[::10, :2], np.eye(3)[labels[::10]]
    residual = 1 / 3 - onehot
    expected = np.concatenate([(x.T @ residual).ravel(), residual.sum(axis=0)]) / len(x)
    ref = reference_mod.reference(case, 1, np.zeros((1, 9)), "gradient")
    np.testing.assert_allclose(ref.hi[0], expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(jax_grad(case, np.zeros(9)), expected, rtol=1e-13, atol=1e-15)
    assert mp_value(case, np.zeros(9)) == pytest.approx(np.log(3), rel=1e-15)


def test_iris_data_is_fishers():
    features, labels = losses.load_iris()
    assert features.shape == (150, 4) and np.bincount(labels).tolist() == [50, 50, 50]
    np.testing.assert_allclose(features.mean(axis=0), [5.8433, 3.0573, 3.758, 1.1993], atol=1e-4)


# --- the reference's cost, and the harness on every case ------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_reference_time(name, capsys):
    case = BY_NAME[name]
    figures = []
    for quantity in case.quantities:
        for key in [k for k in reference_mod._cache if k[0] == name]:  # time the computation, not the cache
            del reference_mod._cache[key]
        start = time.perf_counter()
        ref = reference_mod.reference(case, 2 if quantity == "hessian" else 1, case.points(), quantity)
        figures.append(f"{quantity} {time.perf_counter() - start:.1f} s ({ref.kind})")
        assert np.all(np.isfinite(ref.hi))
    with capsys.disabled():
        print(f"\nreference {name} (dim {case.dim}, {len(case.points())} points): {'; '.join(figures)}")


@pytest.fixture(scope="module")
def runs():
    return {}


def run_case(runs, name):
    if name not in runs:
        runs[name] = harness.run(cases=name, methods="jax,torch,central,sympy", dtypes="float64",
                                 timing=UNTIMED)
    return runs[name]


def digits(df, method, quantity="gradient") -> float:
    row = df[(df.method == method) & (df.quantity == quantity) & (df.device == "cpu")]
    assert len(row) == 1 and row.status.iloc[0] == "ok", row[["method", "status", "message"]]
    return float(row.digits.iloc[0])


def test_mlp_loss_gradients_agree_with_the_reference(runs):
    # the issue: "float64: AD ≥ 13 digits, central ≥ 7"
    df = run_case(runs, "mlp_loss")
    assert digits(df, "jax") >= 13
    assert digits(df, "torch") >= 13
    assert digits(df, "central") >= 7


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_harness_runs_each_case(name, runs, capsys):
    df = run_case(runs, name)
    cpu = df[df.device == "cpu"]
    central_hessian = (cpu.method == "central") & (cpu.quantity == "hessian")
    assert (cpu[central_hessian].status == "unsupported").all()  # central computes gradients only
    bad = cpu[~central_hessian & (cpu.status != "ok")]
    assert bad.empty, bad[["method", "quantity", "status", "message"]].to_string()
    for quantity in BY_NAME[name].quantities:
        for method in AD:
            assert digits(cpu, method, quantity) >= 13, (method, quantity)
    with capsys.disabled():
        table = cpu[~central_hessian].pivot(index="method", columns="quantity", values="digits")
        print(f"\ndigits {name}:\n{table.round(1).to_string()}")


# --- seed 003: ∇ with respect to W and b separately and together ------------------------------------

SEED_003_PRINTED = {"W": [-0.16965583, -0.8774644, -1.4901346], "b": [-0.29227245]}


@pytest.mark.parametrize("wrt", ["W", "b"])
def test_logistic_loss_alone_reproduces_seed_003(wrt):
    # the seed's grad(loss, argnums=1) and argnums=2, at its (W, b), printed in float32
    case = losses.logistic_loss(wrt)
    point = np.array(case.seed_points).reshape(1, -1) if case.dim > 1 else np.array(case.seed_points)
    quantity = "gradient" if case.dim > 1 else "derivative"
    ref = reference_mod.reference(case, 1, point, quantity)
    np.testing.assert_allclose(np.ravel(ref.hi[0]), SEED_003_PRINTED[wrt], rtol=1e-6)


@pytest.mark.parametrize("method", ["jax", "jax-rev", "torch", "torch-func"])
def test_logistic_loss_parameter_pytree(method):
    # the pytree path ({W, b} as a dict, or two leaf tensors) gives the closed form at θ = 0 ...
    case = BY_NAME["logistic_loss"]
    assert [(name, shape) for name, _, shape in case.blocks()] == [("W", (3,)), ("b", ())]
    evaluator = METHODS.get(method).prepare(Cell(case, 1, "float64", "cpu", "gradient"))
    got = evaluator.to_numpy(evaluator.call(evaluator.to_device(np.zeros((2, 4)))))
    residual = 0.5 - losses.TOY_TARGETS
    np.testing.assert_allclose(got, [np.append(losses.TOY_INPUTS.T @ residual, residual.sum())] * 2,
                               rtol=1e-14)
    # ... and the runner grades it against mpmath like any other gradient
    df = harness.run(cases="logistic_loss", methods=method, dtypes="float64", quantities="gradient",
                     timing=UNTIMED)
    assert df.status.tolist() == ["ok"] and df.digits.iloc[0] >= 13, df.message.tolist()


def test_parameters_must_cover_theta():
    with pytest.raises(ValueError, match="do not add up"):
        replace(losses.logistic_loss("W,b"), parameters=(("W", (3,)),))
