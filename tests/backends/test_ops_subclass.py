"""A user's Ops subclass sees the calls thinc 8.3's layers make: the fused
fast paths step aside when an op they replace is overridden."""

from unittest import mock

import numpy
import pytest

from thinc.api import LayerNorm, Linear, Maxout, NumpyOps, Relu, Softmax
from thinc.backends.ops import FUSED_OP_STEPS


class CountingOps(NumpyOps):
    """Counts calls of the ops thinc 8.3.14's dense layers call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = {"gemm": 0, "maxout": 0, "backprop_maxout": 0}

    def gemm(self, *args, **kwargs):
        self.calls["gemm"] += 1
        return super().gemm(*args, **kwargs)

    def maxout(self, *args, **kwargs):
        self.calls["maxout"] += 1
        return super().maxout(*args, **kwargs)

    def backprop_maxout(self, *args, **kwargs):
        self.calls["backprop_maxout"] += 1
        return super().backprop_maxout(*args, **kwargs)


def with_ops(model, ops):
    for node in model.walk():
        node.ops = ops
    return model


X = numpy.random.default_rng(0).uniform(-1, 1, (4, 5)).astype("f")

LAYERS = {
    "Linear": lambda: Linear(3, 5),
    "Relu": lambda: Relu(3, 5),
    "Maxout": lambda: Maxout(3, 5, nP=2),
    "Softmax": lambda: Softmax(3, 5),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_subclass_gemm_sees_one_call_forward_and_two_backward(name):
    # thinc 8.3.14: one gemm forward (X @ W.T), two backward (dW and dX).
    ops = CountingOps()
    model = with_ops(LAYERS[name](), ops).initialize(X=X)
    ops.calls["gemm"] = 0
    Y, backprop = model.begin_update(X)
    assert ops.calls["gemm"] == 1
    backprop(numpy.ones_like(Y))
    assert ops.calls["gemm"] == 3
    if name == "Maxout":
        assert ops.calls["maxout"] == 1 and ops.calls["backprop_maxout"] == 1


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_subclass_results_equal_the_fused_path(name):
    fused = LAYERS[name]().initialize(X=X)
    plain = with_ops(LAYERS[name](), CountingOps()).initialize(X=X)
    plain.from_bytes(fused.to_bytes())
    Y_fused, backprop_fused = fused.begin_update(X)
    Y_plain, backprop_plain = plain.begin_update(X)
    numpy.testing.assert_allclose(Y_plain, Y_fused, rtol=1e-5, atol=1e-6)
    dY = numpy.ones_like(Y_fused)
    numpy.testing.assert_allclose(backprop_plain(dY), backprop_fused(dY), rtol=1e-5, atol=1e-5)


def test_instance_attribute_override_is_seen():
    ops = NumpyOps()
    model = with_ops(Linear(3, 5), ops).initialize(X=X)
    with mock.patch.object(ops, "gemm", wraps=ops.gemm) as gemm:
        model.predict(X)
    assert gemm.call_count == 1


def test_class_patch_is_seen():
    model = Relu(3, 5).initialize(X=X)
    original = NumpyOps.gemm
    calls = []

    def gemm(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    with mock.patch.object(NumpyOps, "gemm", gemm):
        model.predict(X)
    assert len(calls) == 1
    # Unpatched again, the fused path runs (and gives the same answer).
    model.predict(X)
    assert len(calls) == 1


def test_user_override_of_a_fused_op_runs_as_written():
    class OwnAffine(NumpyOps):
        def affine(self, X, W, b):
            return numpy.zeros((X.shape[0], W.shape[0]), dtype=X.dtype)

    model = with_ops(Linear(3, 5), OwnAffine()).initialize(X=X)
    assert not model.predict(X).any()


def test_layer_norm_subclass_matches():
    fused = LayerNorm(5).initialize(X=X)
    plain = with_ops(LayerNorm(5), CountingOps()).initialize(X=X)
    numpy.testing.assert_allclose(plain.predict(X), fused.predict(X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(FUSED_OP_STEPS))
def test_every_fused_numpy_op_is_guarded(name):
    method = NumpyOps.__dict__.get(name)
    if method is None:
        pytest.skip(f"NumpyOps runs Ops' reference {name}")
    assert hasattr(method, "__wrapped__"), (
        f"NumpyOps.{name} runs even when its steps are overridden"
    )
