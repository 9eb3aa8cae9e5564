"""Every weight layer built from a config dict, initialized on sample data with
data validation on, run forward and backward, then predicting without dropout."""

import numpy
import pytest
import srsly

from thinc.backends import NumpyOps
from thinc.config import registry
from thinc.layers import with_padded
from thinc.types import Ragged
from thinc.util import data_validation, get_width

FLOATS = numpy.asarray([[4, 2, 3, 4], [1, 5, 3, 1], [9, 8, 5, 7]], dtype="f")
INTS_1D = numpy.asarray([1, 2, 3], dtype="i")
INTS_2D = numpy.asarray([[1, 2, 3], [4, 5, 6]], dtype="i")
RAGGED = Ragged(FLOATS, numpy.asarray([2, 1], dtype="i"))
SPARSE = (
    numpy.asarray([1, 2, 3], dtype="uint64"),
    numpy.asarray([1, 2, 3], dtype="f"),
    numpy.asarray([1, 1], dtype="i"),
)

DENSE = [
    "Dish.v1", "Gelu.v1", "HardSwish.v1", "HardSwishMobilenet.v1", "Mish.v1", "Swish.v1",
    "ClippedLinear.v1", "HardSigmoid.v1", "HardTanh.v1", "ReluK.v1", "Sigmoid.v1", "Maxout.v1",
]  # fmt: skip
CASES = [
    *[(name, {}, FLOATS, FLOATS) for name in DENSE],
    *[(name, {"nO": 4, "nI": 4}, FLOATS, FLOATS) for name in DENSE],
    *[
        (name, {"normalize": True, "dropout": 0.2}, FLOATS, FLOATS)
        for name in DENSE
        if name != "Sigmoid.v1"
    ],
    ("Logistic.v1", {}, FLOATS, FLOATS),
    ("MultiSoftmax.v1", {"nOs": (1, 3)}, FLOATS, FLOATS),
    ("LSTM.v1", {"bi": False}, [FLOATS, FLOATS[:2]], [FLOATS, FLOATS[:2]]),
    ("LSTM.v1", {"bi": True, "depth": 2}, [FLOATS, FLOATS[:2]], [FLOATS, FLOATS[:2]]),
    ("Embed.v1", {"nO": 4, "nV": 4}, INTS_1D, FLOATS),
    ("Embed.v1", {"nO": 4, "nV": 7, "column": 0, "dropout": 0.2}, INTS_2D, FLOATS),
    ("HashEmbed.v1", {"nO": 1, "nV": 2}, INTS_1D, FLOATS),
    ("HashEmbed.v1", {"nO": 1, "nV": 6, "column": 0, "dropout": 0.2}, INTS_2D, FLOATS),
    ("ParametricAttention.v1", {}, RAGGED, RAGGED),
    ("ParametricAttention.v2", {}, RAGGED, RAGGED),
    ("ParametricAttention.v2", {"key_transform": {"@layers": "Gelu.v1"}}, RAGGED, RAGGED),
    ("SparseLinear.v1", {}, SPARSE, FLOATS),
    ("SparseLinear.v2", {}, SPARSE, FLOATS),
    (
        "premap_ids.v1",
        {"mapping_table": {}, "column": 1},
        numpy.array([[1, 2, 3], [4, 5, 6]]).T,
        INTS_2D,
    ),
]


class PredictOnlyOps(NumpyOps):
    """Fails if a layer asks for a real dropout mask while predicting."""

    def get_dropout_mask(self, shape, drop):
        if drop is None or drop <= 0:
            return self.xp.ones(shape, dtype="f")
        raise ValueError("dropout was applied during prediction")


def same_kind(value, like) -> bool:
    if isinstance(like, (list, tuple)):
        return isinstance(value, (list, tuple)) and all(
            isinstance(item, numpy.ndarray) for item in value
        )
    if isinstance(like, Ragged):
        return isinstance(value, Ragged) and value.data.ndim == like.data.ndim
    return isinstance(value, numpy.ndarray) and value.ndim == like.ndim


@pytest.mark.parametrize("name,kwargs,X,Y", CASES)
def test_layer_from_config_round_trip(name, kwargs, X, Y):
    config = {"@layers": name, **kwargs}
    assert srsly.is_json_serializable(registry.fill({"config": config}))
    model = registry.resolve({"config": config})["config"]
    if name == "LSTM.v1":
        model = with_padded(model)
    with data_validation(True):
        model.initialize(X, Y)
        output, backprop = model(X, is_train=True)
        if model.has_dim("nO"):
            assert get_width(output) == model.get_dim("nO")
        assert same_kind(output, Y)
        assert same_kind(backprop(output), X)
        model._to_ops(PredictOnlyOps())
        model.predict(X)
