"""Each workload's fixed data, generated exactly as its case generates it.

The idiomatic implementations take what a case takes: the flat θ (``case.points()[0]``) and the
data the case's factory closes over.  That data is made here by the same generator functions and
seeds as in ``cases/gradbench.py``, ``cases/bundle.py`` and ``cases/losses.py`` (and rounded to
float32-exact numbers where the case rounds it), never read out of the case's closure.
"""

from __future__ import annotations

import numpy as np

from cases import bundle
from cases.gradbench import SEED, f32, gmm_generate, lstm_generate


def gmm(d: int = 2, k: int = 5, n: int = 10) -> dict:
    raw = gmm_generate(d, k, n)
    return {key: f32(v) if isinstance(v, np.ndarray) else v for key, v in raw.items()}


def lstm(l: int = 1, c: int = 4) -> dict:  # noqa: E741 (the spec's name)
    return {key: f32(v) for key, v in lstm_generate(l, c).items()}


def lse(n: int = 100) -> dict:
    return {"n": n}


def llsq(n: int = 16, m: int = 128) -> dict:
    t = -1 + 2 * np.arange(n) / (n - 1)
    return {"n": n, "m": m, "t": t}


def ode(n: int = 10, s: int = 1) -> dict:
    return {"n": n, "s": s}


def det(ell: int = 3) -> dict:
    return {"ell": ell}


def kmeans(k: int = 2, n: int = 16, d: int = 2) -> dict:
    points = f32(np.random.default_rng(SEED).uniform(size=(n, d)))
    return {"k": k, "n": n, "d": d, "points": points}


def ba(problem: int = 1, scale: int = 1) -> dict:
    shared, problems = bundle.shipped()
    n, m, p = (max(1, v // scale) for v in problems[problem])
    return {"n": n, "m": m, "p": p, "feature": np.asarray(shared["feat"], dtype=float)}


def mlp_loss(layers: int = 2, width: int = 3, batch: int = 6, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((batch, width))
    targets = rng.standard_normal((batch, 1))
    return {"layers": layers, "width": width, "inputs": inputs, "targets": targets}


def ba_pattern(n: int, m: int, p: int) -> dict:
    """The CSR structure of ba's Jacobian (3p × 11n + 3m + p), rows in the residuals' order: for
    observation i, rows 2i and 2i + 1 hold its camera's 11 columns, its point's 3 and its weight's
    (increasing), and row 2p + i the weight's alone."""
    obs = np.arange(p)
    cam = 11 * (obs % n)[:, None] + np.arange(11)
    point = 11 * n + 3 * (obs % m)[:, None] + np.arange(3)
    weight = (11 * n + 3 * m + obs)[:, None]
    columns = np.concatenate([cam, point, weight], axis=1)  # (p, 15)
    indices = np.concatenate([np.repeat(columns, 2, axis=0).ravel(), weight.ravel()])
    indptr = np.concatenate([np.arange(0, 30 * p + 1, 15), 30 * p + np.arange(1, p + 1)])
    return {"indices": indices, "indptr": indptr, "shape": (3 * p, 11 * n + 3 * m + p)}


def sum_squares(**size) -> dict:  # the call path alone: no data
    return {}


DATA = {"gmm": gmm, "lstm": lstm, "lse": lse, "llsq": llsq, "ode": ode, "det": det, "kmeans": kmeans,
        "ba": ba, "mlp_loss": mlp_loss, "sum_squares": sum_squares}


def data(name: str, size: dict) -> dict:
    return DATA[name](**size)
