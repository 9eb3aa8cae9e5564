"""expand_window followed by Maxout, run by chain as one step.

The windows expand_window builds are (2 * window_size + 1) times the size of
its input, written once and read once by the Maxout after it. The ops'
``_maxout_window_forward`` takes the input itself instead (NumpyOps reads each
window in place); its reference version is seq2col then ``_maxout_forward``, so
any backend, and any user's Ops subclass, computes what the two layers would.
"""

from typing import Any, Callable, List, Optional, Tuple

from ..model import Model
from ..types import Ragged

# Maxout's forward, which the fused step stands in for. thinc.layers.maxout
# hands it over when imported: it imports chain (through _dense), which
# imports this module, so importing it from here would close a cycle.
_maxout_forward: List[Callable] = []


def set_maxout_forward(forward: Callable) -> None:
    _maxout_forward[:] = [forward]


def run_window_maxout(
    expand: Model, following: Model, X: Any, is_train: bool, chain_forward: Callable
) -> Optional[Tuple[Any, Callable]]:
    """The output and backprop of ``following(expand(X))`` where ``following``
    is a Maxout layer or a chain (run by ``chain_forward``) starting with one,
    nested chains included (Maxout(normalize=True) builds those); None wherever
    the layers would run otherwise (Ragged or empty input, a layer not
    initialized, widths or dtypes that disagree), so the caller runs them one
    by one and any error comes from the layer."""
    if isinstance(X, Ragged) or getattr(X, "ndim", None) != 2 or len(X) == 0:
        return None
    outer_chains: List[Model] = []
    leaf = following
    while leaf._func is chain_forward:
        outer_chains.append(leaf)
        leaf = leaf.layers[0]
    if leaf._func not in _maxout_forward or leaf.ops is not expand.ops:
        return None
    nW = expand.attrs["window_size"]
    if (
        leaf.has_dim("nI") is not True
        or leaf.get_dim("nI") != (2 * nW + 1) * X.shape[1]
        or not (leaf.has_param("W") and leaf.has_param("b"))
    ):
        return None
    if not (getattr(X, "dtype", None) == leaf.get_param("W").dtype == leaf.get_param("b").dtype):
        return None  # the layers' own dtype error, naming the layer, then comes from Maxout
    Y, backprop_fused = _forward(leaf, X, nW, is_train)
    backprops = [backprop_fused]
    # The rest of each chain the Maxout opens, innermost first.
    for chain_node in reversed(outer_chains):
        for layer in chain_node.layers[1:]:
            Y, backprop_layer = layer(Y, is_train=is_train)
            backprops.append(backprop_layer)

    def backprop(dY: Any) -> Any:
        gradient = dY
        for backprop_layer in reversed(backprops):
            gradient = backprop_layer(gradient)
        return gradient

    return Y, backprop


def _forward(maxout: Model, X: Any, nW: int, is_train: bool) -> Tuple[Any, Callable]:
    ops = maxout.ops
    W = maxout.get_param("W")
    b = maxout.get_param("b")
    best, which = ops._maxout_window_forward(X, nW, W, b, keep_which=is_train)

    def backprop(d_best: Any) -> Any:
        nonlocal which
        if which is None:
            # As Maxout's own backprop after a prediction: rerun for the winners.
            which = ops._maxout_window_forward(X, nW, W, b, keep_which=True)[1]
        dX, dW, db = ops._maxout_window_backward(d_best, which, X, nW, W)
        maxout.inc_grad("b", db)
        maxout.inc_grad("W", dW)
        return dX

    return best, backprop
