"""Checks and adapters that the sequence tests (with_list, with_padded, with_ragged,
with_flatten, with_array, list2padded...) share: gradients on lists and Ragged, configs."""

from typing import Callable, Sequence

import numpy

from thinc.config import Config, registry
from thinc.layers.linear import Linear
from thinc.model import Model
from thinc.types import Padded, Ragged

from ..util import check_gradients


def check_list_gradients(model: Model, seqs: Sequence[numpy.ndarray]) -> None:
    """Finite-difference check of ``model`` on a list of 2d arrays."""
    check_gradients(
        model,
        list(seqs),
        to_array=lambda Y: numpy.concatenate(Y),
        input_arrays=lambda X: list(X),
    )


def check_ragged_gradients(model: Model, data: numpy.ndarray, lengths: Sequence[int]) -> None:
    """Finite-difference check of ``model`` on ``data`` split into a Ragged by ``lengths``."""
    check_gradients(
        model,
        Ragged(data, numpy.asarray(lengths, dtype="i")),
        to_array=lambda Y: Y.dataXd,
        input_arrays=lambda X: [X.dataXd],
    )


def resolve_wrapped_linear(outer: str, inner: str) -> Model:
    """Resolve the config ``outer(inner(Linear(2, 2)))``, each given by registry name."""
    config = Config().from_str(
        f"""
        [model]
        @layers = "{outer}"

        [model.layer]
        @layers = "{inner}"

        [model.layer.layer]
        @layers = "Linear.v1"
        nO = 2
        nI = 2
        """
    )
    return registry.resolve(config)["model"]


def check_infers_dims_and_serializes(wrap: Callable[[Model], Model]) -> None:
    """``wrap(linear)`` takes nI = 4 and nO = 3 from lists of arrays, and its bytes
    load into a fresh wrapper that then predicts the same."""
    model = wrap(Linear())
    X = [numpy.ones((2, 4), dtype="f"), numpy.ones((1, 4), dtype="f")]
    Y = [numpy.ones((2, 3), dtype="f"), numpy.ones((1, 3), dtype="f")]
    model.initialize(X=X, Y=Y)
    assert model.layers[0].layers[0].get_param("W").shape == (3, 4)
    other = wrap(Linear(3, 4)).initialize().from_bytes(model.to_bytes())
    numpy.testing.assert_allclose(other.predict(X)[0], model.predict(X)[0])


def padded_data() -> Model:
    """Test adapter: expose a Padded output's data array to check_gradients."""

    def forward(model, Xp, is_train):
        def backprop(dY):
            return Padded(dY, Xp.size_at_t, Xp.lengths, Xp.indices)

        return Xp.data, backprop

    return Model("padded_data", forward)
