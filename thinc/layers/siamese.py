"""``siamese``: encode two inputs with one shared layer and score the pair with a
similarity layer; both encodings update the same weights."""

from typing import Any, Callable, Optional, Tuple, TypeVar

from ..config import registry
from ..model import Model

LayerT = TypeVar("LayerT")
SimT = TypeVar("SimT")
OutT = TypeVar("OutT")


@registry.layers("siamese.v1")
def siamese(
    layer: Model[LayerT, SimT], similarity: Model[Tuple[SimT, SimT], OutT]
) -> Model[Tuple[LayerT, LayerT], OutT]:
    """Compute ``similarity((layer(X1), layer(X2)))``. ``layer`` must know its nI
    and ``similarity`` its nO when the model is built."""
    for role, member in (("layer", layer), ("similarity", similarity)):
        if not isinstance(member, Model):
            raise TypeError(f"siamese expects a Model as {role}, got {type(member).__name__}")
    return Model(
        f"siamese({layer.name}, {similarity.name})",
        forward,
        init=init,
        layers=[layer, similarity],
        dims={"nI": layer.get_dim("nI"), "nO": similarity.get_dim("nO")},
    )


def _check_pair(X: Any) -> Tuple[Any, Any]:
    if not isinstance(X, (tuple, list)) or len(X) != 2:
        raise TypeError(
            f"siamese expects a pair (X1, X2), got {type(X).__name__}"
            + (f" of length {len(X)}" if isinstance(X, (tuple, list)) else "")
        )
    return X[0], X[1]


def forward(model: Model, X1_X2: Tuple[Any, Any], is_train: bool) -> Tuple[Any, Callable]:
    X1, X2 = _check_pair(X1_X2)
    encoder, similarity = model.layers
    vector1, backprop_vector1 = encoder(X1, is_train=is_train)
    vector2, backprop_vector2 = encoder(X2, is_train=is_train)
    output, backprop_similarity = similarity((vector1, vector2), is_train=is_train)

    def backprop(dY: Any) -> Tuple[Any, Any]:
        d_vector1, d_vector2 = backprop_similarity(dY)
        return backprop_vector1(d_vector1), backprop_vector2(d_vector2)

    return output, backprop


def init(model: Model, X: Optional[Tuple[Any, Any]] = None, Y: Optional[Any] = None) -> None:
    encoder, similarity = model.layers
    if X is None:
        # Without samples both layers must already know their dims.
        encoder.initialize()
        similarity.initialize(Y=Y)
        return
    X1, X2 = _check_pair(X)
    encoder.initialize(X=X1)
    similarity.initialize(X=(encoder.predict(X1), encoder.predict(X2)), Y=Y)
