import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.config import Config, registry
from thinc.layers.linear import Linear
from thinc.layers.with_cpu import with_cpu
from thinc.types import Ragged

from ..util import check_gradients


def test_with_cpu_runs_layer():
    inner = Linear(3, 2)
    ops = NumpyOps()
    model = with_cpu(inner, ops)
    assert model.name == "with_cpu(linear)"
    assert model.ops is ops
    assert model.get_dim("nO") == 3 and model.get_dim("nI") == 2
    model.initialize()
    X = numpy.ones((2, 2), dtype="f")
    Y = model.predict(X)
    assert isinstance(Y, numpy.ndarray)
    numpy.testing.assert_allclose(Y, inner.predict(X))


def test_with_cpu_moves_containers():
    from thinc.layers.with_array import with_array

    model = with_cpu(with_array(Linear(3, 2)), NumpyOps()).initialize()
    X = numpy.ones((2, 2), dtype="f")
    Ys = model.predict([X, X[:1]])
    assert isinstance(Ys, list) and [Y.shape for Y in Ys] == [(2, 3), (1, 3)]


def test_with_cpu_ragged_passes_through():
    from thinc.layers.with_array import with_array

    model = with_cpu(with_array(Linear(3, 2)), NumpyOps()).initialize()
    Yr = model.predict(Ragged(numpy.ones((3, 2), dtype="f"), numpy.asarray([1, 2], dtype="i")))
    assert isinstance(Yr, Ragged) and Yr.dataXd.shape == (3, 3)


def test_with_cpu_gradients():
    model = with_cpu(Linear(3, 2), NumpyOps()).initialize()
    check_gradients(model, numpy.random.default_rng(0).uniform(-1, 1, (3, 2)).astype("f"))


def test_with_cpu_infers_dims():
    model = with_cpu(Linear(), NumpyOps())
    model.initialize(X=numpy.ones((2, 4), dtype="f"), Y=numpy.ones((2, 5), dtype="f"))
    assert model.layers[0].get_param("W").shape == (5, 4)


def test_with_cpu_serialization_round_trip():
    model = with_cpu(Linear(3, 2), NumpyOps()).initialize()
    other = with_cpu(Linear(3, 2), NumpyOps()).initialize().from_bytes(model.to_bytes())
    X = numpy.ones((1, 2), dtype="f")
    numpy.testing.assert_allclose(other.predict(X), model.predict(X))


def test_with_cpu_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "with_cpu.v1"

        [model.layer]
        @layers = "Linear.v1"
        nO = 3
        nI = 2

        [model.ops]
        @ops = "NumpyOps"
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "with_cpu(linear)"
    assert isinstance(model.ops, NumpyOps)


def test_with_cpu_bad_input():
    with pytest.raises(TypeError, match="Ops"):
        with_cpu(Linear(2, 2), "numpy")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="with_cpu"):
        with_cpu(None, NumpyOps())  # type: ignore[arg-type]
