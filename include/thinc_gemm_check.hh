// The gemm of last resort and the check every other gemm must pass before it
// is trusted with a dtype: plain loops whose only virtue is being right.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

namespace thinc_gemm_check {

typedef int64_t index_t;

// C = alpha * op(A) @ op(B) + beta * C, row-major, never reading C when beta
// is 0 (the BLAS convention). Loop order keeps the innermost loop contiguous.
template <typename T>
void loop_gemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda,
               const T* B, index_t ldb, T beta, T* C, index_t ldc) {
    for (index_t i = 0; i < M; ++i) {
        T* row = C + i * ldc;
        for (index_t j = 0; j < N; ++j) row[j] = beta == T(0) ? T(0) : beta * row[j];
        if (trans_b) {
            for (index_t j = 0; j < N; ++j) {
                const T* b = B + j * ldb;
                T total = 0;
                for (index_t p = 0; p < K; ++p) total += (trans_a ? A[p * lda + i] : A[i * lda + p]) * b[p];
                row[j] += alpha * total;
            }
        } else {
            for (index_t p = 0; p < K; ++p) {
                T a = alpha * (trans_a ? A[p * lda + i] : A[i * lda + p]);
                const T* b = B + p * ldb;
                for (index_t j = 0; j < N; ++j) row[j] += a * b[j];
            }
        }
    }
}

// A gemm under test, as the BLAS interface describes it (row-major).
// Transposes are ints, as Cython declares them.
template <typename T>
using gemm_t = void (*)(int, int, index_t, index_t, index_t, T, const T*, index_t, const T*, index_t, T, T*,
                        index_t);

// Runs gemm over every shape of the grid Ms x Ns x Ks, all four transposes,
// and checks each product against loop_gemm. Entries are small integers, and
// alpha and beta powers of two (or 1), so every right answer is exact in
// float32 whatever the order of the additions: any difference is a wrong
// answer, not rounding. Cases cycle through alpha in {1, -2, 0.5}, beta in
// {0 over a C full of NaN, 1, -0.5}, and padded rows (lda, ldb, ldc larger
// than the width, with the padding of C checked untouched) every fifth case.
// Returns the number of wrong cases; the first is described in
// first_wrong[0..4] as M, N, K, trans_a, trans_b, and *n_cases counts them all.
template <typename T>
index_t count_wrong_products(gemm_t<T> gemm, const index_t* Ms, index_t nM, const index_t* Ns, index_t nN,
                             const index_t* Ks, index_t nK, index_t* first_wrong, index_t* n_cases) {
    const index_t pad = 3;
    index_t max_m = 1, max_n = 1, max_k = 1;
    for (index_t i = 0; i < nM; ++i) max_m = Ms[i] > max_m ? Ms[i] : max_m;
    for (index_t i = 0; i < nN; ++i) max_n = Ns[i] > max_n ? Ns[i] : max_n;
    for (index_t i = 0; i < nK; ++i) max_k = Ks[i] > max_k ? Ks[i] : max_k;
    index_t max_side = (max_m > max_k ? max_m : max_k) + pad;
    std::vector<T> A(max_side * max_side), B((max_k + pad) * (max_n + pad));
    std::vector<T> C(max_m * (max_n + pad)), want(max_m * (max_n + pad));
    const T alphas[] = {T(1), T(-2), T(0.5)};
    const T betas[] = {T(0), T(1), T(-0.5)};
    uint32_t state = 12345u;
    auto next_small_integer = [&state]() {
        state = state * 1664525u + 1013904223u;
        return static_cast<T>(static_cast<int>((state >> 16) % 7u) - 3);
    };
    index_t wrong = 0, case_index = 0;
    for (index_t mi = 0; mi < nM; ++mi) {
        for (index_t ni = 0; ni < nN; ++ni) {
            for (index_t ki = 0; ki < nK; ++ki) {
                for (int transposes = 0; transposes < 4; ++transposes, ++case_index) {
                    index_t M = Ms[mi], N = Ns[ni], K = Ks[ki];
                    if (M <= 0 || N <= 0 || K < 0) continue;
                    bool trans_a = transposes & 1, trans_b = transposes & 2;
                    index_t extra = case_index % 5 == 4 ? pad : 0;
                    index_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
                    index_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
                    index_t lda = a_cols + extra, ldb = b_cols + extra, ldc = N + extra;
                    T alpha = alphas[case_index % 3], beta = betas[(case_index / 3) % 3];
                    for (index_t i = 0; i < a_rows * lda; ++i) A[i] = next_small_integer();
                    for (index_t i = 0; i < b_rows * ldb; ++i) B[i] = next_small_integer();
                    for (index_t i = 0; i < M * ldc; ++i) {
                        bool padding = i % ldc >= N;
                        want[i] = padding ? T(7) : (beta == T(0) ? T(0) : next_small_integer());
                        C[i] = beta == T(0) && !padding ? T(NAN) : want[i];
                    }
                    loop_gemm<T>(trans_a, trans_b, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta,
                                 want.data(), ldc);
                    gemm(trans_a, trans_b, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
                    bool same = true;
                    for (index_t i = 0; i < M * ldc; ++i) same = same && C[i] == want[i];
                    if (!same && wrong++ == 0) {
                        first_wrong[0] = M;
                        first_wrong[1] = N;
                        first_wrong[2] = K;
                        first_wrong[3] = trans_a;
                        first_wrong[4] = trans_b;
                    }
                }
            }
        }
    }
    *n_cases = case_index;
    return wrong;
}

// Plain signatures for Cython, which declares no templates of function pointers.
typedef gemm_t<float> sgemm_t;
typedef gemm_t<double> dgemm_t;

inline void loop_sgemm(int trans_a, int trans_b, index_t M, index_t N, index_t K, float alpha, const float* A,
                       index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc) {
    loop_gemm<float>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

inline void loop_dgemm(int trans_a, int trans_b, index_t M, index_t N, index_t K, double alpha,
                       const double* A, index_t lda, const double* B, index_t ldb, double beta, double* C,
                       index_t ldc) {
    loop_gemm<double>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

inline index_t count_wrong_sgemm(sgemm_t gemm, const index_t* Ms, index_t nM, const index_t* Ns, index_t nN,
                                 const index_t* Ks, index_t nK, index_t* first_wrong, index_t* n_cases) {
    return count_wrong_products<float>(gemm, Ms, nM, Ns, nN, Ks, nK, first_wrong, n_cases);
}

inline index_t count_wrong_dgemm(dgemm_t gemm, const index_t* Ms, index_t nM, const index_t* Ns, index_t nN,
                                 const index_t* Ks, index_t nK, index_t* first_wrong, index_t* n_cases) {
    return count_wrong_products<double>(gemm, Ms, nM, Ns, nN, Ks, nK, first_wrong, n_cases);
}

}  // namespace thinc_gemm_check
