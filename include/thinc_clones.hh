// Function attributes shared by the kernel headers: per-ISA clones of each
// exported kernel, and forced inlining of the small helpers inside them.
#pragma once

// Each exported kernel is compiled for AVX-512, AVX2+FMA and the baseline ISA;
// the loader picks the widest one the CPU has, so wheels stay portable.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(THINC_NO_CLONES)
#define THINC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define THINC_CLONES
#endif

#if defined(__GNUC__)
#define THINC_INLINE inline __attribute__((always_inline))
#else
#define THINC_INLINE inline
#endif
