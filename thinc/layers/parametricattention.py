"""ParametricAttention: reweights each row of a sequence by a softmax, within its
sequence, of the row's dot product with a learned query Q. Registered as
"ParametricAttention.v1"; the output keeps the input's Ragged layout."""

from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..initializers import uniform_init
from ..model import Model, register_param_dims
from ..types import Floats1d, Floats2d, Ints1d, Ragged


@registry.layers("ParametricAttention.v1")
def ParametricAttention(nO: Optional[int] = None) -> Model[Ragged, Ragged]:
    """Scale each row x of a sequence by softmax_over_sequence(x . Q)."""
    return Model("para-attn", forward, init=init, params={"Q": None}, dims={"nO": nO})


def forward(model: Model[Ragged, Ragged], Xr: Ragged, is_train: bool) -> Tuple[Ragged, Callable]:
    Q = cast(Floats1d, model.get_param("Q"))
    X = check_ragged(Xr, Q.shape[0])
    lengths = Xr.lengths
    attention, backprop_attention = attention_weights(model.ops, Q, X, lengths)
    output, backprop_output = apply_attention(X, attention)

    def backprop(dYr: Ragged) -> Ragged:
        dX, d_attention = backprop_output(dYr.dataXd)
        dQ, dX_via_keys = backprop_attention(d_attention)
        model.inc_grad("Q", dQ)
        return Ragged(dX + dX_via_keys, lengths)

    return Ragged(output, lengths), backprop


def init(
    model: Model[Ragged, Ragged], X: Optional[Ragged] = None, Y: Optional[Ragged] = None
) -> None:
    if X is not None and model.maybe_get_dim("nO") is None:
        model.set_dim("nO", cast(Floats2d, X.dataXd).shape[1])
    model.set_param("Q", uniform_init(model.ops, (model.get_dim("nO"),)))


def check_ragged(Xr: Ragged, width: int) -> Floats2d:
    """The 2d data of Xr, after checking it is a Ragged of the given width."""
    if not isinstance(Xr, Ragged):
        raise TypeError(f"para-attn expects a Ragged input, got {type(Xr).__name__}")
    X = cast(Floats2d, Xr.dataXd)
    if X.ndim != 2 or X.shape[1] != width:
        raise ValueError(f"para-attn expects rows of width {width}, got data of shape {X.shape}")
    if int(Xr.lengths.sum()) != X.shape[0]:
        raise ValueError(
            f"para-attn: lengths sum to {int(Xr.lengths.sum())} but there are {X.shape[0]} rows"
        )
    return X


def attention_weights(
    ops, Q: Floats1d, keys: Floats2d, lengths: Ints1d
) -> Tuple[Floats2d, Callable]:
    """Per-row weights softmax_over_sequence(keys @ Q), shape (N, 1), and the
    backprop returning (dQ, d_keys)."""
    scores = ops.gemm(keys, ops.reshape2f(Q, Q.shape[0], 1))
    attention = ops.softmax_sequences(scores, lengths)

    def backprop(d_attention: Floats2d) -> Tuple[Floats1d, Floats2d]:
        d_scores = ops.backprop_softmax_sequences(d_attention, attention, lengths)
        dQ = (keys * d_scores).sum(axis=0)
        d_keys = d_scores * Q
        return dQ, d_keys

    return attention, backprop


def apply_attention(X: Floats2d, attention: Floats2d) -> Tuple[Floats2d, Callable]:
    """Rows of X scaled by their weights, and the backprop returning (dX, d_attention)."""
    output = X * attention

    def backprop(d_output: Floats2d) -> Tuple[Floats2d, Floats2d]:
        return d_output * attention, (d_output * X).sum(axis=1, keepdims=True)

    return output, backprop


register_param_dims(init, {"Q": ("nO",)})
