"""Bundle adjustment (gradbench/gradbench evals/ba/README.md, ADBench's BA): reprojection
residuals, measured through their sparse Jacobian.

ADBench's problems ba1…ba20 replicate one camera, point, weight and feature (shipped in
``cases/data/ba.txt``): n cameras, m points and p observations, observation i seeing point
i mod m from camera i mod n.  θ = (n cameras × 11, m points × 3, p weights); the residuals
are, per observation, w·(proj(cam, X) − feature) (two numbers), then 1 − w² per weight.
proj rotates X − C by the camera's Rodrigues vector r (θ = ‖r‖, ω = r/θ:
Xc = Xo cos θ + (ω × Xo) sin θ + ω (ω·Xo)(1 − cos θ)), divides by the depth, applies the
radial distortion 1 + k₁s + k₂s² (s = ‖p̂‖²), the focal length and the principal point.
The spec's θ = 0 branch (Xo + r × Xo) is not written: every problem's camera has ‖r‖ = 1.6.
Rows 2i, 2i+1 have 15 non-zeros (11 camera, 3 point, 1 weight columns), row 2p + i one; each
observation's two rows are a function of its 15 columns alone, and each weight's row of its weight
(the case's separable form).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cases.gradbench import dtypes_beyond
from harness.extend import Case, Separable, register_sweep
from harness.model.namespaces import constant

DATA = Path(__file__).parent / "data" / "ba.txt"


def shipped() -> tuple[dict, dict]:
    """The shared camera, point, weight and feature, and {problem: (n, m, p)}."""
    lines = [ln.split() for ln in DATA.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    camera, point, weight, feature = (np.array(v, dtype=float) for v in lines[:4])
    problems = {int(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in lines[4:]}
    return {"cam": camera, "x": point, "w": float(weight[0]), "feat": feature}, problems


def ba_case(n: int, m: int, p: int, cam, x, w, feat, label: str = "") -> Case:
    cam_of = np.arange(p) % n
    point_of = np.arange(p) % m
    cam_index = 11 * cam_of[:, None] + np.arange(11)  # (p, 11) columns of θ
    point_index = 11 * n + 3 * point_of[:, None] + np.arange(3)  # (p, 3)
    weight_start = 11 * n + 3 * m
    features = np.tile(np.asarray(feat, dtype=float), (p, 1))
    theta = np.concatenate([np.tile(cam, n), np.tile(x, m), np.full(p, float(w))])

    def reprojections(xp, c, point, weight, like):
        """w·(proj(cam, X) − feature) of each observation, (..., p, 2), from its camera's 11
        parameters c (..., p, 11), its point (..., p, 3) and its weight (..., p)."""
        r, centre = c[..., 0:3], c[..., 3:6]
        xo = point - centre
        angle = xp.sqrt(xp.sum(r * r, axis=-1))
        omega = r / angle[..., None]
        cos, sin = xp.cos(angle)[..., None], xp.sin(angle)[..., None]
        o0, o1, o2 = omega[..., 0:1], omega[..., 1:2], omega[..., 2:3]
        x0, x1, x2 = xo[..., 0:1], xo[..., 1:2], xo[..., 2:3]
        cross = xp.concat([o1 * x2 - o2 * x1, o2 * x0 - o0 * x2, o0 * x1 - o1 * x0], axis=-1)
        dot = xp.sum(omega * xo, axis=-1)[..., None]
        xc = xo * cos + cross * sin + omega * dot * (1 - cos)
        projected = xc[..., 0:2] / xc[..., 2:3]
        s = xp.sum(projected * projected, axis=-1)[..., None]
        distortion = 1 + c[..., 9:10] * s + c[..., 10:11] * s * s
        proj = c[..., 6:7] * projected * distortion + c[..., 7:9]
        return weight[..., None] * (proj - constant(xp, features, like=like))

    def residuals(xp, t):
        weight = t[..., weight_start:]
        reprojection = reprojections(xp, t[..., cam_index], t[..., point_index], weight, t)  # (..., p, 2)
        flat = xp.reshape(reprojection, (*t.shape[:-1], 2 * p))
        return xp.concat([flat, 1 - weight * weight], axis=-1)

    def observations(xp, tb):  # tb: (..., p, 15), an observation's camera, point and weight
        return reprojections(xp, tb[..., 0:11], tb[..., 11:14], tb[..., 14], tb)  # (..., p, 2)

    def weights(xp, tb):  # tb: (..., p, 1)
        return 1 - tb * tb

    def columns():
        weight_index = weight_start + np.arange(p)[:, None]
        return np.concatenate([cam_index, point_index, weight_index], axis=1)  # (p, 15)

    def separable():  # each observation's 2 rows, then each weight's own
        obs = np.arange(p)
        return (Separable(columns(), np.stack([2 * obs, 2 * obs + 1], axis=1), observations),
                Separable(weight_start + obs[:, None], 2 * p + obs[:, None], weights))

    def sparsity():
        obs = np.arange(p)
        read = columns()
        rows = np.concatenate([np.repeat(2 * obs, 15), np.repeat(2 * obs + 1, 15), 2 * p + obs])
        cols = np.concatenate([read.ravel(), read.ravel(), weight_start + obs])
        return rows, cols

    return Case(
        "ba", residuals,
        "w·(proj(camᵢ, Xᵢ) − featᵢ) and 1 − w²: the reprojection errors of bundle adjustment",
        domain=(-1.0, 1.0), grid=0, seed_points=(tuple(theta),), dim=len(theta), out_dim=3 * p,
        quantities=("jacobian",), sparsity=sparsity, colours=15, separable=separable, exact_reference=False,
        source="gradbench/gradbench evals/ba/README.md (ADBench's BA, data of evals/ba/data)" + label,
        note=f"{n} cameras, {m} points, {p} observations; a sparse Jacobian of {31 * p} non-zeros "
             f"({3 * p} × {len(theta)}).",
        work=60 * p, footprint=30 * p, timeout_s=600.0, dtypes=dtypes_beyond(p <= 32),
    )


def ba(problem: int = 1, scale: int = 1) -> Case:
    """ADBench's problem ``problem`` (1…20); ``scale`` > 1 divides n, m and p (a quick size)."""
    shared, problems = shipped()
    n, m, p = (max(1, v // scale) for v in problems[problem])
    label = f" (problem ba{problem}" + (f", n, m, p divided by {scale})" if scale > 1 else ")")
    return ba_case(n, m, p, **shared, label=label)


register_sweep("ba", ba, quick=[{"problem": 1, "scale": 1000}],
               default=[{"problem": 1, "scale": 1000}, {"problem": 1, "scale": 30}],
               full=[{"problem": i} for i in range(1, 21)])
