"""Tests for thinc.util: array/device helpers, GPU selection without a GPU,
framework conversions, categorical encoding, recursion helpers and data validation."""

import os
import platform
import threading
from typing import Any, Callable, List, Tuple, TypeVar

import numpy
import pytest

from thinc import util
from thinc.compat import has_gpu, has_torch
from thinc.types import ArgsKwargs, Floats2d, Ints1d, Padded, Ragged
from thinc.util import (
    ArrayInfo,
    DataValidationError,
    convert_recursive,
    copy_array,
    data_validation,
    fix_random_seed,
    get_array_module,
    get_width,
    iterate_recursive,
    make_tempfile,
    partial,
    to_categorical,
    to_numpy,
    validate_fwd_input_output,
)

# Public names of thinc 8.3.14's thinc.util (functions and classes).
NAMES = """ArrayInfo DATA_VALIDATION DataValidationError assert_mxnet_installed
assert_pytorch_installed assert_tensorflow_installed convert_recursive copy_array
data_validation fix_random_seed get_array_module get_torch_default_device get_width
gpu_is_available has_cupy has_cupy_gpu has_gpu has_mxnet has_tensorflow has_torch
has_torch_cuda_gpu has_torch_mps is_cupy_array is_mxnet_array is_mxnet_gpu_array
is_numpy_array is_tensorflow_array is_tensorflow_gpu_array is_torch_array
is_torch_cuda_array is_torch_gpu_array is_torch_mps_array is_xp_array iterate_recursive
make_tempfile mxnet2xp partial prefer_gpu require_cpu require_gpu set_active_gpu
tensorflow2xp to_categorical to_numpy torch2xp use_nvtx_range validate_fwd_input_output
xp2mxnet xp2tensorflow xp2torch""".split()

requires_torch = pytest.mark.skipif(
    not has_torch, reason="needs PyTorch: .venv/bin/pip install torch==2.13.0"
)
no_gpu = pytest.mark.skipif(has_gpu, reason="checks behaviour on machines without a GPU")


def test_public_names_exist():
    assert [name for name in NAMES if not hasattr(util, name)] == []


def test_array_kind_checks():
    array = numpy.zeros(2)
    assert util.is_xp_array(array) and util.is_numpy_array(array)
    assert not util.is_xp_array([1.0])
    assert not util.is_numpy_array(numpy.float32(1))
    assert not util.is_cupy_array(array)
    assert not util.is_torch_array(array)
    assert not util.is_tensorflow_array(array) and not util.is_mxnet_array(array)
    assert get_array_module(array) is numpy
    assert get_array_module(numpy.zeros(())) is numpy


@pytest.mark.parametrize("value", [0, 1.5, [1], (1,), numpy.float32(1), None, "a"])
def test_get_array_module_refuses_what_is_not_an_array(value):
    # thinc 8.3.14 raises ValueError for these rather than guessing numpy.
    with pytest.raises(ValueError, match="numpy or cupy array"):
        get_array_module(value)


@requires_torch
def test_torch_array_checks():
    import torch

    tensor = torch.zeros(2)
    assert util.is_torch_array(tensor)
    assert not util.is_torch_cuda_array(tensor)
    assert not util.is_torch_mps_array(tensor)
    assert not util.is_torch_gpu_array(tensor)
    assert not util.is_xp_array(tensor)


@no_gpu
def test_gpu_selection_without_gpu():
    assert util.gpu_is_available() is False
    assert util.prefer_gpu() is False
    with pytest.raises(ValueError, match="GPU"):
        util.require_gpu()
    if not util.has_cupy and platform.system() != "Darwin":
        with pytest.raises(ValueError, match="Cannot use GPU, CuPy is not installed"):
            util.require_gpu()
    with pytest.raises(ValueError, match="No CUDA GPU devices detected"):
        util.set_active_gpu(0)


def test_prefer_gpu_picks_mps_where_only_mps_exists(monkeypatch):
    from thinc.backends import MPSOps, NumpyOps, _devices, get_current_ops

    # Device selection lives in thinc.backends._devices; util re-exports it.
    monkeypatch.setattr(_devices, "has_gpu", True)
    monkeypatch.setattr(_devices, "has_cupy_gpu", False)
    monkeypatch.setattr(_devices, "has_torch_mps_gpu", True)
    try:
        assert util.prefer_gpu() is True
        assert isinstance(get_current_ops(), MPSOps)
    finally:
        util.require_cpu()
    assert isinstance(get_current_ops(), NumpyOps) and not isinstance(get_current_ops(), MPSOps)


def test_require_cpu_sets_cpu_ops():
    from thinc.backends import NumpyOps, get_current_ops

    assert util.require_cpu() is True
    assert isinstance(get_current_ops(), NumpyOps)


def test_fix_random_seed_makes_generators_repeatable():
    import random

    def draw():
        values = [random.random(), float(numpy.random.rand())]
        if has_torch:
            import torch

            values.append(float(torch.rand(1)))
        return values

    fix_random_seed(3)
    first = draw()
    fix_random_seed(3)
    assert draw() == first
    fix_random_seed(0)
    # Python's and numpy's first draws after seeding with 0 are fixed numbers.
    assert draw()[:2] == [0.8444218515250481, 0.5488135039273248]


def test_fix_random_seed_wraps_seeds_out_of_numpy_range():
    # thinc 8.3.14 takes any int: numpy gets seed % 2**32.
    fix_random_seed(-1)
    assert float(numpy.random.rand()) == 0.0976320289940138
    for seed, same_as in [(2**32 + 5, 5), (2**70, 0)]:
        fix_random_seed(seed)
        first = numpy.random.rand(3)
        fix_random_seed(same_as)
        numpy.testing.assert_array_equal(first, numpy.random.rand(3))


def test_to_numpy():
    array = numpy.ones(2)
    assert to_numpy(array) is array
    numpy.testing.assert_array_equal(to_numpy([1, 2]), numpy.array([1, 2]))


@requires_torch
def test_to_numpy_from_torch_with_grad():
    import torch

    tensor = torch.ones(2, requires_grad=True)
    numpy.testing.assert_array_equal(to_numpy(tensor), [1.0, 1.0])


def test_get_width():
    X = numpy.zeros((3, 4), "f")
    assert get_width(X) == 4
    assert get_width(X, dim=0) == 3
    assert get_width(numpy.zeros(3)) == 1
    assert get_width(numpy.zeros((2, 3, 7))) == 7
    assert get_width(numpy.float32(1.0)) == 0
    assert get_width(Ragged(X, numpy.array([3], "i"))) == 4
    padded = Padded(
        numpy.zeros((2, 3, 5), "f"),
        numpy.array([3, 3]),
        numpy.array([2, 2, 2]),
        numpy.array([0, 1, 2]),
    )
    assert get_width(padded) == 5
    assert get_width([X]) == 4
    assert get_width((X,)) == 4
    assert get_width([]) == 0
    assert get_width([Ragged(X, numpy.array([3], "i"))]) == 4
    with pytest.raises(ValueError, match="Cannot get width"):
        get_width(5)


def test_get_width_takes_only_lists_tuples_and_arrays():
    # thinc 8.3.14: only list/tuple are walked, and an array needs shape and ndim.
    import collections

    with pytest.raises(ValueError, match="Cannot get width"):
        get_width(collections.deque([numpy.zeros((2, 3))]))
    shape_only = type("ShapeOnly", (), {"shape": (2, 3)})()
    with pytest.raises(ValueError, match="Cannot get width"):
        get_width(shape_only)
    array_like = type("ArrayLike", (), {"shape": (2, 3), "ndim": 2})()
    assert get_width(array_like) == 3


@pytest.mark.parametrize("mapping", [{"a": numpy.zeros((2, 3))}, {}, {0: numpy.zeros((2, 3))}])
def test_get_width_refuses_mappings(mapping):
    # thinc 8.3.14: ValueError; indexing by 0 was a KeyError or a key's width.
    with pytest.raises(ValueError, match="mapping"):
        get_width(mapping)


def test_to_categorical_matches_thinc():
    Y = numpy.array([0, 2, 1])
    numpy.testing.assert_array_equal(to_categorical(Y), numpy.eye(3, dtype="f")[[0, 2, 1]])
    result = to_categorical(Y, n_classes=4)
    assert result.dtype == numpy.float32 and result.shape == (3, 4)
    # Values below come from thinc 8.3.14.
    numpy.testing.assert_array_equal(
        to_categorical(Y, label_smoothing=0.2),
        numpy.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.1, 0.8, 0.1]], dtype="f"),
    )
    numpy.testing.assert_array_equal(
        to_categorical(Y, n_classes=5, label_smoothing=0.1)[0],
        numpy.array([0.9, 0.025, 0.025, 0.025, 0.025], dtype="f"),
    )
    numpy.testing.assert_array_equal(
        to_categorical(numpy.array([0, 1]), label_smoothing=0.49),
        numpy.array([[0.51, 0.49], [0.49, 0.51]], dtype="f"),
    )
    two_d = to_categorical(numpy.array([[0, 1], [1, 2]]))
    assert two_d.shape == (2, 2, 3)
    numpy.testing.assert_array_equal(two_d[1, 1], [0, 0, 1])
    assert to_categorical(numpy.array([], "i"), n_classes=3).shape == (0, 3)


@pytest.mark.parametrize(
    "labels,kwargs,error,message",
    [
        ([0, 1, 2], {"label_smoothing": 0.9}, ValueError, "has to be less than 0.666"),
        ([0, 1], {"label_smoothing": 0.5}, ValueError, "has to be less than 0.5"),
        ([0, 1], {"label_smoothing": -0.1}, ValueError, "greater than or equal to 0"),
        ([0, 0], {"label_smoothing": 0.1}, ValueError, "greater than 1"),
        ([0, 5], {"n_classes": 3}, IndexError, "label 5 is out of range"),
        ([-1, 1], {}, IndexError, "label -1 is out of range"),
        ([0.0, 1.0], {}, IndexError, "integer labels"),
        ([], {}, ValueError, "pass n_classes"),
        ([0, 0, 0], {"n_classes": 0}, ValueError, "at least 1"),
        # Arguments before labels, as thinc 8.3.14 checks them.
        ([0, 1, 0], {"n_classes": 1, "label_smoothing": 0.01}, ValueError, "greater than 1"),
        ([], {"n_classes": 0}, ValueError, "at least 1"),
        ([0], {"n_classes": -2}, ValueError, "at least 1"),
    ],
)
def test_to_categorical_errors(labels, kwargs, error, message):
    dtype = "f" if labels and isinstance(labels[0], float) else "i"
    with pytest.raises(error, match=message):
        to_categorical(numpy.array(labels, dtype=dtype), **kwargs)


def test_smooth_one_hot():
    one_hot = numpy.eye(4, dtype="f")[[1, 3]]
    smoothed = util.smooth_one_hot(one_hot, 0.3)
    numpy.testing.assert_allclose(smoothed[0], [0.1, 0.7, 0.1, 0.1], rtol=1e-6)
    numpy.testing.assert_allclose(smoothed.sum(axis=1), [1.0, 1.0], rtol=1e-6)
    with pytest.raises(ValueError, match="less than"):
        util.smooth_one_hot(one_hot, 0.8)


def test_copy_array():
    dst = numpy.zeros(3)
    copy_array(dst, numpy.arange(3.0))
    numpy.testing.assert_array_equal(dst, [0, 1, 2])
    with pytest.raises(ValueError):
        copy_array(numpy.zeros(2), numpy.arange(3.0))


def test_copy_array_casts_like_assignment():
    # thinc 8.3.14 assigns numpy into numpy: float into int truncates.
    dst = numpy.zeros(2, "int32")
    copy_array(dst, numpy.asarray([1.7, -2.2], "f"))
    numpy.testing.assert_array_equal(dst, [1, -2])
    scalar = numpy.zeros((), "f")
    copy_array(scalar, numpy.asarray(2.5, "f"))
    assert float(scalar) == 2.5
    with pytest.raises(TypeError):
        copy_array([0.0, 0.0], numpy.ones(2, "f"))


def test_convert_and_iterate_recursive():
    is_int = lambda x: isinstance(x, int)  # noqa: E731
    times_ten = lambda x: x * 10  # noqa: E731
    obj = {"a": [1, (2, "s", {3}), ArgsKwargs((4,), {"k": 5})], "b": 1.0}
    converted = convert_recursive(is_int, times_ten, obj)
    assert converted == {
        "a": [10, (20, "s", {3}), ArgsKwargs(args=(40,), kwargs={"k": 50})],
        "b": 1.0,
    }
    assert convert_recursive(is_int, times_ten, {1: 2}) == {10: 20}
    assert convert_recursive(is_int, times_ten, (1, [2])) == (10, [20])
    # ArgsKwargs are walked through items(), so positional keys are visited too.
    assert list(iterate_recursive(is_int, {**obj, "b": 1})) == [1, 2, 0, 4, 5, 1]
    assert list(iterate_recursive(is_int, {1: 2})) == [1, 2]


def test_partial_keeps_docstring():
    def add(a, b=2):
        """Add two numbers."""
        return a + b

    bound = partial(add, 1)
    assert bound() == 3
    assert bound.__doc__ == "Add two numbers."


def test_array_info():
    info = ArrayInfo.from_array(numpy.zeros((2, 3), "f"))
    assert info.shape == (2, 3) and info.dtype == numpy.float32
    info.check_consistency(numpy.ones((2, 3), "f"))
    with pytest.raises(ValueError, match=r"Shape mismatch in backprop. Y: \(2, 3\), dY: \(2, 4\)"):
        info.check_consistency(numpy.ones((2, 4), "f"))
    with pytest.raises(ValueError, match="Type mismatch in backprop. Y: float32, dY: float64"):
        info.check_consistency(numpy.ones((2, 3), "d"))


def test_data_validation_error_message():
    error = DataValidationError("linear", numpy.zeros(2), [1], [{"loc": ["X"], "msg": "bad thing"}])
    assert isinstance(error, ValueError)
    text = str(error)
    assert "Data validation error in 'linear'" in text
    assert "X: <class 'numpy.ndarray'> Y: <class 'list'>" in text
    assert "X   bad thing" in text


def _forward(model: Any, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    raise NotImplementedError


def _forward_list(model: Any, X: List[Floats2d], is_train: bool) -> Tuple[Ints1d, Callable]:
    raise NotImplementedError


InT = TypeVar("InT")
BoundT = TypeVar("BoundT", bound=List[Floats2d])


def _forward_bound(model: Any, X: BoundT, is_train: bool) -> Tuple[BoundT, Callable]:
    raise NotImplementedError


def _forward_generic(model: Any, X: InT, is_train: bool) -> Tuple[InT, Callable]:
    raise NotImplementedError


def _forward_unannotated(model, X, is_train):
    raise NotImplementedError


def _forward_strings(model: "Any", X: "Ragged", is_train: bool) -> "Tuple[Floats2d, Callable]":
    raise NotImplementedError


def test_validate_fwd_input_output_accepts_matching_data():
    X = numpy.zeros((2, 2), "f")
    validate_fwd_input_output("f", _forward, X, X)
    validate_fwd_input_output("f", _forward, X, None)
    validate_fwd_input_output("f", _forward, None, X)
    validate_fwd_input_output("f", _forward_list, [X], numpy.zeros(2, "i"))
    validate_fwd_input_output("f", _forward_list, [], None)
    validate_fwd_input_output("f", _forward_generic, 1, "anything")
    validate_fwd_input_output("f", _forward_bound, [X], [X])
    validate_fwd_input_output("f", _forward_unannotated, 1, 2)
    validate_fwd_input_output("f", _forward_strings, Ragged(X, numpy.array([2], "i")), X)


@pytest.mark.parametrize(
    "func,X,Y,where",
    [
        (_forward, numpy.zeros(2, "f"), None, "X"),
        (_forward, numpy.zeros((2, 2), "f"), numpy.zeros((2, 2), "i"), "Y"),
        (_forward, [numpy.zeros((2, 2), "f")], None, "X"),
        (_forward_list, [numpy.zeros(3, "f")], None, "X"),
        (_forward_list, None, numpy.zeros(2, "f"), "Y"),
        (_forward_strings, numpy.zeros((2, 2), "f"), None, "X"),
        (_forward_bound, numpy.zeros((2, 2), "f"), None, "X"),
    ],
)
def test_validate_fwd_input_output_rejects_mismatches(func, X, Y, where):
    with pytest.raises(DataValidationError, match=rf"\n{where}   at "):
        validate_fwd_input_output("layer", func, X, Y)


def test_data_validation_is_scoped_and_thread_local():
    assert util.DATA_VALIDATION.get() is False
    seen = []
    with data_validation(True):
        assert util.DATA_VALIDATION.get() is True
        thread = threading.Thread(target=lambda: seen.append(util.DATA_VALIDATION.get()))
        thread.start()
        thread.join()
        with data_validation(False):
            assert util.DATA_VALIDATION.get() is False
        assert util.DATA_VALIDATION.get() is True
    assert util.DATA_VALIDATION.get() is False
    assert seen == [False]


def test_make_tempfile():
    with make_tempfile("w") as handle:
        handle.write("text")
        name = handle.name
        assert os.path.exists(name)
    assert not os.path.exists(name)


def test_use_nvtx_range_is_a_context_manager():
    with util.use_nvtx_range("step", 3):
        value = 1
    assert value == 1


def test_missing_frameworks_raise_import_error():
    # Only meaningful where the framework is absent (its own virtualenv has it).
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None:
        with pytest.raises(ImportError, match="TensorFlow"):
            util.xp2tensorflow(numpy.zeros(2))
        with pytest.raises(ImportError, match="TensorFlow"):
            util.assert_tensorflow_installed()
    if importlib.util.find_spec("mxnet") is None:
        with pytest.raises(ImportError, match="MXNet"):
            util.mxnet2xp(numpy.zeros(2))
        with pytest.raises(ImportError, match="MXNet"):
            util.assert_mxnet_installed()


@requires_torch
def test_torch_round_trip_shares_memory_and_tracks_grad():
    import torch

    util.require_cpu()
    assert util.get_torch_default_device() == torch.device("cpu")
    array = numpy.arange(6, dtype="f").reshape((2, 3))
    tensor = util.xp2torch(array, requires_grad=True)
    assert tensor.requires_grad and tensor.dtype == torch.float32 and tensor.shape == (2, 3)
    (tensor * 2).sum().backward()
    numpy.testing.assert_array_equal(util.torch2xp(tensor.grad), numpy.full((2, 3), 2, "f"))
    # Without grad the tensor is a view of the numpy buffer.
    shared = util.xp2torch(array)
    shared[0, 0] = 42
    assert array[0, 0] == 42
    back = util.torch2xp(shared)
    assert isinstance(back, numpy.ndarray) and back[0, 0] == 42
    # Negative strides and read-only arrays still convert.
    numpy.testing.assert_array_equal(util.xp2torch(array[::-1]).numpy(), array[::-1])
    readonly = numpy.ones(3, "f")
    readonly.flags.writeable = False
    numpy.testing.assert_array_equal(util.xp2torch(readonly).numpy(), readonly)
    ints = util.torch2xp(torch.tensor([1, 2], dtype=torch.int64))
    assert ints.dtype == numpy.int64
    with pytest.raises(TypeError, match="torch.Tensor"):
        util.torch2xp(array)


@requires_torch
def test_torch2xp_through_ops():
    import torch

    class RecordingOps:
        """Stands in for a CPU backend: torch2xp hands it the host array."""

        def __init__(self):
            self.seen = []

        def asarray(self, data):
            self.seen.append(data)
            return data

    ops = RecordingOps()
    result = util.torch2xp(torch.ones(2, requires_grad=True), ops=ops)
    assert isinstance(result, numpy.ndarray) and ops.seen[0] is result
    numpy.testing.assert_array_equal(result, [1.0, 1.0])


def test_validation_without_confection_validate_type(monkeypatch):
    # Older confection releases lack validate_type; pydantic is used directly then.
    from thinc import _validation

    monkeypatch.setattr(_validation, "validate_type", None)
    X = numpy.zeros((2, 2), "f")
    validate_fwd_input_output("f", _forward, X, X)
    validate_fwd_input_output("f", _forward_bound, [X], None)
    validate_fwd_input_output("f", _forward_generic, 1, None)
    with pytest.raises(DataValidationError, match=r"\nX   at root: "):
        validate_fwd_input_output("f", _forward, numpy.zeros(2, "f"), None)
    with pytest.raises(DataValidationError, match=r"\nX   at root: "):
        validate_fwd_input_output("f", _forward_bound, X, None)
    with pytest.raises(DataValidationError, match=r"\nY   at root: "):
        validate_fwd_input_output("f", _forward_list, None, numpy.zeros(2, "f"))


def test_get_width_rejects_objects_with_a_non_tuple_shape():
    class TokenLike:
        shape = 4

    with pytest.raises(ValueError, match="TokenLike"):
        util.get_width(TokenLike())


@pytest.mark.parametrize("value", [["a", "b"], "abc", "a", [["a"]]])
def test_get_width_of_strings_is_a_value_error(value):
    # thinc 8.3.14 raises ValueError; a one-character string used to recurse for ever.
    with pytest.raises(ValueError):
        get_width(value)


def test_initialize_on_strings_is_a_value_error():
    from thinc.api import Linear

    with pytest.raises(ValueError):
        Linear(3, 4).initialize(X=["a", "b"])


def test_get_width_of_1d_ids_counts_classes():
    assert get_width(numpy.asarray([0, 5, 2], "int32")) == 6
    with pytest.raises(ValueError):
        get_width(numpy.zeros((0,), "int32"))
