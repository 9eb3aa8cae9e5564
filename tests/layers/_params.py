"""Weight setup shared by the layer tests: replace a fresh dense model's W and b
with seeded uniform values, so outputs and gradients are not trivially zero."""

import numpy

from thinc.model import Model


def with_random_params(model: Model, seed: int = 1) -> Model:
    """Initialize ``model``, then draw W and then b (in that order, so values
    stay put for a given seed) uniformly from [-1, 1) in their own shapes."""
    model.initialize()
    rng = numpy.random.default_rng(seed)
    model.set_param("W", rng.uniform(-1, 1, model.get_param("W").shape).astype("f"))
    model.set_param("b", rng.uniform(-1, 1, model.get_param("b").shape).astype("f"))
    return model
