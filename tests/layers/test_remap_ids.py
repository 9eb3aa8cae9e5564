import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.remap_ids import remap_ids, remap_ids_v2


def test_remap_ids_v1_maps_with_default():
    model = remap_ids({"a": 1, "b": 2}, default=7)
    assert model.name == "remap_ids"
    assert model.attrs == {"mapping_table": {"a": 1, "b": 2}, "dtype": "i", "default": 7}
    Y, backprop = model.begin_update(["a", "b", "z"])
    assert Y.tolist() == [[1], [2], [7]]
    assert Y.dtype == numpy.int32
    assert backprop(Y) == []


def test_remap_ids_v1_dtype_and_empty():
    Y = remap_ids({"a": 1}, dtype="int64").predict(["a", "q"])
    assert Y.dtype == numpy.int64 and Y.tolist() == [[1], [0]]
    assert remap_ids({"a": 1}).predict([]).shape == (0, 1)


def test_remap_ids_v2_inputs():
    model = remap_ids_v2({1: 5, 2: 6}, default=9)
    assert model.attrs == {"mapping_table": {1: 5, 2: 6}, "default": 9, "column": None}
    assert model.predict(numpy.asarray([1, 2, 3])).tolist() == [[5], [6], [9]]
    assert model.predict([1, 2, 3]).tolist() == [[5], [6], [9]]
    assert model.predict([1, 2, 3]).dtype == numpy.int32
    column = remap_ids_v2({1: 5, 2: 6}, default=9, column=1)
    X = numpy.asarray([[0, 1], [0, 2], [1, 3]], dtype="uint64")
    assert column.predict(X).tolist() == [[5], [6], [9]]
    # As in thinc 8.3.14: an array input gets a float64 "gradient" shaped like dY.
    Y, backprop = column.begin_update(X)
    dX = backprop(Y)
    assert dX.shape == (3, 1) and dX.dtype == numpy.float64 and not dX.any()
    assert model.begin_update([1, 2])[1](Y[:2]) == []
    strings = remap_ids_v2({"x": 5}, default=9)
    assert strings.predict(["x", "y"]).tolist() == [[5], [9]]


def test_remap_ids_serialization_keeps_table():
    model = remap_ids({"a": 1, "b": 2}, default=7)
    other = remap_ids().from_bytes(model.to_bytes())
    assert other.attrs["mapping_table"] == {"a": 1, "b": 2}
    assert other.attrs["default"] == 7
    assert other.predict(["b", "c"]).tolist() == [[2], [7]]
    model = remap_ids_v2({3: 4}, default=1, column=0)
    other = remap_ids_v2().from_bytes(model.to_bytes())
    assert other.attrs["mapping_table"] == {3: 4}
    assert other.attrs["column"] == 0


def test_remap_ids_from_config():
    config = Config().from_str(
        """
        [v1]
        @layers = "remap_ids.v1"
        default = 3

        [v1.mapping_table]
        a = 1

        [v2]
        @layers = "remap_ids.v2"
        column = 0
        """
    )
    resolved = registry.resolve(config)
    assert resolved["v1"].predict(["a", "b"]).tolist() == [[1], [3]]
    assert resolved["v2"].attrs["column"] == 0


def test_remap_ids_bad_input():
    with pytest.raises(ValueError, match="mapping table"):
        remap_ids_v2().predict([1, 2])
    # The exception types are thinc 8.3.14's.
    with pytest.raises(IndexError, match="column"):
        remap_ids_v2({1: 2}, column=1).predict(numpy.asarray([1, 2]))
    with pytest.raises(TypeError, match="column"):
        remap_ids_v2({1: 2}).predict(numpy.asarray([[1, 2]]))
    assert remap_ids_v2({1: 2}).predict(numpy.zeros((0, 2), "uint64")).shape == (0, 1)
    with pytest.raises(IndexError, match="column"):
        remap_ids_v2({1: 2}, column=5).predict(numpy.asarray([[1, 2]]))
    with pytest.raises(TypeError, match="remap_ids"):
        remap_ids({"a": 1}).predict(5)


@pytest.mark.ref
def test_remap_ids_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "remap_ids({'a': 1, 'b': 2}, default=7)", "['a', 'b', 'z']", reader="remap_ids()"
    )
