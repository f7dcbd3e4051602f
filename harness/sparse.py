"""Sparse Jacobians by column colouring: c directional derivatives instead of n.

Columns that share no row of the Jacobian's pattern can be pushed along one direction
together: J·(e_a + e_b) holds column a in a's rows and column b in b's.  A greedy colouring
of the columns' conflict graph (columns conflict when they share a row; Curtis, Powell and
Reid 1974, Gebremedhin, Manne and Pothen 2005) gives c colours; a method computes the
compressed Jacobian J·S (m × c, S the n × c seed matrix of the colours) by c jvps or c
differences, and :func:`decompress` reads each non-zero back from its colour's column.
A bundle adjustment's 15 non-zeros per row need 15 colours, at any problem size.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def pattern_matrix(rows: np.ndarray, cols: np.ndarray, shape: tuple):
    import scipy.sparse

    return scipy.sparse.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=shape)


def greedy_colouring(rows: np.ndarray, cols: np.ndarray, shape: tuple) -> np.ndarray:
    """A colour per column (0, 1, …) such that no two columns of one row share a colour."""
    a = pattern_matrix(rows, cols, shape)
    conflicts = (a.T @ a).tocsr()  # columns sharing a row
    n = shape[1]
    colours = np.full(n, -1)
    for j in range(n):
        taken = set(colours[conflicts.indices[conflicts.indptr[j]:conflicts.indptr[j + 1]]].tolist())
        colour = 0
        while colour in taken:  # the smallest colour none of its row-mates has
            colour += 1
        colours[j] = colour
    return colours


@lru_cache(maxsize=8)
def _plan(case) -> tuple:
    rows, cols = case.sparsity()
    shape = (case.out_dim, case.dim)
    colours = greedy_colouring(rows, cols, shape)
    return np.asarray(rows), np.asarray(cols), colours, shape


def plan(case) -> tuple:
    """(rows, cols, colours, shape) of the case's Jacobian pattern (computed once per case)."""
    return _plan(case)


def seeds(case, dtype="float64") -> np.ndarray:
    """(c, n): one direction per colour, 1 on the colour's columns."""
    _, _, colours, shape = plan(case)
    s = np.zeros((colours.max() + 1, shape[1]), dtype=dtype)
    s[colours, np.arange(shape[1])] = 1
    return s


def decompress(case, compressed: np.ndarray):
    """The scipy.sparse CSR Jacobian from J·S (c, m): entry (r, k) is row r of its colour's jvp."""
    import scipy.sparse

    rows, cols, colours, shape = plan(case)
    values = np.asarray(compressed)[colours[cols], rows]
    return scipy.sparse.csr_matrix((values, (rows, cols)), shape=shape)
