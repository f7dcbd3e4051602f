"""The workloads as a PyTorch user writes them: f(θ) on the flat θ, its gradient by ``backward()``.

Written from the mathematics (gradbench's ``evals/<name>/README.md``, ADBench and cmpad for the
formulas the specs point to), each the plain eager way: θ unflattened once into views at the top
of f (the LSTM's per-layer, per-gate weights before its loop over characters), whole-tensor
operations, ``torch.logsumexp`` in gmm (lse itself from max, exp, sum and log, as its spec asks), one
``einsum`` or matrix product where the maths has one, Python loops for the sequential parts, and for
bundle adjustment ``torch.func.vmap(jacrev)`` of one observation's residual (its Jacobian's 2 × 15
blocks).  ``make(name, data)`` returns (objective, derivative): θ (a float64 tensor) ↦ f(θ), ∇f(θ);
for ``ba`` the residuals and the Jacobian's non-zeros in CSR order.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import multigammaln

DTYPE = torch.float64


def _tensor(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=DTYPE)


def gmm(data):
    d, k, n, m, gamma = data["d"], data["k"], data["n"], data["m"], data["gamma"]
    x = _tensor(data["x"])
    cols, rows = (torch.as_tensor(i) for i in np.triu_indices(d, 1))  # Q's strict lower triangle, by columns
    nu = d + m + 1
    const = -n * d / 2 * math.log(2 * math.pi) + k * (d * nu * math.log(gamma / math.sqrt(2))
                                                       - multigammaln(nu / 2, d))

    def f(theta):
        alpha = theta[:k]
        mu = theta[k : k + k * d].view(k, d)
        q = theta[k + k * d : k + 2 * k * d].view(k, d)
        l_ = theta[k + 2 * k * d :].view(k, -1)
        Q = torch.diag_embed(torch.exp(q))
        Q[:, rows, cols] = l_
        z = x[None, :, :] - mu[:, None, :]  # (k, n, d)
        y = torch.einsum("kij,knj->kni", Q, z)  # Q_k (x_i − μ_k)
        beta = alpha[:, None] + q.sum(dim=1)[:, None] - 0.5 * (y * y).sum(dim=-1)  # (k, n)
        likelihood = torch.logsumexp(beta, dim=0).sum() - n * torch.logsumexp(alpha, dim=0)
        prior = -(gamma**2 / 2) * (torch.exp(2 * q).sum() + (l_ * l_).sum()) + m * q.sum()
        return likelihood + prior + const

    return f


def lstm(data):
    main = data["main_params"]
    state, sequence = _tensor(data["state"]), _tensor(data["sequence"])
    layers, b, c = main.shape[0] // 2, main.shape[1] // 4, sequence.shape[0]
    main_size = main.size
    chars = sequence.unbind(0)

    def f(theta):
        params = theta[:main_size].view(layers, 2, 4, b)
        # each layer's four (weight, bias) gate pairs, taken out of θ once
        gates = [[(params[i, 0, g], params[i, 1, g]) for g in range(4)] for i in range(layers)]
        w_in, w_out, b_out = theta[main_size:].view(3, b).unbind(0)
        hidden, cell = list(state[0::2].unbind(0)), list(state[1::2].unbind(0))
        total = 0.0
        for t in range(c - 1):
            v = chars[t] * w_in
            for i, ((wf, bf), (wi, bi), (wo, bo), (wc, bc)) in enumerate(gates):
                forget = torch.sigmoid(v * wf + bf)
                ingate = torch.sigmoid(hidden[i] * wi + bi)
                outgate = torch.sigmoid(v * wo + bo)
                change = torch.tanh(hidden[i] * wc + bc)
                cell[i] = cell[i] * forget + ingate * change
                hidden[i] = outgate * torch.tanh(cell[i])
                v = hidden[i]
            y = v * w_out + b_out
            log_probs = y - torch.log(2 + torch.exp(y).sum())
            total = total + (chars[t + 1] * log_probs).sum()
        return -total / ((c - 1) * b)

    return f


def lse(data):
    def f(x):  # from primitives, as the spec asks (not a built-in LSE with its own derivative)
        a = x.max()
        return a + torch.log(torch.exp(x - a).sum())

    return f


def llsq(data):
    t = data["t"]
    target = _tensor(np.sign(t))
    vandermonde = _tensor(t[:, None] ** np.arange(data["m"]))

    def f(x):
        r = target - vandermonde @ x
        return 0.5 * (r * r).sum()

    return f


def ode(data):
    s = data["s"]
    h = 2.0 / s
    one = torch.ones(1, dtype=DTYPE)

    def f(x):
        def rhs(y):
            return x * torch.cat([one, y[:-1]])

        y = torch.zeros_like(x)
        for _ in range(s):
            k1 = rhs(y)
            k2 = rhs(y + h / 2 * k1)
            k3 = rhs(y + h / 2 * k2)
            k4 = rhs(y + h * k3)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return y[-1]

    return f


def _det_by_minors(a):
    size = a.shape[0]
    if size == 1:
        return a[0, 0]
    total = 0.0
    for j in range(size):
        minor = torch.cat([a[1:, :j], a[1:, j + 1 :]], dim=1)
        term = a[0, j] * _det_by_minors(minor)
        total = total + term if j % 2 == 0 else total - term
    return total


def det(data):
    ell = data["ell"]
    return lambda x: _det_by_minors(x.view(ell, ell))


def kmeans(data):
    k, d = data["k"], data["d"]
    points = _tensor(data["points"])
    points_sq = (points * points).sum(dim=1, keepdim=True)

    def f(x):
        centroids = x.view(k, d)
        distances = points_sq - 2 * points @ centroids.T + (centroids * centroids).sum(dim=1)  # (n, k)
        return distances.min(dim=1).values.sum()

    return f


def _project(camera, point, weight, feature):
    """One observation's weighted reprojection error (2,)."""
    rotation, centre = camera[0:3], camera[3:6]
    xo = point - centre
    angle = torch.linalg.vector_norm(rotation)
    axis = rotation / angle
    cos, sin = torch.cos(angle), torch.sin(angle)
    xc = xo * cos + torch.linalg.cross(axis, xo) * sin + axis * torch.dot(axis, xo) * (1 - cos)
    p = xc[:2] / xc[2]
    s = torch.dot(p, p)
    distortion = 1 + camera[9] * s + camera[10] * s * s
    return weight * (camera[6] * p * distortion + camera[7:9] - feature)


def ba(data):
    from torch import func

    n, m, p = data["n"], data["m"], data["p"]
    feature = _tensor(data["feature"])
    cam_of, point_of = torch.arange(p) % n, torch.arange(p) % m

    def unflatten(theta):
        cameras = theta[: 11 * n].view(n, 11)
        points = theta[11 * n : 11 * n + 3 * m].view(m, 3)
        return cameras[cam_of], points[point_of], theta[11 * n + 3 * m :]

    def residuals(theta):
        cams, pts, w = unflatten(theta)
        reprojection = func.vmap(_project, in_dims=(0, 0, 0, None))(cams, pts, w, feature)
        return torch.cat([reprojection.reshape(-1), 1 - w * w])

    blocks = func.vmap(func.jacrev(_project, argnums=(0, 1, 2)), in_dims=(0, 0, 0, None))

    def nonzeros(theta):
        cams, pts, w = unflatten(theta)
        d_cam, d_point, d_weight = blocks(cams, pts, w, feature)  # (p, 2, 11), (p, 2, 3), (p, 2)
        rows = torch.cat([d_cam, d_point, d_weight[..., None]], dim=-1)  # (p, 2, 15)
        return torch.cat([rows.reshape(-1), -2 * w])

    return residuals, nonzeros


def mlp_loss(data):
    layers, width = data["layers"], data["width"]
    inputs, targets = _tensor(data["inputs"]), _tensor(data["targets"])
    size = width * width + width

    def f(theta):
        h = inputs
        for layer in range(layers):
            start = layer * size
            w = theta[start : start + width * width].view(width, width)
            b = theta[start + width * width : start + size]
            h = torch.tanh(h @ w + b)
        return ((h - targets) ** 2).sum()

    return f


def sum_squares(data):
    return lambda x: (x * x).sum()


MAKERS = {"gmm": gmm, "lstm": lstm, "lse": lse, "llsq": llsq, "ode": ode, "det": det, "kmeans": kmeans,
          "ba": ba, "mlp_loss": mlp_loss, "sum_squares": sum_squares}


def _by_backward(f):
    def gradient(theta):
        theta = theta.detach().requires_grad_(True)
        f(theta).backward()
        return theta.grad

    return gradient


def make(name: str, data: dict):
    """(objective, derivative) of workload ``name``: θ (a float64 tensor) ↦ f(θ), ∇f(θ)
    (``ba``: the residuals and the Jacobian's non-zeros)."""
    built = MAKERS[name](data)
    if name == "ba":
        residuals, nonzeros = built
        return residuals, nonzeros
    return built, _by_backward(built)
