"""chain: names, dims, shape inference at initialize, composition of forward
and backward passes, config resolution and bytes."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.chain import chain, chain_no_types
from thinc.layers.dropout import Dropout
from thinc.layers.layernorm import LayerNorm
from thinc.layers.linear import Linear
from thinc.layers.noop import noop
from thinc.layers.relu import Relu
from thinc.layers.softmax import Softmax
from thinc.model import Model

from ..util import check_gradients

X = numpy.random.default_rng(0).normal(size=(5, 3)).astype("float32")
Y = numpy.zeros((5, 4), dtype="float32")


def tree(model) -> list:
    return [
        (node.name, {dim: node.maybe_get_dim(dim) for dim in node.dim_names})
        for node in model.walk()
    ]


def test_name_joins_member_names_and_nesting_is_kept():
    inner = chain(Linear(), Relu())
    model = chain(inner, Softmax())
    assert model.name == "linear>>relu>>softmax"
    assert model.layers[0] is inner
    assert [layer.name for layer in model.layers] == ["linear>>relu", "softmax"]


# Expected trees were read from thinc 8.3.14 for the same constructions.
CONSTRUCTION_CASES = [
    (lambda: chain(Linear(3, 2), Linear(5)), {"nO": 5, "nI": 2}),
    (lambda: chain(Linear(3), Dropout()), {"nO": None, "nI": None}),
    (lambda: chain(Dropout(), Linear(3, 2)), {"nO": 3}),
    (lambda: chain(Dropout(), Dropout()), {"nO": None}),
]


@pytest.mark.parametrize("make, dims", CONSTRUCTION_CASES)
def test_dims_at_construction_come_from_the_ends(make, dims):
    model = make()
    assert {dim: model.maybe_get_dim(dim) for dim in model.dim_names} == dims


def test_initialize_with_X_and_Y_sizes_every_unknown_dim():
    model = chain(Linear(), Relu(), Softmax())
    model.initialize(X=X, Y=Y)
    assert tree(model) == [
        ("linear>>relu>>softmax", {"nO": 4, "nI": 3}),
        ("linear", {"nO": 4, "nI": 3}),
        ("relu", {"nO": 4, "nI": 4}),
        ("softmax", {"nO": 4, "nI": 4}),
    ]


def test_initialize_flows_sample_input_through_known_widths():
    model = chain(Linear(7), Relu(2), Softmax())
    model.initialize(X=X, Y=Y)
    assert [dims for _, dims in tree(model)[1:]] == [
        {"nO": 7, "nI": 3},
        {"nO": 2, "nI": 7},
        {"nO": 4, "nI": 2},
    ]


def test_output_width_from_sample_when_last_layer_has_no_width():
    model = chain(Linear(3), Dropout())
    model.initialize(X=X)
    assert (model.get_dim("nI"), model.get_dim("nO")) == (3, 3)
    unsized = chain(Linear(4, 3), Dropout()).initialize()
    assert unsized.maybe_get_dim("nO") is None
    only_dropouts = chain(Dropout(), Dropout()).initialize(X=X)
    assert only_dropouts.get_dim("nO") == 3


def test_y_only_sizes_layers_with_unknown_output():
    model = chain(Linear(2), Linear(7))
    model.initialize(X=X, Y=numpy.zeros((5, 3), dtype="f"))
    assert model.get_dim("nO") == 7


def test_missing_dims_raise_at_initialize():
    with pytest.raises(ValueError):
        chain(Linear(), Relu(), Softmax()).initialize()
    with pytest.raises(ValueError):
        chain(Linear(), Relu(), Softmax()).initialize(X=X)


def test_conflicting_widths_raise_at_initialize():
    with pytest.raises(ValueError):
        chain(Linear(4, 3), Linear(2, 5)).initialize(X=X)


def test_forward_is_composition():
    first, second = Linear(4, 3), Relu(2, 4)
    model = chain(first, second).initialize()
    numpy.testing.assert_array_equal(model.predict(X), second.predict(first.predict(X)))


def test_backward_runs_layers_in_reverse():
    model = chain(Linear(4), Relu(4), Linear(2))
    model.initialize(X=X)
    rng = numpy.random.default_rng(1)
    for node in model.layers:
        node.set_param("b", rng.normal(size=(node.get_dim("nO"),)).astype("f"))
    check_gradients(model, X)


def test_chain_needs_two_layers_as_in_thinc_83():
    # thinc 8.3.14 raises TypeError for chain() and chain(layer), from Python
    # code and from a config's chain.v1 alike.
    with pytest.raises(TypeError):
        chain()
    with pytest.raises(TypeError):
        chain(Linear(2, 3))  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        chain_no_types(Linear(2, 3))
    assert chain_no_types(Linear(2, 3), Relu(2)).name == "linear>>relu"


def test_non_model_members_raise_type_error():
    with pytest.raises(TypeError, match="position 1"):
        chain(Linear(), "relu")
    with pytest.raises(TypeError):
        chain(Linear(), None, Relu())


def test_width_mismatch_at_forward_names_the_layer():
    model = chain(Linear(4, 3), Linear(2, 5)).initialize()
    with pytest.raises(ValueError) as error:
        model.predict(X)
    message = str(error.value)
    assert "linear" in message and "5" in message and "(5, 4)" in message


def test_dropout_members_follow_set_dropout_rate_and_training_flag():
    from thinc.model import set_dropout_rate

    model = chain(Relu(6, 3, dropout=0.0), Linear(2))
    model.initialize(X=X)
    set_dropout_rate(model, 0.5)
    assert model.layers[0].layers[1].attrs["dropout_rate"] == 0.5
    hidden = model.layers[0]
    numpy.testing.assert_array_equal(hidden.predict(X), hidden.layers[0].predict(X))
    trained, _ = hidden.begin_update(numpy.tile(X, (40, 1)))
    assert (trained == 0).mean() > (hidden.predict(numpy.tile(X, (40, 1))) == 0).mean()


def test_config_with_star_section_builds_nested_chain():
    config = Config().from_str(
        """
        [model]
        @layers = "chain.v1"

        [model.*.relu]
        @layers = "Relu.v1"
        nO = 8
        normalize = true

        [model.*.softmax]
        @layers = "Softmax.v1"
        nO = 4
        """
    )
    model = registry.resolve(config)["model"]
    assert isinstance(model, Model)
    assert model.name == "relu>>layernorm>>softmax"
    model.initialize(X=X, Y=Y)
    assert model.predict(X).shape == (5, 4)
    assert registry.layers.get("chain.v1") is chain_no_types


def test_serialization_round_trip():
    def make():
        return chain(Relu(6, dropout=0.1, normalize=True), LayerNorm(), noop(), Softmax(4))

    model = make()
    model.initialize(X=X, Y=Y)
    for node in model.walk():
        if node.has_param("b"):
            node.set_param("b", node.get_param("b") + 0.1)
    loaded = make().from_bytes(model.to_bytes())
    assert tree(loaded) == tree(model)
    numpy.testing.assert_array_equal(loaded.predict(X), model.predict(X))
