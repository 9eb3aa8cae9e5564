"""thinc.api exports every name thinc 8.3's does, and each resolves to a real object."""

import subprocess
import tempfile

import pytest

import thinc.api
import thinc.shims
from thinc.backends import NumpyOps, Ops

from .util import require_ref_thinc

THINC_8_3_API = """
Adam ArgsKwargs CategoricalCrossentropy CauchySimilarity ClippedLinear Config
ConfigValidationError CosineDistance CupyOps DataValidationError Dish Dropout Embed Gelu
HardSigmoid HardSwish HardSwishMobilenet HardTanh HashEmbed L2Distance LSTM LayerNorm Linear
Logistic MPSOps MXNetShim MXNetWrapper Maxout Mish Model MultiSoftmax NumpyOps Ops Optimizer
Padded ParametricAttention ParametricAttention_v2 PyTorchGradScaler PyTorchLSTM
PyTorchRNNWrapper PyTorchShim PyTorchWrapper PyTorchWrapper_v2 PyTorchWrapper_v3 RAdam Ragged
Relu ReluK SGD SequenceCategoricalCrossentropy Shim Sigmoid Softmax Softmax_v2 SparseLinear
SparseLinear_v2 Swish TensorFlowShim TensorFlowWrapper TorchScriptShim TorchScriptWrapper_v1
Unserializable add array_getitem bidirectional chain change_attr_values clone compounding
concatenate configure_normal_init constant constant_then cyclic_triangular data_validation
decaying deserialize_attr enable_mxnet enable_tensorflow expand_window fix_random_seed
get_array_module get_current_ops get_ops get_torch_default_device get_width glorot_uniform_init
has_cupy is_cupy_array keras_model_fns keras_subclass list2array list2padded list2ragged
map_list maybe_handshake_model mxnet2xp noop normal_init padded2list prefer_gpu premap_ids
pytorch_to_torchscript_wrapper ragged2list reduce_first reduce_last reduce_max reduce_mean
reduce_sum registry remap_ids remap_ids_v2 require_cpu require_gpu residual resizable
serialize_attr set_active_gpu set_current_ops set_dropout_rate set_gpu_allocator siamese
sigmoid_activation slanted_triangular softmax_activation strings2arrays tensorflow2xp
to_categorical to_numpy torch2xp tuplify uniform_init uniqued use_ops
use_pytorch_for_gpu_memory use_tensorflow_for_gpu_memory warmup_linear with_array
with_array2d with_cpu with_debug with_flatten with_flatten_v2 with_getitem with_list
with_nvtx_range with_padded with_ragged with_reshape with_signpost_interval
wrap_model_recursive xp2mxnet xp2tensorflow xp2torch zero_init
""".split()


def test_every_thinc_8_3_name_is_exported():
    missing = [name for name in THINC_8_3_API if not hasattr(thinc.api, name)]
    assert not missing, f"thinc.api lacks: {missing}"
    not_listed = [name for name in THINC_8_3_API if name not in thinc.api.__all__]
    assert not not_listed, f"thinc.api.__all__ lacks: {not_listed}"


# Names this thinc adds to thinc.api.__all__ (documented here; none at present).
OUR_API_ADDITIONS: set = set()
THINC_8_3_SHIMS = """
MXNetShim PyTorchShim PyTorchGradScaler Shim TensorFlowShim TorchScriptShim
maybe_handshake_model keras_model_fns
""".split()


def test_all_lists_exactly_thinc_8_3s_names():
    assert set(thinc.api.__all__) == set(THINC_8_3_API) | OUR_API_ADDITIONS
    assert sorted(thinc.shims.__all__) == sorted(THINC_8_3_SHIMS)
    assert not hasattr(thinc.api, "floats_getitem"), "not exported by thinc 8.3.14's thinc.api"


@pytest.mark.parametrize("module", ["thinc.api", "thinc.shims", "thinc.layers"])
def test_all_matches_the_installed_thinc_8_3_14(module):
    python = require_ref_thinc()
    listed = subprocess.run(
        [str(python), "-c", f"import {module} as m; print(' '.join(m.__all__))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
        timeout=120,
    ).stdout.split()
    ours = __import__(module, fromlist=["__all__"]).__all__
    assert set(ours) == set(listed) | (OUR_API_ADDITIONS if module == "thinc.api" else set())


def test_every_public_numpy_ops_attribute_exists_on_ops():
    added = [name for name in dir(NumpyOps) if not name.startswith("_") and not hasattr(Ops, name)]
    assert not added, f"NumpyOps adds public attributes Ops lacks: {added}"
    report = Ops().paths()
    assert isinstance(report, dict) and report
    assert isinstance(Ops.blas_backend, str) and isinstance(Ops().blas_backend, str)


def test_exported_names_are_real_objects():
    for name in thinc.api.__all__:
        assert getattr(thinc.api, name) is not None, name


def test_layer_registry_names():
    from thinc.api import registry

    for name in ["Linear.v1", "Relu.v1", "Softmax.v1", "Softmax.v2", "chain.v1", "Adam.v1"]:
        namespace = registry.optimizers if name == "Adam.v1" else registry.layers
        assert namespace.get(name) is not None
