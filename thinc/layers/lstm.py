"""LSTM: a stacked, optionally bidirectional LSTM over Padded batches, computed by
the Ops' fused lstm kernels. Registered as "LSTM.v1"."""

from functools import partial
from typing import Callable, List, Optional, Tuple, cast

from ..config import registry
from ..initializers import glorot_uniform_init, zero_init
from ..model import Model
from ..types import Floats1d, Floats2d, Floats3d, Padded


@registry.layers("LSTM.v1")
def LSTM(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    bi: bool = False,
    depth: int = 1,
    dropout: float = 0.0,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
) -> Model[Padded, Padded]:
    """An LSTM of ``depth`` layers, nO wide (nO / 2 per direction when bi).

    All weights live in one flat param "LSTM": for each layer, for each direction,
    input weights (4 * nH, nI_layer), input bias (4 * nH,), hidden weights
    (4 * nH, nH), hidden bias (4 * nH,). "HC0" (2, depth, dirs, nH) holds the
    initial hidden and cell states. Dropout is applied to the weights in training."""
    if depth < 1:
        raise ValueError(f"LSTM depth must be at least 1, got {depth}")
    return Model(
        "lstm",
        forward,
        init=partial(init, init_W or glorot_uniform_init, init_b or zero_init),
        dims={"nO": nO, "nI": nI, "depth": depth, "dirs": 1 + int(bi)},
        attrs={"registry_name": "LSTM.v1", "dropout_rate": dropout},
        params={"LSTM": None, "HC0": None},
    )


def forward(model: Model[Padded, Padded], Xp: Padded, is_train: bool) -> Tuple[Padded, Callable]:
    if not isinstance(Xp, Padded):
        raise TypeError(f"lstm expects a Padded input, got {type(Xp).__name__}")
    nI = model.get_dim("nI")
    if Xp.data.ndim != 3 or Xp.data.shape[2] != nI:
        raise ValueError(f"lstm expects Padded data of shape (T, B, {nI}), got {Xp.data.shape}")
    ops = model.ops
    params = cast(Floats1d, model.get_param("LSTM"))
    HC0 = cast(Floats3d, model.get_param("HC0"))
    H0, C0 = HC0[0], HC0[1]
    X = _padded_to_packed(ops, Xp)
    rate = model.attrs["dropout_rate"]
    if not is_train:
        Y = ops.lstm_forward_inference(params, H0, C0, X, Xp.size_at_t)
        return _packed_to_padded(ops, Y, Xp), _no_backprop

    # Dropping weights rather than activations keeps the mask fixed over time
    # steps, and lets backprop reuse the masked weights as they are.
    mask = ops.get_dropout_mask(params.shape, rate) if rate else None
    weights = params * mask if mask is not None else params
    Y, state = ops.lstm_forward_training(weights, H0, C0, X, Xp.size_at_t)

    def backprop(dYp: Padded) -> Padded:
        dY = _padded_to_packed(ops, dYp)
        dX, d_weights = ops.backprop_lstm(dY, Xp.size_at_t, weights, state)
        if mask is not None:
            d_weights = d_weights * mask
        model.inc_grad("LSTM", d_weights)
        return _packed_to_padded(ops, dX, dYp)

    return _packed_to_padded(ops, Y, Xp), backprop


def _no_backprop(dYp: Padded) -> Padded:
    raise ValueError("lstm: backprop is only available after begin_update (is_train=True)")


def init(
    init_W: Callable,
    init_b: Callable,
    model: Model[Padded, Padded],
    X: Optional[Padded] = None,
    Y: Optional[Padded] = None,
) -> None:
    if X is not None and model.maybe_get_dim("nI") is None:
        model.set_dim("nI", X.data.shape[2])
    if Y is not None and model.maybe_get_dim("nO") is None:
        model.set_dim("nO", Y.data.shape[2])
    nO = model.get_dim("nO")
    nI = model.get_dim("nI")
    depth = model.get_dim("depth")
    dirs = model.get_dim("dirs")
    if nO % dirs:
        raise ValueError(f"A bidirectional LSTM needs an even nO, got {nO}")
    nH = nO // dirs
    pieces: List[Floats1d] = []
    for layer in range(depth):
        layer_nI = nI if layer == 0 else nO
        for _ in range(dirs):
            # Each gate's block is initialised on its own, so its scale
            # depends on nH rather than on the stacked 4 * nH.
            pieces.extend(init_W(model.ops, (nH, layer_nI)).ravel() for _ in range(4))
            pieces.append(init_b(model.ops, (4 * nH,)))
            pieces.extend(init_W(model.ops, (nH, nH)).ravel() for _ in range(4))
            pieces.append(init_b(model.ops, (4 * nH,)))
    model.set_param("LSTM", model.ops.xp.concatenate(pieces).astype("float32"))
    model.set_param("HC0", model.ops.alloc4f(2, depth, dirs, nH))


def _padded_to_packed(ops, Xp: Padded) -> Floats2d:
    """Concatenate the live rows of each time step: step t contributes its first
    size_at_t[t] rows (sequences are sorted longest first)."""
    size_at_t = [int(size) for size in Xp.size_at_t]
    if sum(size_at_t) != int(Xp.lengths.sum()):
        raise ValueError("lstm: Padded size_at_t and lengths disagree on the number of rows")
    data = Xp.data
    packed = ops.alloc2f(sum(size_at_t), data.shape[2], dtype=data.dtype)
    start = 0
    for t, size in enumerate(size_at_t):
        packed[start : start + size] = data[t, :size]
        start += size
    return packed


def _packed_to_padded(ops, packed: Floats2d, Xp: Padded) -> Padded:
    steps, batch = Xp.data.shape[0], Xp.data.shape[1]
    data = ops.alloc3f(steps, batch, packed.shape[1], dtype=packed.dtype)
    start = 0
    for t, size in enumerate(int(size) for size in Xp.size_at_t):
        data[t, :size] = packed[start : start + size]
        start += size
    return Padded(data, Xp.size_at_t, Xp.lengths, Xp.indices)


@registry.layers("PyTorchLSTM.v1")
def PyTorchLSTM(
    nO: int, nI: int, *, bi: bool = False, depth: int = 1, dropout: float = 0.0
) -> Model[Padded, Padded]:
    """The same network computed by torch.nn.LSTM, wrapped to take and give Padded
    (spaCy's BiLSTM encoder imports it by this name)."""
    import torch.nn

    from .noop import noop
    from .pytorchwrapper import PyTorchRNNWrapper
    from .with_padded import with_padded

    if depth == 0:
        # No layers: the input passes through, as in thinc 8.3.
        return noop()
    nH = nO // 2 if bi else nO
    if bi and nO % 2:
        raise ValueError(f"PyTorchLSTM: a bidirectional LSTM needs an even nO, got {nO}")
    lstm = torch.nn.LSTM(nI, nH, depth, bidirectional=bi, dropout=dropout)
    return with_padded(PyTorchRNNWrapper(lstm))
