import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.linear import Linear
from thinc.layers.uniqued import uniqued
from thinc.model import Model

from ..util import check_gradients


def _counting_linear():
    inner = Linear(2, 2).initialize()
    seen = []

    def forward(model, X, is_train):
        seen.append(len(X))
        return inner(X, is_train)

    return Model("counting", forward, layers=[inner]), inner, seen


def test_uniqued_runs_once_per_key():
    model, inner, seen = _counting_linear()
    wrapped = uniqued(model, column=0)
    assert wrapped.name == "uniqued(counting)"
    assert wrapped.attrs == {"column": 0}
    X = numpy.asarray([[1, 0], [2, 5], [1, 0], [1, 0]], dtype="f")
    Y = wrapped.predict(X)
    assert seen == [2]
    numpy.testing.assert_allclose(Y, inner.predict(X), rtol=1e-6)


def test_uniqued_gradient_matches_reference():
    # thinc 8.3.14 divides each key's gradient by the key's count, so rows
    # sharing a key all receive the plain layer's per-row gradient.
    inner = Linear(2, 2).initialize()
    model = uniqued(inner, column=0)
    X = numpy.asarray([[1, 0], [2, 5], [1, 0], [1, 0]], dtype="f")
    dY = numpy.ones((4, 2), dtype="f")
    _, backprop = model.begin_update(X)
    dX = backprop(dY)
    _, backprop_inner = inner.begin_update(X)
    numpy.testing.assert_allclose(dX, backprop_inner(dY), rtol=1e-5)


def test_uniqued_gradients_with_distinct_keys():
    model = uniqued(Linear(2, 3).initialize(), column=1)
    X = numpy.random.default_rng(0).uniform(-1, 1, (4, 3)).astype("f")
    check_gradients(model, X)


def test_uniqued_small_input_passes_through():
    model = uniqued(Linear(2, 1).initialize())
    Y = model.predict(numpy.ones((1, 1), dtype="f"))
    assert Y.shape == (1, 2)


def test_uniqued_infers_dims_and_serializes():
    model = uniqued(Linear())
    model.initialize(X=numpy.ones((4, 2), dtype="f"), Y=numpy.ones((4, 3), dtype="f"))
    assert model.get_dim("nI") == 2 and model.get_dim("nO") == 3
    other = uniqued(Linear(3, 2)).initialize().from_bytes(model.to_bytes())
    X = numpy.asarray([[1, 2], [3, 4]], dtype="f")
    numpy.testing.assert_allclose(other.predict(X), model.predict(X))


def test_uniqued_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "uniqued.v1"
        column = 1

        [model.layer]
        @layers = "Linear.v1"
        nO = 2
        nI = 2
        """
    )
    model = registry.resolve(config)["model"]
    assert model.attrs["column"] == 1


def test_uniqued_bad_input():
    model = uniqued(Linear(2, 2).initialize(), column=3)
    with pytest.raises(IndexError, match="column"):
        model.predict(numpy.ones((3, 2), dtype="f"))
    # IndexError, as thinc 8.3.14's column selection raises.
    with pytest.raises(IndexError, match="uniqued"):
        model.predict(numpy.ones((3,), dtype="f"))
    with pytest.raises(TypeError, match="uniqued"):
        model.predict([[1.0, 2.0]])


@pytest.mark.ref
def test_uniqued_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "uniqued(Linear(3, 2), column=0)",
        "numpy.asarray([[1, 0], [2, 5], [1, 0], [1, 0]], dtype='f')",
    )
