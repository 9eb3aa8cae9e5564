"""Embed: a lookup table from integer ids in [0, nV) to nO-wide vectors.

Registered as "Embed.v1". With ``column`` it reads that column of a 2d id array."""
from functools import partial
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar, Union, cast

from ..config import registry
from ..initializers import uniform_init
from ..model import Model
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
    if column is not None:
        model = chain(ints_getitem((slice(0, None), column)), model)
    model.attrs["column"] = column
    return cast(Model[InT, Floats2d], model)


def forward(model: Model[Ints1d, Floats2d], ids: Ints1d, is_train: bool) -> Tuple[Floats2d, Callable]:
    E = cast(Floats2d, model.get_param("E"))
    nV, nO = E.shape
    ids = _check_ids(model.ops, ids, nV)
    output = E[ids]
    mask = _dropout_mask(model, nO, is_train)
    if mask is not None:
        output = output * mask

    def backprop(d_output: Floats2d) -> Ints1d:
        if mask is not None:
            d_output = d_output * mask
        dE = model.ops.alloc2f(nV, nO, dtype=E.dtype)
        model.ops.scatter_add(dE, ids, d_output)
        model.inc_grad("E", dE)
        return model.ops.alloc(ids.shape, dtype=ids.dtype)

    return output, backprop


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


def _check_ids(ops, ids, nV: int) -> Ints1d:
    dtype = getattr(ids, "dtype", None)
    if dtype is None or dtype.kind not in "iu":
        raise TypeError(f"embed expects an integer id array, got {dtype or type(ids).__name__}")
    if ids.ndim != 1:
        raise ValueError(f"embed expects a 1d id array (or pass column=...), got shape {ids.shape}")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= nV):
        raise IndexError(
            f"embed ids must lie in [0, {nV}), got values from {int(ids.min())} to {int(ids.max())}"
        )
    return ids


def _dropout_mask(model: Model, nO: int, is_train: bool) -> Optional[Floats1d]:
    rate = model.attrs.get("dropout_rate")
    if not is_train or not rate:
        return None
    return cast(Floats1d, model.ops.get_dropout_mask((nO,), rate))
