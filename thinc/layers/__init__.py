"""Every layer and combinator, one module each, registered where defined.

Importing this package registers them all in ``thinc.config.registry.layers``."""

# ruff: noqa: I001  (the imports are grouped by kind of layer, not sorted as one block)
# Weights layers
from .cauchysimilarity import CauchySimilarity
from .clipped_linear import ClippedLinear, HardSigmoid, HardTanh, ReluK
from .dish import Dish
from .dropout import Dropout
from .embed import Embed
from .expand_window import expand_window
from .gelu import Gelu
from .hard_swish import HardSwish
from .hard_swish_mobilenet import HardSwishMobilenet
from .hashembed import HashEmbed
from .layernorm import LayerNorm
from .linear import Linear
from .logistic import Logistic
from .lstm import LSTM, PyTorchLSTM
from .maxout import Maxout
from .mish import Mish
from .multisoftmax import MultiSoftmax
from .mxnetwrapper import MXNetWrapper
from .parametricattention import ParametricAttention
from .parametricattention_v2 import ParametricAttention_v2
from .premap_ids import premap_ids
from .pytorchwrapper import (
    PyTorchRNNWrapper,
    PyTorchWrapper,
    PyTorchWrapper_v2,
    PyTorchWrapper_v3,
)
from .relu import Relu
from .sigmoid import Sigmoid
from .sigmoid_activation import sigmoid_activation
from .softmax import Softmax, Softmax_v2
from .softmax_activation import softmax_activation
from .sparselinear import SparseLinear, SparseLinear_v2
from .swish import Swish
from .tensorflowwrapper import TensorFlowWrapper, keras_subclass
from .torchscriptwrapper import TorchScriptWrapper_v1, pytorch_to_torchscript_wrapper

# Combinators
from .add import add
from .bidirectional import bidirectional
from .chain import chain
from .clone import clone
from .concatenate import concatenate
from .map_list import map_list
from .noop import noop
from .residual import residual
from .resizable import resizable
from .siamese import siamese
from .tuplify import tuplify
from .uniqued import uniqued

# Data-type transforms
from .array_getitem import array_getitem
from .list2array import list2array
from .list2padded import list2padded
from .list2ragged import list2ragged
from .padded2list import padded2list
from .ragged2list import ragged2list
from .reduce_first import reduce_first
from .reduce_last import reduce_last
from .reduce_max import reduce_max
from .reduce_mean import reduce_mean
from .reduce_sum import reduce_sum
from .remap_ids import remap_ids, remap_ids_v2
from .strings2arrays import strings2arrays
from .with_array import with_array
from .with_array2d import with_array2d
from .with_cpu import with_cpu
from .with_debug import with_debug
from .with_flatten import with_flatten
from .with_flatten_v2 import with_flatten_v2
from .with_getitem import with_getitem
from .with_list import with_list
from .with_nvtx_range import with_nvtx_range
from .with_padded import with_padded
from .with_ragged import with_ragged
from .with_reshape import with_reshape
from .with_signpost_interval import with_signpost_interval

__all__ = [
    "CauchySimilarity", "ClippedLinear", "Dish", "Dropout", "Embed", "Gelu", "HardSigmoid",
    "HardSwish", "HardSwishMobilenet", "HardTanh", "HashEmbed", "LayerNorm", "Linear",
    "Logistic", "LSTM", "Maxout", "Mish", "MultiSoftmax", "ParametricAttention",
    "ParametricAttention_v2", "premap_ids", "MXNetWrapper", "TensorFlowWrapper",
    "keras_subclass", "PyTorchLSTM", "PyTorchRNNWrapper", "PyTorchWrapper",
    "PyTorchWrapper_v2", "PyTorchWrapper_v3", "TorchScriptWrapper_v1",
    "pytorch_to_torchscript_wrapper", "Relu", "ReluK", "Sigmoid", "sigmoid_activation",
    "Softmax", "Softmax_v2", "softmax_activation", "SparseLinear", "SparseLinear_v2", "Swish",
    "add", "bidirectional", "chain", "clone", "concatenate", "expand_window", "map_list",
    "noop", "residual", "resizable", "siamese", "tuplify", "uniqued", "array_getitem",
    "list2array", "list2padded", "list2ragged",
    "padded2list", "ragged2list", "reduce_first", "reduce_last", "reduce_max", "reduce_mean",
    "reduce_sum", "remap_ids", "remap_ids_v2", "strings2arrays", "with_array",
    "with_array2d", "with_cpu", "with_debug", "with_flatten", "with_flatten_v2",
    "with_getitem", "with_list", "with_nvtx_range", "with_padded", "with_ragged",
    "with_reshape", "with_signpost_interval",
]  # fmt: skip
