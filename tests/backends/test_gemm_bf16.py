"""The opt-in bfloat16 gemm (THINC_GEMM_PRECISION=bf16, include/thinc_gemm_bf16.hh):
its operands are rounded to bfloat16 (to nearest, ties to even), its sums are
float32. Checked against the same rounding done in numpy and a float64
product, on AMX tiles and on the AVX-512 BF16 kernel where the CPU has them."""

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from thinc.backends import cblas, dispatch
from thinc.backends.numpy_ops import NumpyOps

from .test_gemm_kernel import operand

ROOT = Path(__file__).resolve().parents[2]
HAS_BF16 = cblas.bf16_available_here()
needs_bf16 = pytest.mark.skipif(
    not HAS_BF16, reason="this CPU has no AVX-512 BF16 (or THINC_ISA holds it back)"
)

KERNELS = [
    pytest.param(
        "tiles",
        marks=pytest.mark.skipif(
            not cblas.bf16_tiles_available(), reason="this CPU (or OS) has no AMX-BF16 tiles"
        ),
    ),
    "vectors",
]


@pytest.fixture(params=KERNELS)
def bf16_kernel(request):
    cblas._use_bf16_tiles(request.param == "tiles")
    try:
        with dispatch.forced(precision="bf16"):
            precision = cblas.gemm_paths()["precision"]
            assert precision.startswith("bf16"), precision
            assert ("AMX" in precision) == (request.param == "tiles"), precision
            yield request.param
    finally:
        cblas._use_bf16_tiles(True)


def to_bf16(x):
    """float32 rounded to bfloat16, to nearest with ties to even, as float64."""
    bits = numpy.ascontiguousarray(x, dtype="float32").view("uint32").astype("uint64")
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype("uint32").view("float32").astype("float64")


def check(M, N, K, trans_a, trans_b, alpha=1.0, beta=0.0, pad=0, seed=0):
    rng = numpy.random.default_rng(seed)
    A = operand(rng, M, K, trans_a, pad)
    B = operand(rng, K, N, trans_b, pad)
    C_full = rng.standard_normal((M, N + pad)).astype("float32")
    C = C_full[:, :N]
    before = C.astype("float64")
    if beta == 0.0:
        C[...] = numpy.nan  # beta == 0 overwrites C, never reads it
    # Products of fewer rows stay float32 (rounding all of op(B) would cost more).
    rounded = M >= cblas.bf16_min_rows()
    a, b = (to_bf16(A), to_bf16(B)) if rounded else (A.astype("float64"), B.astype("float64"))
    want = alpha * ((a.T if trans_a else a) @ (b.T if trans_b else b))
    if beta != 0.0:
        want += beta * before
    padding = C_full[:, N:].copy()
    from thinc.backends import _testing

    _testing.sgemm(trans_a, trans_b, alpha, A, B, beta, C)
    # Only the float32 sums differ from the float64 product of the rounded
    # operands: far tighter than bf16's own error (about 1e-2 here).
    scale = numpy.sqrt(K) * max(1.0, abs(alpha))
    numpy.testing.assert_allclose(
        C, want, rtol=1e-5, atol=2e-6 * scale + 1e-6, err_msg=f"{(M, N, K)}"
    )
    numpy.testing.assert_array_equal(C_full[:, N:], padding)


SHAPES = [
    (1, 1, 1),
    (5, 15, 3),
    (11, 20, 40),  # either side of the vectors' 12 rows
    (12, 20, 40),
    (15, 33, 31),
    (16, 1, 1),
    (16, 16, 32),
    (17, 17, 33),
    (17, 31, 64),
    (32, 32, 65),
    (33, 64, 96),
    (145, 47, 257),
    (64, 300, 288),
    (300, 200, 130),
]


@needs_bf16
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_bf16_products_round_operands_and_sum_in_float32(bf16_kernel, shape, trans_a, trans_b):
    check(*shape, trans_a, trans_b, seed=sum(shape))


@needs_bf16
@pytest.mark.parametrize("alpha,beta,pad", [(1.0, 1.0, 0), (0.5, -2.0, 3), (-1.5, 0.0, 5)])
@pytest.mark.parametrize("shape", [(19, 7, 5), (150, 70, 300), (40, 33, 64)])
def test_bf16_alpha_beta_strides(bf16_kernel, shape, alpha, beta, pad):
    check(*shape, False, True, alpha=alpha, beta=beta, pad=pad, seed=3)
    check(*shape, True, False, alpha=alpha, beta=beta, pad=pad, seed=4)


@needs_bf16
def test_bf16_affine_threads_and_specials(bf16_kernel):
    ops = NumpyOps()
    rng = numpy.random.default_rng(5)
    X = rng.standard_normal((2100, 96)).astype("f")
    W = rng.standard_normal((288, 96)).astype("f")
    bias = rng.standard_normal((288,)).astype("f")
    got = ops.affine(X, W, bias)
    want = to_bf16(X) @ to_bf16(W).T + bias
    numpy.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    # Split over the pool or not, each element sums its k pairs in one order.
    with dispatch.forced(grain=10**12):
        serial = ops.affine(X, W, bias)
    numpy.testing.assert_array_equal(got, serial)
    # inf and NaN pass through the rounding as they are.
    X[0, 0], X[1, 0] = numpy.inf, numpy.nan
    special = ops.gemm(X[:32], W, trans2=True)  # 32 rows: rounded to bf16
    assert numpy.isnan(special[1]).all()
    assert numpy.isinf(special[0]).sum() + numpy.isnan(special[0]).sum() == 288


def test_float32_is_the_default_and_bf16_changes_bits():
    ops = NumpyOps()
    rng = numpy.random.default_rng(6)
    a = rng.standard_normal((64, 96)).astype("f")
    b = rng.standard_normal((96, 128)).astype("f")
    with dispatch.forced(precision=None):
        assert cblas.gemm_paths()["precision"] == "float32"
        default = ops.gemm(a, b)
    numpy.testing.assert_allclose(default, a.astype("f8") @ b.astype("f8"), rtol=1e-4, atol=1e-4)
    if HAS_BF16:
        with dispatch.forced(precision="bf16"):
            rounded = ops.gemm(a, b)
            assert "bfloat16" in NumpyOps.blas_backend or "bfloat16" in cblas.gemm_description()
        assert not numpy.array_equal(rounded, default)
        numpy.testing.assert_allclose(rounded, to_bf16(a) @ to_bf16(b), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="precision must be one of"):
        cblas.configure_gemm(precision="fp8")


PRECISION_PROBE = r"""
import json, warnings
warnings.simplefilter("always")
from thinc.backends import cblas
print(json.dumps(cblas.gemm_paths()["precision"]))
"""


def precision_probe(environment):
    """What gemm_paths() reports as the precision in a fresh process with
    these settings, and what it wrote to stderr (its warnings)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "THINC_GEMM_CACHE": "0", **environment}
    completed = subprocess.run(
        [sys.executable, "-c", PRECISION_PROBE],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        env={**os.environ, **env} if sys.platform == "win32" else env,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout.strip().splitlines()[-1], completed.stderr


@pytest.mark.parametrize(
    "environment,expected",
    [
        ({"THINC_GEMM_PRECISION": "fp8"}, "is not one of float32, bf16, int8"),
        ({"THINC_GEMM_PRECISION": "bf16", "THINC_ISA": "avx2"}, "float32 gemm stays float32"),
    ],
)
def test_bf16_setting_that_cannot_apply_warns_and_stays_float32(environment, expected):
    if "avx2" in environment.get("THINC_ISA", "") and not cblas.own_sgemm_is_available():
        pytest.skip("this CPU has no AVX2")
    precision, warnings = precision_probe(environment)
    assert precision == '"float32"'
    assert expected in warnings


def bf16_bits(x):
    """float32 rounded to bfloat16 as the packing rounds it: its 16 high bits."""
    bits = numpy.ascontiguousarray(x, dtype="float32").view("uint32").astype("uint64")
    return (((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF).astype("uint32")


def expected_panel(X, k_contiguous, k0, depth, w0, width, lanes):
    """The panel's layout: row kp, lane w holds (k0 + 2kp, w0 + w) in its low 16
    bits and (k0 + 2kp + 1, w0 + w) in its high ones; zero past depth and width."""
    by_k = X.T if k_contiguous else X  # (k, w)
    pairs = (depth + 1) // 2
    block = numpy.zeros((2 * pairs, lanes), dtype="float32")
    block[:depth, :width] = by_k[k0 : k0 + depth, w0 : w0 + width]
    bits = bf16_bits(block)
    return bits[0::2] | (bits[1::2] << 16)


@needs_bf16
@pytest.mark.parametrize("k_contiguous", [True, False], ids=["k_contiguous", "w_contiguous"])
@pytest.mark.parametrize("lanes", [6, 16, 32])
def test_bf16_panels_hold_their_layout(k_contiguous, lanes):
    """Every depth 1..70 (odd, across the 32-k steps) and width 1..lanes, at
    offsets of k and w, from a matrix with odd row strides: each pair rounded
    to nearest-even bf16 in its place, zeros past the edges, nothing written
    past the panel."""
    from thinc.backends import _testing

    rng = numpy.random.default_rng(lanes)
    n_k, n_w = 75, lanes + 5
    X = rng.standard_normal((n_w, n_k) if k_contiguous else (n_k, n_w)).astype("float32")
    # Every 11th value a tie (low 16 bits 0x8000), rounding down or up as bit 16 says.
    bits = X.view("uint32").reshape(-1)
    bits[3::11] = (bits[3::11] & numpy.uint32(0xFFFF0000)) | numpy.uint32(0x8000)
    for depth in range(1, 71):
        for width in range(1, lanes + 1):
            for k0, w0 in ((0, 0), (n_k - depth, n_w - width), (depth % 5, width % 5)):
                got = _testing.bf16_pack_pairs(X, k_contiguous, k0, depth, w0, width, lanes)
                want = expected_panel(X, k_contiguous, k0, depth, w0, width, lanes)
                where = f"depth {depth}, width {width}, k0 {k0}, w0 {w0}"
                numpy.testing.assert_array_equal(got[:-1], want, err_msg=where)
                assert (got[-1] == _testing.UNWRITTEN).all(), where
