"""Error figures: exact arithmetic on known errors, and checks that must fail."""

import numpy as np
import pytest

from harness.truth.accuracy import DIGITS_CAP, REL_FLOOR, BadResult, accuracy, check_result, digits_of
from harness.truth.reference import Reference


def make_ref(values, defined=None, lo=None):
    values = np.asarray(values, float)
    n = values.size
    return Reference(
        x=np.arange(n, dtype=float), hi=values, lo=np.zeros(n) if lo is None else np.asarray(lo),
        f=np.zeros(n), defined=np.ones(n, bool) if defined is None else np.asarray(defined),
        text=[str(v) for v in values], kind="test",
    )


def test_exact_values_get_the_cap():
    ref = make_ref([1.0, -2.0, 3.0])
    a = accuracy(np.array([1.0, -2.0, 3.0]), ref, np.ones(3, bool))
    assert a.max_abs_err == 0 and a.digits == DIGITS_CAP


def test_a_deliberately_wrong_derivative_loses_exactly_its_digits():
    ref = make_ref([0.5, 2.0, -4.0])
    wrong = ref.hi * (1 + np.array([1e-12, 1e-6, 1e-9]))
    a = accuracy(wrong, ref, np.array([True, False, False]))
    assert a.digits == pytest.approx(6, abs=1e-6)  # the worst point
    assert a.seed_digits == pytest.approx(12, abs=1e-3)  # only the first point is a seed point
    assert a.max_abs_err == pytest.approx(2e-6, rel=1e-6)


def test_the_low_part_of_the_reference_counts():
    # d equals hi, but the true derivative is hi + lo: the error is |lo|, not 0.
    ref = make_ref([1.0], lo=[3e-17])
    a = accuracy(np.array([1.0]), ref, np.ones(1, bool))
    assert a.max_abs_err == pytest.approx(3e-17)
    assert a.digits == pytest.approx(-np.log10(3e-17))


def test_floor_keeps_a_vanishing_derivative_from_swamping_the_figure():
    ref = make_ref([100.0, 1e-12])
    values = ref.hi + np.array([1e-10, 1e-10])
    a = accuracy(values, ref, np.ones(2, bool))
    # at the second point the error is measured against REL_FLOOR * 100, not 1e-12
    assert a.max_rel_err == pytest.approx(1e-10 / (REL_FLOOR * 100))


def test_undefined_points_get_no_error():
    ref = make_ref([-1.0, np.nan, 1.0], defined=[True, False, True])
    a = accuracy(np.array([-1.0, 12345.0, 1.0]), ref, np.ones(3, bool))
    assert a.n_undefined == 1 and a.digits == DIGITS_CAP
    assert np.isnan(a.abs_err[1])


def test_nan_at_a_defined_point_fails():
    ref = make_ref([1.0, 2.0])
    with pytest.raises(BadResult, match="1 of 2 points are NaN"):
        accuracy(np.array([1.0, np.nan]), ref, np.ones(2, bool))


def test_wrong_shape_fails():
    with pytest.raises(BadResult, match="shape"):
        check_result(np.zeros(2), (3,))


def test_digits_of():
    assert digits_of(1e-8) == pytest.approx(8)
    assert digits_of(0.0) == DIGITS_CAP
    assert np.isnan(digits_of(np.nan))
