"""``uniqued``: run a layer once per distinct key instead of once per row, then
copy the results back out; saves work when many rows repeat (e.g. word ids)."""

from typing import Any, Callable, Optional, Tuple, cast

import numpy

from ..config import registry
from ..model import Model
from ..types import Floats2d, Ints2d
from ..util import is_xp_array, to_numpy


@registry.layers("uniqued.v1")
def uniqued(layer: Model, *, column: int = 0) -> Model[Ints2d, Floats2d]:
    """Group the rows of X by the value in ``column`` and run ``layer`` on one
    row per group. Each row's gradient is its group's, divided by the group size."""
    if not isinstance(layer, Model):
        raise TypeError(f"uniqued expects a Model, got {type(layer).__name__}")
    return Model(
        f"uniqued({layer.name})",
        forward,
        init=init,
        layers=[layer],
        dims={"nO": None, "nI": None},
        attrs={"column": column},
    )


def forward(model: Model[Ints2d, Floats2d], X: Ints2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    column = model.attrs["column"]
    layer = model.layers[0]
    if not is_xp_array(X):
        raise TypeError(f"uniqued expects a 2d array, got {type(X).__name__}")
    if X.ndim != 2:
        # IndexError as in thinc 8.3, where selecting the column fails.
        raise IndexError(f"uniqued expects a 2d array, got shape {tuple(X.shape)}")
    if X.size < 2:
        return layer(X, is_train=is_train)
    if not -X.shape[1] <= column < X.shape[1]:
        raise IndexError(
            f"uniqued: column {column} out of range for input with {X.shape[1]} columns"
        )
    keys = to_numpy(X[:, column])
    _, first_rows, inverse, counts = numpy.unique(
        keys, return_index=True, return_inverse=True, return_counts=True
    )
    inverse = inverse.reshape(-1)
    first_rows_xp = model.ops.asarray(cast(Any, first_rows))
    inverse_xp = model.ops.asarray1i(cast(Any, inverse))
    X_unique = X[first_rows_xp]
    Y_unique, backprop_unique = layer(X_unique, is_train=is_train)
    Y = Y_unique[inverse_xp]
    unique_shape = tuple(Y_unique.shape)

    def backprop(dY: Any) -> Any:
        if tuple(dY.shape) != tuple(Y.shape):
            raise ValueError(
                f"uniqued: gradient shape {tuple(dY.shape)} differs from output shape {tuple(Y.shape)}"
            )
        dY_unique = model.ops.alloc(unique_shape, dtype=dY.dtype)
        model.ops.scatter_add(dY_unique, inverse_xp, dY)
        d_unique = backprop_unique(dY_unique)
        if not is_xp_array(d_unique) or len(d_unique) != len(counts):
            return d_unique
        # Rows sharing a key share the gradient of their single computation.
        group_sizes = model.ops.asarray(cast(Any, counts)).reshape(
            (-1,) + (1,) * (d_unique.ndim - 1)
        )
        return (d_unique / group_sizes)[inverse_xp]

    return Y, backprop


def init(
    model: Model[Ints2d, Floats2d], X: Optional[Ints2d] = None, Y: Optional[Floats2d] = None
) -> None:
    layer = model.layers[0]
    layer.initialize(X=X, Y=Y)
    if layer.has_dim("nI"):
        model.set_dim("nI", layer.get_dim("nI"))
    if layer.has_dim("nO"):
        model.set_dim("nO", layer.get_dim("nO"))
