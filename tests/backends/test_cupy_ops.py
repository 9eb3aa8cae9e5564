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

EMULATION_HEADER = """
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


def test_importable_and_constructible_without_cupy():
    from thinc.backends import CupyOps

    ops = CupyOps()
    assert ops.name == "cupy"
    assert ops.device_type == "gpu"
    assert ops.device_id == 0


def test_cuda_source_compiles_with_nvcc(tmp_path):
    """Where a CUDA toolkit exists, the .cu compiles to PTX with every kernel exported."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not found")
    ptx = tmp_path / "kernels.ptx"
    # -Werror: warnings such as narrowing or unused values fail the build too.
    subprocess.run(
        [nvcc, "-std=c++11", "-ptx", "-Werror", "all-warnings", "-o", str(ptx)]
        + [str(_custom_kernels.KERNELS_SOURCE_PATH)],
        check=True,
        timeout=300,
    )
    entries = {
        line.split()[2].rstrip("(")
        for line in ptx.read_text().splitlines()
        if line.startswith(".visible .entry")
    }
    assert entries == set(_custom_kernels.KERNEL_NAMES)


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


# The tests below need a real CUDA device.
gpu_only = pytest.mark.skipif(not has_cupy_gpu, reason="needs cupy and a CUDA GPU")


@gpu_only
def test_gpu_kernels_match_cpu_backend():
    import cupy

    from thinc.backends import CupyOps, NumpyOps

    gpu, cpu = CupyOps(), NumpyOps()
    rng = numpy.random.default_rng(0)
    X = rng.normal(size=(9, 4)).astype("f")
    lengths = numpy.array([3, 0, 6], dtype="i")
    numpy.testing.assert_allclose(
        gpu.to_numpy(gpu.seq2col(cupy.asarray(X), 2, lengths=cupy.asarray(lengths))),
        cpu.seq2col(X, 2, lengths=lengths),
        rtol=1e-6,
    )
    numpy.testing.assert_allclose(
        gpu.to_numpy(gpu.reduce_mean(cupy.asarray(X), cupy.asarray(lengths))),
        cpu.reduce_mean(X, lengths),
        rtol=1e-6,
    )
    numpy.testing.assert_array_equal(gpu.to_numpy(gpu.hash(cupy.asarray(HASH_IDS), 7)), HASH_SEED7)


@gpu_only
def test_gpu_asarray_shares_torch_cuda_memory():
    torch = pytest.importorskip(
        "torch", reason="needs PyTorch: .venv/bin/pip install torch==2.13.0"
    )
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA")
    from thinc.backends import CupyOps

    tensor = torch.arange(4, dtype=torch.float32, device="cuda")
    array = CupyOps().asarray(tensor)
    array[0] = 10
    assert float(tensor[0]) == 10.0
