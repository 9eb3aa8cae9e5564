"""Embed: a lookup table from integer ids in [0, nV) to nO-wide vectors.

Registered as "Embed.v1". With ``column`` it reads that column of a 2d id array."""

from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, Union, cast

from ..config import registry
from ..initializers import uniform_init
from ..model import Model, register_param_dims
from ..types import Floats1d, Floats2d, Ints1d, Ints2d
from .array_getitem import ints_getitem
from .chain import chain

InT = TypeVar("InT", bound=Union[Ints1d, Ints2d])


@registry.layers("Embed.v1")
def Embed(
    nO: Optional[int] = None,
    nV: Optional[int] = None,
    *,
    column: Optional[int] = None,
    initializer: Optional[Callable] = None,
    dropout: Optional[float] = None,
) -> Model[InT, Floats2d]:
    """Map each id to row ``id`` of the table E (shape (nV, nO)). Dropout, if
    given, zeroes whole output columns during training."""
    attrs: Dict[str, Any] = {}
    if dropout is not None:
        attrs["dropout_rate"] = dropout
    model: Model = Model(
        "embed",
        forward,
        init=partial(init, initializer or uniform_init),
        attrs=attrs,
        dims={"nO": nO, "nV": nV},
        params={"E": None},
    )
    return cast(Model[InT, Floats2d], select_column(model, column))


def forward(
    model: Model[Ints1d, Floats2d], ids: Ints1d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    E = cast(Floats2d, model.get_param("E"))
    nV, nO = E.shape
    ids = _check_ids(model, ids, nV)
    # Ids of any rank index the table as thinc 8.3 does: (n, k) ids give (n, k, nO).
    output = E[ids]
    mask = dropout_mask(model, nO, is_train)
    if mask is not None:
        output = output * mask
    if ids.ndim == 1:
        return output, table_backprop(model, E, [ids], ids, mask)
    flat_backprop = table_backprop(model, E, [ids.reshape(-1)], ids, mask)
    return output, lambda d_output: flat_backprop(d_output.reshape(ids.size, nO))


def init(
    initializer: Callable,
    model: Model[Ints1d, Floats2d],
    X: Optional[Ints1d] = None,
    Y: Optional[Floats2d] = None,
) -> None:
    if Y is not None and model.maybe_get_dim("nO") is None:
        model.set_dim("nO", Y.shape[1])
    shape = (model.get_dim("nV"), model.get_dim("nO"))
    model.set_param("E", initializer(model.ops, shape))


def select_column(model: Model, column: Optional[int]) -> Model:
    """Put a selector of ``column`` of a 2d id array in front of ``model`` if one
    is given; either way the returned node records it in attrs["column"]."""
    if column is not None:
        model = chain(ints_getitem((slice(0, None), column)), model)
    model.attrs["column"] = column
    return model


def table_backprop(
    model: Model,
    E: Floats2d,
    index_columns: Union[List[Ints1d], Callable[[], List[Ints1d]]],
    ids: Ints1d,
    mask: Optional[Floats1d],
) -> Callable[[Floats2d], Ints1d]:
    """The backprop of an output whose row i summed the rows ``column[i]`` of
    the table E, one for each index column: it adds d_output (masked as the
    output was) into those rows of dE. Ids have no gradient: zeros come back.
    ``index_columns`` may be a function that makes the columns when first needed."""

    def backprop(d_output: Floats2d) -> Ints1d:
        if mask is not None:
            d_output = d_output * mask
        # Once the gradient exists, add the rows into it directly rather than
        # building a whole zeroed table per batch (tables have ~10^5 rows).
        # A parameter proxy (distributed training) must see every increment.
        in_place = model.has_grad("E") and model._params.proxy is None
        dE = model.get_grad("E") if in_place else model.ops.alloc2f(*E.shape, dtype=E.dtype)
        for rows in index_columns() if callable(index_columns) else index_columns:
            model.ops.scatter_add(dE, rows, d_output)
        if not in_place:
            model.inc_grad("E", dE)
        return model.ops.alloc(ids.shape, dtype=ids.dtype)

    return backprop


def check_id_array(model: Model, ids: Any, any_rank: bool = False) -> None:
    """Raise unless ids is an integer array (1d unless ``any_rank``), naming
    ``model`` in the message."""
    dtype = getattr(ids, "dtype", None)
    if dtype is None or dtype.kind not in "iu":
        raise TypeError(
            f"{model.name} expects an integer id array, got {dtype or type(ids).__name__}"
        )
    if ids.ndim == 0 or (ids.ndim != 1 and not any_rank):
        raise ValueError(
            f"{model.name} expects a 1d id array (or pass column=...), got shape {ids.shape}"
        )


def _check_ids(model: Model, ids: Ints1d, nV: int) -> Ints1d:
    check_id_array(model, ids, any_rank=True)
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= nV):
        raise IndexError(
            f"embed ids must lie in [0, {nV}), got values from {int(ids.min())} to {int(ids.max())}"
        )
    return ids


def dropout_mask(model: Model, nO: int, is_train: bool) -> Optional[Floats1d]:
    """A mask over the nO output columns while training with a dropout rate, else None."""
    rate = model.attrs.get("dropout_rate")
    if not is_train or not rate:
        return None
    return cast(Floats1d, model.ops.get_dropout_mask((nO,), rate))


register_param_dims(init, {"E": ("nV", "nO")})
