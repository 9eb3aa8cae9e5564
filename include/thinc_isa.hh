// Instruction-set levels for the compiled kernels: what the CPU offers, what
// THINC_ISA (or a test) allows, and per-level variants of each hot kernel
// chosen at call time, so that every level this CPU can run is testable.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__GNUC__)
#define THINC_INLINE inline __attribute__((always_inline))
#else
#define THINC_INLINE inline
#endif

namespace thinc_isa {

// Lanes [0, n) of a 16-lane AVX-512 mask (__mmask16), n clamped to [0, 16]:
// the tail of a row, or nothing where the row has ended.
THINC_INLINE uint16_t first_of_16(int64_t n) {
    return n >= 16 ? uint16_t(0xffff) : (n > 0 ? uint16_t((1u << n) - 1u) : uint16_t(0));
}

// Ordered: a level implies every level below it.
enum Level : int { SCALAR = 0, AVX2 = 1, AVX512 = 2 };

#if defined(__GNUC__) && defined(__x86_64__) && !defined(THINC_NO_CLONES)
#define THINC_ISA_X86 1
// The AVX2 level is exactly what the hand-written AVX2 code needs (no BMI or
// MOVBE, which some virtual CPUs hide); AVX-512 is the x86-64-v4 set.
#define THINC_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define THINC_TARGET_AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl")))
// A function whose vector multiplies and adds must round separately, as the
// scalar level's do: GCC would otherwise fuse intrinsics into FMAs (clang
// fuses only within one expression, which intrinsic calls never are).
#if defined(__clang__)
#define THINC_NO_FP_CONTRACT
#else
#define THINC_NO_FP_CONTRACT __attribute__((optimize("fp-contract=off")))
#endif

inline int cpu_level() {
    static const int level = [] {
        __builtin_cpu_init();
        if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return int(SCALAR);
        bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
        return int(avx512 ? AVX512 : AVX2);
    }();
    return level;
}
#else
inline int cpu_level() {
    return SCALAR;
}
#endif

// THINC_ISA as a level; -1 when unset or not a known name (the Python side
// warns about unknown names once).
inline int requested_level() {
    const char* text = std::getenv("THINC_ISA");
    if (text == nullptr || *text == '\0') return -1;
    if (std::strcmp(text, "scalar") == 0) return SCALAR;
    if (std::strcmp(text, "avx2") == 0) return AVX2;
    if (std::strcmp(text, "avx512") == 0) return AVX512;
    return -1;
}

// The highest level kernels may use; starts from THINC_ISA, tests move it.
inline std::atomic<int>& limit() {
    static std::atomic<int> value{requested_level() < 0 ? int(AVX512) : requested_level()};
    return value;
}

// The level kernels run at: the lower of what the CPU has and the limit.
inline int active() {
    int allowed = limit().load(std::memory_order_relaxed);
    int have = cpu_level();
    return allowed < have ? allowed : have;
}

}  // namespace thinc_isa

// THINC_ISA_VARIANTS(RET, NAME, (PARAMS), CALL) defines NAME's variant for
// each level, all running CALL (an always-inline body, so each is compiled for
// its level); THINC_ISA_DISPATCH(NAME), once per name after its overloads,
// defines NAME itself, which runs the variant of the active level.
#if defined(THINC_ISA_X86)
#define THINC_ISA_VARIANTS(RET, NAME, PARAMS, ...) \
    THINC_TARGET_AVX512 RET NAME##_avx512 PARAMS { \
        return __VA_ARGS__;                        \
    }                                              \
    THINC_TARGET_AVX2 RET NAME##_avx2 PARAMS {     \
        return __VA_ARGS__;                        \
    }                                              \
    RET NAME##_scalar PARAMS {                     \
        return __VA_ARGS__;                        \
    }
#define THINC_ISA_DISPATCH(NAME)                                               \
    template <typename... Args>                                                \
    THINC_INLINE auto NAME(Args... args) -> decltype(NAME##_scalar(args...)) { \
        switch (thinc_isa::active()) {                                         \
            case thinc_isa::AVX512:                                            \
                return NAME##_avx512(args...);                                 \
            case thinc_isa::AVX2:                                              \
                return NAME##_avx2(args...);                                   \
            default:                                                           \
                return NAME##_scalar(args...);                                 \
        }                                                                      \
    }
#else
#define THINC_ISA_VARIANTS(RET, NAME, PARAMS, ...) \
    RET NAME##_scalar PARAMS {                     \
        return __VA_ARGS__;                        \
    }
#define THINC_ISA_DISPATCH(NAME)                                               \
    template <typename... Args>                                                \
    THINC_INLINE auto NAME(Args... args) -> decltype(NAME##_scalar(args...)) { \
        return NAME##_scalar(args...);                                         \
    }
#endif
