"""thinc's own float32 gemm kernel (include/thinc_gemm.hh) against float64
numpy, across edge tiles, transposes, strides, alpha/beta and its thread split."""

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinc.backends import _testing, cblas
from thinc.backends.numpy_ops import NumpyOps

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not cblas.own_sgemm_is_available(), reason="this CPU has no AVX2/FMA for thinc's gemm kernel"
)


@pytest.fixture
def own_kernel():
    previous = cblas._use_own_sgemm(True)
    # A kernel that fails the exactness check is refused even when forced, and
    # the tests below would then check another library: fail here instead.
    paths = cblas.gemm_paths()["float32"]
    assert paths["large"] == "thinc's own kernel", paths
    yield
    cblas._use_own_sgemm(previous)


def operand(rng, rows, cols, trans, pad=0):
    """A (cols x rows if trans) float32 matrix; with pad > 0, a view whose
    rows are further apart than its width (lda > columns)."""
    shape = (cols, rows) if trans else (rows, cols)
    full = rng.standard_normal((shape[0], shape[1] + pad)).astype("float32")
    return full[:, : shape[1]] if pad else full


def expected(alpha, A, B, beta, C, trans_a, trans_b):
    a = (A.T if trans_a else A).astype("float64")
    b = (B.T if trans_b else B).astype("float64")
    result = alpha * (a @ b)
    if beta != 0:
        result += beta * C.astype("float64")
    return result


def check(M, N, K, trans_a, trans_b, alpha=1.0, beta=0.0, pad=0, seed=0):
    rng = numpy.random.default_rng(seed)
    A = operand(rng, M, K, trans_a, pad)
    B = operand(rng, K, N, trans_b, pad)
    C_full = rng.standard_normal((M, N + pad)).astype("float32")
    C = C_full[:, :N] if pad else C_full
    if beta == 0.0:
        C[...] = numpy.nan  # beta == 0 must overwrite C, never scale it
    want = expected(alpha, A, B, beta, numpy.nan_to_num(C), trans_a, trans_b)
    padding = C_full[:, N:].copy()
    _testing.sgemm(trans_a, trans_b, alpha, A, B, beta, C)
    tolerance = 2e-5 * (numpy.sqrt(max(K, 1)) + 1) * max(1.0, abs(alpha)) + 1e-5
    numpy.testing.assert_allclose(C, want, rtol=1e-4, atol=tolerance)
    # Columns of C's rows beyond N (ldc > N) are outside the product.
    numpy.testing.assert_array_equal(C_full[:, N:], padding)


def _vector_levels_here():
    from thinc.backends.dispatch import available_isas

    return available_isas()


# Sizes around the 6x16 tile, the row blocks (144 to 288 rows by the L2
# size: block_rows()), the 288-deep k block, and products large enough to be
# split between threads.
EDGE_SHAPES = [
    (1, 1, 1),
    (289, 40, 300),
    (577, 33, 290),
    (6, 16, 1),
    (5, 15, 3),
    (7, 17, 9),
    (12, 32, 288),
    (13, 33, 289),
    (145, 47, 577),
    (300, 200, 130),
    (64, 2000, 64),
    (20, 500, 300),
    (1000, 20, 100),
]


@pytest.mark.parametrize("shape", EDGE_SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_edges_and_transposes(own_kernel, shape, trans_a, trans_b):
    check(*shape, trans_a, trans_b)


# Products of up to 256 rows (128 a thread) and 128 deep read op(B) = B in
# place, but for the last two 16-column panels (include/thinc_gemm.hh,
# reads_b_in_place): widths around the 32- and 16-column tiles, the limits
# (129 rows pack on one thread, read in place on two), ldb that packs instead
# (a multiple of 1024 floats), split over threads or not.
IN_PLACE_B_SHAPES = [
    (33, 16, 5),
    (40, 17, 1),
    (48, 31, 64),
    (63, 33, 128),
    (100, 47, 96),
    (128, 288, 96),
    (129, 288, 96),
    (256, 288, 96),
    (257, 64, 64),
    (64, 2000, 129),
    (37, 1024, 40),
]


@pytest.mark.parametrize("shape", IN_PLACE_B_SHAPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("pad", [0, 3])
def test_b_read_in_place(vector_level, shape, trans_a, pad):
    # At every vector level: the AVX2 6x16 tile reads B in place as the 6x32 one does.
    check(*shape, trans_a, False, alpha=0.5, beta=0.0 if pad else 1.0, pad=pad, seed=shape[0])


# On AVX-512 a 32-column strip runs 12x32 tiles (two 6-row panels of op(A))
# where the second panel has rows, 6x32 where it has none; AVX2 runs 6x16.
# Each element's k terms are added in the same order by all three, so the
# levels give the same bits: every height from one tile to past two, partial
# widths on either half, a bias, beta and alpha, op(B) packed and read in place.
@pytest.mark.skipif(
    "avx512" not in _vector_levels_here(), reason="this CPU has no AVX-512 (the 12x32 tile's level)"
)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_tile_heights_give_the_same_bits_at_every_level(own_kernel, trans_a, trans_b):
    from thinc.backends import dispatch

    rng = numpy.random.default_rng(12)
    for M, N, K in itertools.product(range(1, 27), [17, 31, 32, 48, 65], [3, 17, 100, 300]):
        A, B = operand(rng, M, K, trans_a, pad=1), operand(rng, K, N, trans_b)
        C = rng.standard_normal((M, N)).astype("float32")
        results = []
        for level in ("avx512", "avx2"):
            dispatch.configure(isa=level)
            try:
                out = C.copy()
                assert _testing.packed_sgemm(trans_a, trans_b, 0.75, A, B, -0.5, out)
            finally:
                dispatch.configure(isa=None)
            results.append(out)
        numpy.testing.assert_array_equal(results[0], results[1], err_msg=str((M, N, K)))
        want = expected(0.75, A, B, -0.5, C, trans_a, trans_b)
        tolerance = 2e-5 * (numpy.sqrt(K) + 1) + 1e-5
        numpy.testing.assert_allclose(
            results[0], want, rtol=1e-4, atol=tolerance, err_msg=str((M, N, K))
        )


# Products at most 16 deep (thinc_gemm.hh SHALLOW_K) walk C a row of tiles at
# a time: rows around the 6-row tile and the row blocks, widths around the
# 16/32-column tiles, depths at and just past the limit, a 1024-float ldc.
SHALLOW_SHAPES = list(itertools.product([33, 145, 385], [17, 47, 1024], [1, 7, 16, 17]))


@pytest.mark.parametrize("shape", SHALLOW_SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True)])
def test_shallow_products(vector_level, shape, trans_a, trans_b):
    check(*shape, trans_a, trans_b, alpha=0.5, beta=0.0 if shape[2] % 2 else 1.5, pad=shape[0] % 4)


# op(A) of one row block packs op(B) a strip at a time, just before the
# strip's tiles (thinc_gemm.hh, packs_per_strip): rows around the tile and the
# block's limits (144 to 288), widths around the 16/32-column strips and the few-rows limit
# for op(B) = B^T (64 columns), depths past SHALLOW_K, one and two k-blocks
# (and op(B) = B^T packed by 8 x 8 transposes, with a remainder of k).
STRIP_SHAPES = list(itertools.product([13, 33, 145, 288], [17, 40, 64, 1029], [17, 100, 289]))


@pytest.mark.parametrize("shape", STRIP_SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_one_block_products_pack_by_strip(vector_level, shape, trans_a, trans_b):
    M, N, K = shape
    check(
        M, N, K, trans_a, trans_b, alpha=0.5, beta=0.0 if N % 2 else 1.5, pad=K % 3, seed=M + N + K
    )


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, -2.0), (-1.5, 0.0), (2.0, 0.25)])
@pytest.mark.parametrize("shape", [(7, 19, 5), (150, 70, 300), (64, 300, 200)])
def test_alpha_beta(own_kernel, alpha, beta, shape):
    check(*shape, False, True, alpha=alpha, beta=beta, seed=3)


@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("shape", [(9, 21, 13), (200, 150, 100), (151, 70, 600)])
def test_row_strides(own_kernel, shape, trans_a, trans_b):
    # lda, ldb and ldc larger than the rows they describe (views), as spaCy
    # passes through the cblas table.
    check(*shape, trans_a, trans_b, alpha=1.0, beta=1.0, pad=5, seed=4)
    check(*shape, trans_a, trans_b, alpha=1.0, beta=0.0, pad=3, seed=5)


# Deep products with a small C are cut along K into four parts whose sums are
# added at the end (include/thinc_gemm.hh, use_split_k); (289, 33, 1200) has
# one row too many for it and takes the row split, for contrast.
SPLIT_K_SHAPES = [(288, 288, 4000), (7, 17, 1153), (1, 1, 5000), (96, 40, 2000), (289, 33, 1200)]


@pytest.mark.parametrize("shape", SPLIT_K_SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("alpha,beta,pad", [(1.0, 0.0, 0), (0.5, -2.0, 3)])
def test_split_k_products(own_kernel, shape, trans_a, trans_b, alpha, beta, pad):
    check(*shape, trans_a, trans_b, alpha=alpha, beta=beta, pad=pad, seed=sum(shape))


def test_alpha_zero_and_empty_k(own_kernel):
    rng = numpy.random.default_rng(6)
    A = rng.standard_normal((4, 3)).astype("float32")
    B = numpy.full((3, 5), numpy.inf, dtype="float32")
    C = rng.standard_normal((4, 5)).astype("float32")
    want = 0.5 * C
    _testing.sgemm(False, False, 0.0, A, B, 0.5, C)
    numpy.testing.assert_array_equal(C, want)
    C[...] = numpy.nan
    empty_a, empty_b = numpy.zeros((4, 0), "float32"), numpy.zeros((0, 5), "float32")
    _testing.sgemm(False, False, 1.0, empty_a, empty_b, 0.0, C)
    numpy.testing.assert_array_equal(C, numpy.zeros((4, 5), "float32"))
    ops = NumpyOps()
    assert ops.gemm(numpy.zeros((0, 3), "f"), numpy.ones((3, 4), "f")).shape == (0, 4)
    numpy.testing.assert_array_equal(ops.gemm(empty_a, empty_b), numpy.zeros((4, 5), "f"))


def test_threads_split_bit_identical_to_one_thread(own_kernel):
    # Each element sums its k terms in the same order however the rows or
    # columns are shared out, so the split changes nothing.
    ops = NumpyOps()
    rng = numpy.random.default_rng(7)
    cases = [
        ((1024, 700), (700, 300), False, False),
        ((40, 900), (3000, 900), False, True),
        ((4000, 96), (4000, 288), True, False),
        ((7, 1153), (17, 1153), False, True),
        # op(B) small enough that each thread packs its own copy of it
        ((256, 96), (96, 288), False, False),
        ((96, 300), (288, 96), True, True),
        # op(A) short and wide: columns split, each chunk packing its panels
        ((64, 64), (64, 2000), False, False),
        ((100, 64), (2000, 100), True, True),
        # few rows: the unpacked kernels, columns split (the parser's dX)
        ((16, 384), (384, 1024), False, False),
        ((384, 9), (2048, 384), True, True),
        ((32, 200), (200, 3000), False, False),
        # one block of rows, columns split, op(B) packed a strip at a time
        ((100, 384), (384, 1024), False, False),
        ((300, 48), (1000, 300), True, True),
        # column units (pairs of panels) that do not divide among the
        # threads: the unit at the end of each thread's run is cut by rows
        ((100, 288), (288, 288), False, True),
        ((288, 60), (288, 160), True, False),
        ((144, 1000), (1000, 288), False, False),
        ((99, 700), (81, 700), False, True),
        # narrow products (op(A) at least as tall as op(B) is wide) of one
        # block of rows: a block per thread
        ((100, 288), (96, 288), False, True),
        ((140, 300), (300, 128), False, False),
        ((61, 600), (48, 600), False, True),
    ]
    for shape_a, shape_b, trans_a, trans_b in cases:
        a = rng.standard_normal(shape_a).astype("float32")
        b = rng.standard_normal(shape_b).astype("float32")
        split = ops.gemm(a, b, trans1=trans_a, trans2=trans_b)
        cblas._use_own_sgemm(True, single_threaded=True)
        try:
            serial = ops.gemm(a, b, trans1=trans_a, trans2=trans_b)
        finally:
            cblas._use_own_sgemm(True, single_threaded=False)
        numpy.testing.assert_array_equal(split, serial)


def test_own_kernel_agrees_with_the_library(own_kernel):
    ops = NumpyOps()
    rng = numpy.random.default_rng(8)
    a = rng.standard_normal((333, 222)).astype("float32")
    b = rng.standard_normal((111, 222)).astype("float32")
    ours = ops.gemm(a, b, trans2=True)
    cblas.configure_gemm(blas="blis")
    try:
        library = ops.gemm(a, b, trans2=True)
    finally:
        cblas._use_own_sgemm(True)
    numpy.testing.assert_allclose(ours, library, rtol=1e-4, atol=1e-3)


def test_concurrent_callers(own_kernel):
    # Two Python threads share one worker pool: the second runs serially
    # while the first holds it; both must get their own correct product.
    ops = NumpyOps()
    rng = numpy.random.default_rng(9)
    pairs = [
        (rng.standard_normal((500, 300)).astype("f"), rng.standard_normal((300, 400)).astype("f"))
        for _ in range(2)
    ]
    wanted = [a.astype("d") @ b.astype("d") for a, b in pairs]
    errors = []

    def work(index):
        a, b = pairs[index]
        for _ in range(20):
            got = ops.gemm(a, b)
            if not numpy.allclose(got, wanted[index], rtol=1e-4, atol=1e-3):
                errors.append(index)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@settings(max_examples=150, deadline=None)
@given(
    M=st.integers(0, 70),
    N=st.integers(0, 70),
    K=st.integers(0, 70),
    trans_a=st.booleans(),
    trans_b=st.booleans(),
    alpha=st.sampled_from([1.0, -0.5, 3.0]),
    beta=st.sampled_from([0.0, 1.0, -2.0]),
    pad=st.integers(0, 3),
    seed=st.integers(0, 1000),
)
def test_random_shapes(M, N, K, trans_a, trans_b, alpha, beta, pad, seed):
    previous = cblas._use_own_sgemm(True)
    try:
        if M == 0 or N == 0:
            rng = numpy.random.default_rng(seed)
            A = operand(rng, M, K, trans_a)
            B = operand(rng, K, N, trans_b)
            C = numpy.zeros((M, N), "float32")
            _testing.sgemm(trans_a, trans_b, alpha, A, B, beta, C)
            assert C.shape == (M, N)
        else:
            check(M, N, K, trans_a, trans_b, alpha=alpha, beta=beta, pad=pad, seed=seed)
    finally:
        cblas._use_own_sgemm(previous)


def test_bad_operands_are_refused_before_the_kernel():
    good = numpy.ones((3, 4), "float32")
    with pytest.raises(ValueError, match="shapes do not agree"):
        _testing.sgemm(False, False, 1.0, good, good, 0.0, numpy.ones((3, 4), "f"))
    with pytest.raises(ValueError, match="float32"):
        _testing.sgemm(False, False, 1.0, good.astype("d"), good.T, 0.0, numpy.ones((3, 3), "f"))
    with pytest.raises(ValueError, match="contiguous rows"):
        _testing.sgemm(
            False, False, 1.0, numpy.ones((3, 8), "f")[:, ::2], good, 0.0, numpy.ones((3, 4), "f")
        )


CHOICE = r"""
import numpy
from thinc.backends import _testing, cblas
from thinc.backends.numpy_ops import NumpyOps
rng = numpy.random.default_rng(0)
a = rng.standard_normal((300, 200)).astype("f")
b = rng.standard_normal((150, 200)).astype("f")
numpy.testing.assert_allclose(NumpyOps().gemm(a, b, trans2=True), a @ b.T, rtol=1e-4, atol=1e-3)
print(cblas.gemm_paths()["float32"]["large"])
"""


def run_choice(thinc_blas: str) -> subprocess.CompletedProcess:
    """CHOICE in a fresh process with THINC_BLAS set (and nothing else inherited)."""
    env = {"THINC_BLAS": thinc_blas, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", CHOICE],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize(
    "choice,prefix", [("thinc", "thinc's own kernel"), ("numpy", "numpy's BLAS"), ("blis", "blis")]
)
def test_thinc_blas_forces_the_choice(choice, prefix):
    completed = run_choice(choice)
    assert completed.returncode == 0, completed.stderr[-2000:]
    name = completed.stdout.strip()
    if choice == "numpy" and name == "plain loops":
        pytest.skip("numpy here has no BLAS thinc can call")
    assert name.startswith(prefix), name


def test_unknown_thinc_blas_value_warns():
    completed = run_choice("fastest")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "THINC_BLAS='fastest' is not one of" in completed.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_gemm_in_a_forked_child(own_kernel):
    ops = NumpyOps()
    rng = numpy.random.default_rng(10)
    a = rng.standard_normal((600, 400)).astype("f")
    b = rng.standard_normal((400, 500)).astype("f")
    want = ops.gemm(a, b)  # the parent's pool has started its workers
    pid = os.fork()
    if pid == 0:
        ok = numpy.allclose(ops.gemm(a, b), want, rtol=1e-5, atol=1e-4)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_worker_pool_back_to_back_jobs():
    # gemm packs op(B) and multiplies in two parallel jobs with no pause
    # between them; a worker leaving the first must not run chunks of the
    # second before it is published (this failed ~1 pair in 1,000 before the
    # pool closed finished jobs).
    if os.cpu_count() == 1:
        pytest.skip("one CPU: the pool has no workers")
    assert _testing.pool_back_to_back_failures(100_000) == 0


def _thread_cpu_seconds():
    """CPU time of each thread of this process, from /proc (nanosecond counters)."""
    times = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as file:
                times[int(tid)] = int(file.read().split()[0]) / 1e9
        except OSError:
            pass  # a thread that ended between listing and reading
    return times


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux's /proc")
def test_idle_pool_workers_go_to_sleep(own_kernel):
    # Workers stay awake a short while after a job (spinning, then yielding)
    # so back-to-back kernels do not wait for a halted CPU to wake; a pool left
    # idle must then sleep and cost nothing.
    if os.cpu_count() == 1:
        pytest.skip("one CPU: the pool has no workers")
    import time

    rng = numpy.random.default_rng(12)
    a = rng.standard_normal((600, 400)).astype("f")
    NumpyOps().gemm(a, a.T)  # a parallel job: the workers are started and awake
    time.sleep(0.1)
    before = _thread_cpu_seconds()
    time.sleep(0.3)
    after = _thread_cpu_seconds()
    busiest = max(
        after[tid] - before.get(tid, 0.0) for tid in after if tid != threading.get_native_id()
    )
    assert busiest < 0.05, f"a thread of an idle process used {busiest:.3f} s of CPU in 0.3 s"


def test_very_deep_products_fall_back_to_the_library(own_kernel):
    # K too deep to pack in 16-column panels: the library computes it.
    rng = numpy.random.default_rng(11)
    a = rng.standard_normal((2, 300_000)).astype("f")
    b = rng.standard_normal((3, 300_000)).astype("f")
    got = NumpyOps().gemm(a, b, trans2=True)
    numpy.testing.assert_allclose(got, a.astype("d") @ b.T.astype("d"), rtol=1e-3, atol=5e-2)


# affine adds the bias inside the product: in the kernel's tile epilogue, or
# (any other BLAS) by filling the output with it and accumulating onto it.
AFFINE_SHAPES = [
    (1, 1, 1),
    (7, 17, 9),
    (13, 33, 289),
    (145, 47, 577),
    (4000, 288, 288),
    (385, 70, 5),
    (9, 5, 0),
    (7, 17, 1153),
    (40, 100, 289),
    (144, 1029, 100),
]


# "": nothing forced, so few-row products take thinc's unpacked kernels.
@pytest.mark.parametrize("blas", ["", "thinc", "blis", "numpy"])
@pytest.mark.parametrize("M,N,K", AFFINE_SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_affine_adds_the_bias_once(blas, M, N, K, dtype):
    cblas.configure_gemm(blas=blas)
    try:
        rng = numpy.random.default_rng(M + N + K)
        X = rng.standard_normal((M, K)).astype(dtype)
        W = rng.standard_normal((N, K)).astype(dtype)
        b = rng.standard_normal((N,)).astype(dtype)
        Y = NumpyOps().affine(X, W, b)
        want = X.astype("float64") @ W.T.astype("float64") + b
        assert Y.dtype == numpy.dtype(dtype) and Y.shape == (M, N)
        tolerance = 2e-5 * (numpy.sqrt(max(K, 1)) + 1) if dtype == "float32" else 1e-10
        numpy.testing.assert_allclose(Y, want, rtol=1e-4, atol=tolerance)
    finally:
        cblas.configure_gemm(blas=None)


def test_affine_with_views_and_a_broadcast_bias(own_kernel):
    rng = numpy.random.default_rng(5)
    X = rng.standard_normal((40, 30)).astype("float32")[:, ::2]
    W = rng.standard_normal((20, 15)).astype("float32")
    ops = NumpyOps()
    b = rng.standard_normal((20,)).astype("float32")
    numpy.testing.assert_allclose(
        ops.affine(X, W, b[::-1]), X @ W.T + b[::-1], rtol=1e-5, atol=1e-5
    )
    # A bias that is not one row (here a column broadcast) still goes through numpy's broadcasting.
    column = rng.standard_normal((40, 1)).astype("float32")
    numpy.testing.assert_allclose(ops.affine(X, W, column), X @ W.T + column, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="shape mismatch"):
        ops.affine(X, W[:, :14], b)


# The unpacked kernels for few-row products (include/thinc_gemm_few_rows.hh):
# rows around their 4-row groups and the 32-row limit (33 takes the packed
# kernel), columns and depths around the 8- and 16-float vectors and the
# 4-row tiles of B, every transpose, at every level the CPU runs.
FEW_ROWS_M = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33]
FEW_ROWS_N = [1, 3, 4, 5, 8, 9, 16, 17, 63, 64, 65]
FEW_ROWS_K = [1, 7, 8, 16, 17, 33]


def _vector_levels():
    from thinc.backends.dispatch import available_isas

    return [level for level in available_isas() if level != "scalar"]


@pytest.fixture(params=_vector_levels())
def vector_level(request, own_kernel):
    from thinc.backends import dispatch

    dispatch.configure(isa=request.param)
    yield request.param
    dispatch.configure(isa=None)


@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_few_row_products_grid(vector_level, trans_a, trans_b):
    for M, N, K in itertools.product(FEW_ROWS_M, FEW_ROWS_N, FEW_ROWS_K):
        check(M, N, K, trans_a, trans_b, seed=M * 10_000 + N * 100 + K)


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (-0.7, 0.5), (2.0, 0.0)])
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_few_row_products_alpha_beta_and_strides(vector_level, alpha, beta, trans_a, trans_b):
    for M, N, K in [(1, 17, 33), (5, 65, 17), (13, 288, 288), (32, 9, 7)]:
        check(M, N, K, trans_a, trans_b, alpha=alpha, beta=beta, pad=3)


# Few rows with more than 4M multiply-adds: op(B) = B while B fits three
# quarters of L2, op(B) = B^T up to 12 rows this deep (thinc_gemm_few_rows::
# takes; the others take the packed kernel); B's rows 1024 floats apart (the
# parser's dX), fetched ahead by the kernel.
# (20, 2050, 1030) with op(B) = B passes L2 everywhere: few-rows only on AMD at AVX-512.
LARGE_FEW_ROWS = [(16, 1024, 384), (32, 1000, 300), (9, 2048, 300), (31, 4099, 40), (12, 1000, 300)]
LARGE_FEW_ROWS.append((20, 2050, 1030))


@pytest.mark.parametrize("M,N,K", LARGE_FEW_ROWS)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_few_row_products_past_the_multiply_add_limit(vector_level, M, N, K, trans_a, trans_b):
    # (9, 2048, 300) with op(B) = B passes the limit on a 2 MB L2: packed there.
    check(M, N, K, trans_a, trans_b, alpha=0.5, beta=1.0 if K % 2 else 0.0, pad=M % 3)


def test_few_rows_limits(vector_level):
    takes = cblas._few_rows_takes
    if vector_level == "avx512":
        # op(B) = B^T: any rows below 32 columns, or below 64 at depth 64+;
        # else 3 rows, 4 at depth 32+, 8 at 64+ (and below 64 columns), 12 at 256+.
        assert takes(32, 31, 16, True) and takes(32, 63, 64, True)
        assert takes(8, 63, 16, True) and not takes(9, 63, 63, True)
        assert takes(3, 1000, 16, True) and not takes(4, 1000, 31, True)
        assert takes(4, 1000, 32, True) and not takes(5, 1000, 63, True)
        assert takes(8, 1000, 64, True) and not takes(9, 1000, 255, True)
        assert takes(12, 100_000, 256, True) and not takes(13, 1000, 1000, True)
        assert takes(32, 64, 2048, False)  # op(B) = B: 4M multiply-adds
        assert not takes(33, 10, 10, False)
    else:
        # op(B) = B^T: 16 rows below 16 columns, 4 below 64, else 2, 3 at depth 96+.
        assert takes(16, 15, 1000, True) and not takes(17, 15, 1000, True)
        assert takes(4, 63, 16, True) and not takes(5, 16, 1000, True)
        assert takes(2, 64, 16, True) and not takes(3, 1000, 95, True)
        assert takes(3, 1000, 96, True) and not takes(4, 1000, 1000, True)
        # op(B) = B: 16 rows from 64 columns on, 32 below.
        assert takes(16, 64, 2048, False) and not takes(17, 64, 64, False)
        assert takes(32, 63, 64, False)
    # 2^24 floats of B: beyond any L2's three quarters, so packed, except at
    # AVX-512 on AMD, whose L3 feeds B again more cheaply than packing it.
    past_l2 = takes(1, 4096, 4096, False)
    assert past_l2 == (vector_level == "avx512" and cblas._few_rows_l3_refeeds())
    assert not takes(33, 4096, 4096, False)
    assert not takes(0, 10, 10, False) and not takes(33, 10, 10, True)


@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_few_rows_kernels_on_every_shape(vector_level, trans_a, trans_b):
    # The kernels themselves, on shapes the routing may send elsewhere at this
    # level: each stays right wherever the limits move.
    rng = numpy.random.default_rng(7)
    for M, N, K in itertools.product(
        FEW_ROWS_M[:-1], [1, 5, 16, 17, 33, 64, 65, 100], [1, 9, 64, 97]
    ):
        A, B = operand(rng, M, K, trans_a, pad=1), operand(rng, K, N, trans_b)
        C = rng.standard_normal((M, N)).astype("float32")
        want = expected(0.5, A, B, -1.0, C, trans_a, trans_b)
        assert _testing.few_rows_sgemm(trans_a, trans_b, 0.5, A, B, -1.0, C)
        tolerance = 2e-5 * (numpy.sqrt(K) + 1) + 1e-5
        numpy.testing.assert_allclose(C, want, rtol=1e-4, atol=tolerance, err_msg=str((M, N, K)))
    B = numpy.ones((5, 3), "f")
    for M in (0, 33):
        with pytest.raises(ValueError, match="1 to 32 rows"):
            _testing.few_rows_sgemm(
                False, False, 1.0, numpy.ones((M, 5), "f"), B, 0.0, numpy.zeros((M, 3), "f")
            )


def test_few_row_products_are_routed_to_thinc_unless_a_blas_is_forced():
    cblas.configure_gemm(blas="")
    try:
        report = cblas.gemm_paths()
        assert "32 rows" in report.get("few_rows", ""), report
        cblas.configure_gemm(blas="blis")
        assert cblas.gemm_paths()["few_rows"].startswith("none: THINC_BLAS forces")
    finally:
        cblas.configure_gemm(blas=None)
