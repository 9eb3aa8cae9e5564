// The LSTM's per-time-step work (the gemms run through thinc_gemm.hh).
#pragma once
#include "thinc_math.hh"

namespace thinc_kernels {

// ---------------------------------------------------------------------------
// One LSTM time step for `size` rows. `act` holds each row's pre-activations
// (4 blocks of nO: forget, input, output, candidate) without bias; gates are
// saved interleaved per unit as (nO, 4), matching the reference layout.

THINC_INLINE void lstm_step_forward_body(const float* act, const float* bias, const float* cell_prev,
                                         float* gates, float* cells, float* Y, index_t size, index_t nO) {
    for (index_t r = 0; r < size; ++r) {
        const float* a = act + r * 4 * nO;
        float* g = gates + r * 4 * nO;
        // The row's inputs and outputs never overlap; saying so lets gcc vectorise.
#pragma GCC ivdep
        for (index_t o = 0; o < nO; ++o) {
            float forget = sigmoid_clipped(a[o] + bias[o]);
            float input = sigmoid_clipped(a[nO + o] + bias[nO + o]);
            float output = sigmoid_clipped(a[2 * nO + o] + bias[2 * nO + o]);
            float candidate = tanh_fast(a[3 * nO + o] + bias[3 * nO + o]);
            float cell = forget * cell_prev[r * nO + o] + input * candidate;
            cells[r * nO + o] = cell;
            Y[r * nO + o] = output * tanh_fast(cell);
            g[4 * o] = forget;
            g[4 * o + 1] = input;
            g[4 * o + 2] = output;
            g[4 * o + 3] = candidate;
        }
    }
}
THINC_ISA_VARIANTS(static void, lstm_step_forward,
                   (const float* act, const float* bias, const float* cell_prev, float* gates, float* cells,
                    float* Y, index_t size, index_t nO),
                   lstm_step_forward_body(act, bias, cell_prev, gates, cells, Y, size, nO))
THINC_ISA_DISPATCH(lstm_step_forward)

// The backward step: d_hidden/d_cell carry the gradient from the next step
// for its first n_next rows (sequences that ended here get none); d_cell is
// overwritten with this step's contribution to the previous cell.
THINC_INLINE void lstm_step_backward_body(const float* dY, const float* d_hidden, float* d_cell,
                                          index_t n_next, const float* gates, const float* cells,
                                          const float* cell_before, float* d_act, index_t size, index_t nO) {
    for (index_t r = 0; r < size; ++r) {
        const float* g = gates + r * 4 * nO;
        float* d = d_act + r * 4 * nO;
        bool carried = r < n_next;
#pragma GCC ivdep
        for (index_t o = 0; o < nO; ++o) {
            float forget = g[4 * o], input = g[4 * o + 1], output = g[4 * o + 2], candidate = g[4 * o + 3];
            float dh = dY[r * nO + o] + (carried ? d_hidden[r * nO + o] : 0.0f);
            float tanh_cell = tanh_fast(cells[r * nO + o]);
            float dc = (carried ? d_cell[r * nO + o] : 0.0f) + dh * output * (1.0f - tanh_cell * tanh_cell);
            d[o] = dc * cell_before[r * nO + o] * forget * (1.0f - forget);
            d[nO + o] = dc * candidate * input * (1.0f - input);
            d[2 * nO + o] = dh * tanh_cell * output * (1.0f - output);
            d[3 * nO + o] = dc * input * (1.0f - candidate * candidate);
            d_cell[r * nO + o] = dc * forget;
        }
    }
}
THINC_ISA_VARIANTS(static void, lstm_step_backward,
                   (const float* dY, const float* d_hidden, float* d_cell, index_t n_next, const float* gates,
                    const float* cells, const float* cell_before, float* d_act, index_t size, index_t nO),
                   lstm_step_backward_body(dY, d_hidden, d_cell, n_next, gates, cells, cell_before, d_act,
                                           size, nO))
THINC_ISA_DISPATCH(lstm_step_backward)

}  // namespace thinc_kernels
