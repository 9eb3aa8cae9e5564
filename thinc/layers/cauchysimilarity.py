"""CauchySimilarity: scores a pair of vectors as 1 / (1 + sum_i W_i (a_i - b_i)**2),
a learned, bounded similarity. Registered as "CauchySimilarity.v1"."""

from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..model import Model
from ..types import Floats1d, Floats2d

InT = Tuple[Floats2d, Floats2d]


@registry.layers("CauchySimilarity.v1")
def CauchySimilarity(nI: Optional[int] = None) -> Model[InT, Floats1d]:
    """Similarity of row pairs (X1[i], X2[i]) in (0, 1]; W starts at ones."""
    return Model(
        "cauchy_similarity",
        forward,
        init=init,
        dims={"nI": nI, "nO": 1},
        params={"W": None},
    )


def forward(model: Model[InT, Floats1d], X1_X2: InT, is_train: bool) -> Tuple[Floats1d, Callable]:
    X1, X2 = _check_pair(X1_X2)
    W = cast(Floats1d, model.get_param("W"))
    if X1.shape[1] != W.shape[0]:
        raise ValueError(
            f"cauchy_similarity expects inputs of width {W.shape[0]}, got {X1.shape[1]}"
        )
    diff = X1 - X2
    square_diff = diff**2
    total = (W * square_diff).sum(axis=1)
    sim = 1.0 / (1.0 + total)

    def backprop(d_sim: Floats1d) -> InT:
        # d sim / d total = -sim**2, since sim = (1 + total)**-1.
        d_total = -d_sim * sim**2
        model.inc_grad("W", (square_diff * d_total[:, None]).sum(axis=0))
        d_diff = 2 * diff * W * d_total[:, None]
        return (d_diff, -d_diff)

    return sim, backprop


def init(
    model: Model[InT, Floats1d], X: Optional[InT] = None, Y: Optional[Floats1d] = None
) -> None:
    if X is not None and model.maybe_get_dim("nI") is None:
        model.set_dim("nI", _check_pair(X)[0].shape[1])
    W = model.ops.alloc1f(model.get_dim("nI"))
    W += 1
    model.set_param("W", W)


def _check_pair(X1_X2) -> InT:
    if not isinstance(X1_X2, (tuple, list)) or len(X1_X2) != 2:
        raise TypeError("cauchy_similarity expects a pair (X1, X2) of 2d arrays")
    X1, X2 = X1_X2
    if getattr(X1, "ndim", None) != 2 or getattr(X2, "shape", None) != X1.shape:
        raise ValueError(
            "cauchy_similarity expects two 2d arrays of the same shape, got "
            f"{getattr(X1, 'shape', type(X1).__name__)} and {getattr(X2, 'shape', type(X2).__name__)}"
        )
    return X1, X2
