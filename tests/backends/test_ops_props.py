"""Property tests of the reference Ops over random shapes and lengths, empty
batches and zero-length sequences included, against naive per-sequence code."""

from typing import List

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinc.backends.ops import Ops

from ._activations import OPTIONED_ACTIVATIONS, PLAIN_ACTIVATIONS, PLAIN_BACKPROPS_FROM_INPUT

OPS = Ops()
SETTINGS = settings(max_examples=40, deadline=None)

lengths_lists = st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=6)
positive_lengths_lists = st.lists(st.integers(min_value=1, max_value=5), min_size=0, max_size=6)


def rows_for(lengths: List[int], width: int = 3, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).normal(size=(sum(lengths), width)).astype("f")


def split(X: numpy.ndarray, lengths: List[int]) -> List[numpy.ndarray]:
    bounds = numpy.cumsum([0] + lengths)
    return [X[bounds[i] : bounds[i + 1]] for i in range(len(lengths))]


@SETTINGS
@given(lengths=lengths_lists, width=st.integers(1, 4))
def test_reduce_sum_mean_match_naive(lengths: List[int], width: int) -> None:
    X = rows_for(lengths, width)
    lengths_array = numpy.asarray(lengths, "i")
    sums = OPS.reduce_sum(X, lengths_array)
    means = OPS.reduce_mean(X, lengths_array)
    assert sums.shape == means.shape == (len(lengths), width)
    for i, seq in enumerate(split(X, lengths)):
        numpy.testing.assert_allclose(sums[i], seq.sum(axis=0), rtol=1e-5, atol=1e-6)
        expected_mean = seq.mean(axis=0) if len(seq) else numpy.zeros(width)
        numpy.testing.assert_allclose(means[i], expected_mean, rtol=1e-5, atol=1e-6)
    d_sums = OPS.backprop_reduce_sum(sums, lengths_array)
    assert d_sums.shape == X.shape
    assert OPS.backprop_reduce_mean(means, lengths_array).shape == X.shape


@SETTINGS
@given(lengths=positive_lengths_lists, width=st.integers(1, 4))
def test_reduce_max_first_last_match_naive(lengths: List[int], width: int) -> None:
    X = rows_for(lengths, width, seed=1)
    lengths_array = numpy.asarray(lengths, "i")
    maxes, which = OPS.reduce_max(X, lengths_array)
    firsts, starts_ends = OPS.reduce_first(X, lengths_array)
    lasts, last_rows = OPS.reduce_last(X, lengths_array)
    for i, seq in enumerate(split(X, lengths)):
        numpy.testing.assert_array_equal(maxes[i], seq.max(axis=0))
        numpy.testing.assert_array_equal(which[i], seq.argmax(axis=0))
        numpy.testing.assert_array_equal(firsts[i], seq[0])
        numpy.testing.assert_array_equal(lasts[i], seq[-1])
    assert OPS.backprop_reduce_max(maxes, which, lengths_array).shape == X.shape
    assert OPS.backprop_reduce_first(firsts, starts_ends).shape == X.shape
    assert OPS.backprop_reduce_last(lasts, last_rows).shape == X.shape


def naive_seq2col(X: numpy.ndarray, nW: int, lengths: List[int]) -> numpy.ndarray:
    output = []
    for seq in split(X, lengths):
        for i in range(len(seq)):
            window = []
            for j in range(i - nW, i + nW + 1):
                window.append(seq[j] if 0 <= j < len(seq) else numpy.zeros(X.shape[1], X.dtype))
            output.append(numpy.concatenate(window))
    return numpy.asarray(output, dtype=X.dtype).reshape(X.shape[0], (2 * nW + 1) * X.shape[1])


@SETTINGS
@given(lengths=lengths_lists, nW=st.integers(0, 3), width=st.integers(1, 3))
def test_seq2col_matches_naive_and_is_adjoint(lengths: List[int], nW: int, width: int) -> None:
    X = rows_for(lengths, width, seed=2)
    lengths_array = numpy.asarray(lengths, "i")
    cols = OPS.seq2col(X, nW, lengths=lengths_array)
    numpy.testing.assert_array_equal(cols, naive_seq2col(X, nW, lengths))
    dY = numpy.random.default_rng(3).normal(size=cols.shape).astype("f")
    dX = OPS.backprop_seq2col(dY, nW, lengths=lengths_array)
    # <seq2col(X), dY> == <X, backprop(dY)> for a linear map and its adjoint.
    numpy.testing.assert_allclose(
        float((cols * dY).sum()), float((X * dX).sum()), rtol=1e-4, atol=1e-4
    )


@SETTINGS
@given(lengths=lengths_lists, pad=st.integers(0, 3))
def test_flatten_unflatten_round_trip(lengths: List[int], pad: int) -> None:
    seqs = split(rows_for(lengths, 2, seed=4), lengths)
    flat = OPS.flatten(seqs, pad=pad)
    restored = OPS.unflatten(flat, numpy.asarray(lengths, "i"), pad=pad)
    assert len(restored) == len(seqs)
    for original, back in zip(seqs, restored):
        numpy.testing.assert_array_equal(original, back)


@SETTINGS
@given(lengths=positive_lengths_lists.filter(bool))
def test_list2padded_round_trip(lengths: List[int]) -> None:
    seqs = split(rows_for(lengths, 2, seed=5), lengths)
    padded = OPS.list2padded(seqs)
    assert padded.data.shape == (max(lengths), len(lengths), 2)
    assert int(padded.size_at_t.sum()) == sum(lengths)
    for original, back in zip(seqs, OPS.padded2list(padded)):
        numpy.testing.assert_array_equal(original, back)
    padded_array = OPS.pad(seqs)
    for original, back in zip(seqs, OPS.unpad(padded_array, lengths)):
        numpy.testing.assert_array_equal(original, back)


@SETTINGS
@given(lengths=lengths_lists)
def test_softmax_sequences_normalises_each_sequence(lengths: List[int]) -> None:
    X = rows_for(lengths, 3, seed=6)
    Y = OPS.softmax_sequences(X, numpy.asarray(lengths, "i"))
    assert Y.shape == X.shape
    for seq in split(Y, lengths):
        if len(seq):
            numpy.testing.assert_allclose(seq.sum(axis=0), 1.0, rtol=1e-5)


@SETTINGS
@given(n_items=st.integers(0, 30), size=st.integers(1, 8), shuffle=st.booleans())
def test_minibatch_covers_sequence(n_items: int, size: int, shuffle: bool) -> None:
    items = list(range(n_items))
    batches = OPS.minibatch(size, items, shuffle=shuffle)
    collected = list(batches)
    assert len(collected) == len(batches) == -(-n_items // size)
    assert all(len(batch) <= size for batch in collected)
    assert sorted(sum(collected, [])) == items


def murmur3_x64_128_scalar(key: int, seed: int) -> List[int]:
    """MurmurHash3_x64_128 of one 8-byte key, with Python ints, written
    straight from the algorithm's description as an independent check."""
    mask = 2**64 - 1

    def rotl(value: int, bits: int) -> int:
        return ((value << bits) | (value >> (64 - bits))) & mask

    def fmix(value: int) -> int:
        value ^= value >> 33
        value = (value * 0xFF51AFD7ED558CCD) & mask
        value ^= value >> 33
        value = (value * 0xC4CEB9FE1A85EC53) & mask
        return value ^ (value >> 33)

    h1 = h2 = seed
    k1 = (key * 0x87C37B91114253D5) & mask
    k1 = rotl(k1, 31)
    k1 = (k1 * 0x4CF5AD432745937F) & mask
    h1 ^= k1
    h1 ^= 8
    h2 ^= 8
    h1 = (h1 + h2) & mask
    h2 = (h2 + h1) & mask
    h1, h2 = fmix(h1), fmix(h2)
    h1 = (h1 + h2) & mask
    h2 = (h2 + h1) & mask
    return [h1 & 0xFFFFFFFF, h1 >> 32, h2 & 0xFFFFFFFF, h2 >> 32]


@SETTINGS
@given(
    keys=st.lists(st.integers(0, 2**64 - 1), min_size=0, max_size=8),
    seed=st.integers(0, 2**32 - 1),
)
def test_hash_matches_scalar_murmurhash(keys: List[int], seed: int) -> None:
    hashed = OPS.hash(numpy.asarray(keys, dtype="uint64"), seed)
    assert hashed.shape == (len(keys), 4) and hashed.dtype == numpy.uint32
    for row, key in zip(hashed.tolist(), keys):
        assert row == murmur3_x64_128_scalar(key, seed)


def murmur64a_scalar(words: List[int]) -> int:
    mask, multiplier = 2**64 - 1, 0xC6A4A7935BD1E995
    value = (len(words) * 8 * multiplier) & mask
    for word in words:
        word = (word * multiplier) & mask
        word ^= word >> 47
        word = (word * multiplier) & mask
        value ^= word
        value = (value * multiplier) & mask
    value ^= value >> 47
    value = (value * multiplier) & mask
    return value ^ (value >> 47)


@SETTINGS
@given(keys=st.lists(st.integers(0, 2**64 - 1), min_size=0, max_size=8), n=st.integers(1, 4))
def test_ngrams_match_scalar_murmurhash64a(keys: List[int], n: int) -> None:
    hashed = OPS.ngrams(n, numpy.asarray(keys, dtype="uint64"))
    expected = [murmur64a_scalar(keys[i : i + n]) for i in range(len(keys) - n + 1)]
    assert hashed.tolist() == expected


def lstm_single_direction(params, cell0, hidden0, seq, nO):
    """A plain per-sequence LSTM step loop with the thinc 8.3 gate layout."""
    nI = seq.shape[1]
    offset = 0
    Wx = params[offset : offset + 4 * nO * nI].reshape(4 * nO, nI)
    offset += 4 * nO * nI
    bx = params[offset : offset + 4 * nO]
    offset += 4 * nO
    Wh = params[offset : offset + 4 * nO * nO].reshape(4 * nO, nO)
    offset += 4 * nO * nO
    bh = params[offset : offset + 4 * nO]
    sigmoid = lambda v: 1 / (1 + numpy.exp(-v))  # noqa: E731
    cell, hidden, outputs = cell0, hidden0, []
    for x in seq:
        act = (Wx @ x + bx + Wh @ hidden + bh).reshape(4, nO)
        cell = sigmoid(act[0]) * cell + sigmoid(act[1]) * numpy.tanh(act[3])
        hidden = sigmoid(act[2]) * numpy.tanh(cell)
        outputs.append(hidden)
    return numpy.asarray(outputs).reshape(len(seq), nO)


@SETTINGS
@given(lengths=st.lists(st.integers(1, 4), min_size=1, max_size=4), seed=st.integers(0, 100))
def test_bidirectional_lstm_matches_per_sequence_loops(lengths: List[int], seed: int) -> None:
    nO, nI = 2, 3
    rng = numpy.random.default_rng(seed)
    per_direction = 4 * nO * nI + 4 * nO + 4 * nO * nO + 4 * nO
    params = rng.normal(size=2 * per_direction) * 0.5
    H0, C0 = rng.normal(size=(1, 2, nO)), rng.normal(size=(1, 2, nO))
    lengths = sorted(lengths, reverse=True)
    seqs = [rng.normal(size=(n, nI)) for n in lengths]
    padded = OPS.list2padded(seqs)
    size_at_t = padded.size_at_t
    # Pack time-major: at step t, the first size_at_t[t] sequences.
    X = numpy.concatenate([padded.data[t, : size_at_t[t]] for t in range(len(size_at_t))])
    Y = OPS.lstm_forward_inference(params, H0, C0, X, size_at_t)
    starts = numpy.cumsum([0] + size_at_t.tolist())
    for column, index in enumerate(padded.indices.tolist()):
        seq = seqs[index]
        rows = [starts[t] + column for t in range(len(seq))]
        # H0 initialises the cell and C0 the hidden state, as in thinc 8.3.
        forward = lstm_single_direction(params[:per_direction], H0[0, 0], C0[0, 0], seq, nO)
        backward = lstm_single_direction(params[per_direction:], H0[0, 1], C0[0, 1], seq[::-1], nO)[
            ::-1
        ]
        numpy.testing.assert_allclose(Y[rows, :nO], forward, atol=1e-10)
        numpy.testing.assert_allclose(Y[rows, nO:], backward, atol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activations_keep_dtype(dtype: str) -> None:
    X = numpy.linspace(-5, 5, 20).astype(dtype).reshape(4, 5)
    for name in PLAIN_ACTIVATIONS + OPTIONED_ACTIVATIONS + ("erf", "sechsq", "softmax"):
        assert getattr(OPS, name)(X).dtype == numpy.dtype(dtype), name
    for name in PLAIN_BACKPROPS_FROM_INPUT + ("backprop_relu_k", "backprop_clipped_linear"):
        assert getattr(OPS, name)(X.copy(), X).dtype == numpy.dtype(dtype), name
