"""HashEmbed: embeds unbounded integer ids (e.g. string hashes) in a fixed table by
summing the rows that four seeded hashes of each id pick. Registered as "HashEmbed.v1"."""
from functools import partial
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar, Union, cast

from ..config import registry
from ..initializers import uniform_init
from ..model import Model
from ..types import Floats2d, Ints1d, Ints2d
from .array_getitem import ints_getitem
from .chain import chain

InT = TypeVar("InT", bound=Union[Ints1d, Ints2d])


@registry.layers("HashEmbed.v1")
def HashEmbed(
    nO: int,
    nV: int,
    *,
    seed: Optional[int] = None,
    column: Optional[int] = None,
    initializer: Optional[Callable] = None,
    dropout: Optional[float] = None,
) -> Model[InT, Floats2d]:
    """Each id is hashed with ``seed`` into four rows of E (shape (nV, nO)), which
    are summed. Without a seed the model's id is used, so sibling tables differ."""
    attrs: Dict[str, Any] = {"column": column, "seed": seed}
    if dropout is not None:
        attrs["dropout_rate"] = dropout
    model: Model = Model(
        "hashembed",
        forward,
        init=partial(init, initializer or uniform_init),
        params={"E": None},
        dims={"nO": nO, "nV": nV, "nI": None},
        attrs=attrs,
    )
    if seed is None:
        model.attrs["seed"] = model.id
    if column is not None:
        model = chain(ints_getitem((slice(0, None), column)), model)
    model.attrs["column"] = column
    return cast(Model[InT, Floats2d], model)


def forward(model: Model[Ints1d, Floats2d], ids: Ints1d, is_train: bool) -> Tuple[Floats2d, Callable]:
    E = cast(Floats2d, model.get_param("E"))
    nV, nO = E.shape
    dtype = getattr(ids, "dtype", None)
    if dtype is None or dtype.kind not in "iu":
        raise TypeError(f"hashembed expects an integer id array, got {dtype or type(ids).__name__}")
    if ids.ndim != 1:
        raise ValueError(f"hashembed expects a 1d id array (or pass column=...), got shape {ids.shape}")
    if ids.size == 0:
        return model.ops.alloc2f(0, nO, dtype=E.dtype), lambda d_output: ids
    # Signed ids are reinterpreted as their unsigned 64-bit pattern before hashing.
    keys = model.ops.hash(model.ops.as_contig(ids, dtype="uint64"), model.attrs["seed"])
    rows = keys % nV
    output = model.ops.gather_add(E, rows)
    rate = model.attrs.get("dropout_rate")
    mask = model.ops.get_dropout_mask((nO,), rate) if is_train and rate else None
    if mask is not None:
        output = output * mask

    def backprop(d_output: Floats2d) -> Ints1d:
        if mask is not None:
            d_output = d_output * mask
        dE = model.ops.alloc2f(nV, nO, dtype=E.dtype)
        for k in range(rows.shape[1]):
            model.ops.scatter_add(dE, model.ops.as_contig(rows[:, k]), d_output)
        model.inc_grad("E", dE)
        return model.ops.alloc(ids.shape, dtype=ids.dtype)

    return output, backprop


def init(
    initializer: Callable,
    model: Model[Ints1d, Floats2d],
    X: Optional[Ints1d] = None,
    Y: Optional[Floats2d] = None,
) -> None:
    model.set_param("E", initializer(model.ops, (model.get_dim("nV"), model.get_dim("nO"))))
