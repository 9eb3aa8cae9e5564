"""The reference LSTM: a multi-layer, optionally bidirectional LSTM over
time-major packed sequences, in plain array code."""

from typing import Any, List, Tuple

import numpy

from ...types import Floats1d, Floats2d, Floats3d, Ints1d
from .._checks import LengthsMismatchError, _lengths_to_list
from .activations import ActivationOps


class RecurrentOps(ActivationOps):
    """The LSTM ops that thinc's LSTM layers call."""

    def lstm_forward_training(
        self,
        params: Floats1d,
        H0: Floats3d,
        C0: Floats3d,
        X: Floats2d,
        size_at_t: Ints1d,
    ) -> Tuple[Floats2d, Tuple]:
        """A (multi-layer, optionally bidirectional) LSTM over time-major packed
        sequences. Returns the output and the state backprop_lstm needs:
        (Y, gates, cells) per layer and direction, X, H0 and C0.

        As in thinc 8.3, the array passed as H0 initialises the cell state and
        the one passed as C0 the hidden state (pretrained weights rely on it)."""
        return _lstm_forward(self, params, H0, C0, X, size_at_t)

    def lstm_forward_inference(
        self,
        params: Floats1d,
        H0: Floats3d,
        C0: Floats3d,
        X: Floats2d,
        size_at_t: Ints1d,
    ) -> Floats2d:
        return _lstm_forward(self, params, H0, C0, X, size_at_t)[0]

    def backprop_lstm(
        self, dY: Floats2d, lengths: Ints1d, params: Floats1d, fwd_state: Tuple
    ) -> Tuple[Floats2d, Floats1d]:
        """Gradients of the LSTM's input and params. ``lengths`` is the size_at_t
        the forward pass used; fwd_state is what lstm_forward_training returned."""
        return _lstm_backward(self, dY, lengths, params, fwd_state)


# Layout of the flat params, per layer and then per direction (forward first):
# Wx (4*nO, nI), bx (4*nO), Wh (4*nO, nO), bh (4*nO); the 4 row blocks are the
# forget, input, output and candidate gates. Layers after the first read the
# concatenated outputs of both directions. The saved gates are the activated
# values, interleaved per unit as (N, nO, 4) flattened to (N, 4*nO).


def _split_weights(params: Floats1d, i: int, nO: int, nI: int, params_i: int) -> Tuple:
    """The (Wx, bx), (Wh, bh) of one layer-direction starting at params_i, and
    the offset after them. ``i`` (the layer) is kept for thinc's signature."""
    pieces = []
    for shape in ((4 * nO, nI), (4 * nO,), (4 * nO, nO), (4 * nO,)):
        size = int(numpy.prod(shape))
        pieces.append(params[params_i : params_i + size].reshape(shape))
        params_i += size
    Wx, bx, Wh, bh = pieces
    return ((Wx, bx), (Wh, bh)), params_i


def _lstm_dims(params: Any, H0: Any, C0: Any, X: Any) -> Tuple[int, int, int, int]:
    if H0.ndim != 3 or H0.shape != C0.shape:
        raise ValueError(
            f"LSTM initial states must both be (depth, dirs, nO), got {H0.shape} and {C0.shape}"
        )
    if X.ndim != 2:
        raise ValueError(f"LSTM input must be 2d (rows, nI), got shape {X.shape}")
    depth, dirs, nO = H0.shape
    nI = X.shape[1]
    expected = 0
    layer_input = nI
    for _ in range(depth):
        expected += dirs * (4 * nO * layer_input + 4 * nO + 4 * nO * nO + 4 * nO)
        layer_input = nO * dirs
    if params.ndim != 1 or params.shape[0] != expected:
        raise ValueError(
            f"LSTM params have shape {params.shape}, expected ({expected},) for "
            f"depth={depth}, dirs={dirs}, nO={nO}, nI={nI}"
        )
    return depth, dirs, nO, nI


def _check_size_at_t(size_at_t: Any, n_rows: int) -> List[int]:
    sizes = _lengths_to_list(size_at_t, "size_at_t", positive=True)
    if any(later > earlier for earlier, later in zip(sizes, sizes[1:])):
        raise ValueError(f"size_at_t must not increase over time, got {sizes}")
    if sum(sizes) != n_rows:
        raise LengthsMismatchError(f"size_at_t sums to {sum(sizes)} but X has {n_rows} rows")
    return sizes


def _reversal_permutation(sizes: List[int]) -> numpy.ndarray:
    """Row order that reverses every sequence of a time-major packed batch in time
    (its own inverse)."""
    size_array = numpy.asarray(sizes, dtype="int64")
    if not sizes:
        return numpy.zeros((0,), dtype="int64")
    starts = numpy.cumsum(size_array) - size_array
    step_of_row = numpy.repeat(numpy.arange(len(sizes)), size_array)
    column_of_row = numpy.arange(int(size_array.sum())) - starts[step_of_row]
    column_lengths = (size_array[None, :] > numpy.arange(sizes[0])[:, None]).sum(axis=1)
    return starts[column_lengths[column_of_row] - 1 - step_of_row] + column_of_row


def _lstm_direction_forward(
    ops: ActivationOps, weights: Tuple, cell0: Any, hidden0: Any, X: Any, sizes: List[int]
) -> Tuple[Any, Any, Any]:
    """One direction of one layer over rows already in processing order."""
    xp = ops.xp
    (Wx, bx), (Wh, bh) = weights
    nO = Wh.shape[1]
    n_rows = X.shape[0]
    Y = xp.zeros((n_rows, nO), dtype=X.dtype)
    cells = xp.zeros((n_rows, nO), dtype=X.dtype)
    gates = xp.zeros((n_rows, nO, 4), dtype=X.dtype)
    input_part = X @ Wx.T + (bx + bh)
    width = sizes[0] if sizes else 0
    hidden = xp.broadcast_to(hidden0, (width, nO))
    cell = xp.broadcast_to(cell0, (width, nO))
    start = 0
    for size in sizes:
        rows = slice(start, start + size)
        activations = (input_part[rows] + hidden[:size] @ Wh.T).reshape((size, 4, nO))
        forget = ops.sigmoid(activations[:, 0])
        input_gate = ops.sigmoid(activations[:, 1])
        output_gate = ops.sigmoid(activations[:, 2])
        candidate = xp.tanh(activations[:, 3])
        cell = forget * cell[:size] + input_gate * candidate
        hidden = output_gate * xp.tanh(cell)
        Y[rows] = hidden
        cells[rows] = cell
        gates[rows] = xp.stack([forget, input_gate, output_gate, candidate], axis=-1)
        start += size
    return Y, gates.reshape((n_rows, nO * 4)), cells


def _lstm_forward(
    ops: ActivationOps, params: Any, H0: Any, C0: Any, X: Any, size_at_t: Any
) -> Tuple[Any, Tuple]:
    xp = ops.xp
    depth, dirs, nO, nI = _lstm_dims(params, H0, C0, X)
    sizes = _check_size_at_t(size_at_t, X.shape[0])
    reverse = xp.asarray(_reversal_permutation(sizes))
    n_rows = X.shape[0]
    all_Y = xp.zeros((depth, dirs, n_rows, nO), dtype=X.dtype)
    all_gates = xp.zeros((depth, dirs, n_rows, nO * 4), dtype=X.dtype)
    all_cells = xp.zeros((depth, dirs, n_rows, nO), dtype=X.dtype)
    layer_input = X
    params_i = 0
    for layer in range(depth):
        for direction in range(dirs):
            weights, params_i = _split_weights(params, layer, nO, layer_input.shape[1], params_i)
            order = reverse if direction == 1 else slice(None)
            Y, gates, cells = _lstm_direction_forward(
                ops,
                weights,
                H0[layer, direction],
                C0[layer, direction],
                layer_input[order],
                sizes,
            )
            all_Y[layer, direction] = Y[order]
            all_gates[layer, direction] = gates[order]
            all_cells[layer, direction] = cells[order]
        layer_input = xp.concatenate([all_Y[layer, d] for d in range(dirs)], axis=1)
    return layer_input, (all_Y, all_gates, all_cells, X, H0, C0)


def _lstm_direction_backward(
    ops: ActivationOps,
    weights: Tuple,
    cell0: Any,
    hidden0: Any,
    X: Any,
    Y: Any,
    gates: Any,
    cells: Any,
    dY: Any,
    sizes: List[int],
) -> Tuple[Any, Any, Any, Any]:
    """Backprop through time for one direction (rows in processing order).
    Returns dX and the gradients of Wx, the bias and Wh."""
    xp = ops.xp
    (Wx, bx), (Wh, bh) = weights
    nO = Wh.shape[1]
    n_rows = X.shape[0]
    gates = gates.reshape((n_rows, nO, 4))
    d_activations = xp.zeros((n_rows, 4, nO), dtype=X.dtype)
    dWh = xp.zeros_like(Wh)
    starts: Any = numpy.cumsum([0] + sizes[:-1]) if sizes else []
    d_hidden = xp.zeros((0, nO), dtype=X.dtype)
    d_cell = xp.zeros((0, nO), dtype=X.dtype)
    for step in range(len(sizes) - 1, -1, -1):
        size, start = sizes[step], int(starts[step])
        rows = slice(start, start + size)
        if step > 0:
            previous = slice(int(starts[step - 1]), int(starts[step - 1]) + size)
            cell_before, hidden_before = cells[previous], Y[previous]
        else:
            cell_before = xp.broadcast_to(cell0, (size, nO))
            hidden_before = xp.broadcast_to(hidden0, (size, nO))
        # Sequences that ended at this step receive no gradient from the future.
        dh = dY[rows].copy()
        dh[: d_hidden.shape[0]] += d_hidden
        dc = xp.zeros((size, nO), dtype=X.dtype)
        dc[: d_cell.shape[0]] += d_cell
        forget, input_gate, output_gate, candidate = (gates[rows, :, k] for k in range(4))
        tanh_cell = xp.tanh(cells[rows])
        dc = dc + dh * output_gate * (1 - tanh_cell**2)
        step_grads = d_activations[rows]
        step_grads[:, 0] = dc * cell_before * forget * (1 - forget)
        step_grads[:, 1] = dc * candidate * input_gate * (1 - input_gate)
        step_grads[:, 2] = dh * tanh_cell * output_gate * (1 - output_gate)
        step_grads[:, 3] = dc * input_gate * (1 - candidate**2)
        flat = step_grads.reshape((size, 4 * nO))
        dWh += flat.T @ hidden_before
        d_hidden = flat @ Wh
        d_cell = dc * forget
    flat_all = d_activations.reshape((n_rows, 4 * nO))
    dX = flat_all @ Wx
    dWx = flat_all.T @ X
    d_bias = flat_all.sum(axis=0)
    return dX, dWx, d_bias, dWh


def _lstm_backward(
    ops: ActivationOps, dY: Any, size_at_t: Any, params: Any, fwd_state: Tuple
) -> Tuple[Any, Any]:
    xp = ops.xp
    if len(fwd_state) == 6:
        all_Y, all_gates, all_cells, X, H0, C0 = fwd_state
    elif len(fwd_state) == 4:
        # thinc 8.3's state tuple does not keep the initial states: treat them
        # as zeros (only their contribution to the first step's gradient).
        all_Y, all_gates, all_cells, X = fwd_state
        H0 = C0 = xp.zeros((all_Y.shape[0], all_Y.shape[1], all_Y.shape[3]), dtype=X.dtype)
    else:
        raise ValueError(f"backprop_lstm: fwd_state must have 4 or 6 items, got {len(fwd_state)}")
    depth, dirs, n_rows, nO = all_Y.shape
    sizes = _check_size_at_t(size_at_t, X.shape[0])
    if dY.shape != (n_rows, dirs * nO):
        raise ValueError(f"backprop_lstm: dY has shape {dY.shape}, expected {(n_rows, dirs * nO)}")
    reverse = xp.asarray(_reversal_permutation(sizes))
    layer_inputs = [X] + [
        xp.concatenate([all_Y[layer, d] for d in range(dirs)], axis=1) for layer in range(depth - 1)
    ]
    offsets = []
    params_i = 0
    for layer in range(depth):
        for _ in range(dirs):
            weights, next_i = _split_weights(
                params, layer, nO, layer_inputs[layer].shape[1], params_i
            )
            offsets.append((params_i, weights))
            params_i = next_i
    d_params = xp.zeros_like(params)
    d_output = dY
    for layer in range(depth - 1, -1, -1):
        layer_input = layer_inputs[layer]
        d_input = xp.zeros_like(layer_input)
        for direction in range(dirs):
            start_i, weights = offsets[layer * dirs + direction]
            order = reverse if direction == 1 else slice(None)
            dX, dWx, d_bias, dWh = _lstm_direction_backward(
                ops,
                weights,
                H0[layer, direction],
                C0[layer, direction],
                layer_input[order],
                all_Y[layer, direction][order],
                all_gates[layer, direction][order],
                all_cells[layer, direction][order],
                d_output[:, direction * nO : (direction + 1) * nO][order],
                sizes,
            )
            d_input[order] += dX
            # bx and bh are summed in the forward pass, so both get d_bias.
            position = start_i
            for grad in (dWx, d_bias, dWh, d_bias):
                d_params[position : position + grad.size] = grad.reshape(-1)
                position += grad.size
        d_output = d_input
    return d_output, d_params
