"""ParametricAttention v2: like v1, but the attention scores come from keys made
by a trainable ``key_transform`` of each row. Registered as "ParametricAttention.v2"."""

from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..initializers import uniform_init
from ..model import Model, register_param_dims
from ..types import Floats1d, Floats2d, Ragged
from .noop import noop
from .parametricattention import apply_attention, attention_weights, check_ragged

# The name under which the key transform is stored, part of the model's bytes.
KEY_TRANSFORM_REF = "key_transform"


@registry.layers("ParametricAttention.v2")
def ParametricAttention_v2(
    *,
    key_transform: Optional[Model[Floats2d, Floats2d]] = None,
    nO: Optional[int] = None,
) -> Model[Ragged, Ragged]:
    """Scale each row x by softmax_over_sequence(key_transform(x) . Q)."""
    if key_transform is None:
        key_transform = noop()
    return Model(
        "para-attn",
        forward,
        init=init,
        params={"Q": None},
        dims={"nO": nO},
        refs={KEY_TRANSFORM_REF: key_transform},
        layers=[key_transform],
    )


def forward(model: Model[Ragged, Ragged], Xr: Ragged, is_train: bool) -> Tuple[Ragged, Callable]:
    Q = cast(Floats1d, model.get_param("Q"))
    X = check_ragged(Xr, Q.shape[0])
    lengths = Xr.lengths
    keys, backprop_keys = model.get_ref(KEY_TRANSFORM_REF)(X, is_train)
    if keys.shape != X.shape:
        raise ValueError(
            f"para-attn: key_transform must keep the shape {X.shape}, gave {keys.shape}"
        )
    attention, backprop_attention = attention_weights(model.ops, Q, keys, lengths)
    output, backprop_output = apply_attention(X, attention)

    def backprop(dYr: Ragged) -> Ragged:
        dX, d_attention = backprop_output(dYr.dataXd)
        dQ, d_keys = backprop_attention(d_attention)
        model.inc_grad("Q", dQ)
        return Ragged(dX + backprop_keys(d_keys), lengths)

    return Ragged(output, lengths), backprop


def init(
    model: Model[Ragged, Ragged], X: Optional[Ragged] = None, Y: Optional[Ragged] = None
) -> None:
    key_transform = model.get_ref(KEY_TRANSFORM_REF)
    data = cast(Floats2d, X.dataXd) if X is not None else None
    if data is not None and model.maybe_get_dim("nO") is None:
        model.set_dim("nO", data.shape[1])
    nO = model.get_dim("nO")
    # Keys are dotted with Q, so the transform maps width nO to width nO.
    for dim in ("nI", "nO"):
        if key_transform.has_dim(dim) is None:
            key_transform.set_dim(dim, nO)
    key_transform.initialize(X=data, Y=data)
    model.set_param("Q", uniform_init(model.ops, (nO,)))


register_param_dims(init, {"Q": ("nO",)})
