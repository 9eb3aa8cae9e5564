// Keeps glibc's allocator from handing freed activation buffers back to the OS
// between batches; re-faulting them cost about a fifth of a tagger's inference.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace thinc_malloc {

// Buffers of a few MB are allocated and freed on every batch. By default glibc
// trims the top of the heap once 2x the mmap threshold is free, and maps large
// blocks fresh, so each batch pays page faults on memory it just released.
// Returns whether the settings were changed; a user's own MALLOC_* environment
// settings, or THINC_TUNE_MALLOC=0, leave glibc's defaults alone.
inline bool tune_allocator() {
#if defined(__GLIBC__)
    const char* opt_out = std::getenv("THINC_TUNE_MALLOC");
    if (opt_out != nullptr && opt_out[0] == '0') return false;
    if (std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr ||
        std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr || std::getenv("MALLOC_TOP_PAD_") != nullptr) {
        return false;
    }
    // Blocks below 32 MB come from the heap, which keeps up to 256 MB free.
    bool mmap_set = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
    bool trim_set = mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
    return mmap_set && trim_set;
#else
    return false;
#endif
}

// Scratch of `count` T on a 64-byte boundary (aligned vector loads, and no
// packed panel straddles a cache line), freed with its owner; null when no
// memory could be had.
struct FreeDeleter {
    void operator()(void* pointer) const { std::free(pointer); }
};
template <typename T>
using Aligned = std::unique_ptr<T, FreeDeleter>;

template <typename T>
inline Aligned<T> allocate_aligned(int64_t count) {
    size_t bytes = static_cast<size_t>((count * static_cast<int64_t>(sizeof(T)) + 63) / 64 * 64);
    return Aligned<T>(static_cast<T*>(std::aligned_alloc(64, bytes > 0 ? bytes : 64)));
}

}  // namespace thinc_malloc
