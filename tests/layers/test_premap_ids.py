"""Tests for premap_ids ("premap_ids.v1"): table lookups with a default, column
selection, int32 (N, 1) output, validation, config and thinc 8.3.14 parity."""

import numpy
import pytest
from preshed.maps import PreshMap

from thinc.config import Config, registry
from thinc.layers.premap_ids import premap_ids

from ._oracle import run_reference


def test_lookup_with_default():
    model = premap_ids({1: 2, 3: 4, 0: 9}, default=7)
    assert model.name == "premap_ids"
    assert model.attrs["default"] == 7 and model.attrs["column"] is None
    assert isinstance(model.attrs["mapping_table"], PreshMap)
    Y, backprop = model.begin_update(numpy.array([1, 3, 5, 0, 2**40], dtype="int64"))
    assert Y.dtype == numpy.int32 and Y.shape == (5, 1)
    numpy.testing.assert_array_equal(Y[:, 0], [2, 4, 7, 9, 7])
    assert not backprop(Y).any()


def test_column_and_other_integer_dtypes():
    model = premap_ids({1: 2, 3: 4}, default=7, column=1)
    X = numpy.array([[1, 3], [3, 5]], dtype="uint64")
    numpy.testing.assert_array_equal(model.predict(X), [[4], [7]])
    numpy.testing.assert_array_equal(model.predict(X.astype("int32")), [[4], [7]])


def test_empty_input():
    assert premap_ids({1: 2}).predict(numpy.zeros((0,), dtype="int64")).shape == (0, 1)


def test_bad_tables_and_inputs():
    with pytest.raises(ValueError, match="keys"):
        premap_ids({"1": 2})
    with pytest.raises(ValueError, match="value"):
        premap_ids({1: "2"})
    with pytest.raises(ValueError, match="value"):
        premap_ids({1: 2**40})
    with pytest.raises(ValueError, match="default"):
        premap_ids({1: 2}, default=-1)
    model = premap_ids({1: 2})
    with pytest.raises(TypeError):
        model.predict(numpy.array([1.0]))
    with pytest.raises(ValueError, match="negative"):
        model.predict(numpy.array([-1], dtype="int64"))
    with pytest.raises(ValueError, match="1d"):
        model.predict(numpy.array([[1, 2]], dtype="int64"))
    with pytest.raises(IndexError, match="column 3"):
        premap_ids({1: 2}, column=3).predict(numpy.array([[1, 2]], dtype="int64"))


def test_config_and_bytes():
    config = Config().from_str(
        '[model]\n@layers = "premap_ids.v1"\ndefault = 5\ncolumn = 0\n\n[model.mapping_table]\n'
    )
    config["model"]["mapping_table"] = {1: 10, 2: 20}
    model = registry.resolve(config)["model"]
    numpy.testing.assert_array_equal(
        model.predict(numpy.array([[2], [3]], dtype="int64")), [[20], [5]]
    )
    # The table is no part of the bytes (as in thinc); default and column are.
    copy = premap_ids({1: 10, 2: 20}, default=0).from_bytes(model.to_bytes())
    assert copy.attrs["default"] == 5 and copy.attrs["column"] == 0


def test_matches_thinc_8_3():
    reference = run_reference(
        """
import numpy
from thinc.api import premap_ids
table = {int(k): int(v) for k, v in zip(range(0, 200, 3), range(1000, 1067))}
model = premap_ids(table, default=42)
ids = numpy.arange(0, 260, dtype="int64")
result = dict(bytes=model.to_bytes(), Y=model.predict(ids), table=table, ids=ids)
"""
    )
    model = premap_ids(reference["table"], default=0).from_bytes(reference["bytes"])
    # Our bytes for the same weights are thinc's, byte for byte.
    assert model.to_bytes() == reference["bytes"]
    Y = model.predict(reference["ids"])
    assert Y.dtype == reference["Y"].dtype
    numpy.testing.assert_array_equal(Y, reference["Y"])
