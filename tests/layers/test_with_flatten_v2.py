import numpy
import pytest

from thinc.layers.linear import Linear
from thinc.layers.with_array import with_array
from thinc.layers.with_flatten_v2 import with_flatten_v2
from thinc.model import Model

from ..util import check_gradients
from ._sequences import resolve_wrapped_linear


def _upper() -> Model:
    def forward(model, Xs, is_train):
        return [x.upper() for x in Xs], lambda dYs: dYs

    return Model("upper", forward)


def test_with_flatten_v2_regroups_items():
    model = with_flatten_v2(_upper())
    assert model.name == "with_flatten(upper)"
    Ys, backprop = model.begin_update([["a", "b"], [], ["c"]])
    assert Ys == [["A", "B"], [], ["C"]]
    assert backprop([["x", "y"], [], ["z"]]) == [["x", "y"], [], ["z"]]


def _flat_output(model: Model) -> Model:
    """Test adapter: flatten the nested output so check_gradients can read it."""

    def forward(outer, X, is_train):
        Ys, backprop = model(X, is_train)
        lengths = [len(seq) for seq in Ys]

        def backprop_flat(dYs):
            nested, start = [], 0
            for length in lengths:
                nested.append(dYs[start : start + length])
                start += length
            return backprop(nested)

        return [y for seq in Ys for y in seq], backprop_flat

    return Model("flat_output", forward, layers=[model])


def test_with_flatten_v2_gradients():
    rng = numpy.random.default_rng(0)
    X = [[rng.uniform(-1, 1, (n, 2)).astype("f") for n in lengths] for lengths in ([2], [1, 3])]
    model = with_flatten_v2(with_array(Linear(3, 2).initialize()))
    check_gradients(
        _flat_output(model),
        X,
        to_array=lambda Y: numpy.concatenate(Y),
        input_arrays=lambda X: [x for seq in X for x in seq],
    )


def test_with_flatten_v2_init_and_serialization():
    model = with_flatten_v2(with_array(Linear()))
    X = [[numpy.ones((2, 4), dtype="f")], [numpy.ones((1, 4), dtype="f")]]
    Y = [[numpy.ones((2, 3), dtype="f")], [numpy.ones((1, 3), dtype="f")]]
    model.initialize(X=X, Y=Y)
    assert model.layers[0].layers[0].get_param("W").shape == (3, 4)
    other = with_flatten_v2(with_array(Linear(3, 4))).initialize().from_bytes(model.to_bytes())
    numpy.testing.assert_allclose(other.predict(X)[0][0], model.predict(X)[0][0])


def test_with_flatten_v2_from_config():
    model = resolve_wrapped_linear("with_flatten.v2", "with_array.v1")
    assert model.name == "with_flatten(with_array(linear))"


def test_with_flatten_v2_bad_input():
    model = with_flatten_v2(_upper())
    with pytest.raises(TypeError, match="with_flatten"):
        model.predict("ab")
    with pytest.raises(TypeError, match="with_flatten"):
        model.predict([["a"], 3])


@pytest.mark.ref
def test_with_flatten_v2_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "with_flatten_v2(with_array(Linear(3, 2)))",
        "[[numpy.ones((2, 2), dtype='f')], [numpy.linspace(0, 1, 6, dtype='f').reshape(3, 2), numpy.ones((1, 2), dtype='f')]]",
    )
