"""Tests for SparseLinear ("SparseLinear.v1") and SparseLinear_v2 ("SparseLinear.v2"):
hashed weight indexing (v1's masked and v2's per-class blocks), gradients, input
validation, bytes, config and thinc 8.3.14 parity."""

import numpy
import pytest
from murmurhash.mrmr import hash as murmur32

from thinc.config import Config, registry
from thinc.layers.sparselinear import SparseLinear, SparseLinear_v2

from ._oracle import run_reference
from ._params import with_random_params


def key_hashes(key: int):
    data = int(key).to_bytes(8, "little")
    return [murmur32(data, seed) & 0xFFFFFFFF for seed in (0, 1)]


def expected_scores(keys, values, lengths, W, b, nO, length, v1):
    """The layer's arithmetic written out: each key adds value * W[index] for
    its two hashes, per class."""
    out = numpy.tile(b.astype("f8"), (len(lengths), 1))
    position = 0
    for row, count in enumerate(lengths):
        for key, value in zip(
            keys[position : position + count], values[position : position + count]
        ):
            for h in key_hashes(key):
                for c in range(nO):
                    index = (h & (length - 1)) + c if v1 else c * length + h % length
                    out[row, c] += value * W[index]
        position += count
    return out


def make_batch(seed: int = 0):
    rng = numpy.random.default_rng(seed)
    lengths = numpy.array([3, 0, 2, 1], dtype="i")
    keys = rng.integers(0, 2**63, int(lengths.sum()), dtype="uint64")
    values = rng.uniform(-2, 2, int(lengths.sum())).astype("f")
    return keys, values, lengths


def test_names_dims_and_zero_init():
    for factory, v1 in ((SparseLinear, True), (SparseLinear_v2, False)):
        model = factory(nO=3, length=20)
        assert model.name == "sparse_linear" and model.attrs == {"v1_indexing": v1}
        assert model.get_dim("length") == 20 and list(model.param_names) == ["W", "b"]
        model.initialize()
        assert model.get_param("W").shape == (60,) and not model.get_param("W").any()
        assert model.get_param("b").shape == (3,)
    assert SparseLinear().get_dim("length") == 2**18


def test_nO_inferred_from_Y():
    model = SparseLinear(length=8)
    model.initialize(X=make_batch(), Y=numpy.zeros((4, 5), dtype="f"))
    assert model.get_dim("nO") == 5 and model.get_param("W").shape == (40,)


def test_v2_hand_checked_single_key():
    # The two hashes of key 0 (seeds 0 and 1) are 0 and 1 modulo 7.
    model = SparseLinear_v2(nO=3, length=7)
    model.initialize()
    model.set_param("W", numpy.arange(21, dtype="f"))
    model.set_param("b", numpy.zeros(3, dtype="f"))
    Y = model.predict((numpy.array([0], "uint64"), numpy.array([1.0], "f"), numpy.array([1], "i")))
    # Class c reads W[7c + 0] + W[7c + 1].
    numpy.testing.assert_array_equal(Y, [[1, 15, 29]])


def test_v1_hand_checked_single_key():
    # Both hashes of key 0 end in binary ...100, so (h & 6) = 4 for both.
    model = SparseLinear(nO=3, length=7)
    model.initialize()
    model.set_param("W", numpy.arange(21, dtype="f"))
    model.set_param("b", numpy.ones(3, dtype="f"))
    Y = model.predict((numpy.array([0], "uint64"), numpy.array([0.5], "f"), numpy.array([1], "i")))
    # Class c reads W[4 + c] twice, scaled by 0.5, plus b = 1.
    numpy.testing.assert_array_equal(Y, [[5, 6, 7]])


@pytest.mark.parametrize("nO,length", [(4, 16), (2, 5), (1, 1)])
@pytest.mark.parametrize("factory,v1", [(SparseLinear, True), (SparseLinear_v2, False)])
def test_scores_match_written_out_arithmetic(factory, v1, nO, length):
    model = with_random_params(factory(nO=nO, length=length))
    keys, values, lengths = make_batch()
    expected = expected_scores(
        keys, values, lengths, model.get_param("W"), model.get_param("b"), nO, length, v1
    )
    numpy.testing.assert_allclose(
        model.predict((keys, values, lengths)), expected, rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("factory,v1", [(SparseLinear, True), (SparseLinear_v2, False)])
def test_gradients_are_exact_for_a_linear_layer(factory, v1):
    nO, length = 3, 6
    model = with_random_params(factory(nO=nO, length=length))
    batch = make_batch()
    Y, backprop = model.begin_update(batch)
    dY = numpy.random.default_rng(2).uniform(-1, 1, Y.shape).astype("f")
    assert backprop(dY) is batch
    # The scores are linear in W: the gradient of weight p is the score of a one-hot W.
    expected = numpy.zeros(nO * length)
    for p in range(nO * length):
        one_hot = numpy.zeros(nO * length)
        one_hot[p] = 1
        expected[p] = (expected_scores(*batch, one_hot, numpy.zeros(nO), nO, length, v1) * dY).sum()
    numpy.testing.assert_allclose(model.get_grad("W"), expected, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("b"), dY.sum(axis=0), rtol=1e-6)


def test_keys_past_the_lengths_are_ignored():
    # thinc 8.3's own layer tests feed 3 keys with lengths [1, 1]; only the first 2 count.
    model = with_random_params(SparseLinear_v2(nO=2, length=8))
    keys, values, lengths = make_batch()
    short_lengths = numpy.array([2, 1], "i")
    numpy.testing.assert_array_equal(
        model.predict((keys, values, short_lengths)),
        model.predict((keys[:3], values[:3], short_lengths)),
    )


def test_empty_batch_and_empty_rows():
    model = with_random_params(SparseLinear_v2(nO=2, length=4))
    b = model.get_param("b")
    Y = model.predict((numpy.zeros(0, "uint64"), numpy.zeros(0, "f"), numpy.zeros(2, "i")))
    numpy.testing.assert_array_equal(Y, [b, b])
    assert model.predict(
        (numpy.zeros(0, "uint64"), numpy.zeros(0, "f"), numpy.zeros(0, "i"))
    ).shape == (0, 2)


def test_bad_input():
    model = with_random_params(SparseLinear(nO=2, length=4))
    keys, values, lengths = make_batch()
    with pytest.raises(ValueError, match="lengths sum"):
        model.predict((keys, values, numpy.array([5, 5], "i")))
    with pytest.raises(ValueError, match="values"):
        model.predict((keys, values[:-1], lengths))
    with pytest.raises(ValueError, match="negative"):
        model.predict((keys, values, numpy.array([7, -1, 0, 0], "i")))
    with pytest.raises(TypeError):
        model.predict((keys.astype("f"), values, lengths))
    with pytest.raises(ValueError, match="1d"):
        model.predict((keys.reshape(2, 3), values, lengths))
    with pytest.raises(TypeError):
        model.predict(keys)
    with pytest.raises(ValueError, match="length"):
        SparseLinear(length=0)


def test_bytes_and_config():
    model = with_random_params(SparseLinear_v2(nO=3, length=16))
    copy = SparseLinear_v2(nO=3, length=16).from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(copy.predict(make_batch()), model.predict(make_batch()))
    for name, v1 in (("SparseLinear.v1", True), ("SparseLinear.v2", False)):
        config = Config().from_str(f'[model]\n@layers = "{name}"\nnO = 3\nlength = 32\n')
        resolved = registry.resolve(config)["model"]
        assert resolved.attrs["v1_indexing"] is v1 and resolved.get_dim("length") == 32


def test_matches_thinc_8_3():
    reference = run_reference(
        """
import numpy
from thinc.api import SparseLinear, SparseLinear_v2
rng = numpy.random.default_rng(12)
lengths = numpy.array([2, 4, 0, 3], dtype="i")
keys = rng.integers(0, 2**64 - 1, 9, dtype="uint64")
values = rng.uniform(-2, 2, 9).astype("f")
result = dict(keys=keys, values=values, lengths=lengths)
for name, factory in (("v1", SparseLinear), ("v2", SparseLinear_v2)):
    model = factory(nO=3, length=64)
    model.initialize()
    model.set_param("W", rng.uniform(-1, 1, 192).astype("f"))
    model.set_param("b", rng.uniform(-1, 1, 3).astype("f"))
    Y, backprop = model.begin_update((keys, values, lengths))
    dY = rng.uniform(-1, 1, Y.shape).astype("f")
    backprop(dY)
    result[name] = dict(bytes=model.to_bytes(), Y=Y, dY=dY, dW=model.get_grad("W"))
"""
    )
    batch = (reference["keys"], reference["values"], reference["lengths"])
    for name, factory in (("v1", SparseLinear), ("v2", SparseLinear_v2)):
        expected = reference[name]
        model = factory(nO=3, length=64).from_bytes(expected["bytes"])
        # Our bytes for the same weights are thinc's, byte for byte.
        assert model.to_bytes() == expected["bytes"]
        Y, backprop = model.begin_update(batch)
        numpy.testing.assert_allclose(Y, expected["Y"], rtol=1e-6, atol=1e-6)
        backprop(expected["dY"])
        numpy.testing.assert_allclose(model.get_grad("W"), expected["dW"], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "lengths",
    [
        numpy.array([2**63 - 1, 2**63 - 1, 5], dtype="int64"),
        numpy.array([2**64 - 1, 4], dtype="uint64"),
    ],
    ids=["int64-sum-wraps", "uint64-cast-wraps"],
)
def test_lengths_are_bounded_before_they_are_summed(lengths):
    model = SparseLinear(nO=2, length=16)
    model.initialize()
    keys, values = numpy.arange(3, dtype="uint64"), numpy.ones(3, dtype="float32")
    with pytest.raises(ValueError, match="exceeds the 3 keys"):
        model.predict((keys, values, lengths))
