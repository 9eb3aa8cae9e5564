"""The AVX-512 kernel for op(A) @ B^T with a few dozen rows, which packs op(A)^T
and broadcasts rows of B in place (include/thinc_gemm_rows_of_b.hh): right on
every shape of its grid, bit for bit the packed kernel's result, the same
bits split over threads or not, and routed only where the rule says."""

import itertools

import numpy
import pytest

from thinc.backends import _testing, cblas, dispatch
from thinc.backends.numpy_ops import NumpyOps

pytestmark = pytest.mark.skipif(
    "avx512" not in dispatch.available_isas(),
    reason="this CPU has no AVX-512, which the kernel needs (it is never routed to there)",
)

# Rows around the 16-lane vectors (1 to 4 of them), columns around the 6-row
# tiles of B, depths around the 8 x 8 transposes, the L1 sub-blocks (96 to 384
# by the lanes) and the 288 limit.
ROWS = [1, 5, 13, 16, 17, 31, 32, 33, 47, 48, 63, 64]
COLUMNS = [1, 5, 6, 7, 12, 13, 40]
DEPTHS = [1, 7, 8, 9, 95, 96, 97, 200, 288]


@pytest.fixture
def at_avx512():
    previous = cblas._use_own_sgemm(True)
    dispatch.configure(isa="avx512")
    yield
    dispatch.configure(isa=None)
    cblas._use_own_sgemm(previous)


def operands(rng, M, N, K, trans_a, pad):
    """op(A) (as A^T where trans_a) and B (N x K), both row-strided views
    when pad > 0 (lda > width, ldb > K)."""
    a_shape = (K, M) if trans_a else (M, K)
    A = rng.standard_normal((a_shape[0], a_shape[1] + pad)).astype("float32")[:, : a_shape[1]]
    B = rng.standard_normal((N, K + pad)).astype("float32")[:, :K]
    return A, B


@pytest.mark.parametrize("trans_a", [False, True])
def test_every_shape_against_float64_and_the_packed_kernel(at_avx512, trans_a):
    rng = numpy.random.default_rng(11)
    for M, N, K in itertools.product(ROWS, COLUMNS, DEPTHS):
        A, B = operands(rng, M, N, K, trans_a, pad=(M + K) % 3)
        a = (A.T if trans_a else A).astype("float64")
        for alpha, beta in ((1.0, 0.0), (0.5, -1.0)):
            start = rng.standard_normal((M, N + 2)).astype("float32")
            C = start[:, :N]  # ldc > N: the two columns beyond stay as they were
            if beta == 0.0:
                C[...] = numpy.nan  # beta == 0 overwrites C, never scales it
            want = alpha * (a @ B.T.astype("float64"))
            if beta != 0.0:
                want += beta * C.astype("float64")
            packed = C.copy()
            beyond = start[:, N:].copy()
            assert _testing.rows_of_b_sgemm(trans_a, alpha, A, B, beta, C)
            tolerance = 2e-5 * (numpy.sqrt(K) + 1) + 1e-5
            numpy.testing.assert_allclose(
                C, want, rtol=1e-4, atol=tolerance, err_msg=str((M, N, K))
            )
            numpy.testing.assert_array_equal(start[:, N:], beyond)
            assert _testing.packed_sgemm(trans_a, True, alpha, A, B, beta, packed)
            numpy.testing.assert_array_equal(
                C, packed, err_msg=f"not the packed kernel's bits: {(M, N, K)}"
            )


def test_columns_beyond_n_and_the_bias(at_avx512):
    rng = numpy.random.default_rng(12)
    for M, N, K in ((16, 13, 288), (32, 6, 100), (64, 7, 9), (5, 40, 33)):
        A, B = operands(rng, M, N, K, False, pad=0)
        holder = numpy.full((M, N + 3), 7.0, "float32")
        C = holder[:, :N]
        bias = rng.standard_normal(N).astype("float32")
        assert _testing.rows_of_b_sgemm(False, 1.0, A, B, 0.0, C, bias)
        packed = numpy.empty((M, N), "float32")
        assert _testing.packed_sgemm(False, True, 1.0, A, B, 0.0, packed)
        # The bias is added to alpha * sum once, as the packed kernel's epilogue does.
        numpy.testing.assert_array_equal(C, packed + bias)
        assert (holder[:, N:] == 7.0).all()


def test_split_over_threads_gives_the_same_bits(at_avx512):
    rng = numpy.random.default_rng(13)
    # (Several k-blocks over more than one group of 16 tiles: 64 x 97, 48 x 200.)
    for M, N, K in ((16, 2000, 288), (32, 301, 200), (64, 97, 288), (48, 200, 200), (13, 50, 1)):
        A, B = operands(rng, M, N, K, False, pad=1)
        alone = numpy.empty((M, N), "float32")
        shared = numpy.empty((M, N), "float32")
        assert _testing.rows_of_b_sgemm(False, 1.0, A, B, 0.0, alone, split=False)
        assert _testing.rows_of_b_sgemm(False, 1.0, A, B, 0.0, shared, split=True)
        numpy.testing.assert_array_equal(alone, shared)
        want = A.astype("float64") @ B.T.astype("float64")
        numpy.testing.assert_allclose(
            alone, want, rtol=1e-4, atol=2e-5 * (numpy.sqrt(K) + 1) + 1e-5
        )


def product_of_ones(M, N, K, bias=None):
    """The hook on an M x K op(A) and an N x K B of ones."""
    A, B, C = numpy.ones((M, K), "f"), numpy.ones((N, K), "f"), numpy.zeros((M, N), "f")
    return _testing.rows_of_b_sgemm(False, 1.0, A, B, 0.0, C, bias)


def test_limits_of_the_hook(at_avx512):
    for M in (0, 65):
        with pytest.raises(ValueError, match="1 to 64 rows"):
            product_of_ones(M, 5, 3)
    with pytest.raises(ValueError, match="288 deep"):
        product_of_ones(4, 5, 289)
    with pytest.raises(ValueError, match="bias"):
        product_of_ones(4, 5, 3, numpy.ones(4, "f"))


def test_routing_rule(at_avx512):
    takes = _testing.rows_of_b_takes_product
    # Rows that fill at least 80% of one or two vectors of 16 lanes...
    assert takes(13, 288, 288, True) and takes(16, 288, 288, True)
    assert takes(27, 288, 64, True) and takes(32, 1000, 100, True)
    assert not takes(17, 288, 288, True) and not takes(25, 288, 288, True)
    assert takes(26, 288, 288, True)
    # ... or more than 7/8 of three or four from depth 256.
    assert takes(43, 288, 256, True) and takes(57, 288, 288, True) and takes(64, 288, 288, True)
    assert not takes(43, 288, 255, True) and not takes(42, 288, 288, True)
    assert not takes(56, 288, 288, True)
    # Not deeper than one k-block, not below 6 columns, only op(B) = B^T, one thread.
    assert not takes(16, 288, 289, True) and not takes(16, 5, 288, True)
    assert not takes(16, 288, 288, False) and not takes(16, 288, 288, True, True)
    # The dot-product kernel keeps what it takes (12 rows at depth 256+).
    assert not takes(12, 288, 288, True)
    with dispatch.forced(isa="avx2"):
        assert not takes(16, 288, 288, True)
        assert not product_of_ones(16, 9, 8)


def test_ops_gemm_takes_it_with_the_packed_kernels_bits(at_avx512):
    # Through NumpyOps on one thread (a small product stays on the calling
    # thread): the tok2vec shape of one doc, against the packed kernel.
    ops = NumpyOps()
    rng = numpy.random.default_rng(14)
    for M in (13, 16, 28, 32, 48, 64):
        X = rng.standard_normal((M, 288)).astype("float32")
        W = rng.standard_normal((288, 288)).astype("float32")
        b = rng.standard_normal(288).astype("float32")
        packed = numpy.empty((M, 288), "float32")
        assert _testing.packed_sgemm(False, True, 1.0, X, W, 0.0, packed)
        numpy.testing.assert_array_equal(ops.gemm(X, W, trans2=True), packed)
        numpy.testing.assert_array_equal(ops.affine(X, W, b), packed + b)
