"""Tests for CupyOps and its CUDA kernels.

Without a GPU, the .cu kernels are compiled for the CPU with a small header that
emulates CUDA's thread grid, and CupyOps runs with numpy as its array module; the
GPU-only tests at the end run where cupy and a CUDA device are present."""

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinc.backends import _custom_kernels
from thinc.compat import has_cupy_gpu

from ._cupy_cases import (
    CASES,
    DTYPE_FREE,
    PAD_INT_DTYPES,
    compare_tagger_training,
    copy_args,
    flatten_result,
    suffix_for,
    tolerances,
    with_specials,
)

CASES_BY_ID = {case.id: case for case in CASES}

EMULATION_HEADER = """
#include <math.h>
struct emu_dim3 { unsigned int x, y, z; };
static emu_dim3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
extern "C" void emu_set_grid(unsigned int block, unsigned int thread,
                             unsigned int block_dim, unsigned int grid_dim) {
    blockIdx.x = block; threadIdx.x = thread; blockDim.x = block_dim; gridDim.x = grid_dim;
}
"""

# Expected MurmurHash3 (x64, 128-bit) words, from thinc 8.3.14's NumpyOps.hash.
HASH_IDS = numpy.array([0, 1, 2, 12345678901234, 2**64 - 1], dtype="uint64")
HASH_SEED0 = numpy.array(
    [
        [3428303819, 685728695, 3303603794, 4065689084],
        [4211459146, 4457399, 3547175942, 1032506804],
        [1819721896, 3725074592, 1401649061, 3845513878],
        [3352554791, 373908416, 1128393731, 267846410],
        [448458099, 2699342458, 1800029871, 1763775177],
    ],
    dtype="uint32",
)
HASH_SEED7 = numpy.array(
    [
        [363161713, 1826689969, 588221874, 425284546],
        [3089165797, 1536154270, 2023308811, 4074317197],
        [666152391, 2819266844, 3389477347, 2033898381],
        [1080260032, 1538607597, 4265709839, 609525150],
        [3047236301, 3599381855, 1331799921, 2604828161],
    ],
    dtype="uint32",
)


class EmulatedKernel:
    """Runs one compiled kernel over a small emulated grid, thread by thread.
    A launch uses at most 2 blocks of 3 threads so grid-stride loops get exercised."""

    def __init__(self, library: ctypes.CDLL, name: str, launches: list) -> None:
        self.function = getattr(library, name)
        self.function.restype = None
        self.set_grid = library.emu_set_grid
        self.name = name
        self.launches = launches

    @staticmethod
    def _convert(arg):
        if isinstance(arg, numpy.ndarray):
            assert arg.flags.c_contiguous, "kernels need contiguous arrays"
            return ctypes.c_void_p(arg.ctypes.data)
        converters = {
            numpy.int32: ctypes.c_int,
            numpy.uint32: ctypes.c_uint,
            numpy.float32: ctypes.c_float,
            numpy.float64: ctypes.c_double,
        }
        if type(arg) not in converters:
            raise TypeError(f"unexpected kernel argument type {type(arg)}")
        return converters[type(arg)](arg)

    def __call__(self, grid, block, args):
        self.launches.append(self.name)
        assert grid[0] >= 1 and block[0] >= 1
        converted = [self._convert(arg) for arg in args]
        n_blocks, n_threads = min(grid[0], 2), min(block[0], 3)
        for block_index in range(n_blocks):
            for thread_index in range(n_threads):
                self.set_grid(block_index, thread_index, n_threads, n_blocks)
                self.function(*converted)


@pytest.fixture(scope="module")
def kernel_library(tmp_path_factory):
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no C++ compiler to emulate the CUDA kernels")
    build = tmp_path_factory.mktemp("kernels")
    header = build / "emulation.h"
    header.write_text(EMULATION_HEADER)
    library = build / "kernels.so"
    source = Path(_custom_kernels.KERNELS_SOURCE_PATH)
    subprocess.run(
        [
            compiler,
            "-x",
            "c++",
            "-O1",
            "-shared",
            "-fPIC",
            "-include",
            str(header),
            str(source),
            "-o",
            str(library),
        ],
        check=True,
    )
    return ctypes.CDLL(str(library))


@pytest.fixture
def launches(kernel_library, monkeypatch):
    """Route every kernel launch to the CPU emulation; yields the launch log."""
    log: list = []
    for name in _custom_kernels.KERNEL_NAMES:
        monkeypatch.setitem(
            _custom_kernels.KERNELS, name, EmulatedKernel(kernel_library, name, log)
        )
    return log


@pytest.fixture
def ops(launches):
    """CupyOps running on numpy arrays, kernels emulated on the CPU."""
    from thinc.backends.cupy_ops import CupyOps

    class NumpyBackedCupyOps(CupyOps):
        xp = numpy

    return NumpyBackedCupyOps()


# Plain-loop references, written independently of the kernels.
def seq2col_reference(X, nW, lengths):
    B, I = X.shape
    nF = 2 * nW + 1
    out = numpy.zeros((B, nF, I), dtype=X.dtype)
    start = 0
    for length in lengths:
        for b in range(start, start + length):
            for w in range(nF):
                source = b + w - nW
                if start <= source < start + length:
                    out[b, w] = X[source]
        start += length
    return out.reshape((B, nF * I))


def backprop_seq2col_reference(dY, nW, lengths):
    B = dY.shape[0]
    nF = 2 * nW + 1
    I = dY.shape[1] // nF
    windows = dY.reshape((B, nF, I))
    dX = numpy.zeros((B, I), dtype=dY.dtype)
    start = 0
    for length in lengths:
        for b in range(start, start + length):
            for w in range(nF):
                source = b + w - nW
                if start <= source < start + length:
                    dX[source] += windows[b, w]
        start += length
    return dX


def split_rows(X, lengths):
    return numpy.split(X, numpy.cumsum(lengths)[:-1]) if len(lengths) else []


lengths_strategy = st.lists(st.integers(0, 5), min_size=1, max_size=5)


def test_hash_matches_thinc_cpu_words(launches):
    numpy.testing.assert_array_equal(_custom_kernels.hash(HASH_IDS, 0), HASH_SEED0)
    numpy.testing.assert_array_equal(_custom_kernels.hash(HASH_IDS, 7), HASH_SEED7)
    assert launches == ["hash_data", "hash_data"]


def test_hash_rejects_bad_input(launches):
    with pytest.raises(ValueError, match="uint64"):
        _custom_kernels.hash(numpy.array([1, 2], dtype="int32"), 0)
    with pytest.raises(ValueError, match="dimensions"):
        _custom_kernels.hash(numpy.zeros((2, 2), dtype="uint64"), 0)
    with pytest.raises(ValueError, match="seed"):
        _custom_kernels.hash(HASH_IDS, -1)


def test_seq2col_matches_thinc_example(ops):
    X = numpy.arange(5, dtype="f").reshape((5, 1))
    expected = [[0, 0, 1], [0, 1, 0], [0, 2, 3], [2, 3, 4], [3, 4, 0]]
    result = ops.seq2col(X, 1, lengths=numpy.array([2, 3], dtype="i"))
    numpy.testing.assert_array_equal(result, numpy.array(expected, dtype="f"))
    dX = ops.backprop_seq2col(
        numpy.ones((5, 3), dtype="f"), 1, lengths=numpy.array([2, 3], dtype="i")
    )
    numpy.testing.assert_array_equal(dX, numpy.array([[2], [2], [2], [3], [2]], dtype="f"))


@settings(max_examples=30, deadline=None)
@given(
    lengths=lengths_strategy,
    nW=st.integers(0, 3),
    width=st.integers(1, 3),
    dtype=st.sampled_from(["f", "d"]),
)
def test_seq2col_and_backprop_match_reference(kernel_library, lengths, nW, width, dtype):
    log: list = []
    kernels = {
        name: EmulatedKernel(kernel_library, name, log) for name in _custom_kernels.KERNEL_NAMES
    }
    saved = dict(_custom_kernels.KERNELS)
    _custom_kernels.KERNELS.update(kernels)
    try:
        rng = numpy.random.default_rng(len(lengths) * 31 + nW)
        X = rng.normal(size=(sum(lengths), width)).astype(dtype)
        lengths_array = numpy.array(lengths, dtype="i")
        result = _custom_kernels.seq2col(X, nW, lengths=lengths_array)
        numpy.testing.assert_allclose(result, seq2col_reference(X, nW, lengths))
        dY = rng.normal(size=result.shape).astype(dtype)
        dX = _custom_kernels.backprop_seq2col(dY, nW, lengths=lengths_array)
        numpy.testing.assert_allclose(
            dX, backprop_seq2col_reference(dY, nW, lengths), rtol=1e-5, atol=1e-6
        )
        assert dX.dtype == numpy.dtype(dtype)
    finally:
        _custom_kernels.KERNELS.update(saved)


def test_seq2col_without_lengths_is_one_sequence(ops):
    X = numpy.arange(3, dtype="f").reshape((3, 1))
    expected = numpy.array([[0, 0, 0, 1, 2], [0, 0, 1, 2, 0], [0, 1, 2, 0, 0]], dtype="f")
    numpy.testing.assert_array_equal(ops.seq2col(X, 2), expected)


def test_seq2col_rejects_bad_input(ops):
    X = numpy.zeros((5, 2), dtype="f")
    with pytest.raises(IndexError, match="lengths sum to 4 but the array has 5 rows"):
        ops.seq2col(X, 1, lengths=numpy.array([2, 2], dtype="i"))
    with pytest.raises(ValueError, match=">= 0"):
        ops.seq2col(X, 1, lengths=numpy.array([6, -1], dtype="i"))
    with pytest.raises(ValueError, match="nW"):
        _custom_kernels.seq2col(X, -1)
    with pytest.raises(ValueError, match="multiple"):
        _custom_kernels.backprop_seq2col(numpy.zeros((5, 4), dtype="f"), 1)
    with pytest.raises(ValueError, match="dimensions"):
        _custom_kernels.seq2col(numpy.zeros((3, 1, 1), dtype="f"), 1)


def test_maxout_and_backprop(ops, launches):
    X = numpy.array([[[1, 3, 2], [5, 4, 6]], [[7, 7, 0], [-1, -3, -2]]], dtype="f")
    best, which = ops.maxout(X)
    numpy.testing.assert_array_equal(best, [[3, 6], [7, -1]])
    # Ties go to the first piece, like numpy's argmax.
    numpy.testing.assert_array_equal(which, [[1, 2], [0, 0]])
    assert which.dtype == numpy.int32
    assert launches == ["maxout_float"]
    dY = numpy.array([[1, 2], [3, 4]], dtype="f")
    dX = ops.backprop_maxout(dY, which, 3)
    expected = numpy.zeros((2, 2, 3), dtype="f")
    expected[0, 0, 1], expected[0, 1, 2], expected[1, 0, 0], expected[1, 1, 0] = 1, 2, 3, 4
    numpy.testing.assert_array_equal(dX, expected)
    with pytest.raises(IndexError):
        ops.backprop_maxout(dY, numpy.array([[1, 3], [0, 0]], dtype="i"), 3)


@settings(max_examples=20, deadline=None)
@given(shape=st.tuples(st.integers(0, 4), st.integers(1, 4), st.integers(1, 4)))
def test_maxout_matches_numpy(kernel_library, shape):
    kernel = EmulatedKernel(kernel_library, "maxout_double", [])
    saved = _custom_kernels.KERNELS["maxout_double"]
    _custom_kernels.KERNELS["maxout_double"] = kernel
    try:
        X = numpy.random.default_rng(sum(shape)).normal(size=shape)
        best, which = _custom_kernels.maxout(X)
        numpy.testing.assert_array_equal(best, X.max(axis=-1))
        numpy.testing.assert_array_equal(which, X.argmax(axis=-1))
    finally:
        _custom_kernels.KERNELS["maxout_double"] = saved


def test_reductions_match_thinc_example(ops):
    X = numpy.arange(12, dtype="f").reshape((6, 2))
    lengths = numpy.array([2, 0, 4], dtype="i")
    numpy.testing.assert_array_equal(ops.reduce_sum(X, lengths), [[2, 4], [0, 0], [28, 32]])
    numpy.testing.assert_array_equal(ops.reduce_mean(X, lengths), [[1, 2], [0, 0], [7, 8]])
    with pytest.raises(ValueError, match="> 0"):
        ops.reduce_max(X, lengths)
    maxes, which = ops.reduce_max(X, numpy.array([2, 4], dtype="i"))
    numpy.testing.assert_array_equal(maxes, [[2, 3], [10, 11]])
    numpy.testing.assert_array_equal(which, [[1, 1], [3, 3]])
    with pytest.raises(IndexError, match="lengths sum to 7"):
        ops.reduce_sum(X, numpy.array([2, 5], dtype="i"))
    # Like thinc 8.3, the reductions ignore rows beyond the lengths' total.
    numpy.testing.assert_array_equal(
        ops.reduce_sum(X, numpy.array([2, 2], dtype="i")), [[2, 4], [10, 12]]
    )
    maxes, which = ops.reduce_max(X, numpy.array([2, 2], dtype="i"))
    numpy.testing.assert_array_equal(maxes, [[2, 3], [6, 7]])


@settings(max_examples=30, deadline=None)
@given(lengths=lengths_strategy, width=st.integers(1, 3))
def test_reductions_and_backprops_match_reference(kernel_library, lengths, width):
    from thinc.backends.cupy_ops import CupyOps

    class NumpyBackedCupyOps(CupyOps):
        xp = numpy

    saved = dict(_custom_kernels.KERNELS)
    _custom_kernels.KERNELS.update(
        {name: EmulatedKernel(kernel_library, name, []) for name in _custom_kernels.KERNEL_NAMES}
    )
    try:
        ops = NumpyBackedCupyOps()
        rng = numpy.random.default_rng(sum(lengths) + width)
        X = rng.normal(size=(sum(lengths), width)).astype("f")
        lengths_array = numpy.array(lengths, dtype="i")
        pieces = split_rows(X, lengths)
        sums = numpy.array([p.sum(axis=0) for p in pieces], dtype="f").reshape((-1, width))
        means = numpy.array(
            [p.mean(axis=0) if len(p) else numpy.zeros(width) for p in pieces], dtype="f"
        ).reshape((-1, width))
        numpy.testing.assert_allclose(ops.reduce_sum(X, lengths_array), sums, rtol=1e-5, atol=1e-6)
        numpy.testing.assert_allclose(
            ops.reduce_mean(X, lengths_array), means, rtol=1e-5, atol=1e-6
        )
        d_out = rng.normal(size=(len(lengths), width)).astype("f")
        expected_sum_grad = numpy.concatenate(
            [numpy.repeat(d_out[i : i + 1], n, axis=0) for i, n in enumerate(lengths)]
        )
        numpy.testing.assert_allclose(
            ops.backprop_reduce_sum(d_out, lengths_array), expected_sum_grad
        )
        expected_mean_grad = numpy.concatenate(
            [numpy.repeat(d_out[i : i + 1] / max(n, 1), n, axis=0) for i, n in enumerate(lengths)]
        )
        numpy.testing.assert_allclose(
            ops.backprop_reduce_mean(d_out, lengths_array), expected_mean_grad, rtol=1e-6
        )
        if all(lengths):
            maxes, which = ops.reduce_max(X, lengths_array)
            numpy.testing.assert_array_equal(maxes, [p.max(axis=0) for p in pieces])
            numpy.testing.assert_array_equal(which, [p.argmax(axis=0) for p in pieces])
            dX = ops.backprop_reduce_max(d_out, which, lengths_array)
            expected = numpy.zeros_like(X)
            start = 0
            for i, n in enumerate(lengths):
                for column in range(width):
                    expected[start + which[i, column], column] = d_out[i, column]
                start += n
            numpy.testing.assert_array_equal(dX, expected)
    finally:
        _custom_kernels.KERNELS.update(saved)


def test_backprop_reduce_max_rejects_out_of_sequence_which(ops):
    with pytest.raises(IndexError, match="outside"):
        ops.backprop_reduce_max(
            numpy.ones((2, 2), dtype="f"),
            numpy.array([[2, 0], [3, 2]], dtype="i"),
            numpy.array([2, 4], dtype="i"),
        )
    with pytest.raises(ValueError, match="lengths"):
        ops.backprop_reduce_sum(numpy.ones((2, 2), dtype="f"), numpy.array([1, 1, 1], dtype="i"))
    with pytest.raises(ValueError, match=">= 0"):
        ops.backprop_reduce_mean(numpy.ones((2, 2), dtype="f"), numpy.array([3, -1], dtype="i"))


def test_gather_add(ops, launches):
    table = numpy.arange(12, dtype="f").reshape((6, 2))
    result = ops.gather_add(table, numpy.array([[0, 1], [5, 5]], dtype="i"))
    numpy.testing.assert_array_equal(result, [[2, 4], [20, 22]])
    result64 = ops.gather_add(table.astype("d"), numpy.array([[0, 1]], dtype="int64"))
    numpy.testing.assert_array_equal(result64, [[2, 4]])
    assert launches == ["gather_add_float", "gather_add_double"]
    with pytest.raises(IndexError, match="out of bounds"):
        ops.gather_add(table, numpy.array([[0, 6]], dtype="i"))
    with pytest.raises(IndexError, match="out of bounds"):
        ops.gather_add(table, numpy.array([[-1, 0]], dtype="i"))


def test_kernels_reject_unsupported_dtypes(launches):
    with pytest.raises(TypeError, match="float32 or float64"):
        _custom_kernels.reduce_sum(numpy.zeros((2, 2), dtype="i"), numpy.array([2], dtype="i"))
    with pytest.raises(TypeError, match="float32 or float64"):
        _custom_kernels.maxout(numpy.zeros((2, 2, 2), dtype="float16"))
    assert launches == []


def test_launch_refuses_arrays_beyond_32_bit_indexing(launches, monkeypatch):
    monkeypatch.setattr(_custom_kernels, "_MAX_ITEMS", 10)
    with pytest.raises(ValueError, match="32-bit"):
        # 3 work items, but each reads 4 pieces: 12 input elements.
        _custom_kernels.maxout(numpy.zeros((1, 3, 4), dtype="f"))
    assert launches == []


def test_empty_inputs_launch_nothing(ops, launches):
    out = ops.seq2col(numpy.zeros((0, 3), dtype="f"), 1, lengths=numpy.zeros((0,), dtype="i"))
    assert out.shape == (0, 9)
    assert ops.reduce_sum(numpy.zeros((0, 2), dtype="f"), numpy.zeros((0,), dtype="i")).shape == (
        0,
        2,
    )
    assert launches == []


def test_to_numpy_and_asarray(ops):
    data = numpy.ones(3, dtype="f")
    assert ops.to_numpy(data).dtype == numpy.float32
    assert ops.to_numpy(data, byte_order=">").dtype == numpy.dtype(">f4")
    assert ops.asarray([1, 2], dtype="f").dtype == numpy.float32
    torch = pytest.importorskip(
        "torch", reason="needs PyTorch: .venv/bin/pip install torch==2.13.0"
    )
    tensor = torch.tensor([1.0, 2.0], requires_grad=True)
    numpy.testing.assert_array_equal(ops.asarray(tensor), [1.0, 2.0])
    numpy.testing.assert_array_equal(ops.to_numpy(tensor), [1.0, 2.0])


def test_importable_without_cupy_but_not_constructible(monkeypatch):
    """Without cupy, or with cupy but no device, CupyOps() and get_ops("cupy")
    refuse at once with a ValueError that says what is missing (thinc 8.3.14
    returned an object whose first op failed on a None array module)."""
    from thinc.api import get_ops, use_ops
    from thinc.backends import CupyOps, cupy_ops

    if has_cupy_gpu:
        pytest.skip("checks the answer on machines without a GPU")
    if cupy_ops.cupy is None:
        for make in (CupyOps, lambda: get_ops("cupy"), lambda: get_ops("gpu")):
            with pytest.raises(ValueError, match="CupyOps needs CuPy, which is not installed"):
                make()
        with pytest.raises(ValueError, match="not installed"):
            with use_ops("cupy"):
                pass
    # cupy present but no usable device: stand in a module for cupy.
    stand_in = object()
    monkeypatch.setattr(CupyOps, "xp", stand_in)
    monkeypatch.setattr(cupy_ops, "cupy", stand_in)
    with pytest.raises(ValueError, match="CupyOps needs a CUDA GPU, and CuPy found none"):
        get_ops("cupy")


def test_subclass_with_its_own_array_module_is_constructible():
    from thinc.backends import CupyOps

    class HostCupyOps(CupyOps):
        xp = numpy

    ops = HostCupyOps()
    assert ops.name == "cupy"
    assert ops.device_type == "gpu"
    assert ops.device_id == 0


def test_lazy_kernel_compiles_once():
    calls = []

    def compile_callback():
        calls.append(1)
        return lambda grid, block, args: ("ran", grid, block, args)

    kernel = _custom_kernels.LazyKernel("anything", compile_callback=compile_callback)
    assert calls == []
    assert kernel((1,), (2,), (3,)) == ("ran", (1,), (2,), (3,))
    kernel((1,), (2,), (3,))
    assert calls == [1]


def test_mps_ops_is_cpu_backend():
    from thinc.backends import MPSOps, NumpyOps

    ops = MPSOps()
    assert ops.name == "mps"
    assert isinstance(ops, NumpyOps)
    assert ops.xp is numpy


@settings(max_examples=25, deadline=None)
@given(
    lengths=lengths_strategy,
    width=st.integers(1, 3),
    nW=st.integers(0, 2),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_overrides_match_reference_ops(kernel_library, lengths, width, nW, dtype):
    """Every CupyOps override agrees with the reference Ops on random inputs."""
    from thinc.backends.cupy_ops import CupyOps
    from thinc.backends.ops import Ops

    class NumpyBackedCupyOps(CupyOps):
        xp = numpy

    saved = dict(_custom_kernels.KERNELS)
    _custom_kernels.KERNELS.update(
        {name: EmulatedKernel(kernel_library, name, []) for name in _custom_kernels.KERNEL_NAMES}
    )
    try:
        ours, reference = NumpyBackedCupyOps(), Ops()
        rng = numpy.random.default_rng(sum(lengths) * 7 + width + nW)
        X = rng.normal(size=(sum(lengths), width)).astype(dtype)
        L = numpy.array(lengths, dtype="i")
        close = dict(rtol=1e-5, atol=1e-6)
        numpy.testing.assert_allclose(
            ours.seq2col(X, nW, lengths=L), reference.seq2col(X, nW, lengths=L)
        )
        dY = rng.normal(size=(X.shape[0], (2 * nW + 1) * width)).astype(dtype)
        numpy.testing.assert_allclose(
            ours.backprop_seq2col(dY, nW, lengths=L),
            reference.backprop_seq2col(dY, nW, lengths=L),
            **close,
        )
        numpy.testing.assert_allclose(ours.reduce_sum(X, L), reference.reduce_sum(X, L), **close)
        numpy.testing.assert_allclose(ours.reduce_mean(X, L), reference.reduce_mean(X, L), **close)
        d_out = rng.normal(size=(len(lengths), width)).astype(dtype)
        numpy.testing.assert_allclose(
            ours.backprop_reduce_sum(d_out, L), reference.backprop_reduce_sum(d_out, L)
        )
        numpy.testing.assert_allclose(
            ours.backprop_reduce_mean(d_out, L), reference.backprop_reduce_mean(d_out, L), **close
        )
        if all(lengths):
            maxes, which = ours.reduce_max(X, L)
            ref_maxes, ref_which = reference.reduce_max(X, L)
            numpy.testing.assert_array_equal(maxes, ref_maxes)
            numpy.testing.assert_array_equal(which, ref_which)
            numpy.testing.assert_array_equal(
                ours.backprop_reduce_max(d_out, which, L),
                reference.backprop_reduce_max(d_out, which, L),
            )
        pieces = rng.normal(size=(len(lengths), width, 3)).astype(dtype)
        for got, want in zip(ours.maxout(pieces), reference.maxout(pieces)):
            numpy.testing.assert_array_equal(got, want)
        if X.shape[0]:
            indices = rng.integers(0, X.shape[0], size=(len(lengths), 3)).astype("i")
            numpy.testing.assert_allclose(
                ours.gather_add(X, indices), reference.gather_add(X, indices), **close
            )
        ids = rng.integers(0, 2**63, size=(len(lengths),)).astype("uint64")
        numpy.testing.assert_array_equal(ours.hash(ids, nW), reference.hash(ids, nW))
        signed = rng.integers(-(2**31), 2**31, size=(len(lengths),)).astype("int32")
        numpy.testing.assert_array_equal(ours.hash(signed, 5), reference.hash(signed, 5))
    finally:
        _custom_kernels.KERNELS.update(saved)


# ---------------------------------------------------------------------------
# Every override in one table (_cupy_cases), kernels emulated on the CPU.


def _host_ops():
    from thinc.backends.cupy_ops import CupyOps

    class NumpyBackedCupyOps(CupyOps):
        xp = numpy

    return NumpyBackedCupyOps()


def _assert_results_close(got, want, tolerance, what):
    got_list, want_list = flatten_result(got), flatten_result(want)
    assert len(got_list) == len(want_list), what
    for got_item, want_item in zip(got_list, want_list):
        assert got_item.shape == want_item.shape, what
        assert got_item.dtype == want_item.dtype, what
        numpy.testing.assert_allclose(got_item, want_item, err_msg=what, **tolerance)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_override_launches_its_kernel_and_matches_numpy_ops(launches, case, dtype):
    """The override runs its own kernel (not the reference fallback) and gives
    what NumpyOps gives, special values included; on ordinary inputs it also
    agrees with the reference Ops."""
    from thinc.backends import NumpyOps
    from thinc.backends.ops import Ops

    args, kwargs = case.build(numpy.random.default_rng(0), dtype)
    inputs = with_specials(args, dtype) if case.specials else args
    ours = getattr(_host_ops(), case.method)(*copy_args(inputs, numpy.asarray), **kwargs)
    assert suffix_for(case, dtype) in launches
    cpu = getattr(NumpyOps(), case.method)(*copy_args(inputs, numpy.asarray), **kwargs)
    _assert_results_close(ours, cpu, tolerances(case, dtype), f"{case.id} vs NumpyOps")
    if case.specials:
        # NaN in, NaN out: the first special value is NaN.
        assert numpy.isnan(flatten_result(ours)[0].reshape(-1)[0])
    ours_plain = getattr(_host_ops(), case.method)(*copy_args(args, numpy.asarray), **kwargs)
    reference = getattr(Ops(), case.method)(*copy_args(args, numpy.asarray), **kwargs)
    if case.reference_outputs is not None:
        ours_plain = [flatten_result(ours_plain)[i] for i in case.reference_outputs]
        reference = [flatten_result(reference)[i] for i in case.reference_outputs]
    _assert_results_close(
        ours_plain, reference, {"rtol": 1e-5, "atol": 1e-5}, f"{case.id} vs the reference"
    )


def test_clipped_linear_with_crossed_bounds_is_numpys_clip(launches):
    """min_val > max_val gives max_val everywhere, as numpy.clip (the reference)."""
    from thinc.backends.ops import Ops

    X = numpy.linspace(-3, 3, 13)
    for dtype in ("float32", "float64"):
        got = _host_ops().clipped_linear(X.astype(dtype), slope=-2.0, min_val=0.5, max_val=-0.5)
        numpy.testing.assert_array_equal(
            got, Ops().clipped_linear(X.astype(dtype), slope=-2.0, min_val=0.5, max_val=-0.5)
        )
        numpy.testing.assert_array_equal(got, numpy.full(13, -0.5, dtype=dtype))


@pytest.mark.parametrize("dtype", PAD_INT_DTYPES)
def test_pad_copies_integer_sequences(launches, dtype):
    from thinc.backends.ops import Ops

    (seqs,), kwargs = CASES_BY_ID["pad"].build(numpy.random.default_rng(1), dtype)
    padded = _host_ops().pad(seqs, **kwargs)
    assert launches == [f"pad_{dtype}"]
    numpy.testing.assert_array_equal(padded, Ops().pad(seqs, **kwargs))
    assert padded.shape == (4, 8, 2, 3) and padded.dtype == numpy.dtype(dtype)


def test_hash_override_launches_its_kernel(launches):
    from thinc.backends.ops import Ops

    case = DTYPE_FREE["hash"]
    args, _ = case.build(numpy.random.default_rng(2), "uint64")
    numpy.testing.assert_array_equal(_host_ops().hash(*args), Ops().hash(*args))
    assert launches == ["hash_data"]


@pytest.mark.parametrize("method", ["relu", "gelu", "mish", "clipped_linear"])
def test_inplace_activations_write_into_their_input(launches, method):
    ops = _host_ops()
    X = numpy.linspace(-4, 4, 24, dtype="f").reshape((4, 6))
    expected = getattr(ops, method)(X.copy())
    result = getattr(ops, method)(X, inplace=True)
    assert result is X
    numpy.testing.assert_array_equal(X, expected)
    # A strided view is computed from a contiguous copy and written back.
    base = numpy.linspace(-4, 4, 48, dtype="f").reshape((4, 12))
    view = base[:, ::2]
    expected_view = getattr(ops, method)(view.copy())
    assert getattr(ops, method)(view, inplace=True) is view
    numpy.testing.assert_array_equal(base[:, ::2], expected_view)
    numpy.testing.assert_array_equal(
        base[:, 1::2], numpy.linspace(-4, 4, 48, dtype="f").reshape((4, 12))[:, 1::2]
    )


def test_inplace_gradient_writes_into_dY(launches):
    ops = _host_ops()
    X = numpy.linspace(-4, 4, 12, dtype="d")
    dY = numpy.ones_like(X)
    expected = ops.backprop_gelu(dY.copy(), X)
    assert ops.backprop_gelu(dY, X, inplace=True) is dY
    numpy.testing.assert_array_equal(dY, expected)
    dY = numpy.ones_like(X)
    Y = ops.swish(X)
    expected = ops.backprop_swish(dY.copy(), X, Y)
    assert ops.backprop_swish(dY, X, Y, inplace=True) is dY
    numpy.testing.assert_array_equal(dY, expected)


def test_other_dtypes_and_mixed_inputs_take_the_reference_path(launches):
    from thinc.backends.ops import Ops

    ops, reference = _host_ops(), Ops()
    X16 = numpy.linspace(-3, 3, 8, dtype="float16")
    numpy.testing.assert_array_equal(ops.gelu(X16), reference.gelu(X16))
    X32 = numpy.linspace(-3, 3, 8, dtype="float32")
    # Mixed dtypes, and a gradient that broadcasts, are the reference's to handle.
    numpy.testing.assert_array_equal(
        ops.backprop_relu(X32.astype("d"), X32), reference.backprop_relu(X32.astype("d"), X32)
    )
    numpy.testing.assert_array_equal(
        ops.backprop_gelu(numpy.ones((2, 8), "f"), X32),
        reference.backprop_gelu(numpy.ones((2, 8), "f"), X32),
    )
    # A NaN bound or a zero slope: the reference's meaning (all NaN; its error).
    assert numpy.isnan(ops.clipped_linear(X32, min_val=float("nan"))).all()
    with pytest.raises(ZeroDivisionError):
        ops.backprop_clipped_linear(X32, X32, slope=0.0)
    assert launches == []


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda ops: ops.backprop_maxout(numpy.ones((2, 3), "f"), numpy.full((2, 3), 3, "i"), 3),
            IndexError,
            "out of range",
        ),
        (
            lambda ops: ops.backprop_maxout(
                numpy.ones((2, 3), "f"), numpy.full((2, 3), -1, "i"), 3
            ),
            IndexError,
            "out of range",
        ),
        (
            lambda ops: ops.backprop_maxout(numpy.ones((2, 3), "f"), numpy.zeros((3, 2), "i"), 3),
            ValueError,
            "one shape",
        ),
        (
            lambda ops: ops.backprop_maxout(numpy.ones((2, 3), "f"), numpy.zeros((2, 3), "i"), 1.5),
            ValueError,
            "integer",
        ),
        (
            lambda ops: ops.backprop_reduce_sum(numpy.ones((2, 3), "f"), numpy.array([1, -1], "i")),
            ValueError,
            ">= 0",
        ),
        (
            lambda ops: ops.backprop_reduce_sum(
                numpy.ones((2, 3), "f"), numpy.array([1, 1, 1], "i")
            ),
            ValueError,
            "one row per sequence",
        ),
        (
            lambda ops: ops.backprop_reduce_mean(numpy.ones((2, 3), "f"), numpy.array([1.0, 2.0])),
            TypeError,
            "integers",
        ),
        (
            lambda ops: ops.backprop_reduce_sum(
                numpy.ones((2, 3), "f"), numpy.array([2**40, 1], "int64")
            ),
            IndexError,
            "exceeds",
        ),
        (
            lambda ops: ops.backprop_reduce_max(
                numpy.ones((2, 3), "f"), numpy.zeros((2, 3), "i"), numpy.array([1, 0], "i")
            ),
            ValueError,
            "> 0",
        ),
        (
            lambda ops: ops.backprop_reduce_max(
                numpy.ones((2, 3), "f"), numpy.full((2, 3), 2, "i"), numpy.array([2, 2], "i")
            ),
            IndexError,
            "outside its sequence",
        ),
        (
            lambda ops: ops.backprop_reduce_max(
                numpy.ones((2, 3), "f"), numpy.zeros((2, 2), "i"), numpy.array([2, 2], "i")
            ),
            ValueError,
            "one shape",
        ),
        (
            lambda ops: ops.reduce_max(numpy.ones((4, 3), "f"), numpy.array([2, 3], "i")),
            IndexError,
            "lengths sum to 5",
        ),
        (
            lambda ops: ops.reduce_sum(numpy.ones((4, 3), "f"), numpy.array([2**32 + 3], "int64")),
            IndexError,
            "exceeds",
        ),
        (
            lambda ops: ops.seq2col(numpy.ones((4, 3), "f"), 1, lengths=numpy.array([1, 1], "i")),
            IndexError,
            "lengths sum to 2",
        ),
        (lambda ops: ops.pad([], 1), ValueError, "empty"),
        (lambda ops: ops.pad([numpy.ones((2, 3), "f")], 0), ValueError, "round_to"),
        (
            lambda ops: ops.pad([numpy.ones((2, 3), "f"), numpy.ones((2, 4), "f")]),
            ValueError,
            "other dimensions",
        ),
        (
            lambda ops: ops.pad([numpy.ones((2, 3), "f"), numpy.ones((2, 3), "d")]),
            ValueError,
            "different dtypes",
        ),
        (
            lambda ops: ops._maxout_forward(
                numpy.ones((2, 5), "f"), numpy.ones((4, 3, 5), "f"), numpy.ones((4, 2), "f")
            ),
            ValueError,
            "b of shape",
        ),
        (
            lambda ops: ops._maxout_forward(
                numpy.ones((2, 4), "f"), numpy.ones((4, 3, 5), "f"), numpy.ones((4, 3), "f")
            ),
            ValueError,
            "width 5",
        ),
        (
            lambda ops: ops._layer_norm_forward(
                numpy.ones((2, 4), "f"), numpy.ones(3, "f"), numpy.ones(4, "f")
            ),
            ValueError,
            "G of shape",
        ),
        (
            lambda ops: ops._layer_norm_backward(
                numpy.ones((2, 4), "f"),
                numpy.ones((2, 4), "f"),
                numpy.ones(4, "f"),
                numpy.ones(3, "f"),
                numpy.ones(2, "f"),
            ),
            ValueError,
            "mean of shape",
        ),
        (
            lambda ops: ops.gather_add(numpy.ones((4, 3), "f"), numpy.array([[0, 4]], "i")),
            IndexError,
            "out of bounds",
        ),
        (
            lambda ops: ops.adam(
                *(numpy.ones(3, "f"),) * 3, numpy.ones(4, "f"), 0.9, 0.99, 1e-8, 0.1
            ),
            ValueError,
            "shapes",
        ),
    ],
)
def test_bad_input_raises_before_any_launch(launches, call, error, match):
    with pytest.raises(error, match=match):
        call(_host_ops())
    assert launches == []


def test_wrappers_refuse_what_the_kernels_cannot_index(launches, monkeypatch):
    monkeypatch.setattr(_custom_kernels, "_MAX_ITEMS", 20)
    with pytest.raises(ValueError, match="32-bit"):
        _custom_kernels.activation("gelu", numpy.zeros(21, dtype="f"))
    with pytest.raises(IndexError, match="too many rows"):
        _custom_kernels.backprop_reduce_sum(numpy.zeros((2, 4), "f"), numpy.array([3, 3], "i"))
    with pytest.raises(ValueError, match="32-bit"):
        _custom_kernels.pad([numpy.zeros((21, 1), "f")])
    assert launches == []


def test_large_batches_cover_every_item_with_the_grid_stride_loop(launches):
    # More items than the emulated grid's 6 threads, unevenly divided.
    ops = _host_ops()
    X = numpy.random.default_rng(3).normal(size=(37, 11)).astype("f")
    lengths = numpy.array([10, 0, 20, 7], dtype="i")
    numpy.testing.assert_allclose(
        ops.backprop_reduce_mean(ops.reduce_mean(X, lengths), lengths),
        numpy.repeat(
            ops.reduce_mean(X, lengths) / numpy.maximum(lengths, 1)[:, None], lengths, axis=0
        ),
        rtol=1e-6,
    )
    Y, (mean, inverse_std) = ops._layer_norm_forward(X, numpy.ones(11, "f"), numpy.zeros(11, "f"))
    numpy.testing.assert_allclose(Y.mean(axis=1), 0, atol=1e-5)
    numpy.testing.assert_allclose(Y.std(axis=1), 1, rtol=1e-4)


def test_layer_norm_gradient_sums_over_many_chunks(launches, monkeypatch):
    from thinc.backends.ops import Ops

    monkeypatch.setattr(_custom_kernels, "LAYER_NORM_CHUNK", 4)
    rng = numpy.random.default_rng(4)
    X, dY = rng.normal(size=(2, 30, 5)).astype("d")
    G = rng.normal(size=(5,))
    _, (mean, inverse_std) = Ops()._layer_norm_forward(X, G, G)
    got = _host_ops()._layer_norm_backward(dY, X, G, mean, inverse_std)
    want = Ops()._layer_norm_backward(dY, X, G, mean, inverse_std)
    for got_item, want_item in zip(got, want):
        numpy.testing.assert_allclose(got_item, want_item, rtol=1e-10, atol=1e-12)


def test_layer_norm_of_rows_without_entries(launches):
    from thinc.backends.ops import Ops

    X, G = numpy.zeros((3, 0), "f"), numpy.zeros((0,), "f")
    Y, (mean, inverse_std) = _host_ops()._layer_norm_forward(X, G, G)
    want_Y, (want_mean, want_inverse_std) = Ops()._layer_norm_forward(X, G, G)
    assert Y.shape == (3, 0)
    numpy.testing.assert_allclose(mean, want_mean)
    numpy.testing.assert_allclose(inverse_std, want_inverse_std, rtol=1e-6)
    dX, dG, db = _host_ops()._layer_norm_backward(X, X, G, mean, inverse_std)
    assert dX.shape == (3, 0) and dG.shape == (0,) and db.shape == (0,)


def test_maxout_nan_wins_as_in_numpy_argmax(launches):
    X = numpy.array([[[1.0, float("nan"), 3.0], [float("nan"), 5.0, 6.0]]], dtype="f")
    best, which = _host_ops().maxout(X)
    assert numpy.isnan(best).all()
    numpy.testing.assert_array_equal(which, X.argmax(axis=-1))
    maxes, rows = _host_ops().reduce_max(X[0].T.copy(), numpy.array([3], "i"))
    numpy.testing.assert_array_equal(rows, X[0].T.argmax(axis=0)[None])


def test_kernel_tables_match_the_python_lists():
    """Every elementwise row in the .cu tables is one the wrappers know, in order."""
    import re

    source = _custom_kernels.KERNELS_SRC

    def rows(table):
        body = source[source.index(f"#define {table}(X)") :]
        body = body[: body.index("\n\n")]
        return tuple(re.findall(r"^\s*X\((\w+),", body, flags=re.M))

    assert rows("THINC_GPU_FORWARD_OPS") == _custom_kernels.FORWARD_ACTIVATIONS
    assert rows("THINC_GPU_BACKWARD_OPS") == _custom_kernels.BACKWARD_ACTIVATIONS


def test_a_tagger_trains_the_same_with_emulated_kernels_as_on_the_cpu(launches):
    """The GPU test's tagger, with CupyOps on host arrays and its kernels
    emulated: the model code reaches the fused kernels and agrees with NumpyOps."""
    compare_tagger_training(_host_ops())
    # (The optimizer picks its ops by the array type, so adam runs on NumpyOps here.)
    for kernel in (
        "maxout_bias_float",
        "layer_norm_stats_float",
        "layer_norm_column_sums_float",
        "backprop_maxout_float",
        "mish_float",
        "backprop_mish_float",
        "seq2col_float",
        "backprop_seq2col_float",
        "hash_data",
        "gather_add_float",
    ):
        assert kernel in launches, kernel


def test_overrides_keep_the_reference_signatures():
    """Callers pass these by keyword (inplace=, threshold=, Y=): names, kinds
    and defaults must be the reference's."""
    import inspect

    from thinc.backends.cupy_ops import CupyOps
    from thinc.backends.ops import Ops

    def shape_of(function):
        return [
            (p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()
        ]

    overridden = [name for name in vars(CupyOps) if callable(getattr(Ops, name, None))]
    assert len(overridden) > 30
    for name in overridden:
        # thinc 8.3's CupyOps.asarray also takes dtype positionally, so ours does.
        if name in ("__init__", "paths", "asarray"):
            continue
        assert shape_of(getattr(CupyOps, name)) == shape_of(getattr(Ops, name)), name
