"""What the differential cases share: float inputs, params set alike on both
sides, and a forward and backward pass."""

import copy
from typing import Any


def floats(np: Any, *shape: int, seed: int = 0) -> Any:
    return np.random.RandomState(seed).uniform(-2, 2, shape).astype("float32")


def fill_params(model: Any) -> Any:
    """Every param set to the same values on both sides, so outputs compare."""
    import numpy

    for position, node in enumerate(model.walk()):
        for name in node.param_names:
            if node.has_param(name):
                shape = node.get_param(name).shape
                values = numpy.random.RandomState(position).uniform(-0.5, 0.5, shape)
                node.set_param(name, values.astype("float32"))
    return model


def forward_backward(model: Any, X: Any, sample: Any = None, Y_sample: Any = None) -> Any:
    """Initialize on ``sample`` (default X) and ``Y_sample``, then the output and
    dX for dY = Y."""
    model.initialize(X=X if sample is None else sample, Y=Y_sample)
    fill_params(model)
    Y, backprop = model.begin_update(X)
    # A copy: some backprops scale their gradient in place.
    return Y, backprop(copy.deepcopy(Y))
