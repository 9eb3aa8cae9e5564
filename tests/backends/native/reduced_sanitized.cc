// thinc's reduced-precision gemm kernels (bf16 and int8) on a grid of shapes
// around their tiles, packed blocks and pairs of k, at each kind of vectors
// the CPU has (bf16: AVX-512 BF16, or AMX tiles where present; int8: AVX-512
// VNNI and AVX-VNNI), on one thread and split over two, against a float64
// loop with each kernel's own error bound. Operands are allocated at their
// exact size (the last row of a padded operand ends the buffer), so under
// AddressSanitizer any read or write past one stops the run there; UBSan
// stops it on undefined behaviour. Built and run by
// tests/backends/test_gemm_sanitized.py; prints "products P, wrong W" (or
// that the CPU runs neither kernel).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "thinc_gemm_bf16.hh"
#include "thinc_gemm_int8.hh"

#include "sanitized_operands.hh"

namespace {

typedef int64_t index_t;

enum Kind { BF16, INT8 };

double bf16_value(float x) {
    uint32_t bits = uint32_t(thinc_gemm_bf16::to_bf16(x)) << 16;
    float rounded;
    std::memcpy(&rounded, &bits, 4);
    return rounded;
}

struct Case {
    bool trans_a, trans_b;
    index_t M, N, K, pad;
    bool bias;
};

bool product(Kind kind, const Case& c, float alpha, const float* A, index_t lda, const float* B, index_t ldb,
             float beta, float* C, index_t ldc, const float* bias) {
    if (kind == BF16)
        return thinc_gemm_bf16::sgemm(c.trans_a, c.trans_b, c.M, c.N, c.K, alpha, A, lda, B, ldb, beta, C,
                                      ldc, bias);
    return thinc_gemm_int8::sgemm(c.trans_a, c.trans_b, c.M, c.N, c.K, alpha, A, lda, B, ldb, beta, C, ldc,
                                  bias);
}

// Runs one product; returns whether every element is within the kernel's
// bound and nothing outside the product changed.
bool run(std::mt19937& rng, Kind kind, const Case& c) {
    index_t a_rows = c.trans_a ? c.K : c.M, a_width = c.trans_a ? c.M : c.K;
    index_t b_rows = c.trans_b ? c.N : c.K, b_width = c.trans_b ? c.K : c.N;
    index_t lda = a_width + c.pad, ldb = b_width + c.pad, ldc = c.N + c.pad;
    std::vector<float> A = operand(rng, a_rows, a_width, lda);
    std::vector<float> B = operand(rng, b_rows, b_width, ldb);
    std::vector<float> C = operand(rng, c.M, c.N, ldc);
    std::vector<float> bias = operand(rng, 1, c.N, c.N);
    std::vector<float> before = C;
    const float alpha = 0.5f, beta = -1.0f;
    if (!product(kind, c, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc,
                 c.bias ? bias.data() : nullptr))
        return false;
    auto a_at = [&](index_t i, index_t k) { return double(c.trans_a ? A[k * lda + i] : A[i * lda + k]); };
    auto b_at = [&](index_t k, index_t j) { return double(c.trans_b ? B[j * ldb + k] : B[k * ldb + j]); };
    const double eps = std::numeric_limits<float>::epsilon();
    for (index_t i = 0; i < c.M; ++i) {
        double row_max = 0.0;
        for (index_t k = 0; k < c.K; ++k) row_max = std::max(row_max, std::fabs(a_at(i, k)));
        for (index_t j = 0; j < c.N; ++j) {
            double sum = 0.0, magnitude = 0.0, bound = 0.0;
            if (kind == BF16) {
                // The operands are rounded to bf16; the sums are float32.
                for (index_t k = 0; k < c.K; ++k) {
                    double term = bf16_value(float(a_at(i, k))) * bf16_value(float(b_at(k, j)));
                    sum += term;
                    magnitude += std::fabs(term);
                }
                bound = (double(c.K) + 4.0) * eps * magnitude * std::fabs(alpha);
            } else {
                // Each row of op(A) and column of op(B) is quantized to steps
                // of at most its largest magnitude / 127; the integer sums are exact.
                double column_max = 0.0;
                for (index_t k = 0; k < c.K; ++k) column_max = std::max(column_max, std::fabs(b_at(k, j)));
                double a_step = row_max / 127.0, b_step = column_max / 127.0;
                for (index_t k = 0; k < c.K; ++k) {
                    double a = a_at(i, k), b = b_at(k, j);
                    sum += a * b;
                    magnitude += std::fabs(a * b);
                    bound += std::fabs(a) * b_step / 2 + std::fabs(b) * a_step / 2 + a_step * b_step / 4;
                }
                bound = (1.01 * bound + 8.0 * eps * magnitude) * std::fabs(alpha);
            }
            double rest = beta * before[i * ldc + j] + (c.bias ? bias[j] : 0.0);
            double want = alpha * sum + rest;
            bound += 4.0 * eps * (std::fabs(rest) + std::fabs(want)) + 1e-7;
            if (!(std::fabs(want - C[i * ldc + j]) <= bound)) return false;
        }
        // Columns past N (ldc > N) are outside the product.
        for (index_t j = c.N; j < c.N + c.pad && i + 1 < c.M; ++j)
            if (C[i * ldc + j] != before[i * ldc + j]) return false;
    }
    return true;
}

// int8 refuses operands it cannot quantize (inf, NaN): it must say so and
// leave C as it was, so that the caller's float32 path runs instead.
bool refuses_non_finite(std::mt19937& rng, const Case& c) {
    std::vector<float> A = operand(rng, c.M, c.K, c.K);
    std::vector<float> B = operand(rng, c.K, c.N, c.N);
    std::vector<float> C = operand(rng, c.M, c.N, c.N);
    std::vector<float> before = C;
    A[A.size() / 2] = std::numeric_limits<float>::infinity();
    B[B.size() / 3] = std::numeric_limits<float>::quiet_NaN();
    if (thinc_gemm_int8::sgemm(false, false, c.M, c.N, c.K, 1.0f, A.data(), c.K, B.data(), c.N, 0.0f,
                               C.data(), c.N, nullptr))
        return false;
    return std::memcmp(C.data(), before.data(), C.size() * sizeof(float)) == 0;
}

}  // namespace

int main() {
    // Unbuffered: what was printed survives a sanitizer's abort.
    std::setvbuf(stdout, nullptr, _IONBF, 0);
    thinc_parallel::initialize();
    std::mt19937 rng(11);
    // Around the 6-row tiles, 16 and 32 columns, 16-row AMX tiles, MC = 144
    // rows, KC = 256 (128 pairs), odd depths (a half pair) and int8's 4-deep groups.
    const index_t Ms[] = {1, 5, 6, 7, 12, 13, 16, 17, 33, 145};
    const index_t Ns[] = {1, 16, 17, 31, 32, 33, 65, 300};
    const index_t Ks[] = {1, 2, 3, 5, 16, 17, 96, 129, 257};
    long products = 0, wrong = 0;
    for (int kind = BF16; kind <= INT8; ++kind) {
        for (int level = thinc_isa::AVX2; level <= thinc_isa::AVX512; ++level) {
            if (thinc_isa::cpu_level() < level) continue;
            thinc_isa::limit().store(level);
            bool runs = kind == BF16 ? thinc_gemm_bf16::available() : thinc_gemm_int8::available();
            if (!runs) continue;
            std::printf("%s, level %d\n", kind == BF16 ? "bf16" : "int8", level);
            for (int split = 0; split < 2; ++split) {
                // A grain of 1 splits even the smallest product over the pool.
                thinc_parallel::grain_override().store(split ? 1 : 0);
                index_t n = 0;
                for (index_t M : Ms)
                    for (index_t N : Ns)
                        for (index_t K : Ks)
                            for (int t = 0; t < 4; ++t, ++n) {
                                Case c{(t & 1) != 0, (t & 2) != 0, M, N, K, (n % 3 == 0) ? 3 : 0, n % 2 == 0};
                                ++products;
                                if (!run(rng, Kind(kind), c)) {
                                    ++wrong;
                                    std::printf(
                                        "wrong: %s level %d split %d trans %d%d M %ld N %ld K %ld pad %ld\n",
                                        kind == BF16 ? "bf16" : "int8", level, split, c.trans_a, c.trans_b,
                                        long(M), long(N), long(K), long(c.pad));
                                }
                            }
            }
            if (kind == INT8) {
                ++products;
                if (!refuses_non_finite(rng, Case{false, false, 40, 33, 17, 0, false})) {
                    ++wrong;
                    std::printf("wrong: int8 level %d took inf/NaN operands or changed C\n", level);
                }
            }
        }
    }
    thinc_parallel::grain_override().store(0);
    if (products == 0) {
        std::printf("no reduced-precision kernel: this CPU lacks AVX-512 BF16 and VNNI\n");
        return 0;
    }
    std::printf("products %ld, wrong %ld\n", products, wrong);
    return wrong == 0 ? 0 : 1;
}
