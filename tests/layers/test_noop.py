"""noop: passes data and gradients through and keeps any layers it is given."""

import numpy

from thinc.config import Config, registry
from thinc.layers.chain import chain
from thinc.layers.linear import Linear
from thinc.layers.noop import noop


def test_identity_forward_and_backward():
    model = noop()
    assert model.name == "noop"
    X = numpy.arange(6, dtype="f").reshape(2, 3)
    Y, backprop = model.begin_update(X)
    assert Y is X
    dY = X * 2
    assert backprop(dY) is dY
    assert model.predict(["any", "object"]) == ["any", "object"]


def test_keeps_layers_without_using_them():
    inner = Linear(2, 3)
    model = noop(inner)
    assert model.layers == [inner]
    model.initialize()
    assert model.predict("unchanged") == "unchanged"
    # As in thinc 8.3.14, noop has no init of its own, so its layers stay unset.
    assert inner.has_param("W") is None


def test_in_a_chain_passes_widths_through():
    model = chain(Linear(2), noop())
    model.initialize(X=numpy.zeros((4, 3), dtype="f"))
    assert (model.get_dim("nI"), model.get_dim("nO")) == (3, 2)


def test_resolves_from_config_with_layers():
    config = Config().from_str(
        """
        [model]
        @layers = "noop.v1"

        [model.*.linear]
        @layers = "Linear.v1"
        nO = 2
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "noop"
    assert [layer.name for layer in model.layers] == ["linear"]
    assert registry.layers.get("noop.v1") is noop
