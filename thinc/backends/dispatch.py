"""Which implementation each compiled op family runs on this machine, in one
place: the settings that force a choice, a way for tests to force each, and a report.

Settings, read from the environment at first use (each forces one decision):

    THINC_ISA=scalar|avx2|avx512   instruction-set level of the compiled kernels
                                   (default: the widest this CPU has; a level the
                                   CPU lacks falls back to the widest it has)
    THINC_BLAS=thinc|blis|numpy    the gemm implementation, for every size
                                   (default: chosen per dtype, each candidate
                                   checked on this machine before it is trusted)
    THINC_SMALL_GEMM=N             the line between small and large products, in
                                   multiply-adds (default 2**21)
    THINC_GEMM_CACHE=FILE|0        where float32's timed gemm choice is kept
                                   (default ~/.cache/thinc/gemm-choice.json);
                                   0: no timing, the rule decides
    THINC_GEMM_PRECISION=float32|bf16|int8
                                   opt-in, for inference: bf16 rounds float32
                                   products' operands to bfloat16 and sums in
                                   float32 (AVX-512 BF16); int8 quantizes each
                                   row of op(A) and column of op(B) to int8 and
                                   sums in int32 (AMX, AVX-512 VNNI or AVX-VNNI)
    THINC_NUM_THREADS=N            worker threads of the compiled kernels (read
                                   at import; default one per CPU, at most 8)
    THINC_PARALLEL_GRAIN=N         split work above N elements (rows, or
                                   multiply-adds for gemm) instead of each
                                   kernel's own threshold (default: unset)
"""

import contextlib
from typing import Any, Dict, Iterator, Optional

from . import cblas as _cblas
from . import numpy_ops as _numpy_ops

ISA_LEVELS = _numpy_ops.ISA_NAMES
KERNEL_FAMILIES = _numpy_ops.KERNEL_FAMILIES
_UNSET: Any = object()


def cpu_isa() -> str:
    """The widest instruction-set level this CPU offers the kernels."""
    return ISA_LEVELS[_numpy_ops._isa_levels()[0]]


def active_isa() -> str:
    """The level the kernels run at now: the CPU's, or lower where forced."""
    return ISA_LEVELS[_numpy_ops._isa_levels()[1]]


def available_isas() -> tuple:
    """Every level this CPU can run, narrowest first (tests force each)."""
    return ISA_LEVELS[: _numpy_ops._isa_levels()[0] + 1]


def _set_isa(level: Optional[str]) -> None:
    if level is None:
        requested = _numpy_ops._environment_settings()[0]
        level = ISA_LEVELS[requested] if requested >= 0 else ISA_LEVELS[-1]
    elif level not in ISA_LEVELS:
        raise ValueError(f"isa must be one of {ISA_LEVELS} or None, not {level!r}")
    elif level not in available_isas():
        raise ValueError(f"this CPU cannot run the {level} kernels (it has up to {cpu_isa()})")
    index = ISA_LEVELS.index(level)
    _numpy_ops._set_isa_limit(index)
    _cblas._set_isa_limit(index)


def _set_grain(grain: Optional[int]) -> None:
    if grain is None:
        grain = _numpy_ops._environment_settings()[1]
    elif not isinstance(grain, int) or grain < 0:
        raise ValueError(f"grain must be a non-negative int or None, not {grain!r}")
    _numpy_ops._set_parallel_grain(grain)
    _cblas._set_grain_override(grain)


def configure(
    *,
    isa: Any = _UNSET,
    blas: Any = _UNSET,
    small_gemm: Any = _UNSET,
    grain: Any = _UNSET,
    precision: Any = _UNSET,
) -> None:
    """Forces choices for this process, as the settings above would (None goes
    back to the environment's). Meant for tests and benchmarks: change it while
    no other thread runs kernels."""
    if isa is not _UNSET:
        _set_isa(isa)
    if grain is not _UNSET:
        _set_grain(grain)
    gemm: Dict[str, Any] = {}
    if blas is not _UNSET:
        gemm["blas"] = blas
    if small_gemm is not _UNSET:
        gemm["small_gemm"] = small_gemm
    if precision is not _UNSET:
        gemm["precision"] = precision
    _cblas.configure_gemm(**gemm)


@contextlib.contextmanager
def forced(
    *,
    isa: Any = _UNSET,
    blas: Any = _UNSET,
    small_gemm: Any = _UNSET,
    grain: Any = _UNSET,
    precision: Any = _UNSET,
) -> Iterator[None]:
    """configure() for the duration of a with-block, then back to the environment's choices."""
    settings = {
        "isa": isa,
        "blas": blas,
        "small_gemm": small_gemm,
        "grain": grain,
        "precision": precision,
    }
    given = {name: value for name, value in settings.items() if value is not _UNSET}
    configure(**given)
    try:
        yield
    finally:
        configure(**{name: None for name in given})


def report() -> Dict[str, Any]:
    """What runs where: the instruction-set level of each kernel family, gemm's
    path per dtype and size (with any candidate refused as wrong on this
    machine), and the thread split. The same as NumpyOps.paths()."""
    return _numpy_ops.paths_report()
