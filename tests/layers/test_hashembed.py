"""Tests for HashEmbed ("HashEmbed.v1"): four seeded hashes per id into a table,
summed; seeds, column, dropout, gradients, bytes, config and thinc 8.3.14 parity."""

import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.config import Config, registry
from thinc.layers.hashembed import HashEmbed

from ..util import check_gradients
from ._oracle import run_reference

# ops.hash(ids, seed=7) of [0, 1, 3, 2**40 + 5], from thinc 8.3.14 (MurmurHash3 x86_128).
HASHES_SEED_7 = [
    [363161713, 1826689969, 588221874, 425284546],
    [3089165797, 1536154270, 2023308811, 4074317197],
    [4294181553, 832517659, 1363266467, 1278131649],
    [111559049, 384058862, 2303917181, 2536764753],
]
IDS = numpy.array([0, 1, 3, 2**40 + 5], dtype="uint64")


def table_model(nV: int = 5, **kwargs):
    model = HashEmbed(nO=3, nV=nV, seed=7, **kwargs)
    model.initialize()
    inner = model.layers[-1] if model.layers else model
    inner.set_param("E", numpy.arange(nV * 3, dtype="f").reshape(nV, 3))
    return model, inner


def test_names_dims_attrs_and_init():
    model = HashEmbed(nO=4, nV=10, seed=3)
    assert model.name == "hashembed" and list(model.param_names) == ["E"]
    assert list(model.dim_names) == ["nO", "nV", "nI"] and model.maybe_get_dim("nI") is None
    assert model.attrs == {"column": None, "seed": 3}
    model.initialize()
    E = model.get_param("E")
    assert E.shape == (10, 4) and abs(E).max() <= 0.1 and E.std() > 0.01
    assert HashEmbed(nO=2, nV=3, seed=1, dropout=0.5).attrs == {
        "column": None,
        "seed": 1,
        "dropout_rate": 0.5,
    }


def test_default_seed_is_the_model_id():
    first, second = HashEmbed(nO=2, nV=3), HashEmbed(nO=2, nV=3)
    assert first.attrs["seed"] == first.id and second.attrs["seed"] == second.id
    assert first.attrs["seed"] != second.attrs["seed"]


def test_hash_rows_are_summed():
    numpy.testing.assert_array_equal(NumpyOps().hash(IDS, 7), HASHES_SEED_7)
    model, _ = table_model()
    rows = numpy.array(HASHES_SEED_7, dtype="uint64") % 5
    E = model.get_param("E")
    expected = E[rows].sum(axis=1)
    # e.g. id 0 -> rows [3, 4, 4, 1] -> [36, 40, 44], as thinc 8.3.14 gives.
    numpy.testing.assert_array_equal(expected[0], [36, 40, 44])
    numpy.testing.assert_array_equal(model.predict(IDS), expected)
    # Signed ids hash as their unsigned bit pattern.
    numpy.testing.assert_array_equal(model.predict(IDS[:3].astype("int64")), expected[:3])


def test_gradient_scatters_to_every_hashed_row():
    model, _ = table_model()
    Y, backprop = model.begin_update(IDS)
    dX = backprop(numpy.ones_like(Y))
    assert dX.shape == IDS.shape
    # Row counts over the 16 hashed positions: from the table above.
    numpy.testing.assert_array_equal(model.get_grad("E")[:, 0], [1, 3, 4, 3, 5])


def test_gradients_of_several_batches_accumulate_until_the_update():
    model, _ = table_model()
    d_first = numpy.ones((len(IDS), 3), dtype="f")
    d_second = numpy.full((len(IDS), 3), 2.0, dtype="f")
    Y, backprop = model.begin_update(IDS)
    backprop(d_first)
    first = model.get_grad("E").copy()
    Y, backprop = model.begin_update(IDS)
    backprop(d_second)
    numpy.testing.assert_allclose(model.get_grad("E"), 3 * first)
    # The caller's gradient arrays are left as they were.
    assert (d_first == 1).all() and (d_second == 2).all()
    # After an update the optimizer has zeroed the gradient: the next batch starts afresh.
    from thinc.api import SGD

    model.finish_update(SGD(0.0))
    Y, backprop = model.begin_update(IDS)
    backprop(d_first)
    numpy.testing.assert_allclose(model.get_grad("E"), first)


def test_gradient_check():
    model, _ = table_model(nV=6)
    model.set_param("E", numpy.random.default_rng(0).uniform(-1, 1, (6, 3)).astype("f"))
    check_gradients(model, IDS)


def test_seed_changes_rows():
    a = HashEmbed(nO=8, nV=1000, seed=1)
    b = HashEmbed(nO=8, nV=1000, seed=2)
    a.initialize()
    b.initialize()
    b.set_param("E", a.get_param("E"))
    assert not numpy.allclose(a.predict(IDS), b.predict(IDS))


def test_column_and_dropout():
    model, inner = table_model(column=1)
    assert model.name == "ints-getitem>>hashembed"
    assert model.attrs == {"column": 1} and inner.attrs["column"] == 1
    numpy.testing.assert_array_equal(
        model.predict(numpy.stack([IDS[::-1], IDS], axis=1)), table_model()[0].predict(IDS)
    )
    dropped = HashEmbed(nO=200, nV=4, seed=1, dropout=0.5)
    dropped.initialize()
    dropped.set_param("E", numpy.ones((4, 200), dtype="f") / 4)
    Y, _ = dropped.begin_update(IDS)
    assert (Y == Y[0]).all() and 40 < (Y[0] == 0).sum() < 160
    numpy.testing.assert_array_equal(dropped.predict(IDS), numpy.ones((4, 200)))


def test_empty_and_bad_input():
    model, _ = table_model()
    assert model.predict(numpy.zeros((0,), dtype="uint64")).shape == (0, 3)
    with pytest.raises(TypeError):
        model.predict(numpy.array([1.0], dtype="f"))
    with pytest.raises(ValueError, match="1d"):
        model.predict(numpy.array([[1, 2]], dtype="uint64"))


def test_bytes_and_config():
    model, _ = table_model()
    copy = HashEmbed(nO=3, nV=5).from_bytes(model.to_bytes())
    assert copy.attrs["seed"] == 7
    numpy.testing.assert_array_equal(copy.predict(IDS), model.predict(IDS))
    config = Config().from_str(
        '[model]\n@layers = "HashEmbed.v1"\nnO = 3\nnV = 7\nseed = 4\ncolumn = 0\n'
    )
    resolved = registry.resolve(config)["model"]
    assert resolved.name == "ints-getitem>>hashembed" and resolved.layers[1].attrs["seed"] == 4


def test_matches_thinc_8_3_on_its_weights():
    reference = run_reference(
        """
import numpy
from thinc.api import HashEmbed
model = HashEmbed(nO=6, nV=50, seed=12, column=0)
model.initialize()
ids = numpy.random.default_rng(2).integers(0, 2**63, (20, 2), dtype="uint64")
Y, backprop = model.begin_update(ids)
dY = numpy.random.default_rng(3).uniform(-1, 1, Y.shape).astype("f")
backprop(dY)
result = dict(bytes=model.to_bytes(), ids=ids, Y=Y, dY=dY, dE=model.layers[1].get_grad("E"))
"""
    )
    model = HashEmbed(nO=6, nV=50, seed=0, column=0).from_bytes(reference["bytes"])
    # Our bytes for the same weights are thinc's, byte for byte.
    assert model.to_bytes() == reference["bytes"]
    assert model.layers[1].attrs["seed"] == 12
    Y, backprop = model.begin_update(reference["ids"])
    numpy.testing.assert_allclose(Y, reference["Y"], rtol=1e-6, atol=1e-7)
    backprop(reference["dY"])
    numpy.testing.assert_allclose(
        model.layers[1].get_grad("E"), reference["dE"], rtol=1e-5, atol=1e-6
    )
