"""HashEmbed: embeds unbounded integer ids (e.g. string hashes) in a fixed table by
summing the rows that four seeded hashes of each id pick. Registered as "HashEmbed.v1"."""

from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, Union, cast

from ..config import registry
from ..initializers import uniform_init
from ..model import Model, register_param_dims
from ..types import Floats2d, Ints1d, Ints2d
from .embed import check_id_array, dropout_mask, select_column, table_backprop

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
    return cast(Model[InT, Floats2d], select_column(model, column))


def forward(
    model: Model[Ints1d, Floats2d], ids: Ints1d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    E = cast(Floats2d, model.get_param("E"))
    nV, nO = E.shape
    # No ids, no rows, whatever the ids' shape: spaCy sends (0, n_attrs) for an empty doc.
    if ids.size == 0:
        return model.ops.alloc2f(0, nO, dtype=E.dtype), lambda d_output: ids
    check_id_array(model, ids)
    # Signed ids are hashed as their unsigned 64-bit pattern.
    output, rows = model.ops._hash_embed_forward(ids, model.attrs["seed"], E)
    mask = dropout_mask(model, nO, is_train)
    if mask is not None:
        output = output * mask

    def index_columns() -> List[Ints1d]:
        # Split when a gradient comes: prediction never pays for the copies.
        return [model.ops.as_contig(rows[:, k]) for k in range(rows.shape[1])]

    return output, table_backprop(model, E, index_columns, ids, mask)


def init(
    initializer: Callable,
    model: Model[Ints1d, Floats2d],
    X: Optional[Ints1d] = None,
    Y: Optional[Floats2d] = None,
) -> None:
    model.set_param("E", initializer(model.ops, (model.get_dim("nV"), model.get_dim("nO"))))


register_param_dims(init, {"E": ("nV", "nO")})
