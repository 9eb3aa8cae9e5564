// A small persistent worker pool for the compiled kernels: parallel_for splits
// an index range between the calling thread and a few sleeping workers.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace thinc_parallel {

typedef int64_t index_t;

constexpr int MAX_THREADS = 8;
// A parallel_for makes at most this many chunks per thread (fewer when the
// grain asks for fewer); callers that want equal chunks size their units by it.
constexpr int CHUNKS_PER_THREAD = 4;
// A job's chunks are claimed as bits of one 32-bit word.
static_assert(MAX_THREADS * CHUNKS_PER_THREAD <= 32, "chunk claims are bits of a 32-bit mask");
// How long an idle worker stays awake (spinning, then yielding) before it
// sleeps: long enough to bridge the Python between one layer's kernels.
constexpr double WAKEFUL_SECONDS = 0.002;

// CPUs this process may run on (a container's cpuset or taskset narrows it).
inline int available_cpus() {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int count = CPU_COUNT(&set);
        if (count > 0) return count;
    }
#endif
    unsigned count = std::thread::hardware_concurrency();
    return count > 0 ? static_cast<int>(count) : 1;
}

// THINC_NUM_THREADS as a positive integer, or 0 when unset or malformed.
inline int requested_threads() {
    const char* text = std::getenv("THINC_NUM_THREADS");
    if (text == nullptr || *text == '\0') return 0;
    char* end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || value <= 0) return 0;
    return value > MAX_THREADS ? MAX_THREADS : static_cast<int>(value);
}

// Read once: changing the environment later does not resize a running pool.
inline int num_threads() {
    static const int value = [] {
        int requested = requested_threads();
        if (requested > 0) return requested;
        int cpus = available_cpus();
        return cpus < MAX_THREADS ? cpus : MAX_THREADS;
    }();
    return value;
}

// THINC_PARALLEL_GRAIN as a positive count, or 0 when unset or malformed.
inline index_t requested_grain() {
    const char* text = std::getenv("THINC_PARALLEL_GRAIN");
    if (text == nullptr || *text == '\0') return 0;
    char* end = nullptr;
    long long value = std::strtoll(text, &end, 10);
    return (end == text || *end != '\0' || value <= 0) ? 0 : static_cast<index_t>(value);
}

// Replaces every kernel's serial threshold (elements, rows or multiply-adds)
// so that small inputs take the parallel path too; 0 keeps each kernel's own.
inline std::atomic<index_t>& grain_override() {
    static std::atomic<index_t> value{requested_grain()};
    return value;
}

inline void set_grain_override(index_t grain) {
    grain_override().store(grain < 0 ? 0 : grain);
}

inline void cpu_relax() {
#if defined(__x86_64__)
    _mm_pause();
#endif
}

// The pool slot of the calling thread: 1.. on a worker, 0 on any other thread
// (the caller of a parallel_for runs as slot 0). Kernels use it to give each
// thread the same scratch buffer from call to call, so it stays in that
// core's cache instead of moving between cores.
inline int& this_thread_slot() {
    static thread_local int slot = 0;
    return slot;
}

// Work is cut into more chunks than threads and claimed from a shared
// bitmask, so a worker that the OS is slow to schedule (both CPUs busy) only
// means the caller takes more chunks itself; the caller never waits for a
// chunk that no running thread has claimed. Each thread first claims the
// chunks of its own share of the range (thread k of T owns the k-th T-th), so
// back-to-back kernels over the same arrays find their rows in the L2 cache
// of the core that touched them last; only then does it take others' chunks,
// from the far end of the range.
class Pool {
  public:
    explicit Pool(int n_threads) : n_workers_(n_threads > 1 ? n_threads - 1 : 0) {}

    // Runs body(begin, end) over [0, n) in chunks of at least `grain`, or
    // serially when the pool is already in use (another Python thread, or a
    // kernel nested in a parallel region): it never waits for a busy pool.
    template <class Body>
    void run(index_t n, index_t grain, index_t align, Body& body) {
        // A flag rather than a mutex: try_lock by a thread that already holds
        // the lock (a nested call) is undefined, the exchange is not.
        if (busy_.exchange(true, std::memory_order_acquire)) {
            body(index_t(0), n);
            return;
        }
        struct Release {
            std::atomic<bool>& flag;
            ~Release() { flag.store(false, std::memory_order_release); }
        } release{busy_};
        if (!ensure_started()) {
            body(index_t(0), n);
            return;
        }
        index_t threads = n_workers_ + 1;
        if (grain < 1 || n / grain < 2) {
            body(index_t(0), n);
            return;
        }
        index_t n_chunks = std::min<index_t>(n / grain, CHUNKS_PER_THREAD * threads);
        index_t chunk = (n + n_chunks - 1) / n_chunks;
        // Chunk boundaries fall on multiples of `align`, so no two threads
        // write the same cache line of the output.
        chunk = (chunk + align - 1) / align * align;
        n_chunks = (n + chunk - 1) / chunk;
        // Close the previous job before its fields are overwritten: a worker
        // still looping over it (it may have read the old state word just
        // before) would otherwise claim a chunk of this job before it is
        // published, with a done_ count that the reset below then loses.
        uint64_t previous = state_.load(std::memory_order_relaxed);
        state_.store((previous & ~uint64_t(0xffffffffu)) | CLOSED, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        call_.store(&trampoline<Body>, std::memory_order_relaxed);
        context_.store(&body, std::memory_order_relaxed);
        size_.store(n, std::memory_order_relaxed);
        chunk_.store(chunk, std::memory_order_relaxed);
        n_chunks_.store(n_chunks, std::memory_order_relaxed);
        done_.store(0, std::memory_order_relaxed);
        // Generation 0 is the idle state the workers start from.
        uint64_t generation = ((state_.load(std::memory_order_relaxed) >> 32) + 1) & 0xffffffffu;
        if (generation == 0) generation = 1;
        // Bits past the last chunk start out claimed.
        uint64_t unclaimed = n_chunks >= 32 ? 0 : (CLOSED << n_chunks) & CLOSED;
        {
            std::lock_guard<std::mutex> guard(wake_lock_);
            state_.store((generation << 32) | unclaimed, std::memory_order_release);
        }
        wake_.notify_all();
        take_chunks(generation, 0);
        // Chunks still out are running on a worker right now.
        for (int spin = 0; spin < 20000 && done_.load(std::memory_order_acquire) < n_chunks; ++spin)
            cpu_relax();
        if (done_.load(std::memory_order_acquire) < n_chunks) {
            std::unique_lock<std::mutex> guard(done_lock_);
            finished_.wait(guard, [&] { return done_.load(std::memory_order_acquire) >= n_chunks; });
        }
    }

    int n_workers() const { return n_workers_; }

  private:
    // Every chunk claimed: the state of a job being replaced.
    static constexpr uint64_t CLOSED = 0xffffffffu;

    template <class Body>
    static void trampoline(void* context, index_t begin, index_t end) {
        (*static_cast<Body*>(context))(begin, end);
    }

    // The state word holds the job's generation (high half) and a bit per
    // chunk, set once claimed (low half); claiming by compare-and-swap on the
    // whole word means a thread holding a finished job's fields can claim
    // nothing. `slot` is 0 for the caller and 1.. for the workers.
    void take_chunks(uint64_t generation, int slot) {
        for (;;) {
            uint64_t state = state_.load(std::memory_order_acquire);
            if ((state >> 32) != generation) return;
            uint32_t free_chunks = ~static_cast<uint32_t>(state);
            if (free_chunks == 0) return;
            auto call = call_.load(std::memory_order_relaxed);
            void* context = context_.load(std::memory_order_relaxed);
            index_t n = size_.load(std::memory_order_relaxed);
            index_t chunk = chunk_.load(std::memory_order_relaxed);
            index_t n_chunks = n_chunks_.load(std::memory_order_relaxed);
            // Pairs with the fence after closing: fields read from a newer job
            // mean the claim below sees the closed state and fails.
            std::atomic_thread_fence(std::memory_order_acquire);
            index_t threads = n_workers_ + 1;
            index_t home_begin = slot * n_chunks / threads;
            index_t home_end = (slot + 1) * n_chunks / threads;
            uint32_t home =
                static_cast<uint32_t>(((uint64_t(1) << home_end) - 1) & ~((uint64_t(1) << home_begin) - 1));
            int pick = (free_chunks & home) != 0 ? __builtin_ctz(free_chunks & home)
                                                 : 31 - __builtin_clz(free_chunks);
            if (!state_.compare_exchange_weak(state, state | (uint64_t(1) << pick),
                                              std::memory_order_acq_rel))
                continue;
            index_t begin = pick * chunk;
            call(context, begin, std::min(n, begin + chunk));
            if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_chunks) {
                std::lock_guard<std::mutex> guard(done_lock_);
                finished_.notify_one();
            }
        }
    }

    // Workers start on first use, while busy_ is held, so only one thread starts them.
    bool ensure_started() {
        if (n_workers_ == 0) return false;
        if (started_) return true;
        started_ = true;
        int created = 0;
        try {
            for (; created < n_workers_; ++created) std::thread(&Pool::work, this, created + 1).detach();
        } catch (...) {
            // No more threads to be had (a sandbox's limit): use those we got.
            n_workers_ = created;
        }
        return n_workers_ > 0;
    }

    void work(int slot) {
        this_thread_slot() = slot;
        uint64_t seen = 0;
        for (;;) {
            // Spin, then yield, then sleep. A sleeping worker's CPU goes idle
            // and, on a virtual machine, halts: waking it took longer than a
            // 40 us kernel, so the caller ran job after job alone for
            // milliseconds after any pause. Yielding keeps the CPU awake
            // between a layer's kernels while giving it up at once to any
            // other runnable thread; only a pool idle for WAKEFUL_SECONDS sleeps.
            auto no_new_job = [&] { return (state_.load(std::memory_order_acquire) >> 32) == seen; };
            for (int spin = 0; spin < 2000 && no_new_job(); ++spin) cpu_relax();
            if (no_new_job()) {
                auto deadline =
                    std::chrono::steady_clock::now() + std::chrono::duration<double>(WAKEFUL_SECONDS);
                while (no_new_job() && std::chrono::steady_clock::now() < deadline) {
                    std::this_thread::yield();
                    for (int spin = 0; spin < 16; ++spin) cpu_relax();
                }
            }
            if (no_new_job()) {
                std::unique_lock<std::mutex> guard(wake_lock_);
                wake_.wait(guard, [&] { return !no_new_job(); });
            }
            seen = state_.load(std::memory_order_acquire) >> 32;
            take_chunks(seen, slot);
        }
    }

    int n_workers_;
    bool started_ = false;
    std::atomic<bool> busy_{false};
    std::atomic<uint64_t> state_{0};
    std::atomic<void (*)(void*, index_t, index_t)> call_{nullptr};
    std::atomic<void*> context_{nullptr};
    std::atomic<index_t> size_{0}, chunk_{1}, n_chunks_{0}, done_{0};
    std::mutex wake_lock_;
    std::condition_variable wake_;
    std::mutex done_lock_;
    std::condition_variable finished_;
};

// The process's pool. It is never destroyed: detached workers may still be
// asleep in it at exit. A forked child has no workers, so it gets a new pool.
inline Pool*& pool_pointer() {
    static Pool* pool = nullptr;
    return pool;
}

inline void replace_pool_after_fork() {
    pool_pointer() = new Pool(num_threads());
}

// Called once at module import (under the GIL), before any kernel runs.
inline void initialize() {
    if (pool_pointer() != nullptr) return;
    pool_pointer() = new Pool(num_threads());
#if defined(__linux__)
    pthread_atfork(nullptr, nullptr, &replace_pool_after_fork);
#endif
}

// Runs body(begin, end) over [0, n): in parallel when n spans at least two
// grains and the pool is free, else serially on the calling thread.
template <class Body>
inline void parallel_for(index_t n, index_t grain, index_t align, Body&& body) {
    index_t override_grain = grain_override().load(std::memory_order_relaxed);
    if (override_grain > 0) grain = override_grain;
    Pool* pool = pool_pointer();
    if (grain < 1) grain = 1;
    if (pool == nullptr || pool->n_workers() == 0 || n / 2 < grain) {
        body(index_t(0), n);
        return;
    }
    pool->run(n, grain, align < 1 ? 1 : align, body);
}

}  // namespace thinc_parallel
