"""The opt-in int8 gemm (THINC_GEMM_PRECISION=int8, include/thinc_gemm_int8.hh):
each row of op(A) and column of op(B) is scaled to [-127, 127] by its largest
magnitude and rounded to nearest (ties to even), the sums are exact in int32,
and C gets them times both scales. Checked bit for bit against the same
arithmetic in numpy, and against float32 where the product must stay float32."""

import itertools

import numpy
import pytest

from thinc.backends import _testing, cblas, dispatch
from thinc.backends.numpy_ops import NumpyOps

from .test_gemm_bf16 import precision_probe
from .test_gemm_kernel import operand

MIN_ROWS, MAX_K = cblas.int8_limits()
VECTORS = cblas.int8_vector_kernels()
needs_int8 = pytest.mark.skipif(
    not cblas.int8_available_here(),
    reason="this CPU has neither AVX-512 VNNI (avx512_vnni) nor AVX-VNNI (avx_vnni), "
    "or THINC_ISA holds them back",
)

KERNELS = [
    pytest.param(
        "tiles",
        marks=pytest.mark.skipif(
            not cblas.int8_tiles_available() or "avx512-vnni" not in VECTORS,
            reason="this CPU (or OS) has no AMX-INT8 tiles",
        ),
    ),
    pytest.param(
        "avx512-vnni",
        marks=pytest.mark.skipif(
            "avx512-vnni" not in VECTORS, reason="this CPU has no AVX-512 VNNI (avx512_vnni)"
        ),
    ),
    pytest.param(
        "avx-vnni",
        marks=pytest.mark.skipif(
            "avx-vnni" not in VECTORS, reason="this CPU has no AVX-VNNI (avx_vnni)"
        ),
    ),
]
KERNEL_NAMES = {"tiles": "AMX", "avx512-vnni": "AVX-512 VNNI", "avx-vnni": "AVX-VNNI"}


@pytest.fixture(params=KERNELS)
def int8(request):
    # Tiles take op(A) = A; op(A) = A^T runs on the AVX-512 vectors then.
    # AVX-VNNI runs where the level is below AVX-512: forced to AVX2 here.
    kernel = request.param
    cblas._use_int8_tiles(kernel == "tiles")
    isa = "avx2" if kernel == "avx-vnni" else None
    try:
        with dispatch.forced(precision="int8", isa=isa):
            precision = cblas.gemm_paths()["precision"]
            assert precision.startswith("int8"), precision
            assert KERNEL_NAMES[kernel] in precision, precision
            assert ("AMX" in precision) == (kernel == "tiles"), precision
            yield kernel
    finally:
        cblas._use_int8_tiles(True)


def quantized(x, axis):
    """x's integers and scales along `axis` (1: per row, 0: per column), in
    float32 arithmetic as the kernel does it."""
    top = numpy.abs(x).max(axis=axis, keepdims=True).astype("float32")
    with numpy.errstate(divide="ignore"):
        inverse = numpy.where(top == 0, numpy.float32(0), numpy.float32(127) / top)
    integers = numpy.rint(x * inverse.astype("float32"))
    assert numpy.abs(integers).max(initial=0) <= 127
    return integers.astype("float64"), (top / numpy.float32(127)).astype("float32")


def int8_product(alpha, a, b, beta, C, bias=None):
    """alpha * a @ b + beta * C (+ bias) as the int8 kernel computes it."""
    qa, row_scale = quantized(a, 1)
    qb, column_scale = quantized(b, 0)
    sums = (qa @ qb).astype("int64")  # exact: every term and sum is an integer below 2**53
    assert numpy.abs(sums).max(initial=0) < 2**31
    value = sums.astype("float32") * (numpy.float32(alpha) * column_scale) * row_scale
    if beta != 0.0:
        # one rounding of beta * C + value, as the kernel's fused multiply-add
        value = (numpy.float64(beta) * C.astype("float64") + value.astype("float64")).astype(
            "float32"
        )
    if bias is not None:
        value = value + bias
    return value


def check(M, N, K, trans_a, trans_b, alpha=1.0, beta=0.0, pad=0, seed=0):
    rng = numpy.random.default_rng(seed)
    A = operand(rng, M, K, trans_a, pad)
    B = operand(rng, K, N, trans_b, pad)
    C_full = rng.standard_normal((M, N + pad)).astype("float32")
    C = C_full[:, :N]
    before = C.copy()
    if beta == 0.0:
        C[...] = numpy.nan  # beta == 0 overwrites C, never reads it
    padding = C_full[:, N:].copy()
    _testing.sgemm(trans_a, trans_b, alpha, A, B, beta, C)
    a, b = (A.T if trans_a else A), (B.T if trans_b else B)
    if M >= MIN_ROWS:
        want = int8_product(alpha, a, b, beta, before)
        numpy.testing.assert_array_equal(C, want, err_msg=f"{(M, N, K, trans_a, trans_b)}")
    else:  # too few rows to repay quantizing op(B): float32
        want = alpha * (a.astype("f8") @ b.astype("f8")) + (beta * before if beta else 0.0)
        numpy.testing.assert_allclose(C, want, rtol=1e-5, atol=1e-4)
    numpy.testing.assert_array_equal(C_full[:, N:], padding)


# Rows around the 6-row tile and the 32-row floor, columns around the 32-column
# tile, depths around the 4-k quad and the 16-float loads.
SHAPES = [
    (1, 1, 1),
    (31, 33, 31),
    (32, 1, 1),
    (32, 16, 4),
    (33, 17, 5),
    (34, 31, 15),
    (35, 32, 16),
    (37, 33, 17),
    (38, 64, 63),
    (41, 65, 96),
    (145, 47, 257),
    (64, 300, 288),
]


@needs_int8
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_int8_products_are_the_quantized_sums_bit_for_bit(int8, shape, trans_a, trans_b):
    check(*shape, trans_a, trans_b, seed=sum(shape))


@needs_int8
@pytest.mark.parametrize("alpha,beta,pad", [(1.0, 1.0, 0), (0.5, -2.0, 3), (-1.5, 0.0, 5)])
@pytest.mark.parametrize("shape", [(39, 7, 5), (150, 70, 300), (40, 33, 64)])
def test_int8_alpha_beta_strides(int8, shape, alpha, beta, pad):
    check(*shape, False, True, alpha=alpha, beta=beta, pad=pad, seed=3)
    check(*shape, True, False, alpha=alpha, beta=beta, pad=pad, seed=4)


@needs_int8
def test_int8_deep_products_split_into_blocks(int8):
    # 8,192 deep: op(B) is packed 128 columns at a time (vectors and tiles)
    # and op(A) 30 rows at a time (vectors), so the loops over blocks run.
    check(70, 300, 8192, False, True, seed=7)
    check(70, 300, 8192, True, False, beta=1.0, seed=8)


@needs_int8
def test_int8_affine_threads_and_accuracy(int8):
    ops = NumpyOps()
    rng = numpy.random.default_rng(5)
    X = rng.standard_normal((2100, 96)).astype("f")
    W = rng.standard_normal((288, 96)).astype("f")
    bias = rng.standard_normal((288,)).astype("f")
    got = ops.affine(X, W, bias)
    numpy.testing.assert_array_equal(got, int8_product(1.0, X, W.T, 0.0, None, bias))
    # Split over the pool or not, the sums are exact: the same bits.
    with dispatch.forced(grain=10**12):
        serial = ops.affine(X, W, bias)
    with dispatch.forced(grain=1000):
        split = ops.affine(X, W, bias)
    numpy.testing.assert_array_equal(got, serial)
    numpy.testing.assert_array_equal(got, split)
    # About 8 bits an operand: the error is ~1% of a normal product's size.
    exact = X.astype("f8") @ W.T.astype("f8") + bias
    error = numpy.abs(got - exact).mean() / numpy.abs(exact - bias).mean()
    assert 1e-3 < error < 3e-2, error


def float32_product(trans_a, trans_b, A, B, C, alpha=1.0, beta=0.0):
    out = C.copy()
    saved = cblas._precision_override  # forced() would hand back the environment's
    cblas.configure_gemm(precision="float32")
    try:
        _testing.sgemm(trans_a, trans_b, alpha, A, B, beta, out)
    finally:
        cblas.configure_gemm(precision=saved)
    return out


@needs_int8
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("special", [numpy.nan, numpy.inf, -numpy.inf, 1e-40])
@pytest.mark.parametrize("where", ["A", "B"])
def test_int8_products_with_inf_nan_or_only_subnormals_stay_float32(
    int8, trans_a, trans_b, special, where
):
    # A scale cannot hold inf or NaN (and 127 / a subnormal overflows): the
    # whole product runs in float32, so NaN and inf reach C as float32 gives them.
    rng = numpy.random.default_rng(9)
    A = operand(rng, 40, 40, trans_a)
    B = operand(rng, 40, 33, trans_b)
    target = A if where == "A" else B
    if special == 1e-40:
        target[...] = numpy.float32(special)  # every magnitude subnormal
    else:
        target[3, 5] = special
    C = rng.standard_normal((40, 33)).astype("float32")
    want = float32_product(trans_a, trans_b, A, B, C, beta=0.5)
    _testing.sgemm(trans_a, trans_b, 1.0, A, B, 0.5, C)
    numpy.testing.assert_array_equal(C, want)
    if special != 1e-40:
        assert not numpy.isfinite(C).all()


@needs_int8
def test_int8_zero_rows_and_columns_and_the_limits(int8):
    rng = numpy.random.default_rng(10)
    A = rng.standard_normal((40, 20)).astype("f")
    B = rng.standard_normal((20, 40)).astype("f")
    A[5] = 0.0
    B[:, 7] = 0.0
    C = rng.standard_normal((40, 40)).astype("f")
    before = C.copy()
    _testing.sgemm(False, False, 1.0, A, B, 2.0, C)
    numpy.testing.assert_array_equal(C, int8_product(1.0, A, B, 2.0, before))
    numpy.testing.assert_array_equal(C[5], 2.0 * before[5])
    numpy.testing.assert_array_equal(C[:, 7], 2.0 * before[:, 7])
    # Fewer rows than MIN_ROWS, or deeper than MAX_K: float32's bits.
    for M, K in [(MIN_ROWS - 1, 64), (MIN_ROWS, MAX_K + 1)]:
        A = rng.standard_normal((M, K)).astype("f")
        B = rng.standard_normal((K, 2)).astype("f")
        C = numpy.zeros((M, 2), dtype="f")
        _testing.sgemm(False, False, 1.0, A, B, 0.0, C)
        numpy.testing.assert_array_equal(C, float32_product(False, False, A, B, C))
    A = rng.standard_normal((MIN_ROWS, MAX_K)).astype("f")
    B = rng.standard_normal((MAX_K, 2)).astype("f")
    C = numpy.zeros((MIN_ROWS, 2), dtype="f")
    _testing.sgemm(False, False, 1.0, A, B, 0.0, C)
    numpy.testing.assert_array_equal(C, int8_product(1.0, A, B, 0.0, C))


@needs_int8
@pytest.mark.filterwarnings(
    "ignore:THINC_GEMM_PRECISION=int8"
)  # at scalar: asserted in a subprocess below
def test_int8_is_opt_in_and_changes_bits():
    ops = NumpyOps()
    rng = numpy.random.default_rng(6)
    a = rng.standard_normal((64, 96)).astype("f")
    b = rng.standard_normal((96, 128)).astype("f")
    with dispatch.forced(precision=None):
        default = ops.gemm(a, b)
    with dispatch.forced(precision="int8"):
        quantized_result = ops.gemm(a, b)
        assert "int8" in cblas.gemm_description()
    assert not numpy.array_equal(quantized_result, default)
    numpy.testing.assert_array_equal(quantized_result, int8_product(1.0, a, b, 0.0, None))
    # Without vectors (THINC_ISA=scalar) no VNNI kernel can run: float32 again.
    if "avx2" in dispatch.available_isas():
        with dispatch.forced(isa="scalar", precision="int8"):
            assert cblas.gemm_paths()["precision"] == "float32"
            numpy.testing.assert_allclose(ops.gemm(a, b), default, rtol=1e-5, atol=1e-5)


def test_int8_setting_that_cannot_apply_warns_and_stays_float32():
    environment = {"THINC_GEMM_PRECISION": "int8"}
    if cblas.int8_available_here():
        environment["THINC_ISA"] = "scalar"
    precision, warnings = precision_probe(environment)
    assert precision == '"float32"'
    assert "THINC_GEMM_PRECISION=int8" in warnings
    assert "float32 gemm stays float32" in warnings
