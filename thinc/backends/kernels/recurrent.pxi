# The LSTM (include/thinc_recurrent.hh for the per-step work, gemm for the products).

cdef extern from "thinc_recurrent.hh" namespace "thinc_kernels" nogil:
    void lstm_step_forward(const float*, const float*, const float*, float*, float*, float*,
                           index_t, index_t)
    void lstm_step_backward(const float*, const float*, float*, index_t, const float*,
                            const float*, const float*, float*, index_t, index_t)


# ---------------------------------------------------------------------------
# LSTM. Params per layer and direction: Wx (4nO, nI), bx (4nO), Wh (4nO, nO),
# bh (4nO); gate blocks are forget, input, output, candidate. As in thinc 8.3,
# H0 seeds the cell state and C0 the hidden state.

def _lstm_compiled(params, H0, C0, X) -> bool:
    return all(isinstance(a, numpy.ndarray) and a.dtype == numpy.float32 for a in (params, H0, C0, X))


def _lstm_check(params, H0, C0, X, size_at_t):
    if H0.ndim != 3 or H0.shape != C0.shape:
        raise ValueError(
            f"LSTM initial states must both be (depth, dirs, nO), got {H0.shape} and {C0.shape}"
        )
    if X.ndim != 2:
        raise ValueError(f"LSTM input must be 2d (rows, nI), got shape {X.shape}")
    depth, dirs, nO = H0.shape
    if dirs not in (1, 2):
        raise ValueError(f"LSTM supports 1 or 2 directions, got {dirs}")
    expected, layer_input = 0, X.shape[1]
    for _ in range(depth):
        expected += dirs * (4 * nO * layer_input + 8 * nO + 4 * nO * nO)
        layer_input = nO * dirs
    if params.ndim != 1 or params.shape[0] != expected:
        raise ValueError(
            f"LSTM params have shape {params.shape}, expected ({expected},) for depth={depth}, "
            f"dirs={dirs}, nO={nO}, nI={X.shape[1]}"
        )
    sizes = check_lengths(size_at_t, X.shape[0], "lstm (size_at_t)", allow_short=False,
                          require_positive=True)
    if sizes.shape[0] > 1 and numpy.any(sizes[1:] > sizes[:-1]):
        raise ValueError(f"size_at_t must not increase over time, got {sizes.tolist()}")
    return depth, dirs, nO, sizes


def _lstm_weights(params, offset: int, nO: int, nI: int):
    pieces = []
    for size in (4 * nO * nI, 4 * nO, 4 * nO * nO, 4 * nO):
        pieces.append(params[offset:offset + size])
        offset += size
    Wx = aligned_c(pieces[0].reshape(4 * nO, nI))
    Wh = aligned_c(pieces[2].reshape(4 * nO, nO))
    return Wx, pieces[1] + pieces[3], Wh, offset


def _reversed_rows(sizes):
    """Row order that reverses each sequence of a time-major packed batch (an involution)."""
    if sizes.shape[0] == 0:
        return numpy.zeros((0,), dtype=numpy.int64)
    starts = numpy.cumsum(sizes) - sizes
    step_of_row = numpy.repeat(numpy.arange(sizes.shape[0]), sizes)
    column_of_row = numpy.arange(int(sizes.sum())) - starts[step_of_row]
    column_lengths = (sizes[None, :] > numpy.arange(sizes[0])[:, None]).sum(axis=1)
    return starts[column_lengths[column_of_row] - 1 - step_of_row] + column_of_row


def _lstm_forward(params, H0, C0, X, size_at_t):
    depth, dirs, nO, sizes = _lstm_check(params, H0, C0, X, size_at_t)
    params = contiguous(params)
    n_rows = X.shape[0]
    reverse = _reversed_rows(sizes)
    all_Y = numpy.zeros((depth, dirs, n_rows, nO), dtype=numpy.float32)
    all_gates = numpy.zeros((depth, dirs, n_rows, 4 * nO), dtype=numpy.float32)
    all_cells = numpy.zeros((depth, dirs, n_rows, nO), dtype=numpy.float32)
    layer_input = contiguous(X)
    offset = 0
    for layer in range(depth):
        for direction in range(dirs):
            Wx, bias, Wh, offset = _lstm_weights(params, offset, nO, layer_input.shape[1])
            ordered = layer_input if direction == 0 else layer_input[reverse]
            Y, gates, cells = _lstm_direction_forward(
                Wx, bias, Wh, H0[layer, direction], C0[layer, direction], ordered, sizes
            )
            if direction == 0:
                all_Y[layer, 0], all_gates[layer, 0], all_cells[layer, 0] = Y, gates, cells
            else:
                all_Y[layer, 1, reverse] = Y
                all_gates[layer, 1, reverse] = gates
                all_cells[layer, 1, reverse] = cells
        if dirs == 1:
            layer_input = all_Y[layer, 0]
        else:
            layer_input = numpy.concatenate([all_Y[layer, 0], all_Y[layer, 1]], axis=1)
    return numpy.ascontiguousarray(layer_input), (all_Y, all_gates, all_cells, X, H0, C0)


def _lstm_backward(dY, lengths, params, fwd_state):
    all_Y, all_gates, all_cells, X, H0, C0 = fwd_state
    depth, dirs, nO, sizes = _lstm_check(params, H0, C0, X, lengths)
    n_rows = X.shape[0]
    if dY.shape != (n_rows, dirs * nO):
        raise ValueError(f"backprop_lstm: dY has shape {dY.shape}, expected {(n_rows, dirs * nO)}")
    params = contiguous(params)
    reverse = _reversed_rows(sizes)
    layer_inputs = [contiguous(X)]
    for layer in range(depth - 1):
        layer_inputs.append(numpy.concatenate([all_Y[layer, d] for d in range(dirs)], axis=1))
    weights, offset = [], 0
    for layer in range(depth):
        for _ in range(dirs):
            Wx, bias, Wh, next_offset = _lstm_weights(params, offset, nO, layer_inputs[layer].shape[1])
            weights.append((offset, Wx, Wh))
            offset = next_offset
    d_params = numpy.zeros_like(params)
    d_output = dY
    for layer in range(depth - 1, -1, -1):
        layer_input = layer_inputs[layer]
        d_input = numpy.zeros_like(layer_input)
        for direction in range(dirs):
            start, Wx, Wh = weights[layer * dirs + direction]
            order = slice(None) if direction == 0 else reverse
            dX, dWx, d_bias, dWh = _lstm_direction_backward(
                Wx, Wh, H0[layer, direction], C0[layer, direction], layer_input[order],
                all_Y[layer, direction][order], all_gates[layer, direction][order],
                all_cells[layer, direction][order],
                d_output[:, direction * nO:(direction + 1) * nO][order], sizes,
            )
            d_input[order] += dX
            # bx and bh enter the forward pass summed, so both get d_bias.
            for grad in (dWx, d_bias, dWh, d_bias):
                d_params[start:start + grad.size] = grad.reshape(-1)
                start += grad.size
        d_output = d_input
    return d_output, d_params


def _lstm_direction_forward(cnp.ndarray Wx, cnp.ndarray bias, cnp.ndarray Wh, cell0, hidden0,
                            X, cnp.ndarray sizes):
    cdef cnp.ndarray x = contiguous(X)
    cdef index_t n_rows = x.shape[0], nI = x.shape[1], nO = Wh.shape[1]
    cdef index_t n_steps = sizes.shape[0]
    cdef index_t width = sizes[0] if n_steps else 0
    cdef cnp.ndarray act = numpy.empty((n_rows, 4 * nO), dtype=numpy.float32)
    cdef cnp.ndarray Y = numpy.empty((n_rows, nO), dtype=numpy.float32)
    cdef cnp.ndarray cells = numpy.empty((n_rows, nO), dtype=numpy.float32)
    cdef cnp.ndarray gates = numpy.empty((n_rows, 4 * nO), dtype=numpy.float32)
    cdef cnp.ndarray start_cell = aligned_c(numpy.broadcast_to(cell0, (width, nO)), numpy.float32)
    cdef cnp.ndarray start_hidden = aligned_c(numpy.broadcast_to(hidden0, (width, nO)), numpy.float32)
    cdef cnp.ndarray bias32 = aligned_c(bias, numpy.float32)
    cdef const int64_t* size_of = <const int64_t*>cnp.PyArray_DATA(sizes)
    cdef const float* wx = <const float*>cnp.PyArray_DATA(Wx)
    cdef const float* wh = <const float*>cnp.PyArray_DATA(Wh)
    cdef const float* xs = <const float*>cnp.PyArray_DATA(x)
    cdef const float* b = <const float*>cnp.PyArray_DATA(bias32)
    cdef float* a = <float*>cnp.PyArray_DATA(act)
    cdef float* y = <float*>cnp.PyArray_DATA(Y)
    cdef float* c = <float*>cnp.PyArray_DATA(cells)
    cdef float* g = <float*>cnp.PyArray_DATA(gates)
    cdef const float* hidden_prev = <const float*>cnp.PyArray_DATA(start_hidden)
    cdef const float* cell_prev = <const float*>cnp.PyArray_DATA(start_cell)
    cdef index_t step, size, start = 0
    with nogil:
        # One big product for the inputs, then a small one per step for the recurrence.
        if n_rows and nI:
            gemm_f32(False, True, n_rows, 4 * nO, nI, 1.0, xs, nI, wx, nI, 0.0, a, 4 * nO)
        elif n_rows:
            memset_floats(a, n_rows * 4 * nO)
        for step in range(n_steps):
            size = size_of[step]
            gemm_f32(False, True, size, 4 * nO, nO, 1.0, hidden_prev, nO, wh, nO, 1.0,
                     a + start * 4 * nO, 4 * nO)
            lstm_step_forward(a + start * 4 * nO, b, cell_prev, g + start * 4 * nO,
                              c + start * nO, y + start * nO, size, nO)
            hidden_prev = y + start * nO
            cell_prev = c + start * nO
            start += size
    return Y, gates, cells


def _lstm_direction_backward(cnp.ndarray Wx, cnp.ndarray Wh, cell0, hidden0, X, Y, gates, cells,
                             dY, cnp.ndarray sizes):
    cdef cnp.ndarray x = contiguous(X)
    cdef cnp.ndarray ys = contiguous(Y)
    cdef cnp.ndarray gs = contiguous(gates)
    cdef cnp.ndarray cs = contiguous(cells)
    cdef cnp.ndarray dys = aligned_c(dY, numpy.float32)
    cdef index_t n_rows = x.shape[0], nI = x.shape[1], nO = Wh.shape[1]
    cdef index_t n_steps = sizes.shape[0]
    cdef index_t width = sizes[0] if n_steps else 0
    cdef cnp.ndarray d_act = numpy.empty((n_rows, 4 * nO), dtype=numpy.float32)
    cdef cnp.ndarray dWh = numpy.zeros((4 * nO, nO), dtype=numpy.float32)
    cdef cnp.ndarray d_hidden = numpy.zeros((max(width, 1), nO), dtype=numpy.float32)
    cdef cnp.ndarray d_cell = numpy.zeros((max(width, 1), nO), dtype=numpy.float32)
    cdef cnp.ndarray start_cell = aligned_c(numpy.broadcast_to(cell0, (width, nO)), numpy.float32)
    cdef cnp.ndarray start_hidden = aligned_c(numpy.broadcast_to(hidden0, (width, nO)), numpy.float32)
    cdef cnp.ndarray starts = numpy.zeros(n_steps + 1, dtype=numpy.int64)
    if n_steps:
        numpy.cumsum(sizes, out=starts[1:])
    cdef const int64_t* size_of = <const int64_t*>cnp.PyArray_DATA(sizes)
    cdef const int64_t* start_of = <const int64_t*>cnp.PyArray_DATA(starts)
    cdef const float* wh = <const float*>cnp.PyArray_DATA(Wh)
    cdef const float* y = <const float*>cnp.PyArray_DATA(ys)
    cdef const float* g = <const float*>cnp.PyArray_DATA(gs)
    cdef const float* c = <const float*>cnp.PyArray_DATA(cs)
    cdef const float* dy = <const float*>cnp.PyArray_DATA(dys)
    cdef float* da = <float*>cnp.PyArray_DATA(d_act)
    cdef float* dwh = <float*>cnp.PyArray_DATA(dWh)
    cdef float* dh = <float*>cnp.PyArray_DATA(d_hidden)
    cdef float* dc = <float*>cnp.PyArray_DATA(d_cell)
    cdef const float* hidden_before
    cdef const float* cell_before
    cdef index_t step, size, start, n_next = 0
    with nogil:
        for step in range(n_steps - 1, -1, -1):
            size = size_of[step]
            start = start_of[step]
            if step > 0:
                hidden_before = y + start_of[step - 1] * nO
                cell_before = c + start_of[step - 1] * nO
            else:
                hidden_before = <const float*>cnp.PyArray_DATA(start_hidden)
                cell_before = <const float*>cnp.PyArray_DATA(start_cell)
            lstm_step_backward(dy + start * nO, dh, dc, n_next, g + start * 4 * nO, c + start * nO,
                               cell_before, da + start * 4 * nO, size, nO)
            gemm_f32(True, False, 4 * nO, nO, size, 1.0, da + start * 4 * nO, 4 * nO,
                     hidden_before, nO, 1.0, dwh, nO)
            gemm_f32(False, False, size, nO, 4 * nO, 1.0, da + start * 4 * nO, 4 * nO, wh, nO,
                     0.0, dh, nO)
            n_next = size
    # The input products through thinc's gemm routing too: numpy's matmul would
    # wake OpenBLAS's own threads, which spun against the kernels' pool (the
    # bench's backprop_lstm took 15-30 ms instead of ~2).
    cdef cnp.ndarray dX = numpy.zeros((n_rows, nI), dtype=numpy.float32)
    cdef cnp.ndarray dWx = numpy.zeros((4 * nO, nI), dtype=numpy.float32)
    cdef const float* wx = <const float*>cnp.PyArray_DATA(Wx)
    cdef const float* xs = <const float*>cnp.PyArray_DATA(x)
    if n_rows and nI:
        with nogil:
            gemm_f32(False, False, n_rows, nI, 4 * nO, 1.0, da, 4 * nO, wx, nI, 0.0,
                     <float*>cnp.PyArray_DATA(dX), nI)
            gemm_f32(True, False, 4 * nO, nI, n_rows, 1.0, da, 4 * nO, xs, nI, 0.0,
                     <float*>cnp.PyArray_DATA(dWx), nI)
    return dX, dWx, d_act.sum(axis=0), dWh


cdef inline void memset_floats(float* target, index_t n) noexcept nogil:
    cdef index_t i
    for i in range(n):
        target[i] = 0
