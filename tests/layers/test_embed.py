"""Tests for Embed ("Embed.v1"): row lookup, column selection, dropout over output
columns, gradients, bytes, config, bad ids and thinc 8.3.14 parity."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.embed import Embed
from thinc.layers.uniqued import uniqued

from ._oracle import run_reference


def table_model(**kwargs):
    model = Embed(nO=3, nV=4, **kwargs)
    model.initialize()
    inner = model.layers[-1] if model.layers else model
    inner.set_param("E", numpy.arange(12, dtype="f").reshape(4, 3))
    return model, inner


def test_names_dims_and_init():
    model = Embed(nO=5, nV=10)
    assert model.name == "embed" and list(model.param_names) == ["E"]
    assert list(model.dim_names) == ["nO", "nV"]
    assert model.attrs == {"column": None}
    model.initialize()
    E = model.get_param("E")
    assert E.shape == (10, 5) and abs(E).max() <= 0.1 and E.std() > 0.01
    assert Embed(nO=2, nV=3, dropout=0.5).attrs == {"dropout_rate": 0.5, "column": None}


def test_nO_inferred_from_Y():
    model = Embed(nV=4)
    model.initialize(X=numpy.array([1, 2], dtype="uint64"), Y=numpy.zeros((2, 6), dtype="f"))
    assert model.get_param("E").shape == (4, 6)


def test_lookup_and_gradient():
    model, _ = table_model()
    ids = numpy.array([0, 3, 1, 3], dtype="uint64")
    Y, backprop = model.begin_update(ids)
    numpy.testing.assert_array_equal(Y, [[0, 1, 2], [9, 10, 11], [3, 4, 5], [9, 10, 11]])
    dX = backprop(numpy.ones((4, 3), dtype="f"))
    assert dX.shape == ids.shape
    # Row 3 was used twice, row 2 never.
    numpy.testing.assert_array_equal(model.get_grad("E")[:, 0], [1, 1, 0, 2])


def test_column_selects_ids_through_ints_getitem():
    model, inner = table_model(column=1)
    assert model.name == "ints-getitem>>embed"
    assert model.attrs["column"] == 1 and "column" not in inner.attrs
    ids = numpy.array([[3, 0], [0, 2]], dtype="uint64")
    numpy.testing.assert_array_equal(model.predict(ids), [[0, 1, 2], [6, 7, 8]])


def test_dropout_zeroes_whole_columns_in_training_only():
    model = Embed(nO=200, nV=4, dropout=0.5)
    model.initialize()
    model.set_param("E", numpy.ones((4, 200), dtype="f"))
    ids = numpy.array([0, 1, 2, 3], dtype="uint64")
    Y, backprop = model.begin_update(ids)
    # The same columns are dropped for every row; survivors are scaled by 2.
    assert (Y == Y[0]).all()
    assert set(numpy.unique(Y)) <= {0.0, 2.0} and 40 < (Y[0] == 0).sum() < 160
    backprop(numpy.ones_like(Y))
    numpy.testing.assert_array_equal(model.get_grad("E")[0], Y[0])
    numpy.testing.assert_array_equal(model.predict(ids), numpy.ones((4, 200)))


def test_empty_input():
    model, _ = table_model()
    assert model.predict(numpy.zeros((0,), dtype="uint64")).shape == (0, 3)


def test_no_columns_with_2d_ids():
    # nO = 0: the gradient's reshape cannot infer -1 beside a zero width.
    model = Embed(0, 10).initialize()
    ids = numpy.zeros((3, 2), dtype="i")
    Y, backprop = model.begin_update(ids)
    assert Y.shape == (3, 2, 0)
    backprop(Y)
    assert model.get_grad("E").shape == (10, 0)


def test_bad_ids():
    model, _ = table_model()
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        model.predict(numpy.array([1, 4], dtype="uint64"))
    with pytest.raises(IndexError):
        model.predict(numpy.array([-1], dtype="i"))
    with pytest.raises(TypeError):
        model.predict(numpy.array([1.0], dtype="f"))
    with pytest.raises(ValueError, match="1d"):
        model.predict(numpy.array(1, dtype="uint64"))


def test_2d_ids_without_column_index_the_table():
    # thinc 8.3.14: (n, k) ids give (n, k, nO), and every id's row gets its gradient.
    model, _ = table_model()
    ids = numpy.array([[1, 2], [2, 3]], dtype="uint64")
    E = model.get_param("E")
    Y, backprop = model.begin_update(ids)
    numpy.testing.assert_array_equal(Y, E[ids])
    assert backprop(numpy.ones_like(Y)).shape == ids.shape
    assert model.get_grad("E")[:, 0].tolist() == [0, 1, 2, 1]
    assert model.predict(numpy.zeros((0, 1), dtype="uint64")).shape == (0, 1, E.shape[1])


def test_uniqued_embed_column_on_empty_2d_ids():
    model = uniqued(Embed(3, 10, column=1), column=1).initialize()
    # thinc 8.3.14's column selector passes an empty batch through unchanged.
    assert model.predict(numpy.zeros((0, 2), dtype="uint64")).shape == (0, 2, 3)
    with pytest.raises(IndexError):
        model.predict(numpy.array([1, 2], dtype="uint64"))


def test_bytes_and_config():
    model, _ = table_model()
    copy = Embed(nO=3, nV=4).from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(copy.get_param("E"), model.get_param("E"))
    config = Config().from_str('[model]\n@layers = "Embed.v1"\nnO = 3\nnV = 7\ncolumn = 0\n')
    resolved = registry.resolve(config)["model"]
    assert resolved.name == "ints-getitem>>embed" and resolved.layers[1].get_dim("nV") == 7


def test_matches_thinc_8_3_on_its_weights():
    reference = run_reference(
        """
import numpy
from thinc.api import Embed
model = Embed(nO=4, nV=9, column=1)
model.initialize()
ids = numpy.array([[5, 8], [2, 0], [1, 8]], dtype="uint64")
result = dict(bytes=model.to_bytes(), ids=ids, Y=model.predict(ids))
"""
    )
    model = Embed(nO=4, nV=9, column=1).from_bytes(reference["bytes"])
    # Our bytes for the same weights are thinc's, byte for byte.
    assert model.to_bytes() == reference["bytes"]
    numpy.testing.assert_array_equal(model.predict(reference["ids"]), reference["Y"])
