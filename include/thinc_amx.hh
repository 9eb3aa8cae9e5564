// What the AMX kernels (bf16 and int8 gemm) share: whether the CPU has the
// tile unit and a given tile multiply, the OS's leave to use the tile data,
// the tests' switch that turns a multiply's tiles off, the one tile shape
// they configure (8 tiles of 16 rows x 64 bytes), and the loop that runs a
// product on them.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

#include "thinc_malloc.hh"
#include "thinc_parallel.hh"
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

// The tile intrinsics (and the AVX-512 BF16 and AVX-VNNI ones beside them in
// the bf16 and int8 kernels) need gcc 11 or clang 12.
#if defined(__x86_64__) && ((defined(__clang__) && __clang_major__ >= 12) || \
                            (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
#define THINC_AMX_KERNELS 1
#include <immintrin.h>
#endif

namespace thinc_amx {

// CPUID leaf 7's EDX bits of the tile multiplies.
enum Multiply : unsigned { BF16 = 22, INT8 = 25 };
constexpr unsigned TILE_BIT = 24;

// The CPU has the tile unit and `multiply`, and the kernel lets this process
// use the tile data (ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA: without it
// the first tile instruction faults). Linux only.
inline bool ready(Multiply multiply) {
#if defined(__linux__) && defined(THINC_AMX_KERNELS)
    static const unsigned edx = [] {
        unsigned a, b, c, d;
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
        return d;
    }();
    static const bool permitted = ((edx >> TILE_BIT) & 1u) && syscall(SYS_arch_prctl, 0x1023, 18) == 0;
    return permitted && ((edx >> unsigned(multiply)) & 1u);
#else
    (void)multiply;
    return false;
#endif
}

// Tests turn a multiply's tiles off, to run the vector kernels on a machine
// that has AMX.
inline std::atomic<bool>& disabled(Multiply multiply) {
    static std::atomic<bool> bf16{false}, int8{false};
    return multiply == BF16 ? bf16 : int8;
}

// Tiles of `multiply` may run: ready() and not turned off by a test.
inline bool usable(Multiply multiply) {
    return ready(multiply) && !disabled(multiply).load(std::memory_order_relaxed);
}

#if defined(THINC_AMX_KERNELS)
struct alignas(64) TileConfig {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
};

// Every tile 16 rows of 64 bytes; loaded in each thread that runs tiles.
__attribute__((target("amx-tile"))) inline void configure_tiles() {
    TileConfig config;
    std::memset(&config, 0, sizeof(config));
    config.palette = 1;
    for (int t = 0; t < 8; ++t) {
        config.rows[t] = 16;
        config.bytes_per_row[t] = 64;
    }
    _tile_loadconfig(&config);
}

__attribute__((target("amx-tile"))) inline void release_tiles() {
    _tile_release();
}

typedef int64_t index_t;

// Both products lay C out in 32x32 blocks of four 16x16 tiles of sums, and
// their operands in 1 KB tiles that cover 64 bytes of k (32 bf16, 64 int8):
// op(A) 32 rows at a time as [k tile][half][16 rows][64 bytes], op(B) a
// column block at a time as [32-column block][k tile][half][16 rows][64 bytes].
// A Product packs, multiplies and writes:
//   pack_a(i0, rows, k_tiles, out), pack_b(j0, cols, k_tiles, out),
//   static multiply_four(): tiles 0-3 += (4, 5) x (6, 7),
//   write_block(sums, i0, m, j, n): C's rows [i0, i0 + m) and columns
//   [j, j + n) from the four tiles' sums (as stored: [tile][16][16]).
constexpr index_t BLOCK = 32;
constexpr index_t TILE_BYTES = 1024;
// Bytes of op(B) packed at once.
constexpr index_t PACKED_B_BYTES = index_t(1) << 20;

#define THINC_AMX_DRIVER_TARGET                                                              \
    __attribute__((                                                                          \
        target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx512bf16,avx512vnni," \
               "amx-tile,amx-bf16,amx-int8")))

// Row blocks [begin, end) of C against one packed column block (columns
// [j0, j0 + nc)); `scratch` holds a packed block of op(A) and the sums.
template <class Product>
THINC_AMX_DRIVER_TARGET inline void run_rows(const Product& product, index_t M, index_t k_tiles,
                                             const uint8_t* packed_b, index_t j0, index_t nc, index_t begin,
                                             index_t end, uint8_t* scratch) {
    uint8_t* a = scratch;
    uint8_t* sums = scratch + k_tiles * 2 * TILE_BYTES;
    index_t n_col_blocks = (nc + BLOCK - 1) / BLOCK;
    configure_tiles();
    for (index_t rb = begin; rb < end; ++rb) {
        index_t i0 = rb * BLOCK, m = std::min(BLOCK, M - i0);
        product.pack_a(i0, m, k_tiles, a);
        for (index_t cb = 0; cb < n_col_blocks; ++cb) {
            const uint8_t* b = packed_b + cb * k_tiles * 2 * TILE_BYTES;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (index_t kt = 0; kt < k_tiles; ++kt) {
                _tile_loadd(4, a + (kt * 2) * TILE_BYTES, 64);
                _tile_loadd(5, a + (kt * 2 + 1) * TILE_BYTES, 64);
                _tile_loadd(6, b + (kt * 2) * TILE_BYTES, 64);
                _tile_loadd(7, b + (kt * 2 + 1) * TILE_BYTES, 64);
                Product::multiply_four();
            }
            _tile_stored(0, sums, 64);
            _tile_stored(1, sums + TILE_BYTES, 64);
            _tile_stored(2, sums + 2 * TILE_BYTES, 64);
            _tile_stored(3, sums + 3 * TILE_BYTES, 64);
            index_t j = cb * BLOCK;
            product.write_block(sums, i0, m, j0 + j, std::min(BLOCK, nc - j));
        }
    }
    release_tiles();
}

// The product of M rows and N columns on tiles, all of k (k_tiles steps)
// summed in the tiles before C is written; row blocks split over the thread
// pool where `parallel`. False where memory could not be had.
template <class Product>
THINC_AMX_DRIVER_TARGET inline bool run(const Product& product, index_t M, index_t N, index_t k_tiles,
                                        bool parallel) {
    index_t column_block_bytes = k_tiles * 2 * TILE_BYTES;  // one 32-column block of op(B)
    index_t nc_max = std::max(BLOCK, PACKED_B_BYTES / column_block_bytes * BLOCK);
    nc_max = std::min(nc_max, (N + BLOCK - 1) / BLOCK * BLOCK);
    index_t n_row_blocks = (M + BLOCK - 1) / BLOCK;
    int n_slots = parallel ? thinc_parallel::num_threads() : 1;
    index_t slot_bytes = column_block_bytes + 4 * TILE_BYTES;
    thinc_malloc::Aligned<uint8_t> packed_b =
        thinc_malloc::allocate_aligned<uint8_t>(column_block_bytes * (nc_max / BLOCK));
    thinc_malloc::Aligned<uint8_t> packed_a = thinc_malloc::allocate_aligned<uint8_t>(slot_bytes * n_slots);
    if (!packed_b || !packed_a) return false;
    for (index_t j0 = 0; j0 < N; j0 += nc_max) {
        index_t nc = std::min(nc_max, N - j0);
        product.pack_b(j0, nc, k_tiles, packed_b.get());
        auto rows = [&](index_t begin, index_t end) {
            int slot = parallel ? thinc_parallel::this_thread_slot() % n_slots : 0;
            run_rows(product, M, k_tiles, packed_b.get(), j0, nc, begin, end,
                     packed_a.get() + slot * slot_bytes);
        };
        if (parallel)
            thinc_parallel::parallel_for(n_row_blocks, 1, 1, rows);
        else
            rows(0, n_row_blocks);
    }
    return true;
}
#endif

}  // namespace thinc_amx
