import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.add import add
from thinc.layers.linear import Linear
from thinc.layers.noop import noop
from thinc.model import Model

from ..util import check_gradients
from ._params import with_random_params


def _linear(nO: int, nI: int, seed: int) -> Linear:
    return with_random_params(Linear(nO, nI), seed)


def _expected(layers, X):
    return sum(X @ layer.get_param("W").T + layer.get_param("b") for layer in layers)


def test_add_sums_children_outputs():
    layers = [_linear(3, 2, seed) for seed in range(3)]
    model = add(*layers)
    X = numpy.asarray([[1.0, 2.0], [-1.0, 0.5]], dtype="f")
    Y = model.predict(X)
    numpy.testing.assert_allclose(Y, _expected(layers, X), rtol=1e-5)
    assert model.name == "add"
    assert len(model.layers) == 3


def test_add_does_not_clobber_first_child_output():
    first = _linear(2, 2, 0)
    model = add(first, _linear(2, 2, 1))
    X = numpy.ones((2, 2), dtype="f")
    Y_first = first.predict(X)
    Y = model.predict(X)
    assert not numpy.allclose(Y, Y_first)
    numpy.testing.assert_allclose(first.predict(X), Y_first)


def test_add_flattens_only_leading_add():
    a, b, c = _linear(2, 2, 0), _linear(2, 2, 1), _linear(2, 2, 2)
    left = add(add(a, b), c)
    assert [layer.name for layer in left.layers] == ["linear"] * 3
    right = add(a, add(b, c))
    assert [layer.name for layer in right.layers] == ["linear", "add"]


def test_add_gradients():
    model = add(_linear(3, 2, 0), _linear(3, 2, 1))
    X = numpy.random.default_rng(0).uniform(-1, 1, (4, 2)).astype("f")
    check_gradients(model, X)


def test_add_infers_dims():
    model = add(Linear(), Linear())
    assert model.maybe_get_dim("nO") is None and model.maybe_get_dim("nI") is None
    model.initialize(X=numpy.ones((4, 2), dtype="f"), Y=numpy.ones((4, 3), dtype="f"))
    assert model.get_dim("nI") == 2 and model.get_dim("nO") == 3
    for layer in model.layers:
        assert layer.get_dim("nI") == 2 and layer.get_dim("nO") == 3
        assert layer.get_param("W").shape == (3, 2)


def test_add_serialization_round_trip():
    model = add(_linear(3, 2, 0), _linear(3, 2, 1))
    other = add(Linear(3, 2), Linear(3, 2)).initialize()
    other.from_bytes(model.to_bytes())
    X = numpy.ones((2, 2), dtype="f")
    numpy.testing.assert_allclose(other.predict(X), model.predict(X))


def test_add_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "add.v1"

        [model.layer1]
        @layers = "Linear.v1"
        nO = 3
        nI = 2

        [model.layer2]
        @layers = "Linear.v1"
        nO = 3
        nI = 2

        # Like thinc 8.3.14, the *layers argument needs a (here empty) section.
        [model.*]
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "add"
    assert [layer.get_dim("nO") for layer in model.layers] == [3, 3]
    assert registry.layers.get("add.v1") is add


def test_add_bad_input():
    with pytest.raises(TypeError, match="add"):
        add(Linear(2, 2), "not a model")  # type: ignore[arg-type]
    model = add(_linear(3, 2, 0), _linear(4, 2, 1))
    with pytest.raises(ValueError, match="add"):
        model.predict(numpy.ones((2, 2), dtype="f"))


@pytest.mark.ref
def test_add_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "add(Linear(3, 2), Relu(3, 2), Linear(3, 2))",
        "numpy.linspace(-1, 1, 8, dtype='f').reshape(4, 2)",
    )


@pytest.mark.ref
def test_add_without_nI_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference("add(Linear(2, 2), noop())", "numpy.ones((3, 2), dtype='f')")


def test_add_without_children_is_identity():
    model = add(Linear(), Linear())
    model.layers.clear()
    X = numpy.asarray([[1, 2, 3, 4]], dtype="f")
    Y, backprop = model(X, is_train=True)
    assert Y is X
    assert backprop(Y) is Y


def _identity_forward(model, X, is_train):
    return X, lambda dY: dY


def _bare(**dims) -> Model:
    return Model("bare", _identity_forward, dims=dims)


# Expected dim names are what thinc 8.3.14 declares for the same children.
@pytest.mark.parametrize(
    "make_children,expected",
    [
        (lambda: [Linear(2), Linear(2)], ("nO", "nI")),
        (lambda: [Linear(2), noop()], ("nO",)),
        (lambda: [noop(), Linear(2)], ("nO",)),
        (lambda: [Linear(2), Linear(2), noop()], ("nO",)),
        (lambda: [Linear(2), _bare(nO=None)], ("nO",)),
        (lambda: [Linear(2, 3), _bare(nI=3)], ("nO", "nI")),
        (lambda: [_bare(), _bare()], ("nO",)),
    ],
)
def test_add_declares_nI_only_when_every_child_does(make_children, expected):
    model = add(*make_children())
    assert tuple(model.dim_names) == expected
    assert all(model.maybe_get_dim(name) is None for name in expected)


def test_add_merging_into_add_keeps_its_dims():
    assert tuple(add(add(Linear(2), noop()), Linear(2)).dim_names) == ("nO",)
    assert tuple(add(add(Linear(2), Linear(2)), noop()).dim_names) == ("nO", "nI")


def test_add_with_child_lacking_nI_initializes_from_sample():
    first = Linear(2)
    model = add(first, noop())
    X = numpy.zeros((4, 2), dtype="f")
    model.initialize(X=X)
    assert not model.has_dim("nI")
    assert model.get_dim("nO") == 2
    assert first.get_dim("nI") == 2
    numpy.testing.assert_allclose(model.predict(X + 1.0), first.predict(X + 1.0) + X + 1.0)
