# Process-wide settings of the compiled kernels: threads, instruction set, allocator.

cdef extern from "thinc_parallel.hh" namespace "thinc_parallel" nogil:
    void parallel_initialize "thinc_parallel::initialize"()
    int parallel_num_threads "thinc_parallel::num_threads"()
    int parallel_requested_threads "thinc_parallel::requested_threads"()
    void parallel_set_grain_override "thinc_parallel::set_grain_override"(index_t)
    index_t parallel_requested_grain "thinc_parallel::requested_grain"()


cdef extern from "thinc_isa.hh" namespace "thinc_isa" nogil:
    int isa_cpu_level "thinc_isa::cpu_level"()
    int isa_active "thinc_isa::active"()
    int isa_requested_level "thinc_isa::requested_level"()
    void isa_set_limit "thinc_isa::limit().store"(int)


def _check_thread_setting() -> None:
    text = os.environ.get("THINC_NUM_THREADS", "")
    if text and parallel_requested_threads() == 0:
        warnings.warn(
            f"THINC_NUM_THREADS={text!r} is not a positive integer; the compiled kernels use "
            f"{parallel_num_threads()} thread(s), one per available CPU (at most 8)"
        )


cdef extern from "thinc_malloc.hh" namespace "thinc_malloc":
    bint tune_allocator()


# The instruction-set levels of include/thinc_isa.hh, by index.
ISA_NAMES = ("scalar", "avx2", "avx512")


def _check_isa_setting() -> None:
    text = os.environ.get("THINC_ISA", "")
    names = ISA_NAMES
    if not text:
        return
    if text not in names:
        warnings.warn(f"THINC_ISA={text!r} is not one of {', '.join(names)}; the compiled "
                      f"kernels use the widest level this CPU has ({names[isa_cpu_level()]})")
    elif names.index(text) > isa_cpu_level():
        warnings.warn(f"THINC_ISA={text}: this CPU has no {text}; the compiled kernels use "
                      f"{names[isa_cpu_level()]}")


# Creates the pool object; its threads start at the first parallel kernel.
parallel_initialize()
_check_thread_setting()
_check_isa_setting()

# Whether glibc was told to keep freed batch buffers (include/thinc_malloc.hh):
# None until the first NumpyOps is made, since it changes the whole process.
_allocator_tuned = None


def _tune_allocator_once() -> None:
    global _allocator_tuned
    if _allocator_tuned is None:
        _allocator_tuned = bool(tune_allocator())


def allocator_tuned():
    """Whether glibc's allocator was told to keep freed batch-sized buffers
    (done when the first NumpyOps is created; THINC_TUNE_MALLOC=0 or the
    user's own MALLOC_* settings leave it alone); None before that."""
    return _allocator_tuned


def get_num_threads() -> int:
    """Threads the compiled kernels split large work over (THINC_NUM_THREADS,
    read once at import; by default the CPUs this process may use, at most 8)."""
    return parallel_num_threads()


def _set_parallel_grain(grain: int) -> None:
    """Every kernel splits work above `grain` elements (rows for row ops)
    instead of its own threshold; 0 restores the thresholds. Use
    thinc.backends.dispatch.configure, which sets gemm's too."""
    parallel_set_grain_override(int(grain))


def _environment_settings():
    """(THINC_ISA as a level index or -1, THINC_PARALLEL_GRAIN or 0), as the
    kernels read them: the C++ side is the one parser of both."""
    return isa_requested_level(), parallel_requested_grain()


def _set_isa_limit(int level) -> None:
    isa_set_limit(level)


def _isa_levels():
    """(the CPU's level, the active level) of this module's kernels, as
    indices into thinc.backends.dispatch.ISA_LEVELS."""
    return isa_cpu_level(), isa_active()


class _GemmDescription:
    """Reads as the one-line gemm description, on the class and on instances."""

    def __get__(self, instance, owner) -> str:
        return _cblas_module.gemm_description()


# The compiled op families besides gemm, and whether each has hand-written
# AVX2 float32 bodies on top of the per-level versions of its kernels.
KERNEL_FAMILIES = {
    "elementwise": ("activations and their gradients", True),
    "rows": ("softmax, maxout and their gradients", True),
    "sequences": ("reductions, seq2col, softmax over sequences", False),
    "tables": ("gather_add, scatter_add, hashing", True),
    "optimizers": ("adam, gradient clipping, parameter averages", False),
    "norm": ("layer norm, maxout with bias", False),
    "recurrent": ("the LSTM step", False),
}


def paths_report() -> dict:
    """What runs where (NumpyOps.paths, thinc.backends.dispatch.report): the
    instruction-set level of each kernel family, gemm's path per dtype and size
    (with any candidate refused as wrong on this machine), and the threads."""
    level = ISA_NAMES[isa_active()]
    kernels = {}
    for family, (what, hand_written) in KERNEL_FAMILIES.items():
        text = f"{level} kernels ({what})"
        if family == "elementwise" and level == "avx512":
            # The rows' AVX2 bodies step aside for gcc's 512-bit loops, but for
            # three rows with AVX-512 bodies of their own (thinc_elementwise.hh).
            text += ", hand-written AVX-512 bodies for float32 sigmoid, swish and backprop_swish"
        elif hand_written and level != "scalar":
            text += ", hand-written AVX2 bodies for float32"
        kernels[family] = text
    return {
        "isa": {"cpu": ISA_NAMES[isa_cpu_level()], "active": level},
        "kernels": kernels,
        "gemm": _cblas_module.gemm_paths(),
        "threads": parallel_num_threads(),
    }
