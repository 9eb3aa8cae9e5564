"""Exhaustive small-shape grids for the compiled row, sequence and table
kernels against the reference Ops: every length pattern with empty sequences,
single rows, odd widths, misaligned starts, each run serially and split over
threads (and, through tests/conftest.py, at every instruction-set level)."""

import itertools

import numpy
import pytest

from thinc.backends import dispatch
from thinc.backends.numpy_ops import NumpyOps
from thinc.backends.ops import Ops

OPS = NumpyOps()
REFERENCE = Ops()
DTYPES = ["float32", "float64"]
WIDTHS = [1, 2, 3, 7, 8, 9, 16, 17, 33]
# Every sequence of up to three lengths from {0, 1, 2, 5}: empty batches,
# empty sequences first, last and between, single rows.
LENGTH_PATTERNS = [
    list(pattern) for count in range(4) for pattern in itertools.product((0, 1, 2, 5), repeat=count)
]


@pytest.fixture(params=["serial", "split"])
def split(request):
    """Runs each test with the kernels' own thresholds, then with every piece
    of work split over the thread pool."""
    with dispatch.forced(grain=1 if request.param == "split" else None):
        yield request.param


def misaligned(rng, shape, dtype, offset):
    """A C-contiguous array starting `offset` elements into its buffer."""
    size = int(numpy.prod(shape))
    buffer = rng.uniform(-3, 3, size + offset).astype(dtype)
    return buffer[offset:].reshape(shape)


def same_outcome(ours, reference, label, rtol):
    """Both raise the same exception type, or both return equal arrays."""
    try:
        want = reference()
    except Exception as error:  # noqa: BLE001 - any exception type must match
        with pytest.raises(type(error)):
            ours()
        return
    got = ours()
    for got_part, want_part in zip(_parts(got), _parts(want)):
        assert got_part.shape == want_part.shape, label
        numpy.testing.assert_allclose(got_part, want_part, rtol=rtol, atol=rtol, err_msg=label)


def _parts(value):
    return value if isinstance(value, tuple) else (value,)


def tolerance(dtype):
    return 2e-6 if dtype == "float32" else 1e-12


@pytest.mark.parametrize("dtype", DTYPES)
def test_sequence_reductions(split, dtype):
    rng = numpy.random.default_rng(0)
    for lengths_list, width, offset in itertools.product(LENGTH_PATTERNS, WIDTHS, (0, 1)):
        lengths = numpy.array(lengths_list, dtype="int32")
        X = misaligned(rng, (int(lengths.sum()), width), dtype, offset)
        d_out = misaligned(rng, (len(lengths), width), dtype, offset)
        label = f"lengths={lengths_list} width={width} offset={offset}"
        rtol = tolerance(dtype)
        for name in ("reduce_sum", "reduce_mean", "reduce_first", "reduce_last"):
            if name == "reduce_first" and not lengths.size:
                # thinc 8.3.14's NumpyOps returns starts_ends [0] here and its
                # Ops an empty array; each of ours matches its 8.3.14 twin.
                continue
            same_outcome(
                lambda: getattr(OPS, name)(X, lengths),
                lambda: getattr(REFERENCE, name)(X, lengths),
                f"{name} {label}",
                rtol,
            )
        same_outcome(
            lambda: OPS.reduce_max(X, lengths),
            lambda: REFERENCE.reduce_max(X, lengths),
            f"reduce_max {label}",
            rtol,
        )
        for name in ("backprop_reduce_sum", "backprop_reduce_mean"):
            same_outcome(
                lambda: getattr(OPS, name)(d_out, lengths),
                lambda: getattr(REFERENCE, name)(d_out, lengths),
                f"{name} {label}",
                rtol,
            )
        if lengths.size and (lengths > 0).all():
            _, which = REFERENCE.reduce_max(X, lengths)
            same_outcome(
                lambda: OPS.backprop_reduce_max(d_out, which, lengths),
                lambda: REFERENCE.backprop_reduce_max(d_out, which, lengths),
                f"backprop_reduce_max {label}",
                rtol,
            )


@pytest.mark.parametrize("dtype", DTYPES)
def test_windows_over_sequences(split, dtype):
    rng = numpy.random.default_rng(1)
    for lengths_list, width, nW in itertools.product(LENGTH_PATTERNS, (1, 3, 8, 17), (1, 2, 3)):
        lengths = numpy.array(lengths_list, dtype="int32")
        n_rows = int(lengths.sum())
        X = misaligned(rng, (n_rows, width), dtype, 1)
        dY = misaligned(rng, (n_rows, width * (2 * nW + 1)), dtype, 3)
        label = f"lengths={lengths_list} width={width} nW={nW}"
        same_outcome(
            lambda: OPS.seq2col(X, nW, lengths=lengths),
            lambda: REFERENCE.seq2col(X, nW, lengths=lengths),
            f"seq2col {label}",
            0,
        )
        same_outcome(
            lambda: OPS.backprop_seq2col(dY, nW, lengths=lengths),
            lambda: REFERENCE.backprop_seq2col(dY, nW, lengths=lengths),
            f"backprop_seq2col {label}",
            tolerance(dtype),
        )


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows_and_sequences(split, dtype):
    rng = numpy.random.default_rng(2)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for n_rows, width, offset in itertools.product(
        (1, 2, 5), list(range(1, 20)) + [31, 32, 33], (0, 1, 3)
    ):
        X = misaligned(rng, (n_rows, width), dtype, offset)
        dY = misaligned(rng, (n_rows, width), dtype, offset)
        label = f"rows={n_rows} width={width} offset={offset}"
        Y = REFERENCE.softmax(X.copy())
        same_outcome(
            lambda: OPS.softmax(X), lambda: REFERENCE.softmax(X.copy()), f"softmax {label}", rtol
        )
        same_outcome(
            lambda: OPS.backprop_softmax(Y, dY),
            lambda: REFERENCE.backprop_softmax(Y, dY.copy()),
            f"backprop_softmax {label}",
            rtol,
        )
    for lengths_list, width in itertools.product(LENGTH_PATTERNS, (1, 3, 8, 17)):
        lengths = numpy.array(lengths_list, dtype="int32")
        X = misaligned(rng, (int(lengths.sum()), width), dtype, 1)
        dY = misaligned(rng, X.shape, dtype, 2)
        label = f"lengths={lengths_list} width={width}"
        same_outcome(
            lambda: OPS.softmax_sequences(X, lengths),
            lambda: REFERENCE.softmax_sequences(X.copy(), lengths),
            f"softmax_sequences {label}",
            rtol,
        )
        if lengths.size and (lengths > 0).all():
            Y = REFERENCE.softmax_sequences(X.copy(), lengths)
            same_outcome(
                lambda: OPS.backprop_softmax_sequences(dY, Y, lengths),
                lambda: REFERENCE.backprop_softmax_sequences(dY.copy(), Y, lengths),
                f"backprop_softmax_sequences {label}",
                rtol,
            )


@pytest.mark.parametrize("dtype", DTYPES)
def test_maxout(split, dtype):
    rng = numpy.random.default_rng(3)
    for n_rows, width, pieces, offset in itertools.product(
        (0, 1, 3), (1, 2, 7, 8, 9, 17), range(1, 10), (0, 1)
    ):
        X = misaligned(rng, (n_rows, width, pieces), dtype, offset)
        label = f"rows={n_rows} width={width} pieces={pieces} offset={offset}"
        same_outcome(lambda: OPS.maxout(X), lambda: REFERENCE.maxout(X), f"maxout {label}", 0)
        _, which = REFERENCE.maxout(X)
        dY = misaligned(rng, (n_rows, width), dtype, offset)
        same_outcome(
            lambda: OPS.backprop_maxout(dY, which, pieces),
            lambda: REFERENCE.backprop_maxout(dY, which, pieces),
            f"backprop_maxout {label}",
            0,
        )


@pytest.mark.parametrize("dtype", DTYPES)
def test_maxout_nan_wins_as_numpy_argmax(split, dtype):
    # A NaN in any piece is the unit's maximum and its first NaN the winner,
    # as the reference's argmax has it (thinc 8.3.14's compiled maxout kept
    # the larger number and hid a NaN in any piece but the first).
    rng = numpy.random.default_rng(5)
    for n_rows, width, pieces in itertools.product((1, 3), (1, 7, 16, 17), range(1, 6)):
        for first, second in itertools.product(range(pieces), repeat=2):
            X = rng.uniform(-3, 3, (n_rows, width, pieces)).astype(dtype)
            X[-1, width // 2, first] = numpy.nan
            X[0, 0, second] = numpy.nan
            label = f"rows={n_rows} width={width} pieces={pieces} nan at {first}, {second}"
            best, which = OPS.maxout(X)
            want_best, want_which = REFERENCE.maxout(X)
            numpy.testing.assert_array_equal(which, want_which, err_msg=label)
            numpy.testing.assert_array_equal(best, want_best, err_msg=label)
            assert numpy.isnan(best[-1, width // 2]) and numpy.isnan(best[0, 0]), label


@pytest.mark.parametrize("dtype", DTYPES)
def test_reduce_max_nan_wins_as_numpy_argmax(split, dtype):
    rng = numpy.random.default_rng(6)
    for lengths, width in itertools.product(([1], [3], [2, 5], [5, 1, 4]), (1, 8, 9, 17)):
        total = sum(lengths)
        for row, column in itertools.product(range(total), (0, width - 1)):
            X = rng.uniform(-3, 3, (total, width)).astype(dtype)
            X[row, column] = numpy.nan
            X[total - 1, width // 2] = numpy.nan
            L = numpy.asarray(lengths, dtype="int32")
            label = f"lengths={lengths} width={width} nan at ({row}, {column})"
            maxes, which = OPS.reduce_max(X, L)
            want_maxes, want_which = REFERENCE.reduce_max(X, L)
            numpy.testing.assert_array_equal(which, want_which, err_msg=label)
            numpy.testing.assert_array_equal(maxes, want_maxes, err_msg=label)
            assert numpy.isnan(maxes).sum() >= 1, label


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_and_scatter(split, dtype, index_dtype):
    rng = numpy.random.default_rng(4)
    for n_table, width, n_out, per_row in itertools.product(
        (1, 3, 9), (1, 7, 8, 16, 17, 32, 33, 64, 97), (0, 1, 5), (1, 2, 4)
    ):
        table = misaligned(rng, (n_table, width), dtype, 1)
        # Repeated rows: scatter_add must add every one of them.
        indices = rng.integers(0, n_table, size=(n_out, per_row)).astype(index_dtype)
        label = f"table={n_table}x{width} indices={indices.shape}"
        rtol = tolerance(dtype)
        same_outcome(
            lambda: OPS.gather_add(table, indices),
            lambda: REFERENCE.gather_add(table, indices),
            f"gather_add {label}",
            rtol,
        )
        flat = indices[:, 0].copy()
        values = misaligned(rng, (n_out, width), dtype, 2)
        same_outcome(
            lambda: OPS.scatter_add(table.copy(), flat, values),
            lambda: REFERENCE.scatter_add(table.copy(), flat, values),
            f"scatter_add {label}",
            rtol,
        )
        # 2d indices (HashEmbed's keys), a row of values for each.
        values = misaligned(rng, indices.shape + (width,), dtype, 1)
        same_outcome(
            lambda: OPS.scatter_add(table.copy(), indices, values),
            lambda: REFERENCE.scatter_add(table.copy(), indices, values),
            f"scatter_add 2d {label}",
            rtol,
        )
