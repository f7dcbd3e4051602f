"""The workloads as a JAX user writes them: ``jax.jit(jax.grad(f))`` of f(θ) on the flat θ.

Written from the mathematics (gradbench's ``evals/<name>/README.md``, ADBench and cmpad for the
formulas the specs point to), each the plain way: θ unflattened by reshapes at the top of f,
whole-array operations, ``jax.scipy.special.logsumexp`` in gmm (lse itself from max, exp, sum and log,
as its spec asks), one ``einsum`` or matrix product where the maths has one, ``lax.scan`` /
``fori_loop`` for sequential loops, ``vmap(jacrev)`` for bundle adjustment's per-observation Jacobian
blocks.  ``make(name, data)`` returns (objective, derivative), both jitted; the derivative is the
gradient, or for ``ba`` the Jacobian's non-zeros in CSR order (the caller builds the matrix).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import logsumexp
from scipy.special import multigammaln

jax.config.update("jax_enable_x64", True)


def gmm(data):
    d, k, n, m, gamma = data["d"], data["k"], data["n"], data["m"], data["gamma"]
    x = jnp.asarray(data["x"])
    cols, rows = np.triu_indices(d, 1)  # Q's strict lower triangle, column by column
    diag = np.arange(d)
    nu = d + m + 1
    const = -n * d / 2 * math.log(2 * math.pi) + k * (d * nu * math.log(gamma / math.sqrt(2))
                                                       - multigammaln(nu / 2, d))

    def f(theta):
        alpha = theta[:k]
        mu = theta[k : k + k * d].reshape(k, d)
        q = theta[k + k * d : k + 2 * k * d].reshape(k, d)
        l_ = theta[k + 2 * k * d :].reshape(k, -1)
        Q = jnp.zeros((k, d, d)).at[:, diag, diag].set(jnp.exp(q)).at[:, rows, cols].set(l_)
        z = x[None, :, :] - mu[:, None, :]  # (k, n, d)
        y = jnp.einsum("kij,knj->kni", Q, z)  # Q_k (x_i − μ_k)
        beta = alpha[:, None] + q.sum(axis=1)[:, None] - 0.5 * jnp.sum(y * y, axis=-1)  # (k, n)
        likelihood = logsumexp(beta, axis=0).sum() - n * logsumexp(alpha)
        prior = -(gamma**2 / 2) * (jnp.sum(jnp.exp(2 * q)) + jnp.sum(l_ * l_)) + m * jnp.sum(q)
        return likelihood + prior + const

    return f


def lstm(data):
    main = data["main_params"]
    state, sequence = jnp.asarray(data["state"]), jnp.asarray(data["sequence"])
    layers, b, c = main.shape[0] // 2, main.shape[1] // 4, sequence.shape[0]
    main_size = main.size

    def f(theta):
        params = theta[:main_size].reshape(layers, 2, 4, b)  # per layer: weights, biases; 4 gates each
        weight, bias = params[:, 0], params[:, 1]
        w_in, w_out, b_out = theta[main_size:].reshape(3, b)

        def step(carry, chars):
            hidden, cell = carry
            now, following = chars
            v = now * w_in
            hs, cs = [], []
            for i in range(layers):
                w, bb = weight[i], bias[i]
                forget = jax.nn.sigmoid(v * w[0] + bb[0])
                ingate = jax.nn.sigmoid(hidden[i] * w[1] + bb[1])
                outgate = jax.nn.sigmoid(v * w[2] + bb[2])
                change = jnp.tanh(hidden[i] * w[3] + bb[3])
                cs.append(cell[i] * forget + ingate * change)
                hs.append(outgate * jnp.tanh(cs[-1]))
                v = hs[-1]
            y = v * w_out + b_out
            log_probs = y - jnp.log(2 + jnp.sum(jnp.exp(y)))
            return (jnp.stack(hs), jnp.stack(cs)), jnp.sum(following * log_probs)

        _, terms = lax.scan(step, (state[0::2], state[1::2]), (sequence[:-1], sequence[1:]))
        return -jnp.sum(terms) / ((c - 1) * b)

    return f


def lse(data):
    def f(x):  # from primitives, as the spec asks (not a built-in LSE with its own derivative)
        a = jnp.max(x)
        return a + jnp.log(jnp.sum(jnp.exp(x - a)))

    return f


def llsq(data):
    t = data["t"]
    target = jnp.asarray(np.sign(t))
    vandermonde = jnp.asarray(t[:, None] ** np.arange(data["m"]))

    def f(x):
        r = target - vandermonde @ x
        return 0.5 * jnp.sum(r * r)

    return f


def ode(data):
    s = data["s"]
    h = 2.0 / s

    def f(x):
        def rhs(y):
            return x * jnp.concatenate([jnp.ones(1), y[:-1]])

        def rk4(_, y):
            k1 = rhs(y)
            k2 = rhs(y + h / 2 * k1)
            k3 = rhs(y + h / 2 * k2)
            k4 = rhs(y + h * k3)
            return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

        return lax.fori_loop(0, s, rk4, jnp.zeros_like(x))[-1]

    return f


def _det_by_minors(a):
    size = a.shape[0]
    if size == 1:
        return a[0, 0]
    total = 0.0
    for j in range(size):
        term = a[0, j] * _det_by_minors(jnp.delete(a[1:], j, axis=1))
        total = total + term if j % 2 == 0 else total - term
    return total


def det(data):
    ell = data["ell"]
    return lambda x: _det_by_minors(x.reshape(ell, ell))


def kmeans(data):
    k, d = data["k"], data["d"]
    points = jnp.asarray(data["points"])

    def f(x):
        centroids = x.reshape(k, d)
        distances = (jnp.sum(points**2, axis=1)[:, None] - 2 * points @ centroids.T
                     + jnp.sum(centroids**2, axis=1)[None, :])  # ‖P_i − C_j‖², (n, k)
        return jnp.sum(jnp.min(distances, axis=1))

    return f


def _project(camera, point, weight, feature):
    """One observation's weighted reprojection error (2,)."""
    rotation, centre = camera[0:3], camera[3:6]
    xo = point - centre
    angle = jnp.linalg.norm(rotation)
    axis = rotation / angle
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    xc = xo * cos + jnp.cross(axis, xo) * sin + axis * jnp.dot(axis, xo) * (1 - cos)
    p = xc[:2] / xc[2]
    s = jnp.dot(p, p)
    distortion = 1 + camera[9] * s + camera[10] * s * s
    return weight * (camera[6] * p * distortion + camera[7:9] - feature)


def ba(data):
    n, m, p = data["n"], data["m"], data["p"]
    feature = jnp.asarray(data["feature"])
    cam_of, point_of = np.arange(p) % n, np.arange(p) % m

    def unflatten(theta):
        cameras = theta[: 11 * n].reshape(n, 11)
        points = theta[11 * n : 11 * n + 3 * m].reshape(m, 3)
        return cameras[cam_of], points[point_of], theta[11 * n + 3 * m :]

    def residuals(theta):
        cams, pts, w = unflatten(theta)
        reprojection = jax.vmap(_project, in_axes=(0, 0, 0, None))(cams, pts, w, feature)
        return jnp.concatenate([reprojection.ravel(), 1 - w * w])

    blocks = jax.vmap(jax.jacrev(_project, argnums=(0, 1, 2)), in_axes=(0, 0, 0, None))

    def nonzeros(theta):
        cams, pts, w = unflatten(theta)
        d_cam, d_point, d_weight = blocks(cams, pts, w, feature)  # (p, 2, 11), (p, 2, 3), (p, 2)
        rows = jnp.concatenate([d_cam, d_point, d_weight[..., None]], axis=-1)  # (p, 2, 15)
        return jnp.concatenate([rows.ravel(), -2 * w])

    return residuals, nonzeros


def mlp_loss(data):
    layers, width = data["layers"], data["width"]
    inputs, targets = jnp.asarray(data["inputs"]), jnp.asarray(data["targets"])
    size = width * width + width

    def f(theta):
        h = inputs
        for layer in range(layers):
            start = layer * size
            w = theta[start : start + width * width].reshape(width, width)
            b = theta[start + width * width : start + size]
            h = jnp.tanh(h @ w + b)
        return jnp.sum((h - targets) ** 2)

    return f


def sum_squares(data):
    return lambda x: jnp.sum(x * x)


MAKERS = {"gmm": gmm, "lstm": lstm, "lse": lse, "llsq": llsq, "ode": ode, "det": det, "kmeans": kmeans,
          "ba": ba, "mlp_loss": mlp_loss, "sum_squares": sum_squares}


def make(name: str, data: dict):
    """(objective, derivative) of workload ``name``, jitted: θ (a JAX array) ↦ f(θ), ∇f(θ)
    (``ba``: the residuals and the Jacobian's non-zeros)."""
    built = MAKERS[name](data)
    if name == "ba":
        residuals, nonzeros = built
        return jax.jit(residuals), jax.jit(nonzeros)
    return jax.jit(built), jax.jit(jax.grad(built))
