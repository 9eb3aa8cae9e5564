// thinc's float32 gemm (the router, which picks the few-rows, rows-of-B or
// packed kernel, and the packed kernel alone) on a grid of shapes around its
// tile and block sizes, at each vector level the CPU has, on one thread and
// split over two, against a float64 loop. Operands are allocated at their
// exact size (the last row of a padded operand ends the buffer), so under
// AddressSanitizer any read or write past one stops the run there; UBSan
// stops it on undefined behaviour. Built and run by
// tests/backends/test_gemm_sanitized.py; prints "products P, wrong W".
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "thinc_gemm.hh"

#include "sanitized_operands.hh"

namespace {

typedef thinc_gemm::index_t index_t;

struct Case {
    bool trans_a, trans_b;
    index_t M, N, K, pad;
    bool router, bias;
};

// Runs one product; returns whether every element is within tolerance.
bool run(std::mt19937& rng, const Case& c) {
    index_t a_rows = c.trans_a ? c.K : c.M, a_width = c.trans_a ? c.M : c.K;
    index_t b_rows = c.trans_b ? c.N : c.K, b_width = c.trans_b ? c.K : c.N;
    index_t lda = a_width + c.pad, ldb = b_width + c.pad, ldc = c.N + c.pad;
    std::vector<float> A = operand(rng, a_rows, a_width, lda);
    std::vector<float> B = operand(rng, b_rows, b_width, ldb);
    std::vector<float> C = operand(rng, c.M, c.N, ldc);
    std::vector<float> bias = operand(rng, 1, c.N, c.N);
    std::vector<float> before = C;
    const float alpha = 0.5f, beta = -1.0f;
    bool done = c.router
                    ? thinc_gemm::sgemm(c.trans_a, c.trans_b, c.M, c.N, c.K, alpha, A.data(), lda, B.data(),
                                        ldb, beta, C.data(), ldc, c.bias ? bias.data() : nullptr)
                    : thinc_gemm::packed_sgemm(c.trans_a, c.trans_b, c.M, c.N, c.K, alpha, A.data(), lda,
                                               B.data(), ldb, beta, C.data(), ldc);
    if (!done) return false;
    bool with_bias = c.router && c.bias;
    for (index_t i = 0; i < c.M; ++i) {
        for (index_t j = 0; j < c.N; ++j) {
            double sum = 0.0;
            for (index_t k = 0; k < c.K; ++k) {
                double a = c.trans_a ? A[k * lda + i] : A[i * lda + k];
                double b = c.trans_b ? B[j * ldb + k] : B[k * ldb + j];
                sum += a * b;
            }
            double want = alpha * sum + beta * before[i * ldc + j] + (with_bias ? bias[j] : 0.0);
            if (std::fabs(want - C[i * ldc + j]) > 2e-5 * (std::sqrt(double(c.K)) + 1.0) + 1e-5) return false;
        }
        // Columns past N (ldc > N) are outside the product.
        for (index_t j = c.N; j < c.N + c.pad && i + 1 < c.M; ++j)
            if (C[i * ldc + j] != before[i * ldc + j]) return false;
    }
    return true;
}

}  // namespace

int main() {
    // Unbuffered: what was printed survives a sanitizer's abort.
    std::setvbuf(stdout, nullptr, _IONBF, 0);
    if (thinc_isa::cpu_level() < thinc_isa::AVX2) {
        std::printf("no vector level: this CPU lacks AVX2/FMA, the kernels never run\n");
        return 0;
    }
    thinc_parallel::initialize();
    std::mt19937 rng(7);
    const index_t Ms[] = {1, 2, 5, 6, 7, 11, 12, 13, 18, 25, 33, 37, 150, 300};
    const index_t Ns[] = {1, 16, 17, 31, 32, 33, 65, 300};
    const index_t Ks[] = {1, 16, 17, 96, 129, 300};
    long products = 0, wrong = 0;
    for (int level = thinc_isa::AVX2; level <= thinc_isa::AVX512; ++level) {
        if (thinc_isa::cpu_level() < level) continue;
        thinc_isa::limit().store(level);
        std::printf("level %d\n", level);
        for (int split = 0; split < 2; ++split) {
            thinc_gemm::single_threaded() = split == 0;
            // A grain of 1 splits even the smallest product over the pool.
            thinc_parallel::grain_override().store(split ? 1 : 0);
            index_t n = 0;
            for (index_t M : Ms)
                for (index_t N : Ns)
                    for (index_t K : Ks)
                        for (int t = 0; t < 4; ++t, ++n) {
                            Case c{(t & 1) != 0,         (t & 2) != 0, M,         N, K,
                                   (n % 3 == 0) ? 3 : 0, n % 2 == 0,   n % 4 == 0};
                            ++products;
                            if (!run(rng, c)) {
                                ++wrong;
                                std::printf(
                                    "wrong: level %d split %d trans %d%d M %ld N %ld K %ld pad %ld %s\n",
                                    level, split, c.trans_a, c.trans_b, long(M), long(N), long(K),
                                    long(c.pad), c.router ? "router" : "packed");
                            }
                        }
        }
    }
    std::printf("products %ld, wrong %ld\n", products, wrong);
    return wrong == 0 && products > 0 ? 0 : 1;
}
