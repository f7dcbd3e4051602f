"""Sparse Jacobians (harness.model.sparse): the colouring, the CSR read-back, and a separable case's
groups, against Jacobians written out by hand."""

import numpy as np
import pytest

import cases  # noqa: F401
from harness.model.namespaces import namespace
from harness.model.registry import CASES
from harness.model.sparse import Colouring, Separable, greedy_colouring, places, separable

# f(θ) = (θ₀θ₁, θ₁ + θ₂², sin θ₃, θ₂θ₃): rows 0 and 1 read columns 0–2, rows 2 and 3 columns 2–3
ROWS = np.array([0, 0, 1, 1, 2, 3, 3])
COLS = np.array([0, 1, 1, 2, 3, 2, 3])


def _by_hand(t):
    return np.array([[t[1], t[0], 0, 0],
                     [0, 1, 2 * t[2], 0],
                     [0, 0, 0, np.cos(t[3])],
                     [0, 0, t[3], t[2]]])


def test_a_greedy_colouring_gives_no_two_columns_of_a_row_one_colour():
    colours = greedy_colouring(ROWS, COLS, (4, 4))
    for row in range(4):
        mine = colours[COLS[ROWS == row]]
        assert len(set(mine.tolist())) == len(mine)


def test_the_compressed_jacobian_decompresses_to_the_jacobian_written_by_hand():
    t = np.array([0.3, -1.2, 0.7, 2.1])
    colouring = Colouring(ROWS, COLS, greedy_colouring(ROWS, COLS, (4, 4)), (4, 4))
    compressed = colouring.seeds() @ _by_hand(t).T  # (c, m): J·s_c per colour
    assert np.array_equal(colouring.decompress(compressed).toarray(), _by_hand(t))


def test_the_places_of_a_patterns_non_zeros_in_the_groups_jacobians():
    groups = Separable(cols=np.array([[0, 1, 2], [3, 2, 0]]), rows=np.array([[0, 1], [2, 3]]), fn=None)
    # (group, output, column slot) flattened over (2, 2, 3): row 3 column 2 is group 1's output 1, slot 1
    expected = [(0, 0, 0), (0, 0, 1), (0, 1, 1), (0, 1, 2), (1, 0, 0), (1, 1, 1), (1, 1, 0)]
    assert places([groups], ROWS, COLS, 4).tolist() == [(g * 2 + a) * 3 + b for g, a, b in expected]
    # the same rows as two kinds of group: rows 0–1 one group of 2 × 3, rows 2 and 3 two groups of 1 × 2
    kinds = [Separable(np.array([[0, 1, 2]]), np.array([[0, 1]]), None),
             Separable(np.array([[3, 0], [2, 3]]), np.array([[2], [3]]), None)]
    # the second kind's entries follow the first kind's 6: (group, slot) over (2, 1, 2)
    expected = [0, 1, 4, 5, 6 + 0, 6 + 2 + 1 * 0 + 0, 6 + 2 + 1]
    assert places(kinds, ROWS, COLS, 4).tolist() == expected


def test_a_pattern_outside_the_groups_is_refused():
    groups = Separable(cols=np.array([[0, 1, 2], [3, 2, 2]]), rows=np.array([[0, 1], [2, 3]]), fn=None)
    with pytest.raises(ValueError, match="outside its row's group"):
        places([groups], np.append(ROWS, 2), np.append(COLS, 0), 4)  # row 2 reads column 0: not its group's
    with pytest.raises(ValueError, match="no group"):
        places([Separable(cols=np.array([[0, 1, 2]]), rows=np.array([[0, 1]]), fn=None)], ROWS, COLS, 4)


@pytest.mark.parametrize("size", [{"problem": 1, "scale": 1000}, {"problem": 3, "scale": 500}])
def test_bundle_adjustments_groups_are_its_residuals(size):
    # the separable form, scattered into place, is the case's own f at the seed point and beside it
    case = CASES.get("ba").at(size)
    parts = separable(case)
    xp = namespace("numpy")
    rng = np.random.default_rng(0)
    for t in (case.points()[0], case.points()[0] + 0.01 * rng.standard_normal(case.dim)):
        found = np.full(case.out_dim, np.nan)
        for part in parts:
            found[part.rows] = part.fn(xp, t[part.cols])
        assert np.array_equal(found, np.asarray(case.fn(xp, t[None, :]))[0])  # every row, none twice
    rows, cols = case.sparsity()
    assert len(np.unique(places(parts, np.asarray(rows), np.asarray(cols), case.out_dim))) == len(rows)
