"""Private modules that other packages import from thinc 8.3 keep its names and meaning."""

import numpy
import pytest

from thinc.backends import _cupy_allocators, _custom_kernels
from thinc.backends._param_server import KeyT, ParamServer
from thinc.compat import has_cupy_gpu


def test_param_server_reports_gradients_only_for_params_it_holds():
    server = ParamServer()
    server.set_param(1, "W", numpy.zeros(2))
    server.set_param(2, "b", numpy.zeros(2))
    server.inc_grad(2, "b", numpy.ones(2))
    server.set_grad(3, "orphan", numpy.ones(2))
    server.inc_grad(1, "W", numpy.ones(2))
    # Param order, and the orphan gradient (no param) is not a gradient key.
    assert server.grad_keys == ((1, "W"), (2, "b"))
    assert server.has_grad(3, "orphan")
    assert KeyT is not None


def test_param_server_keeps_what_the_proxy_serves():
    class Proxy:
        def get_param(self, model_id, name):
            return numpy.full(2, 7.0)

    server = ParamServer(proxy=Proxy())
    assert server.get_param(5, "W").tolist() == [7.0, 7.0]
    assert server.has_param(5, "W") and server.param_keys == ((5, "W"),)


def test_custom_kernels_keep_thinc_8_3_names():
    assert isinstance(_custom_kernels.KERNELS_LIST, list) and _custom_kernels.KERNELS_LIST
    for name in _custom_kernels.KERNELS_LIST:
        # The typed variants come from one macro per kernel, or from a row of
        # the elementwise tables.
        base = name if name == "hash_data" else name.rpartition("_")[0]
        source = _custom_kernels.KERNELS_SRC
        assert f"void {base}" in source or f"X({base}," in source, name
    assert _custom_kernels.PWD == _custom_kernels.KERNELS_SOURCE_PATH.parent
    assert _custom_kernels.seq2col_kernel_float is _custom_kernels.KERNELS["seq2col_float"]
    assert _custom_kernels.gather_add_kernel_double is _custom_kernels.KERNELS["gather_add_double"]
    assert _custom_kernels.hash_data_kernel is _custom_kernels.KERNELS["hash_data"]


@pytest.mark.skipif(has_cupy_gpu, reason="checks the no-GPU answer")
def test_compile_mmh_without_a_gpu_is_none():
    assert _custom_kernels.compile_mmh() is None


def test_cupy_allocators_importable():
    assert callable(_cupy_allocators.cupy_pytorch_allocator)
    assert callable(_cupy_allocators.cupy_tensorflow_allocator)
