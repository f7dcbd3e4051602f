"""Sparse Jacobians by column colouring: c directional derivatives instead of n.

Columns that share no row of the Jacobian's pattern can be pushed along one direction
together: J·(e_a + e_b) holds column a in a's rows and column b in b's.  A greedy colouring
of the columns' conflict graph (columns conflict when they share a row; Curtis, Powell and
Reid 1974, Gebremedhin, Manne and Pothen 2005) gives c colours; a method computes the
compressed Jacobian J·S (m × c, S the n × c seed matrix of the colours) by c jvps or c
differences, and :meth:`Colouring.decompress` reads each non-zero back from its colour's
column.
A bundle adjustment's 15 non-zeros per row need 15 colours, at any problem size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

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


@dataclass(frozen=True)
class Colouring:
    """A case's Jacobian pattern with a colour per column: what a method needs to compress the
    Jacobian into c directions and read it back."""

    rows: np.ndarray
    cols: np.ndarray
    colours: np.ndarray
    shape: tuple

    @property
    def count(self) -> int:
        return int(self.colours.max()) + 1

    def seeds(self, dtype="float64") -> np.ndarray:
        """(c, n): one direction per colour, 1 on the colour's columns."""
        s = np.zeros((self.count, self.shape[1]), dtype=dtype)
        s[self.colours, np.arange(self.shape[1])] = 1
        return s

    @cached_property
    def csr(self) -> tuple:
        """The pattern in CSR order, once: (rows, column indices, row pointers) of each non-zero
        (a repeated entry once), so that a call reads its values straight into place: building
        the matrix from (row, column) pairs sorted them in every call (at bundle adjustment's
        33,000 non-zeros, twice the time of JAX's jvps, benchmarks/fairness)."""
        keys = np.unique(np.asarray(self.rows, dtype=np.int64) * self.shape[1] + self.cols)  # row-major
        rows, cols = np.divmod(keys, self.shape[1])
        indptr = np.searchsorted(rows, np.arange(self.shape[0] + 1))
        return rows, cols, indptr

    def decompress(self, compressed: np.ndarray, scale: np.ndarray | None = None):
        """The scipy.sparse CSR Jacobian from J·S (c, m): entry (r, k) is row r of k's colour's
        direction (over ``scale[k]``, a difference's step, where given)."""
        import scipy.sparse

        rows, cols, indptr = self.csr
        values = np.asarray(compressed)[self.colours[cols], rows]
        if scale is not None:
            values = values / scale[cols]
        return scipy.sparse.csr_matrix((values, cols, indptr), shape=self.shape)


@dataclass(frozen=True)
class Separable:
    """f's outputs in p independent groups of one kind (a case's ``separable`` is one or more such
    kinds): group i's r outputs, rows ``rows[i]`` of f, are a function of the k columns ``cols[i]``
    of θ alone, and ``fn(xp, tb)`` computes every group's at once from tb = θ[..., cols] (shape
    (..., p, k)) as (..., p, r).  A bundle adjustment's observation is such a group (2 rows from its
    camera's 11 columns, its point's 3 and its weight), and so is its weight's own residual (1 row
    from 1 column).  Its Jacobian's non-zeros are then the p small Jacobians
    ∂fn_i/∂tb_i (r × k), which reverse mode gives for all groups at once in r pullbacks (a cotangent
    of 1 on output a of every group): what a JAX user writes as vmap(jacrev(observation)), and
    cheaper than the k colours' jvps of the whole f where r < k."""

    cols: np.ndarray  # (p, k) columns of θ each group reads
    rows: np.ndarray  # (p, r) rows of f each group writes
    fn: Callable

    @property
    def size(self) -> int:
        """Entries of its groups' Jacobians (p · r · k)."""
        return self.rows.size * self.cols.shape[1]


def places(parts, rows: np.ndarray, cols: np.ndarray, out_dim: int) -> np.ndarray:
    """Where each non-zero (``rows[j]``, ``cols[j]``) of a pattern is in the groups' Jacobians of
    ``parts`` (Separable forms, each (p, r, k) flattened, one after the other), as a flat index; a
    row that no group writes, or a non-zero outside its row's group's columns, is an error in the case."""
    group, slot, part_of = np.full(out_dim, -1), np.full(out_dim, -1), np.full(out_dim, -1)
    for j, part in enumerate(parts):
        p, r = part.rows.shape
        group[part.rows.ravel()] = np.repeat(np.arange(p), r)
        slot[part.rows.ravel()] = np.tile(np.arange(r), p)
        part_of[part.rows.ravel()] = j
    if (part_of[rows] < 0).any():
        raise ValueError("the sparsity pattern has a row that no group of the separable form writes")
    found = np.full(len(rows), -1)
    start = 0
    for j, part in enumerate(parts):
        mine = part_of[rows] == j
        g, a, c = group[rows[mine]], slot[rows[mine]], cols[mine]
        r, k = part.rows.shape[1], part.cols.shape[1]
        b = np.full(len(g), -1)
        for column in range(k):  # k passes over the non-zeros, rather than an (nnz, k) table
            b = np.where((b < 0) & (part.cols[g, column] == c), column, b)
        if (b < 0).any():
            raise ValueError("the sparsity pattern has a non-zero outside its row's group's columns")
        found[mine] = start + (g * r + a) * k + b
        start += part.size
    return found


@lru_cache(maxsize=8)
def separable(case) -> tuple[Separable, ...]:
    """The case's separable form (``Case.separable``: one Separable, or several where its outputs
    are groups of different kinds), built once per case."""
    found = case.separable()
    return (found,) if isinstance(found, Separable) else tuple(found)


@lru_cache(maxsize=8)
def colouring(case) -> Colouring:
    """The case's pattern (``Case.sparsity``) coloured greedily, once per case."""
    rows, cols = case.sparsity()
    shape = (case.out_dim, case.dim)
    return Colouring(np.asarray(rows), np.asarray(cols), greedy_colouring(rows, cols, shape), shape)
