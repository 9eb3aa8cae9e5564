"""The private whole-layer ops behind LayerNorm and Maxout: NumpyOps' compiled
versions against the reference Ops, finite-difference gradients, and bad shapes."""

import itertools

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinc.api import LayerNorm, Maxout, NumpyOps, Ops, chain, expand_window
from thinc.backends.ops import Ops as ReferenceOps

from ..util import check_gradients

compiled = NumpyOps()
reference = ReferenceOps()
DTYPES = ["float32", "float64"]
# Looser for float32: the kernels sum in a different order than numpy.
TOLERANCE = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-10, atol=1e-12)}


def random_arrays(seed: int, dtype: str, *shapes):
    rng = numpy.random.default_rng(seed)
    return [rng.normal(size=shape).astype(dtype) for shape in shapes]


def assert_close(got, expected, dtype: str) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape
    numpy.testing.assert_allclose(got, expected, **TOLERANCE[dtype])


# -- LayerNorm -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(0, 40),
    width=st.integers(1, 37),
    dtype=st.sampled_from(DTYPES),
    offset=st.sampled_from([0.0, 100.0]),
    seed=st.integers(0, 2**16),
)
def test_layer_norm_compiled_matches_reference(rows, width, dtype, offset, seed):
    X, G, b, dY = random_arrays(seed, dtype, (rows, width), (width,), (width,), (rows, width))
    # A large shared offset checks that the variance is not taken as E[x^2] - E[x]^2.
    X = X + numpy.asarray(offset, dtype=dtype)
    Y, (mean, inverse_std) = compiled._layer_norm_forward(X, G, b)
    Y_ref, (mean_ref, inverse_std_ref) = reference._layer_norm_forward(X, G, b)
    assert_close(mean, mean_ref, dtype)
    assert_close(inverse_std, inverse_std_ref, dtype)
    assert_close(Y, Y_ref, dtype)
    # The backward kernel against the reference given the same statistics.
    got = compiled._layer_norm_backward(dY, X, G, mean, inverse_std)
    expected = reference._layer_norm_backward(dY, X, G, mean, inverse_std)
    for got_array, expected_array in zip(got, expected):
        assert_close(got_array, expected_array, dtype)
    # End to end, each with its own statistics: a near-constant row's huge
    # inverse_std amplifies the last bits in which float32 statistics differ,
    # so both are held to the float64 computation on the same inputs instead
    # (statistics included: truth built on either side's rounded statistics
    # would favour that side). Where both are far off, the rounding of the
    # float32 statistics decides each element's error, so the compiled path's
    # largest error may be at most twice the reference's (a worse formula, such as
    # the variance as E[x^2] - E[x]^2, is off by orders of magnitude here).
    X64, G64, b64, dY64 = (a.astype("float64") for a in (X, G, b, dY))
    truth = reference._layer_norm_backward(
        dY64, X64, G64, *reference._layer_norm_forward(X64, G64, b64)[1]
    )
    expected = reference._layer_norm_backward(dY, X, G, mean_ref, inverse_std_ref)
    for got_array, expected_array, true_array in zip(got, expected, truth):
        if not true_array.size:
            continue
        ours = numpy.abs(got_array - true_array).max()
        theirs = numpy.abs(expected_array - true_array).max()
        within = TOLERANCE[dtype]["atol"] + TOLERANCE[dtype]["rtol"] * numpy.abs(true_array).max()
        assert ours <= max(2.0 * theirs, within), (ours, theirs)


def test_layer_norm_rows_are_normalized_and_width_one_gives_the_bias():
    X, G, b = random_arrays(3, "float64", (7, 5), (5,), (5,))
    Y, _ = compiled._layer_norm_forward(X, numpy.ones(5), numpy.zeros(5))
    numpy.testing.assert_allclose(Y.mean(axis=1), 0, atol=1e-12)
    numpy.testing.assert_allclose(Y.var(axis=1), 1, rtol=1e-6)
    # One entry a row equals its own mean, so only b is left.
    Y_one, (mean, _) = compiled._layer_norm_forward(X[:, :1], G[:1], b[:1])
    numpy.testing.assert_array_equal(Y_one, numpy.broadcast_to(b[:1], (7, 1)))
    numpy.testing.assert_array_equal(mean, X[:, 0])


def test_layer_norm_takes_strided_input_and_other_ops_fall_back():
    X, G, b = random_arrays(4, "float32", (6, 8), (4,), (4,))
    strided = X[:, ::2]
    Y, _ = compiled._layer_norm_forward(strided, G, b)
    assert_close(
        Y, reference._layer_norm_forward(numpy.ascontiguousarray(strided), G, b)[0], "float32"
    )
    # Mixed dtypes take the reference path, with numpy's promotion.
    Y_mixed, _ = compiled._layer_norm_forward(X[:, :4], G.astype("float64"), b)
    assert Y_mixed.dtype == numpy.float64


@pytest.mark.parametrize(
    "shapes,message",
    [
        (((3, 4), (5,), (4,)), r"G of shape \(4,\).*got \(5,\)"),
        (((3, 4), (4,), (4, 1)), r"b of shape \(4,\).*got \(4, 1\)"),
        (((12,), (4,), (4,)), r"2d input, got shape \(12,\)"),
    ],
)
@pytest.mark.parametrize("ops", [compiled, reference], ids=["compiled", "reference"])
def test_layer_norm_bad_shapes_raise(ops, shapes, message):
    X, G, b = random_arrays(0, "float32", *shapes)
    with pytest.raises(ValueError, match=message):
        ops._layer_norm_forward(X, G, b)


@pytest.mark.parametrize("ops", [compiled, reference], ids=["compiled", "reference"])
def test_layer_norm_backward_bad_shapes_raise(ops):
    X, G, b, dY = random_arrays(0, "float32", (3, 4), (4,), (4,), (3, 4))
    _, (mean, inverse_std) = ops._layer_norm_forward(X, G, b)
    with pytest.raises(ValueError, match=r"gradient shape \(3, 5\)"):
        ops._layer_norm_backward(numpy.zeros((3, 5), "f"), X, G, mean, inverse_std)
    with pytest.raises(ValueError, match=r"mean of shape \(3,\), got \(2,\)"):
        ops._layer_norm_backward(dY, X, G, mean[:2], inverse_std)


def test_layer_norm_backward_same_bits_at_every_level():
    # The float32 backward has its own AVX2 vectors (eight partial sums, the
    # same order and operations as the scalar code, no fused multiply-adds):
    # every level the CPU can run gives the scalar level's bits, for widths
    # around the vector's 8. (The forward and float64 are left to the
    # compiler, which may fuse multiply-adds where the level has them.)
    from thinc.backends import dispatch

    rng = numpy.random.default_rng(12)
    for rows, width in itertools.product((1, 3, 17), (1, 7, 8, 9, 16, 17, 96, 101)):
        X = (rng.normal(size=(rows, width)) + 3).astype("float32")
        G, b = rng.normal(size=(width,)).astype("f"), rng.normal(size=(width,)).astype("f")
        dY = rng.normal(size=(rows, width)).astype("float32")
        _, (mean, inverse_std) = compiled._layer_norm_forward(X, G, b)
        results = []
        for level in dispatch.available_isas():
            with dispatch.forced(isa=level):
                results.append(compiled._layer_norm_backward(dY, X, G, mean, inverse_std))
        for result in results[1:]:
            for got, want in zip(result, results[0]):
                numpy.testing.assert_array_equal(got, want, err_msg=f"rows={rows} width={width}")
        expected = reference._layer_norm_backward(dY, X, G, mean, inverse_std)
        for got, want in zip(results[0], expected):
            assert_close(got, want, "float32")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ops", [NumpyOps(), Ops()], ids=["compiled", "reference"])
def test_layer_norm_layer_gradients(ops, dtype):
    model = LayerNorm(5)
    model.ops = ops
    model.initialize()
    rng = numpy.random.default_rng(5)
    model.set_param("G", rng.normal(size=(5,)).astype(dtype))
    model.set_param("b", rng.normal(size=(5,)).astype(dtype))
    X = rng.normal(size=(6, 5)).astype(dtype)
    check_gradients(model, X, eps=1e-3 if dtype == "float32" else 1e-6)


# -- Maxout ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(0, 60),
    nO=st.integers(1, 9),
    nP=st.integers(1, 5),
    nI=st.integers(1, 13),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_maxout_compiled_matches_reference(rows, nO, nP, nI, dtype, seed):
    X, W, b = random_arrays(seed, dtype, (rows, nI), (nO, nP, nI), (nO, nP))
    best, which = compiled._maxout_forward(X, W, b)
    best_ref, which_ref = reference._maxout_forward(X, W, b)
    assert_close(best, best_ref, dtype)
    numpy.testing.assert_array_equal(which, which_ref)
    assert which.dtype == numpy.int32
    best_only, none = compiled._maxout_forward(X, W, b, keep_which=False)
    assert none is None
    numpy.testing.assert_array_equal(best_only, best)
    (d_best,) = random_arrays(seed + 1, dtype, (rows, nO))
    got = compiled._maxout_backward(d_best, which, X, W)
    expected = reference._maxout_backward(d_best, which_ref, X, W)
    for got_array, expected_array in zip(got, expected):
        assert_close(got_array, expected_array, dtype)


def test_maxout_spans_several_row_blocks(monkeypatch):
    # Blocks of a few rows, so the gemm runs at several offsets with a short last block.
    from thinc.backends import numpy_ops

    monkeypatch.setattr(numpy_ops, "MAXOUT_BLOCK_BYTES", 3 * 4 * 4 * 2)
    X, W, b = random_arrays(9, "float32", (23, 7), (4, 2, 7), (4, 2))
    best, which = compiled._maxout_forward(X, W, b)
    best_ref, which_ref = reference._maxout_forward(X, W, b)
    assert_close(best, best_ref, "float32")
    numpy.testing.assert_array_equal(which, which_ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nP", [1, 2, 3, 4, 5])
def test_maxout_forward_grid_exact(dtype, nP):
    # Sixteen units at a time on AVX-512 for 2 to 4 pieces, the rest one by
    # one: every unit count around 16 and 32, ties (pieces on a half-step grid,
    # exact through a one-wide gemm) and a NaN in a piece. Winners and values
    # must be the reference's exactly.
    rng = numpy.random.default_rng(11 + nP)
    for nO, rows, nan_at in itertools.product(
        (1, 15, 16, 17, 31, 32, 33, 48, 97), (1, 2, 5), (None, "first", "last", "middle")
    ):
        X = numpy.ones((rows, 1), dtype=dtype)
        W = (rng.integers(-4, 5, size=(nO, nP, 1)) / 2).astype(dtype)
        b = (rng.integers(-4, 5, size=(nO, nP)) / 2).astype(dtype)
        if nan_at is not None:
            unit = {"first": 0, "last": nO - 1, "middle": nO // 2}[nan_at]
            b[unit, rng.integers(0, nP)] = numpy.nan
        label = f"nO={nO} nP={nP} rows={rows} nan={nan_at}"
        best, which = compiled._maxout_forward(X, W, b)
        best_ref, which_ref = reference._maxout_forward(X, W, b)
        numpy.testing.assert_array_equal(which, which_ref, err_msg=label)
        numpy.testing.assert_array_equal(best, best_ref, err_msg=label)
        best_only, _ = compiled._maxout_forward(X, W, b, keep_which=False)
        numpy.testing.assert_array_equal(best_only, best_ref, err_msg=label)


@pytest.mark.parametrize("dtype", DTYPES)
def test_maxout_forward_nan_piece_wins(dtype):
    # Through the bias, a NaN lands in one piece of one unit after the gemm:
    # it is that unit's maximum and winner, as the reference's argmax has it.
    X, W = random_arrays(10, dtype, (5, 3), (17, 3, 3))
    for unit, piece in ((0, 0), (0, 2), (16, 1), (9, 2)):
        (b,) = random_arrays(unit + piece, dtype, (17, 3))
        b[unit, piece] = numpy.nan
        best, which = compiled._maxout_forward(X, W, b)
        best_ref, which_ref = reference._maxout_forward(X, W, b)
        numpy.testing.assert_array_equal(which, which_ref)
        assert (which[:, unit] == piece).all() and numpy.isnan(best[:, unit]).all()
        assert not numpy.isnan(numpy.delete(best, unit, axis=1)).any()
        assert_close(best, best_ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nP", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("nO", [1, 7, 8, 9, 96, 600])
def test_maxout_piece_gradients_bits(dtype, nO, nP):
    # Exact against a row-by-row sum: the compiled kernel writes the pieces a
    # chunk of rows at a time (600 x 5 pieces: two rows a chunk) and adds
    # each chunk into db in row order.
    from thinc.backends import dispatch

    rng = numpy.random.default_rng(nO * 10 + nP)
    for level, rows in itertools.product(dispatch.available_isas(), (0, 1, 2, 3, 7, 40)):
        d_best = rng.normal(size=(rows, nO)).astype(dtype)
        d_best[rows // 2 :, 0] = numpy.inf  # a losing piece must get 0, not inf * 0
        which = rng.integers(0, nP, size=(rows, nO)).astype("int32")
        with dispatch.forced(isa=level):
            d_pieces, db = compiled._maxout_piece_gradients(d_best, which, nP)
        want = numpy.zeros((rows, nO, nP), dtype=dtype)
        numpy.put_along_axis(want, which[..., None].astype("int64"), d_best[..., None], axis=2)
        want = want.reshape(rows, nO * nP)
        want_db = numpy.zeros(nO * nP, dtype=dtype)
        for row in want:
            want_db += row
        numpy.testing.assert_array_equal(d_pieces, want, err_msg=level)
        numpy.testing.assert_array_equal(db, want_db.reshape(nO, nP), err_msg=level)
        if rows:
            which[-1, -1] = nP
            with (
                dispatch.forced(isa=level),
                pytest.raises(IndexError, match=f"which.flat\\[{rows * nO - 1}\\]"),
            ):
                compiled._maxout_piece_gradients(d_best, which, nP)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [0, 1, 3, 40])
@pytest.mark.parametrize("nO,nP", [(0, 0), (0, 1), (0, 3), (2, 0), (5, 0)])
def test_maxout_piece_gradients_with_no_pieces(dtype, rows, nO, nP):
    # No units (nO = 0) once divided by zero in the compiled kernel (SIGFPE,
    # found by the fuzzer): empty gradients, as the reference gives. No pieces
    # (nP = 0) leaves every winner out of range: an error where there are any.
    d_best = numpy.ones((rows, nO), dtype=dtype)
    which = numpy.zeros((rows, nO), dtype="int32")
    # Every instruction-set level this CPU runs has its own copy of the kernel.
    from thinc.backends import dispatch

    for level in dispatch.available_isas():
        with dispatch.forced(isa=level):
            if rows and nO and not nP:
                with pytest.raises(
                    IndexError, match=r"which.flat\[0\] = 0 is out of bounds for 0 pieces"
                ):
                    compiled._maxout_piece_gradients(d_best, which, nP)
                continue
            d_pieces, db = compiled._maxout_piece_gradients(d_best, which, nP)
        want_pieces, want_db = reference._maxout_piece_gradients(d_best, which, nP)
        assert d_pieces.shape == want_pieces.shape == (rows, nO * nP), level
        assert db.shape == want_db.shape == (nO, nP), level
        assert d_pieces.dtype == db.dtype == numpy.dtype(dtype), level
        numpy.testing.assert_array_equal(db, want_db, err_msg=level)


def test_maxout_width_zero_input_gives_the_best_bias():
    W = numpy.zeros((3, 2, 0), "f")
    b = numpy.asarray([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]], "f")
    best, which = compiled._maxout_forward(numpy.zeros((4, 0), "f"), W, b)
    numpy.testing.assert_array_equal(best, numpy.tile([1.0, 2.0, 0.5], (4, 1)))
    numpy.testing.assert_array_equal(which, numpy.tile([1, 0, 0], (4, 1)))


@pytest.mark.parametrize(
    "shapes,message",
    [
        (((3, 4), (2, 3, 5), (2, 3)), r"2d input of width 5, got shape \(3, 4\)"),
        (((3, 4), (2, 3, 4), (3, 2)), r"b of shape \(2, 3\), got \(3, 2\)"),
        (((3, 4), (6, 4), (2, 3)), r"W of shape \(nO, nP, nI\), got \(6, 4\)"),
        (((3, 4), (2, 0, 4), (2, 0)), r"at least one piece"),
    ],
)
@pytest.mark.parametrize("ops", [compiled, reference], ids=["compiled", "reference"])
def test_maxout_bad_shapes_raise(ops, shapes, message):
    X, W, b = random_arrays(0, "float32", *shapes)
    with pytest.raises(ValueError, match=message):
        ops._maxout_forward(X, W, b)


@pytest.mark.parametrize("ops", [compiled, reference], ids=["compiled", "reference"])
def test_maxout_backward_bad_winners_and_shapes_raise(ops):
    X, W, b, d_best = random_arrays(0, "float32", (3, 4), (2, 3, 4), (2, 3), (3, 2))
    _, which = ops._maxout_forward(X, W, b)
    which[1, 1] = 3
    with pytest.raises(IndexError, match="out of"):
        ops._maxout_backward(d_best, which, X, W)
    which[1, 1] = 0
    with pytest.raises(ValueError, match=r"gradient shape \(3, 5\)"):
        ops._maxout_backward(numpy.zeros((3, 5), "f"), which, X, W)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ops", [NumpyOps(), Ops()], ids=["compiled", "reference"])
def test_maxout_layer_gradients(ops, dtype):
    model = Maxout(nO=4, nI=6, nP=3)
    model.ops = ops
    model.initialize()
    rng = numpy.random.default_rng(6)
    model.set_param("b", rng.normal(size=(4, 3)).astype(dtype))
    model.set_param("W", rng.normal(size=(4, 3, 6)).astype(dtype))
    X = rng.normal(size=(7, 6)).astype(dtype)
    check_gradients(model, X, eps=1e-3 if dtype == "float32" else 1e-6)


def test_maxout_backprop_after_prediction_recovers_the_winners():
    model = Maxout(nO=3, nI=4, nP=2).initialize()
    X = numpy.random.default_rng(7).normal(size=(5, 4)).astype("f")
    dY = numpy.ones((5, 3), "f")
    Y_train, backprop_train = model(X, is_train=True)
    Y_infer, backprop_infer = model(X, is_train=False)
    numpy.testing.assert_array_equal(Y_infer, Y_train)
    numpy.testing.assert_array_equal(backprop_infer(dY), backprop_train(dY))


def test_tok2vec_block_predicts_the_same_on_compiled_and_reference_ops():
    def block(ops):
        model = chain(expand_window(1), Maxout(nO=8, nI=24, nP=3), LayerNorm(8))
        for node in model.walk():
            node.ops = ops
        return model

    fast, slow = block(NumpyOps()), block(Ops())
    X = numpy.random.default_rng(8).normal(size=(30, 8)).astype("f")
    fast.initialize(X=X)
    slow.initialize(X=X)
    slow.from_bytes(fast.to_bytes())
    Y_fast, backprop_fast = fast.begin_update(X)
    Y_slow, backprop_slow = slow.begin_update(X)
    numpy.testing.assert_allclose(Y_fast, Y_slow, rtol=1e-4, atol=1e-5)
    dY = numpy.random.default_rng(9).normal(size=Y_fast.shape).astype("f")
    numpy.testing.assert_allclose(backprop_fast(dY), backprop_slow(dY), rtol=1e-4, atol=1e-4)


# -- expand_window >> Maxout as one op ---------------------------------------------------

from thinc.backends import cblas  # noqa: E402


def gemm_routes():
    """Where float32 products can go here: thinc's kernel (windows read in
    place), another BLAS (windows built a block at a time), bfloat16, int8."""
    routes = ["numpy", "blis"]
    if cblas.own_sgemm_is_available():
        routes.append("thinc")
    if cblas.bf16_available_here():
        routes.append("bf16")
    if cblas.int8_available_here():
        routes.append("int8")
    return routes


@pytest.fixture
def gemm_route(request):
    saved_blas, saved_precision = cblas._blas_override, cblas._precision_override
    route = request.param
    runs_here = {"bf16": cblas.bf16_available_here, "int8": cblas.int8_available_here}
    if route in runs_here and not runs_here[route]():
        pytest.skip(f"THINC_ISA holds back the {route} kernels at this level")
    if route in runs_here:
        cblas.configure_gemm(blas="thinc", precision=route)
    else:
        cblas.configure_gemm(blas=route, precision="float32")
    yield route
    cblas.configure_gemm(blas=saved_blas, precision=saved_precision)


@pytest.mark.parametrize("gemm_route", gemm_routes(), indirect=True)
@pytest.mark.parametrize("dtype", DTYPES)
def test_maxout_window_forward_is_seq2col_then_maxout_bit_for_bit(monkeypatch, gemm_route, dtype):
    # Blocks of 5 rows (nO * nP = 6): first, interior and last blocks, a short
    # last block, windows past both ends, and rows fewer than the window.
    from thinc.backends import numpy_ops

    monkeypatch.setattr(numpy_ops, "MAXOUT_BLOCK_BYTES", 5 * 6 * numpy.dtype(dtype).itemsize)
    rng = numpy.random.default_rng(21)
    for rows, nW, n_col in itertools.product(
        (1, 2, 3, 4, 5, 6, 9, 10, 11, 23), (0, 1, 2, 3), (1, 7)
    ):
        X = rng.normal(size=(rows, n_col)).astype(dtype)
        W = rng.normal(size=(3, 2, (2 * nW + 1) * n_col)).astype(dtype)
        b = rng.normal(size=(3, 2)).astype(dtype)
        label = f"rows={rows} nW={nW} n_col={n_col}"
        best_ref, which_ref = compiled._maxout_forward(compiled.seq2col(X, nW), W, b)
        best, which = compiled._maxout_window_forward(X, nW, W, b)
        numpy.testing.assert_array_equal(best, best_ref, err_msg=label)
        numpy.testing.assert_array_equal(which, which_ref, err_msg=label)
        best_only, no_which = compiled._maxout_window_forward(X, nW, W, b, keep_which=False)
        assert no_which is None
        numpy.testing.assert_array_equal(best_only, best_ref, err_msg=label)


@pytest.mark.parametrize("gemm_route", gemm_routes(), indirect=True)
def test_maxout_window_forward_tagger_shapes_bit_for_bit(gemm_route):
    # The tagger's widths at real block sizes (455 rows a block), in both of
    # the kernel's thread modes: in-place windows against built ones.
    rng = numpy.random.default_rng(22)
    W = rng.normal(size=(96, 3, 288)).astype("float32")
    b = rng.normal(size=(96, 3)).astype("float32")
    for rows, one_thread in itertools.product((454, 455, 456, 911, 1366), (False, True)):
        if gemm_route == "thinc":
            cblas._use_own_sgemm(True, single_threaded=one_thread)
        X = rng.normal(size=(rows, 96)).astype("float32")
        expected = compiled._maxout_forward(compiled.seq2col(X, 1), W, b)
        got = compiled._maxout_window_forward(X, 1, W, b)
        numpy.testing.assert_array_equal(got[0], expected[0], err_msg=f"rows={rows}")
        numpy.testing.assert_array_equal(got[1], expected[1], err_msg=f"rows={rows}")
    cblas._use_own_sgemm(gemm_route == "thinc", single_threaded=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_maxout_window_ops_match_reference_and_gradients(dtype):
    X, W, b, d_best = random_arrays(23, dtype, (13, 5), (4, 3, 15), (4, 3), (13, 4))
    best, which = compiled._maxout_window_forward(X, 1, W, b)
    best_ref, which_ref = reference._maxout_window_forward(X, 1, W, b)
    assert_close(best, best_ref, dtype)
    numpy.testing.assert_array_equal(which, which_ref)
    got = compiled._maxout_window_backward(d_best, which, X, 1, W)
    expected = reference._maxout_window_backward(d_best, which, X, 1, W)
    for got_array, expected_array in zip(got, expected):
        assert_close(got_array, expected_array, dtype)
    # A strided X (every other row of a wider array) is read as its values.
    wide = numpy.zeros((26, 5), dtype=dtype)
    wide[::2] = X
    strided, _ = compiled._maxout_window_forward(wide[::2], 1, W, b)
    numpy.testing.assert_array_equal(strided, best)


@pytest.mark.parametrize("ops", [compiled, reference], ids=["compiled", "reference"])
def test_maxout_window_bad_inputs_raise(ops):
    X, W, b = random_arrays(24, "float32", (6, 5), (4, 3, 15), (4, 3))
    with pytest.raises(ValueError, match="width 15"):
        ops._maxout_window_forward(X, 2, W, b)
    with pytest.raises(ValueError, match="nW"):
        ops._maxout_window_forward(X, -1, W, b)
    with pytest.raises(ValueError, match="b of shape"):
        ops._maxout_window_forward(X, 1, W, b[:, :2])


def test_maxout_window_forward_steps_aside_for_an_overridden_seq2col():
    calls = []

    class Logging(NumpyOps):
        def seq2col(self, seq, nW, *, lengths=None):
            calls.append(nW)
            return super().seq2col(seq, nW, lengths=lengths)

    X, W, b = random_arrays(25, "float32", (6, 5), (4, 3, 15), (4, 3))
    best, _ = Logging()._maxout_window_forward(X, 1, W, b)
    assert calls == [1]
    numpy.testing.assert_array_equal(best, compiled._maxout_window_forward(X, 1, W, b)[0])


# -- HashEmbed's hash, remainder and gather as one op ------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_hash_embed_forward_matches_the_ops_it_stands_in_for(dtype):
    rng = numpy.random.default_rng(31)
    ids_by_dtype = {
        "uint64": rng.integers(0, 2**63, size=3001, dtype=numpy.uint64) * 2 + 1,
        "int64": rng.integers(-(2**62), 2**62, size=3001),
        "int32": rng.integers(-(2**31), 2**31, size=3001).astype("int32"),
        "uint8": rng.integers(0, 256, size=3001).astype("uint8"),
    }
    for (name, ids), n, n_rows, seed in itertools.product(
        ids_by_dtype.items(), (0, 1, 13, 3001), (1, 2, 97, 5000, 2**20 + 7), (0, 7, 2**32 - 1)
    ):
        table = (
            rng.normal(size=(n_rows, 5)).astype(dtype)
            if n_rows < 10**6
            else numpy.ones((n_rows, 2), dtype)
        )
        label = f"{name} n={n} rows={n_rows} seed={seed}"
        output, rows = compiled._hash_embed_forward(ids[:n], seed, table)
        keys = compiled.hash(compiled.as_contig(ids[:n], dtype="uint64"), seed)
        assert rows.dtype == numpy.uint32 and rows.shape == (n, 4), label
        numpy.testing.assert_array_equal(rows, keys % n_rows, err_msg=label)
        numpy.testing.assert_array_equal(output, compiled.gather_add(table, rows), err_msg=label)
        output_ref, rows_ref = reference._hash_embed_forward(ids[:n], seed, table)
        numpy.testing.assert_array_equal(rows, rows_ref, err_msg=label)
        assert_close(output, output_ref, dtype)


def test_hash_rows_remainder_is_exact():
    # The multiply-shift remainder against %, at the edges of 32 bits and a
    # spread of divisors (1, powers of two and their neighbours, primes, 2**32 - 1).
    from thinc.backends import _testing

    rng = numpy.random.default_rng(32)
    edges = [0, 1, 2, 3, 2**16 - 1, 2**16, 2**31 - 1, 2**31, 2**31 + 1, 2**32 - 2, 2**32 - 1]
    values = numpy.concatenate(
        [
            numpy.asarray(edges, dtype=numpy.uint32),
            rng.integers(0, 2**32, size=100_000, dtype=numpy.uint32),
        ]
    )
    divisors = [
        1,
        2,
        3,
        5,
        7,
        96,
        97,
        5000,
        2**16 - 1,
        2**16,
        2**16 + 1,
        2**31 - 1,
        2**31,
        2**31 + 1,
        2**32 - 1,
    ]
    divisors += [int(d) for d in rng.integers(1, 2**32, size=64)]
    out = numpy.empty_like(values)
    for divisor in divisors:
        _testing.remainders_by_magic(values, divisor, out)
        numpy.testing.assert_array_equal(
            out, values % numpy.uint32(divisor), err_msg=f"divisor {divisor}"
        )


def test_hash_embed_forward_steps_aside_for_an_overridden_hash():
    calls = []

    class Logging(NumpyOps):
        def hash(self, ids, seed):
            calls.append(seed)
            return super().hash(ids, seed)

    ids = numpy.arange(10, dtype="uint64")
    table = numpy.random.default_rng(33).normal(size=(7, 3)).astype("f")
    output, rows = Logging()._hash_embed_forward(ids, 3, table)
    assert calls == [3]
    numpy.testing.assert_array_equal(rows, compiled._hash_embed_forward(ids, 3, table)[1])
