"""Sparse Jacobians from c coloured directions (:mod:`harness.model.sparse`): JAX's jvps, and
finite differences along the same directions.  Both return a scipy.sparse CSR matrix for the
case's one point; the decompression (one gather) is part of the timed call."""

from __future__ import annotations

import numpy as np

from harness.model import sparse
from harness.model.method import Cell, Evaluator
from harness.model.namespaces import namespace


def prepare_jax(jax, cell: Cell, device, jit: bool = True) -> Evaluator:
    """vmap over the colours of jvp(f, x, s_c): the compressed Jacobian J·S in one program."""
    xp = namespace("jax")
    case = cell.case
    colouring = sparse.colouring(case)
    seeds = jax.device_put(colouring.seeds(cell.dtype), device)

    def compressed(x):  # x: (1, n), the case's one point
        return jax.vmap(lambda s: jax.jvp(lambda y: case.fn(xp, y), (x[0],), (s,))[1])(seeds)

    fn = jax.jit(compressed) if jit else compressed
    def call(x):
        return colouring.decompress(np.asarray(fn(x).block_until_ready()))

    return _jax_evaluator(jax, case, device, jit, call, {"colours": int(seeds.shape[0])})


def _jax_evaluator(jax, case, device, jit: bool, call, info: dict) -> Evaluator:
    """A sparse JAX Jacobian's evaluator around its ``call`` (the timed work, a scipy.sparse CSR
    matrix out): its input put on ``device``, and f compiled alike for the cost ratio."""
    xp = namespace("jax")
    primal = jax.jit(lambda x: case.fn(xp, x)) if jit else (lambda x: case.fn(xp, x))
    return Evaluator(
        call=call,
        to_device=lambda a: jax.device_put(a, device).block_until_ready(),
        to_numpy=lambda j: j,
        primal=lambda x: primal(x).block_until_ready(),
        info=info,
    )


def prepare_jax_separable(jax, cell: Cell, device, jit: bool = True) -> Evaluator:
    """Reverse mode over a separable case's groups (:class:`harness.model.sparse.Separable`): for
    each kind of group, one forward pass of every group, then r pullbacks, each with a cotangent of
    1 on one output of every group, give every group's r × k Jacobian at once; their non-zeros are
    gathered into the pattern's CSR order on the device."""
    import jax.numpy as jnp

    xp = namespace("jax")
    case = cell.case
    parts = sparse.separable(case)
    rows, cols, indptr = sparse.colouring(case).csr
    places = jax.device_put(sparse.places(parts, rows, cols, case.out_dim), device)
    takes = [jax.device_put(part.cols, device) for part in parts]

    def blocks(part, tb):  # (p, r, k): every group's Jacobian
        out, pullback = jax.vjp(lambda b: part.fn(xp, b), tb)
        r = out.shape[-1]
        cotangents = jnp.eye(r, dtype=out.dtype)[:, None, :]  # (r, 1, r): output a of every group
        found = jax.vmap(lambda e: pullback(jnp.broadcast_to(e, out.shape))[0])(cotangents)  # (r, p, k)
        return jnp.swapaxes(found, 0, 1).reshape(-1)

    def nonzeros(x):  # x: (1, n), the case's one point
        return jnp.concatenate([blocks(part, x[0][take]) for part, take in zip(parts, takes)])[places]

    import scipy.sparse

    fn = jax.jit(nonzeros) if jit else nonzeros
    shape = (case.out_dim, case.dim)

    def call(x):
        return scipy.sparse.csr_matrix((np.asarray(fn(x).block_until_ready()), cols, indptr), shape=shape)

    groups = " + ".join(f"{p.rows.shape[0]} of {p.rows.shape[1]} × {p.cols.shape[1]}" for p in parts)
    return _jax_evaluator(jax, case, device, jit, call, {"groups": groups})


def prepare_differences(cell: Cell, scheme: str, offsets: tuple, ends, step) -> Evaluator:
    """(f(x + h∘s_c) − f(x − h∘s_c))/2 along each colour's direction (one-sided for forward and
    backward), h_j the scheme's step for coordinate j; entry (r, k) is then row r of its
    colour's difference over h_k."""
    xp = namespace("numpy")
    case = cell.case
    colouring = sparse.colouring(case)
    seeds = colouring.seeds(cell.dtype)

    def call(x):
        point = x[0]
        h = step(point)
        xa, xb = ends(point[None, :], h[None, :] * seeds, scheme)  # (c, n) each
        diff = (case.fn(xp, xa) - case.fn(xp, xb)) / (offsets[0] - offsets[1])  # (c, m): J·(h∘s_c)
        return colouring.decompress(diff, scale=h)

    return Evaluator(call=call, to_numpy=lambda j: j, info={"colours": int(seeds.shape[0])})
