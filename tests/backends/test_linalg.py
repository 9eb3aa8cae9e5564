"""The inline helpers of thinc.backends.linalg (cimported by spaCy), exercised
through the module's small Python wrappers."""

import math

import pytest

from thinc.backends import linalg


def test_vec_reductions():
    assert linalg.vec_arg_max([0.1, 3.0, -2.0, 3.0]) == 1
    assert linalg.vec_arg_max([2.0, 2.0]) == 1  # thinc 8.3's two-way tie rule
    assert linalg.vec_arg_max([3.0, 2.0]) == 0
    assert linalg.vec_max([]) == 0
    assert linalg.vec_max([-5.0, -2.0, -9.0]) == -2.0
    assert linalg.vec_sum([1.0, 2.0, 3.5]) == 6.5
    assert linalg.vec_norm([3.0, 4.0]) == pytest.approx(5.0)
    mean, variance = linalg.vec_mean_variance([1.0, 2.0, 3.0, 4.0])
    assert mean == pytest.approx(2.5) and variance == pytest.approx(1.25)


def test_vec_elementwise():
    results = linalg.vec_ops([1.0, 2.0, 4.0], 2.0)
    assert results["add"] == [3.0, 4.0, 6.0]
    assert results["mul"] == [2.0, 4.0, 8.0]
    assert results["pow"] == [1.0, 4.0, 16.0]
    assert results["div"] == [0.5, 1.0, 2.0]
    assert results["exp"] == pytest.approx([math.e, math.e**2, math.e**4], rel=1e-6)
    assert results["reciprocal"] == [1.0, 0.5, 0.25]


def test_vecvec():
    results = linalg.vecvec_ops([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], 2.0)
    assert results["add"] == [9.0, 12.0, 15.0]
    assert results["mul"] == [4.0, 10.0, 18.0]
    assert results["add_pow"] == [17.0, 27.0, 39.0]
    assert results["dot"] == 32.0
    assert linalg.vecvec_batch_add([1.0, 1.0], [[1.0, 2.0], [3.0, 4.0]], 0.5) == [3.0, 4.0]
    assert linalg.vecvec_arg_max_if_true([5.0, 1.0, 3.0], [False, True, True]) == 2
    assert linalg.vecvec_arg_max_if_true([5.0, 1.0], [False, False]) == -1
    assert linalg.vecvec_arg_max_if_zero([5.0, 1.0, 3.0], [1.0, 0.0, 2.0]) == 1
    assert linalg.vecvec_arg_max_if_zero([5.0], [1.0]) == -1
    with pytest.raises(ValueError):
        linalg.vecvec_ops([1.0], [1.0, 2.0], 1.0)


def test_mat_mean_and_variance():
    means, variances = linalg.mat_mean_var_rows([[1.0, 2.0], [3.0, 6.0]], 0.5)
    assert means == [2.0, 4.0]
    assert variances == pytest.approx([1.5, 4.5])


def test_matrix_owns_its_memory():
    matrix = linalg.Matrix(3, 4)
    assert (matrix.nr_row, matrix.nr_col) == (3, 4)
    assert matrix.mem is not None
    with pytest.raises(ValueError):
        linalg.Matrix(-1, 2)
    with pytest.raises(AttributeError):
        matrix.nr_row = 5
