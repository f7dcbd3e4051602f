"""Training losses of small models, as functions of the flat parameter vector θ.

Each case is ``fn(xp, θ)`` with θ of shape (..., n): every weight and bias of
the model, concatenated, unflattened by slicing the last axis.  The data
(inputs, targets) are fixed NumPy arrays brought into the backend with
:func:`harness.model.namespaces.constant`.  Leading axes of θ are a batch of
parameter vectors (finite-difference stencils), so matrix products put the
data first: inputs (B, d) @ W (..., d, w) → (..., B, w).

Seeds: 000 (tanh MLP with a squared-error loss; logistic regression on iris;
exercise 2, softmax regression on the three classes), 003 (logistic
regression on a 4 × 3 toy data set).
"""

from dataclasses import replace
from pathlib import Path

import numpy as np

from cases.gradbench import dtypes_beyond
from harness.extend import Case, Training, register_case, register_sweep
from harness.model.namespaces import constant

IRIS_CSV = Path(__file__).parent / "data" / "iris.csv"

# Seed 003's toy data set.
TOY_INPUTS = np.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]])
TOY_TARGETS = np.array([1.0, 1.0, 0.0, 1.0])  # [True, True, False, True]
# Seed 003's (W, b), float32: jax.random.key(0) split in 3, drawn with the threefry
# implementation JAX used before 0.5 (jax.threefry_partitionable(False)).  At this θ
# the seed printed loss 3.0519385, ∇W = (−0.16965583, −0.8774644, −1.4901346), ∇b = −0.29227245.
SEED_003_THETA = (-0.3683878481388092, -2.275688886642456, 0.011447565630078316, 0.8535516262054443)


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """The 150 iris rows shipped in ``cases/data``: features (150, 4) and class (150,) in {0, 1, 2}."""
    table = np.loadtxt(IRIS_CSV, delimiter=",", skiprows=1)  # line 1: "150,4,setosa,versicolor,virginica"
    return table[:, :4], table[:, 4].astype(int)


def _batch(x) -> tuple:
    return tuple(x.shape[:-1])


def _matrix(xp, x, start: int, rows: int, cols: int):
    """θ[..., start : start + rows·cols] as a (..., rows, cols) matrix (row-major)."""
    return xp.reshape(x[..., start : start + rows * cols], (*_batch(x), rows, cols))


def _row(xp, x, start: int, cols: int):
    """θ[..., start : start + cols] as a (..., 1, cols) row that broadcasts over data rows (one
    point's is the slice itself: a reshape more is an operation more for PyTorch to record)."""
    row = x[..., start : start + cols]
    return xp.reshape(row, (*_batch(x), 1, cols)) if x.ndim > 1 else row


def _mlp(layers: int, width: int, batch: int, seed: int, chained: bool):
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((batch, width))
    targets = rng.standard_normal((batch, 1))
    size = width * width + width  # one layer's W then b

    def loss(xp, x):
        data = constant(xp, inputs, like=x)
        outputs = data
        for layer in range(layers):
            start = layer * size
            w = _matrix(xp, x, start, width, width)
            b = _row(xp, x, start + width * width, width)
            outputs = xp.tanh((outputs if chained else data) @ w + b)
        # targets (B, 1) broadcast over the width, as in the seed
        err = outputs - constant(xp, targets, like=x)
        return xp.sum(err * err, axis=(-2, -1))

    return loss, layers * size


def mlp_loss(layers: int = 2, width: int = 3, batch: int = 6, seed: int = 0) -> Case:
    """Σ (predict(θ, inputs) − targets)² for a tanh MLP, θ = every layer's (W, b).  Beyond the
    small default (4 points, every entry graded) it is one point, in float64 where the run names
    no dtype: its quad-precision reference is a minute at width 256."""
    fn, dim = _mlp(layers, width, batch, seed, chained=True)
    small = dim <= 100
    return Case(
        "mlp_loss",
        fn,
        "Σ (h_L − t)², h_0 = inputs, h_k = tanh(h_{k−1} W_k + b_k)",
        domain=(-1.0, 1.0),
        grid=4 if small else 1,
        dim=dim,
        quantities=("gradient",),
        work=layers * batch * width * (width + 4),
        footprint=batch * width,
        dtypes=dtypes_beyond(small),
        exact_reference=small,
        timeout_s=None if width < 1024 else 1800.0,
        source=f"seed 000 (tanh MLP, squared-error loss); {layers} layers of width {width}, "
        f"batch {batch}, data from default_rng({seed})",
        note="θ = (W₁ row-major, b₁, W₂, b₂, …). Sizes kept small: the reference costs dim × points "
        "mpmath derivatives of the whole network at 60 digits.",
    )


def mlp_loss_seed(layers: int = 2, width: int = 3, batch: int = 6, seed: int = 0) -> Case:
    """Seed 000's predict as written: every layer reads ``inputs``, so only the last one counts."""
    fn, dim = _mlp(layers, width, batch, seed, chained=False)
    last = dim - (width * width + width)
    return Case(
        "mlp_loss_seed",
        fn,
        "Σ (tanh(inputs W_L + b_L) − t)²",
        domain=(-1.0, 1.0),
        grid=4,
        dim=dim,
        quantities=("gradient",),
        source=f"seed 000 (predict as written: jnp.dot(inputs, W) in every layer); {layers} layers "
        f"of width {width}, batch {batch}, data from default_rng({seed})",
        note=f"Seed 000's loop feeds `inputs`, not `outputs`, into every layer, so each layer's "
        f"result is overwritten and only the last layer reaches the loss: the gradient is exactly 0 "
        f"in θ[:{last}] (all but the last layer). Same θ layout and data as mlp_loss.",
    )


def _label_log_prob(xp, z, t):
    """log P(label) of seed 003: p = σ(z) = (tanh(z/2) + 1)/2, P = p·t + (1 − p)(1 − t)."""
    # the seed's sigmoid, halved by an integer: the same floats, and in SymPy a 0.5 would turn
    # the exact rational data into 53-bit Floats
    preds = (xp.tanh(z / 2) + 1) / 2
    return xp.log(preds * t + (1 - preds) * (1 - t))


def _toy_nll(xp, w, b, like):
    """Seed 003's loss at weights w (..., 3) and bias b on the toy data: −Σ log P(label)."""
    z = w @ constant(xp, TOY_INPUTS.T, like=like) + b  # (..., 4)
    return -xp.sum(_label_log_prob(xp, z, constant(xp, TOY_TARGETS, like=like)), axis=-1)


def _logistic_all(xp, x):
    return _toy_nll(xp, x[..., :3], x[..., 3:4], like=x)


def _logistic_w(xp, x):  # b fixed at the seed's value
    return _toy_nll(xp, x, constant(xp, SEED_003_THETA[3:], like=x), like=x)


def _logistic_b(xp, x):  # W fixed at the seed's value; elementwise in b: one term per data row
    xw = constant(xp, TOY_INPUTS @ np.array(SEED_003_THETA[:3]), like=x)
    return -sum(_label_log_prob(xp, xw[i] + x, float(TOY_TARGETS[i])) for i in range(len(TOY_TARGETS)))


def logistic_loss(wrt: str = "W,b") -> Case:
    """Seed 003: −Σ log P(label), P from sigmoid(inputs·W + b) on its 4 × 3 toy data, as a
    function of (W, b) together (a dict pytree {W, b} for the methods that take one), of W
    alone or of b alone — the seed's ``grad(loss, argnums=1)``, ``argnums=2`` and both."""
    seed_w, seed_b = SEED_003_THETA[:3], SEED_003_THETA[3]
    formula = "−Σ log(p·t + (1 − p)(1 − t)), p = σ(XW + b), σ(z) = (tanh(z/2) + 1)/2"
    common = dict(source="seed 003 (logistic regression on a 4 × 3 toy data set)", domain=(-1.0, 1.0))
    origin = ("The seed point is the seed's own (W, b), rebuilt from jax.random.key(0) with JAX's "
              "pre-0.5 threefry (jax.threefry_partitionable(False)): it reproduces the printed loss "
              "3.0519385 and gradient to float32 rounding.")
    if wrt == "W,b":
        return Case("logistic_loss", _logistic_all, formula, grid=10, seed_points=(SEED_003_THETA,), dim=4,
                    quantities=("gradient", "hessian"), parameters=(("W", (3,)), ("b", ())),
                    note="θ = {W: (W₁, W₂, W₃), b}, flattened in that order; JAX and torch.func "
                         "differentiate the dict {W, b} as a pytree, torch.autograd W and b as two "
                         "leaf tensors. " + origin, **common)
    if wrt == "W":
        return Case("logistic_loss", _logistic_w, formula.replace("XW + b", "XW + b₀"), grid=10,
                    seed_points=(seed_w,), dim=3, quantities=("gradient", "hessian"),
                    parameters=(("W", (3,)),),
                    note=f"∇_W with b fixed at the seed's b₀ = {seed_b!r} (the seed's argnums=1). " + origin,
                    **common)
    if wrt == "b":
        return Case("logistic_loss", _logistic_b, formula.replace("XW + b", "XW₀ + b"), grid=50,
                    seed_points=(seed_b,), orders=(1, 2),
                    note="∂L/∂b with W fixed at the seed's W₀ (the seed's argnums=2): a scalar "
                         "function of b. " + origin, **common)
    raise ValueError(f"logistic_loss: wrt must be 'W,b', 'W' or 'b', not {wrt!r}")


def logistic_iris() -> Case:
    """Seed 000: mean log(1 + e^(−y(Xw + b))) on iris, first two features, classes 0 and 1."""
    features, labels = load_iris()
    keep = labels != 2
    features = features[keep, :2]
    y = np.where(labels[keep] == 0, -1.0, 1.0)

    def loss(xp, x):
        z = x[..., :2] @ constant(xp, features.T, like=x) + x[..., 2:3]  # (..., 100)
        return xp.mean(xp.log(1 + xp.exp(-constant(xp, y, like=x) * z)), axis=-1)

    return Case(
        "logistic_iris",
        loss,
        "mean log(1 + e^(−y(Xw + b))), y ∈ {−1, +1}",
        domain=(-1.0, 1.0),
        grid=10,
        seed_points=((0.0, 0.0, 0.0),),
        dim=3,
        quantities=("gradient",),  # its Hessian reference alone takes ~20 s per dtype
        source="seed 000 (logistic regression on iris: sepal length and width, setosa −1 vs versicolor +1)",
        note="θ = (w₁, w₂, b); θ = 0 is the seed's starting point. 100 rows from cases/data/iris.csv.",
    )


def logistic_iris_data() -> tuple[np.ndarray, np.ndarray]:
    """``logistic_iris``'s data: iris features 0–1 of classes 0 and 1, y = −1 (class 0) or +1."""
    features, labels = load_iris()
    keep = labels != 2
    return features[keep, :2], np.where(labels[keep] == 0, -1.0, 1.0)


def logistic_iris_gradient(X: np.ndarray, y: np.ndarray):
    """The closed-form gradient of mean log(1 + e^(−y z)), z = X·w + b, θ = (w, b).

    ∂/∂z log(1 + e^(−yz)) = −y·σ(−yz), σ(t) = 1/(1 + e^(−t)), so
    ∇_w = mean(−y·σ(−yz)·x) and ∇_b = mean(−y·σ(−yz)).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)

    def gradient(theta: np.ndarray) -> np.ndarray:
        w, b = theta[:-1], theta[-1]
        z = X @ w + b
        dz = -y / (1 + np.exp(y * z))  # −y·σ(−yz)
        return np.append(dz @ X / len(y), dz.mean())

    return gradient


def accuracy(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> float:
    """Share of rows classified right by sign(X·w + b), θ = (w, b), as in seed 000."""
    theta = np.asarray(theta, dtype=np.float64)
    return float(np.mean(np.sign(X @ theta[:-1] + theta[-1]) == y))


def logistic_iris_training(steps: int = 10_000) -> Case:
    """Seed 000's training: ``steps`` of gradient descent, lr 0.05, from θ = 0, on logistic_iris."""
    X, y = logistic_iris_data()
    spec = Training(steps, 0.05, gradient=lambda: logistic_iris_gradient(X, y),
                    accuracy=lambda theta: accuracy(X, y, theta))
    return replace(logistic_iris(), name="logistic_iris_training", quantities=("training",), training=spec,
                   note="Gradient descent driven by each method's gradient; the reference descends with "
                        "the closed-form gradient in float64.")


def softmax_xent(every: int = 10) -> Case:
    """Seed 000's exercise 2: softmax regression on the three iris classes, two features."""
    features, labels = load_iris()
    # every 10th row: 5 of each class (the classes are blocks of 50); the Hessian's reference
    # costs ~2 s per row, mostly SymPy differentiating the sum over rows
    rows = slice(None, None, every)
    features, labels = features[rows, :2], labels[rows]
    onehot = np.eye(3)[labels]

    def loss(xp, x):
        logits = constant(xp, features, like=x) @ _matrix(xp, x, 0, 2, 3) + _row(xp, x, 6, 3)
        # no max-shift: with |θ| ≤ 1 and features below 8, |logits| < 14, far from overflow
        logsumexp = xp.log(xp.sum(xp.exp(logits), axis=-1))
        true_logit = xp.sum(constant(xp, onehot, like=x) * logits, axis=-1)
        return xp.mean(logsumexp - true_logit, axis=-1)

    return Case(
        "softmax_xent",
        loss,
        "mean(log Σ_k e^(z_k) − z_y), z = XW + b",
        domain=(-1.0, 1.0),
        grid=10,
        seed_points=(tuple([0.0] * 9),),
        dim=9,
        quantities=("gradient",),  # a Hessian reference: ~40 s per dtype
        source="seed 000 (exercise 2: multi-class logistic regression with softmax, iris)",
        note=f"θ = (W 2×3 row-major, b). Iris rows 0, {every}, {2 * every}, … ({len(labels)} rows, "
        f"{len(labels) // 3} per class) to keep the reference affordable. logsumexp without the "
        f"max-shift: the logits stay small here.",
    )


def register() -> None:
    """Register the default-size loss cases and the training workload (steps by profile)."""
    for case in (mlp_loss_seed(), logistic_iris(), softmax_xent()):
        register_case(case)
    # seed 000's own network (3 tanh layers of width 10, batch 100), then a width sweep
    widths = [{"layers": 3, "width": w, "batch": 256} for w in (16, 64, 256)]
    register_sweep("mlp_loss", mlp_loss, quick=[{}],
                   default=[{}, {"layers": 3, "width": 10, "batch": 100}, *widths[:1],
                            {"layers": 3, "width": 128, "batch": 256}],
                   full=[{}, {"layers": 3, "width": 10, "batch": 100}, *widths,
                         {"layers": 3, "width": 1024, "batch": 256},
                         {"layers": 3, "width": 4096, "batch": 1024}])
    every_wrt = [{"wrt": "W,b"}, {"wrt": "W"}, {"wrt": "b"}]
    register_sweep("logistic_loss", logistic_loss, quick=every_wrt, default=every_wrt, full=every_wrt)
    register_sweep("logistic_iris_training", logistic_iris_training, quick=[{"steps": 100}],
                   default=[{"steps": 1000}], full=[{"steps": 10_000}])
