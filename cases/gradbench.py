"""The field's workloads, from gradbench's eval specifications (gradbench/gradbench,
``evals/<name>/README.md``), written once against ``xp`` from their mathematics.

Each is a sweep of sizes; a size's default input is generated deterministically (NumPy's
``default_rng(31337)``, gradbench's seed, in the order of its generator) and rounded to
float32, so that float32 and float64 cells see the same numbers and share one reference.
:mod:`cases.gradbench_input` reads the same inputs from a gradbench ``evaluate`` message
instead (``diffbench run --input FILE``).

Every function takes θ of shape (..., n): leading axes are a batch of parameter vectors
(finite-difference stencils evaluate many at once).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from cases import gradbench_input
from harness.errors import UsageError
from harness.extend import Case
from harness.model.namespaces import constant, logsumexp, scan

SEED = 31337
SPEC = "gradbench/gradbench evals/{}/README.md"


def f32(a) -> np.ndarray:
    """Data as float32-exact float64: what every dtype's cells see alike."""
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


def _budget(work: float) -> float | None:
    """A cell's seconds: the default, or 10 minutes at the full profile's largest sizes (their
    quad-precision reference alone takes minutes on a CPU)."""
    return 600.0 if work > 1e8 else None


def dtypes_beyond(smallest: bool):
    """The dtypes a workload's size is measured in where the run names none: float64 and float32 at
    its smallest size (where float32's digits show), float64 alone beyond it, gradbench's and
    ADBench's dtype (float32 at every size was half the default run's time); ``--dtypes`` says
    otherwise."""
    return None if smallest else ("float64",)


def _batch(x) -> tuple:
    return tuple(x.shape[:-1])


@functools.lru_cache(maxsize=64)
def _filled(shape: tuple, value: float) -> np.ndarray:
    """An array of ``value`` in ``shape``, one per shape (the same array each time: PyTorch's tensor
    of it is made once); never written to (PyTorch warns of a read-only array)."""
    return np.full(shape, value)


def _block(xp, x, start: int, shape: tuple):
    """θ[..., start : start + prod(shape)] as a (..., *shape) array (row-major)."""
    size = math.prod(shape)  # (np.prod of a tuple costs microseconds a call)
    if start == 0 and size == x.shape[-1]:  # all of θ: no slice (PyTorch records one, ~4 µs a call)
        return xp.reshape(x, (*_batch(x), *shape))
    return xp.reshape(x[..., start : start + size], (*_batch(x), *shape))


# -- gmm ------------------------------------------------------------------------------------

def gmm_parameters(d: int, k: int) -> tuple:
    return (("alpha", (k,)), ("mu", (k, d)), ("q", (k, d)), ("l", (k, d * (d - 1) // 2)))


def gmm_generate(d: int, k: int, n: int) -> dict:
    """gradbench's generator, in its order: x ~ N(0, 1) (n × d), mu ~ U[0, 1) (k × d),
    q ~ N(0, 1) (k × d), l ~ N(0, 1) (k × d(d−1)/2), alpha ~ N(0, 1) (k); m = 0, γ = 1."""
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(n, d))
    mu = rng.uniform(size=(k, d))
    q = rng.normal(size=(k, d))
    l_ = rng.normal(size=(k, d * (d - 1) // 2))
    alpha = rng.normal(size=k)
    return {"d": d, "k": k, "n": n, "x": x, "alpha": alpha, "mu": mu, "q": q, "l": l_, "m": 0, "gamma": 1.0}


def _lower_columns(d: int) -> list[tuple[int, int]]:
    """(row, column) of l's entries: the strict lower triangle column by column."""
    return [(i, j) for j in range(d) for i in range(j + 1, d)]


def gmm_log_gamma(a: float, d: int) -> float:
    """The multivariate log-gamma log Γ_d(a) = d(d−1)/4·log π + Σ_{j=1..d} log Γ(a + (1 − j)/2)."""
    return d * (d - 1) / 4 * math.log(math.pi) + sum(math.lgamma(a + (1 - j) / 2) for j in range(1, d + 1))


def gmm_case(inputs: dict, label: str = "") -> Case:
    d, k, n = int(inputs["d"]), int(inputs["k"]), int(inputs["n"])
    m, gamma = int(inputs["m"]), float(inputs["gamma"])
    data = np.asarray(inputs["x"], dtype=np.float64)
    theta = np.concatenate([np.ravel(inputs[name]) for name, _ in gmm_parameters(d, k)])
    t = d * (d - 1) // 2
    nu = d + m + 1
    constant_term = (-n * d / 2 * math.log(2 * math.pi)
                     + k * (d * nu * math.log(gamma / math.sqrt(2)) - gmm_log_gamma(nu / 2, d)))
    # Qᵀ built column by column of Q: column j of Q (rows j+1…d−1 from l) is row j of Qᵀ, placed
    # by a constant 0/1 matrix; the diagonal exp(q) is added on the identity
    placements = []
    start = 0
    for j in range(d):
        count = d - 1 - j
        place = np.zeros((count, d))
        place[np.arange(count), np.arange(j + 1, d)] = 1.0
        placements.append((start, count, place))
        start += count
    eye = np.eye(d)
    # or all of Qᵀ at once, (exp q, l) times one constant 0/1 matrix ((d + t) × d²): one product
    # rather than d of them (which made JAX's and PyTorch's gradient 1.3–1.6× slower at d = 10 than
    # an idiomatic scatter into Q); taken while that product costs at most a quarter of Qₖ's product
    # with the data (4(d + t) ≤ n): the placement grows as d⁴ (at d = 64, 8.5·10⁶ numbers)
    whole = 4 * (d + t) <= n
    if whole:
        whole_place = np.zeros((d + t, d * d))
        whole_place[np.arange(d), np.arange(d) * (d + 1)] = 1.0
        for j, (start, count, _) in enumerate(placements):
            whole_place[d + start + np.arange(count), j * d + np.arange(j + 1, d)] = 1.0

    def objective(xp, x):
        alpha = x[..., :k]
        mu = _block(xp, x, k, (k, d))
        q = _block(xp, x, k + k * d, (k, d))
        lower = _block(xp, x, k + 2 * k * d, (k, t))
        if whole:
            flat = xp.concat([xp.exp(q), lower], axis=-1) @ constant(xp, whole_place, like=x)
            q_t = xp.reshape(flat, (*_batch(x), k, d, d))  # (..., k, d, d)
        else:
            # Q's last column has nothing below its diagonal: zeros as data, off θ's graph
            none = constant(xp, _filled((*_batch(x), k, d), 0.0), like=x)
            rows = [lower[..., s : s + c] @ constant(xp, p, like=x) if c else none for s, c, p in placements]
            q_t = xp.stack(rows, axis=-2) + xp.exp(q)[..., None, :] * constant(xp, eye, like=x)
        z = constant(xp, data, like=x)[..., None, :, :] - mu[..., :, None, :]  # (..., k, n, d)
        y = z @ q_t  # Q_k (x_i − μ_k), as rows
        # (..., k, n)
        beta = alpha[..., :, None] + xp.sum(q, axis=-1)[..., :, None] - xp.sum(y * y, axis=-1) * 0.5
        # the libraries' own logsumexp where they have one (torch.logsumexp, jax.nn.logsumexp)
        likelihood = (xp.sum(logsumexp(xp, beta, axis=-2, library=True), axis=-1)
                      - n * logsumexp(xp, alpha, library=True))
        frobenius = xp.sum(xp.sum(xp.exp(2 * q), axis=-1) + xp.sum(lower * lower, axis=-1), axis=-1)
        prior = -(gamma * gamma / 2) * frobenius + m * xp.sum(xp.sum(q, axis=-1), axis=-1)
        return likelihood + prior + constant_term

    return Case(
        "gmm", objective,
        "log posterior: Σᵢ logsumexpₖ(αₖ + Σⱼ qₖⱼ − ½‖Qₖ(xᵢ − μₖ)‖²) − n·logsumexp(α) − nd/2·log 2π "
        "+ Σₖ [−γ²/2·‖Qₖ‖²_F + m·Σⱼ qₖⱼ] + k·(dν·log(γ/√2) − log Γ_d(ν/2)), ν = d + m + 1",
        domain=(-1.0, 1.0), grid=0, seed_points=(tuple(theta),), dim=len(theta),
        quantities=("gradient",), parameters=gmm_parameters(d, k), exact_reference=False,
        source=SPEC.format("gmm") + " (gradbench's corrected form: the log posterior, Wishart prior on "
        "the precision matrices QₖᵀQₖ; ADBench's original had the prior's sign flipped)" + label,
        note=f"θ = (alpha, mu, q, l); l holds Qₖ's strict lower triangle column by column. Data: {n} "
        f"points in {d} dimensions, {k} components, m = {m}, γ = {gamma}.",
        work=n * k * d * (d + 4), footprint=n * k * d, timeout_s=_budget(n * k * d * (d + 4)),
        dtypes=dtypes_beyond(n <= 10),
    )


def gmm(d: int = 2, k: int = 5, n: int = 10, input: str | None = None) -> Case:  # noqa: A002
    """gradbench's GMM at (d, k, n) with its generated input (float32-exact), or the input of a
    gradbench-format file."""
    if input is not None:
        return gmm_case(gmm_from_file(input), label=f"; input {Path(input).name}")
    inputs = {key: f32(v) if isinstance(v, np.ndarray) else v for key, v in gmm_generate(d, k, n).items()}
    return gmm_case(inputs)


def gmm_from_file(path) -> dict:
    """A gradbench gmm input: d, k, n, x, alpha, mu, q, l (flat column by column, or jagged by
    rows as gradbench's first drafts wrote it), m, gamma; each checked against the spec's shapes
    (a field that does not match is a one-line UsageError naming it)."""
    _, data = gradbench_input.read(path)
    found = gradbench_input.fields(path, data, ("d", "k", "n", "x", "alpha", "mu", "q", "l", "m", "gamma"))
    d, k, n = (gradbench_input.integer(path, name, found[name]) for name in ("d", "k", "n"))
    m = gradbench_input.integer(path, "m", found["m"], minimum=0)
    gamma = gradbench_input.number(path, "gamma", found["gamma"], positive=True)  # log γ in the prior
    shapes = {"x": ((n, d), ("n", "d")), "alpha": ((k,), ("k",)), "mu": ((k, d), ("k", "d")),
              "q": ((k, d), ("k", "d"))}
    arrays = {name: gradbench_input.array(path, name, found[name], *shape) for name, shape in shapes.items()}
    lower = found["l"]
    arrays["l"] = (_gmm_rows_as_columns(path, lower, k, d) if _jagged(lower)
                   else gradbench_input.array(path, "l", lower, (k, d * (d - 1) // 2), ("k", "d(d-1)/2")))
    return {"d": d, "k": k, "n": n, "m": m, "gamma": gamma, **arrays}


def _jagged(lower) -> bool:
    """Whether l is given as rows: each component a list of lists (its first row, of length 0)."""
    return (type(lower) is list and bool(lower) and type(lower[0]) is list and bool(lower[0])
            and type(lower[0][0]) is list)


def _gmm_rows_as_columns(path, lower: list, k: int, d: int) -> np.ndarray:
    """l given by rows — each component's strict lower triangle as rows [[], [L21], [L31, L32], …] —
    checked, and flattened column by column (k, d(d−1)/2)."""
    if len(lower) != k or any(type(rows) is not list or len(rows) != d for rows in lower):
        raise UsageError(f"--input {path}: field l (rows of the lower triangles) is not k = {k} arrays "
                         f"of d = {d} rows")
    flat = []
    for j, rows in enumerate(lower):
        row_i = [gradbench_input.array(path, f"l[{j}][{i}]", row, (i,), ("i",)) for i, row in enumerate(rows)]
        flat.append([row_i[i][c] for c in range(d) for i in range(c + 1, d)])
    return np.array(flat, dtype=np.float64).reshape(k, d * (d - 1) // 2)


GMM_FULL = [{"d": d, "k": k, "n": 1000} for d in (2, 10, 20, 32, 64) for k in (5, 10, 25, 50, 100)]


# -- lstm -----------------------------------------------------------------------------------

LSTM_BITS = 14  # ADBench's text needs 14 bits per character (it holds ’, U+2019)


def lstm_generate(l: int, c: int, b: int = LSTM_BITS) -> dict:  # noqa: E741 (the spec's name)
    """Parameters and state U[0, 1) as ADBench's generator draws them, and a sequence of c
    random b-bit character codes (ADBench encodes a text: its bits, MSB first)."""
    rng = np.random.default_rng(SEED)
    main = rng.uniform(size=(2 * l, 4 * b))
    extra = rng.uniform(size=(3, b))
    state = rng.uniform(size=(2 * l, b))
    codes = rng.integers(0, 2**b, size=c)
    sequence = ((codes[:, None] >> np.arange(b - 1, -1, -1)) & 1).astype(np.float64)
    return {"main_params": main, "extra_params": extra, "state": state, "sequence": sequence}


def lstm_case(inputs: dict, label: str = "") -> Case:
    main = np.asarray(inputs["main_params"], dtype=np.float64)
    extra = np.asarray(inputs["extra_params"], dtype=np.float64)
    state = np.asarray(inputs["state"], dtype=np.float64)
    sequence = np.asarray(inputs["sequence"], dtype=np.float64)
    l, b, c = main.shape[0] // 2, main.shape[1] // 4, sequence.shape[0]  # noqa: E741
    theta = np.concatenate([main.ravel(), extra.ravel()])
    main_size = 8 * l * b
    bits_set = sequence.sum(axis=1)  # Σⱼ sₜⱼ: how many bits of character t are 1
    # σ(z) = (1 + tanh(z/2))/2: the three sigmoid gates' weights and biases halved (exactly, a power
    # of 2), so that one tanh serves all four gates
    halves = np.concatenate([np.full(3 * b, 0.5), np.ones(b)])

    def objective(xp, x):
        weights = _block(xp, x, 0, (2 * l, 4 * b))
        # each layer's (weight, bias) rows of its four gates, taken out of θ (and halved) once rather
        # than in every step: an eager library (PyTorch) records each slice, and its backward, per character
        half = constant(xp, halves, like=x)
        layers = [(weights[..., 2 * i, :] * half, weights[..., 2 * i + 1, :] * half) for i in range(l)]
        w_in, w_out, b_out = (x[..., main_size + r * b : main_size + (r + 1) * b] for r in range(3))
        # the states broadcast to x's batch shape (a loop keeps its carry's shape), as whole (..., b)
        # arrays: the quad reference's concat takes its operands' derivative parts as they are
        batch = 0 * x[..., :b]
        hidden = tuple(constant(xp, state[2 * i], like=x) + batch for i in range(l))
        cell = tuple(constant(xp, state[2 * i + 1], like=x) + batch for i in range(l))
        seq = constant(xp, sequence, like=x)
        steps = (seq[:-1], seq[1:], constant(xp, bits_set[1:], like=x))

        def step(carry, inputs):  # one character: the layers, then its log-likelihood term
            hidden, cell, total = carry
            now, following, bits = inputs
            hidden, cell, v = list(hidden), list(cell), now * w_in
            for i, (w, bias) in enumerate(layers):
                # the gates as one vector (forget, input, output, candidate), each row's input
                # alongside: forget and output read the layer's input v, the others the hidden state
                t = xp.tanh(xp.concat([v, hidden[i], v, hidden[i]], axis=-1) * w + bias)
                gates = t[..., : 3 * b] * 0.5 + 0.5  # the three sigmoids
                cell[i] = cell[i] * gates[..., :b] + gates[..., b : 2 * b] * t[..., 3 * b :]
                hidden[i] = gates[..., 2 * b : 3 * b] * xp.tanh(cell[i])
                v = hidden[i]
            y = v * w_out + b_out
            # ADBench's log-softmax yⱼ − log(2 + Σ exp y), without a shift, weighted by the next
            # character's bits: Σⱼ sⱼyⱼ − (Σⱼ sⱼ)·log(2 + Σ exp y)
            normaliser = xp.log(xp.sum(xp.exp(y), axis=-1) + 2.0)
            return tuple(hidden), tuple(cell), total + xp.sum(following * y, axis=-1) - bits * normaliser

        _, _, total = scan(xp, step, (hidden, cell, batch[..., 0]), steps)
        return -total / ((c - 1) * b)

    return Case(
        "lstm", objective,
        "−Σₜ Σⱼ sₜ₊₁,ⱼ·(yₜⱼ − log(2 + Σ exp yₜ)) / ((c − 1)·b), y from l diagonal LSTM layers",
        domain=(0.0, 1.0), grid=0, seed_points=(tuple(theta),), dim=len(theta),
        quantities=("gradient",), parameters=(("main_params", (2 * l, 4 * b)), ("extra_params", (3, b))),
        exact_reference=False,
        source=SPEC.format("lstm") + " (ADBench's LSTM with diagonal weights)" + label,
        note=f"{l} layers, a sequence of {c} characters of {b} bits; the forget and output gates read "
        f"the layer's input, the input gate and candidate the previous hidden state (ADBench's cell). "
        f"Written for every library alike: the gates' weights taken out of θ once, not per character, "
        f"and the four gates as one vector under one tanh (σ(z) = (1 + tanh(z/2))/2; xp has no "
        f"sigmoid, and 1/(1 + exp(−z)) per gate cost PyTorch 5 recorded operations each): per-gate "
        f"slicing in every step made PyTorch's gradient 1.6–2.4× slower than an idiomatic one; one "
        f"tanh for four gates makes JAX's 0.6–1.0× an idiomatic per-gate cell "
        f"(benchmarks/fairness).",
        work=c * l * b * 30, footprint=4 * b, timeout_s=_budget(c * l * b * 30),
        dtypes=dtypes_beyond(c <= 4), sequential=True,
    )


def lstm(l: int = 1, c: int = 4, input: str | None = None) -> Case:  # noqa: E741, A002 (the spec's names)
    """ADBench's LSTM at (l, c) with generated inputs (float32-exact), or a gradbench-format file's."""
    if input is not None:
        return lstm_case(lstm_from_file(input), label=f"; input {Path(input).name}")
    inputs = {key: f32(v) for key, v in lstm_generate(l, c).items()}
    return lstm_case(inputs)


def lstm_from_file(path) -> dict:
    """A gradbench lstm input, each field checked against the shapes l layers and b bits imply:
    main_params (2l, 4b), extra_params (3, b), state (2l, b), sequence (c, b) with c ≥ 2."""
    _, data = gradbench_input.read(path)
    found = gradbench_input.fields(path, data, ("main_params", "extra_params", "state", "sequence"))
    main = gradbench_input.array(path, "main_params", found["main_params"], (None, None), ("2l", "4b"))
    rows, columns = main.shape
    if rows < 2 or rows % 2 or columns < 4 or columns % 4:
        raise UsageError(f"--input {path}: field main_params has shape ({rows}, {columns}), expected "
                         "(2l, 4b): an even number of rows and a multiple of 4 columns, l, b ≥ 1")
    l, b = rows // 2, columns // 4  # noqa: E741 (the spec's name)
    shapes = {"extra_params": ((3, b), ("3", "b")), "state": ((2 * l, b), ("2l", "b")),
              "sequence": ((None, b), ("c", "b"))}  # c: any number of characters, at least 2
    checked = {"main_params": main}
    for name, shape in shapes.items():
        checked[name] = gradbench_input.array(path, name, found[name], *shape)
    c = len(checked["sequence"])
    if c < 2:
        raise UsageError(f"--input {path}: field sequence has {c} row(s), expected at least 2 (c ≥ 2 "
                         "characters: each is predicted from the one before)")
    return checked


# -- lse, llsq, ode, det, kmeans -------------------------------------------------------------

def lse(n: int = 100) -> Case:
    """log Σ exp(xᵢ) from primitives (max, exp, sum, log), x ~ U[0, 1)."""
    x0 = f32(np.random.default_rng(SEED).uniform(size=n))
    return Case("lse", lambda xp, x: logsumexp(xp, x), "max x + log Σᵢ exp(xᵢ − max x)",
                domain=(0.0, 1.0), grid=0, seed_points=(tuple(x0),), dim=n, quantities=("gradient",),
                exact_reference=False, source=SPEC.format("lse"), work=4 * n, footprint=n,
                dtypes=dtypes_beyond(n <= 100),
                note="The gradient is softmax(x).")


def llsq(n: int = 16, m: int = 128) -> Case:
    """½ Σᵢ (sign(tᵢ) − Σⱼ xⱼ tᵢʲ)², tᵢ = −1 + 2i/(n − 1): cmpad's linear least squares."""
    t = -1 + 2 * np.arange(n) / (n - 1)
    powers = t[:, None] ** np.arange(m)[None, :]  # (n, m) Vandermonde
    powers_t = np.ascontiguousarray(powers.T)
    target = np.sign(t)
    x0 = f32(np.random.default_rng(SEED).uniform(size=m))

    def objective(xp, x):
        # one point as V·x, a batch of them as x·Vᵀ: the same product, in the layout each shape has
        # (PyTorch's gradient of x·Vᵀ for one x, a vector–matrix product, cost 1.2–1.5× V·x's at n = 16)
        fitted = constant(xp, powers, like=x) @ x if x.ndim == 1 else x @ constant(xp, powers_t, like=x)
        r = constant(xp, target, like=x) - fitted
        return xp.sum(r * r, axis=-1) * 0.5  # (halving exactly; PyTorch's division costs more)

    return Case("llsq", objective, "½ Σᵢ (sign tᵢ − Σⱼ xⱼ tᵢʲ)², tᵢ = −1 + 2i/(n − 1)", domain=(0.0, 1.0),
                grid=0, seed_points=(tuple(x0),), dim=m, quantities=("gradient",), exact_reference=False,
                source=SPEC.format("llsq") + " (cmpad's llsq_obj)", work=2 * n * m, footprint=n * m,
                dtypes=dtypes_beyond(n <= 16),
                note=f"m = {m} coefficients fitted at n = {n} points. One θ is fitted as V·θ, a batch "
                     f"of them as θ·Vᵀ (benchmarks/fairness).")


def ode(n: int = 10, s: int = 1) -> Case:
    """cmpad's an_ode: y′₀ = x₀, y′ᵢ = xᵢ·yᵢ₋₁, y(0) = 0, s RK4 steps to t = 2; f = y_{n−1}(2)."""
    x0 = f32(np.random.default_rng(SEED).uniform(size=n))
    h = 2.0 / s
    steps = np.zeros(s)  # what the scan runs over: one entry a step

    def objective(xp, x):
        # the shift's leading 1 and y(0) = 0 as data of x's batch shape, off θ's graph (as 1 + 0·x and
        # 0·x PyTorch differentiated through them in every evaluation)
        one = constant(xp, _filled((*_batch(x), 1), 1.0), like=x)
        start = constant(xp, _filled((*_batch(x), n), 0.0), like=x)

        def rhs(y):  # (x₀, x₁y₀, x₂y₁, …): x times y shifted by one, 1 in front
            return x * xp.concat([one, y[..., :-1]], axis=-1)

        def step(carry, _):  # one RK4 step (a scan over the s steps: compiled once by JAX)
            (y,) = carry
            k1 = rhs(y)
            k2 = rhs(y + h / 2 * k1)
            k3 = rhs(y + h / 2 * k2)
            k4 = rhs(y + h * k3)
            return (y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4),)

        (y,) = scan(xp, step, (start,), (constant(xp, steps, like=x),))
        return y[..., n - 1]

    return Case("ode", objective, "y_{n−1}(2) after s RK4 steps of y′₀ = x₀, y′ᵢ = xᵢ yᵢ₋₁, y(0) = 0",
                domain=(0.0, 1.0), grid=0, seed_points=(tuple(x0),), dim=n, quantities=("gradient",),
                exact_reference=False, source=SPEC.format("ode") + " (cmpad's an_ode)",
                work=12 * n * s, footprint=n, dtypes=dtypes_beyond(n <= 8), sequential=True,
                note="Each RK4 step is a degree-4 polynomial of a shift: after s steps yᵢ is exactly 0 "
                     "for i ≥ 4s, so for n ≥ 4s (every size of gradbench's) the gradient is exactly 0 "
                     "and only an absolute error can be graded.")


def _det_by_minors(xp, x, ell: int, rows: tuple, cols: tuple):
    """Expansion along the first remaining row, recursively (no memo: the algorithm is the workload)."""
    r = rows[0]
    if len(cols) == 1:
        return x[..., r * ell + cols[0]]
    total = 0
    for position, j in enumerate(cols):
        minor = _det_by_minors(xp, x, ell, rows[1:], cols[:position] + cols[position + 1:])
        term = x[..., r * ell + j] * minor
        total = total + term if position % 2 == 0 else total - term
    return total


def det(ell: int = 3) -> Case:
    """det A by expansion in minors, A ~ U[0, 1) (ℓ × ℓ, row-major): ℓ! products."""
    a0 = f32(np.random.default_rng(SEED).uniform(size=ell * ell))
    return Case("det", lambda xp, x: _det_by_minors(xp, x, ell, tuple(range(ell)), tuple(range(ell))),
                "det A = Σⱼ (−1)ʲ A₀ⱼ det A₀ⱼ (expansion in minors)", domain=(0.0, 1.0), grid=0,
                seed_points=(tuple(a0),), dim=ell * ell, quantities=("gradient",), exact_reference=False,
                source=SPEC.format("det") + " (cmpad's det_by_minor)", work=math.factorial(ell) * 3,
                traced=math.factorial(ell) * 3, footprint=1,
                dtypes=dtypes_beyond(ell <= 3),
                note="∇det A is the cofactor matrix det(A)·A⁻ᵀ. The recursion indexes θ's entries "
                     "directly rather than building each minor as an array: 0.4× an idiomatic PyTorch "
                     "recursion over minors, 0.8–1.0× JAX's (benchmarks/fairness).")


def kmeans(k: int = 2, n: int = 16, d: int = 2) -> Case:
    """Σᵢ minⱼ ‖Pᵢ − Cⱼ‖² over the centroids C (k × d); P ~ U[0, 1), C = P's last k rows."""
    points = f32(np.random.default_rng(SEED).uniform(size=(n, d)))
    c0 = points[-k:].ravel()
    # data, computed once rather than in every call: −2Pᵀ (exactly −2 times) and ‖Pᵢ‖²
    minus_twice_points_t = np.ascontiguousarray(-2 * points.T)
    points_squared = np.sum(points * points, axis=-1)

    def objective(xp, x):
        centroids = _block(xp, x, 0, (k, d))
        # ‖Pᵢ − Cⱼ‖² = ‖Cⱼ‖² − 2 Cⱼ·Pᵢ + ‖Pᵢ‖², the cross terms by one matrix product: (..., k, n)
        distances = (xp.sum(centroids * centroids, axis=-1)[..., :, None]
                     + centroids @ constant(xp, minus_twice_points_t, like=x)
                     + constant(xp, points_squared, like=x))
        return xp.sum(xp.min(distances, axis=-2), axis=-1)

    return Case("kmeans", objective, "Σᵢ minⱼ ‖Pᵢ − Cⱼ‖²", domain=(0.0, 1.0), grid=0,
                seed_points=(tuple(c0),),
                dim=k * d, quantities=("gradient", "hvp"), parameters=(("centroids", (k, d)),),
                tangent_kind="ones", exact_reference=False, source=SPEC.format("kmeans"),
                work=3 * n * k * d, footprint=n * k, dtypes=dtypes_beyond(n <= 16),
                note="Squared distances expanded as ‖C‖² − 2·C·Pᵀ + ‖P‖², one matrix product (the (n, k, d) "
                     "differences of every point–centroid pair made JAX and PyTorch 2–8× slower than that; "
                     "JAX's gradient of this (k, n) layout, a minimum over its rows, runs 0.5–0.7× an "
                     "idiomatic P·Cᵀ one, benchmarks/fairness). "
                     "The Hessian is diagonal (2|Sⱼ| on centroid j's coordinates), so the hvp along ones "
                     "is its diagonal and the Newton direction J·H⁻¹ is one gradient over one hvp.")


def register() -> None:
    """The sweeps: quick (seconds, checks), default (the workstation run: small sizes for now,
    within its budget) and full (gradbench's default sizes, for GPU runners)."""
    from harness.extend import register_sweep

    register_sweep("gmm", gmm, quick=[{"d": 2, "k": 5, "n": 10}],
                   default=[{"d": 2, "k": 5, "n": 10}, {"d": 2, "k": 5, "n": 1000},
                            {"d": 10, "k": 5, "n": 1000}, {"d": 10, "k": 25, "n": 1000}],
                   full=GMM_FULL)
    register_sweep("lstm", lstm, quick=[{"l": 1, "c": 4}],
                   default=[{"l": 1, "c": 4}, {"l": 2, "c": 16}, {"l": 8, "c": 48}],
                   full=[{"l": layers, "c": c} for layers in (2, 4, 6) for c in (1024, 4096, 8192)])
    register_sweep("lse", lse, quick=[{"n": 100}], default=[{"n": n} for n in (100, 2500, 40_000, 640_000)],
                   full=[{"n": 2500 * 2**i} for i in range(10)])
    register_sweep("llsq", llsq, quick=[{"n": 16, "m": 8}],
                   default=[{"n": n, "m": 128} for n in (16, 1024, 32_768)],
                   full=[{"n": n, "m": 128}
                         for n in (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8196, 16392)])
    register_sweep("ode", ode, quick=[{"n": 8, "s": 2}],
                   default=[{"n": 8, "s": 2}, {"n": 1000, "s": 1}, {"n": 10_000, "s": 100}],
                   full=[{"n": n, "s": s} for n in (1000, 10_000, 100_000) for s in (1, 10, 100)])
    register_sweep("det", det, quick=[{"ell": 3}], default=[{"ell": e} for e in (3, 5, 6)],
                   full=[{"ell": e} for e in range(5, 12)])
    register_sweep("kmeans", kmeans, quick=[{"k": 2, "n": 16, "d": 2}],
                   default=[{"k": 2, "n": 16, "d": 2}, {"k": 10, "n": 1000, "d": 8},
                            {"k": 100, "n": 1000, "d": 16}],
                   full=[{"k": k, "n": n, "d": d}
                         for k in (10, 100, 1000) for n in (1000, 10_000) for d in (8, 16)])
