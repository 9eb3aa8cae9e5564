"""chain runs expand_window >> Maxout as one op (thinc/layers/_window_maxout.py):
the same outputs, gradients and errors as the two layers one by one."""

import sys

import numpy
import pytest

from thinc.api import (
    Dropout,
    LayerNorm,
    Maxout,
    NumpyOps,
    Ops,
    Ragged,
    Relu,
    chain,
    clone,
    expand_window,
    residual,
    with_array,
)

from ..util import check_gradients

chain_module = sys.modules["thinc.layers.chain"]


class CountingOps(NumpyOps):
    """NumpyOps that counts the fused op's calls (so a test knows it ran)."""

    def __init__(self):
        super().__init__()
        self.fused_calls = 0

    def _maxout_window_forward(self, X, nW, W, b, *, keep_which=True):
        self.fused_calls += 1
        return super()._maxout_window_forward(X, nW, W, b, keep_which=keep_which)


def with_ops(model, ops):
    for node in model.walk():
        node.ops = ops
    return model


def encoder(width, window, depth, dtype="float32"):
    # spaCy's MaxoutWindowEncoder: Maxout(normalize=True, dropout=0.0) nests
    # chain(chain(maxout, layernorm), dropout) inside the block's chain.
    block = chain(
        expand_window(window_size=window),
        Maxout(nO=width, nI=width * (2 * window + 1), nP=3, normalize=True, dropout=0.0),
    )
    return with_array(clone(residual(block), depth), pad=window * depth)


def as_dtype(model, dtype):
    for node in model.walk():
        for name in node.param_names:
            if node.has_param(name):
                node.set_param(name, node.get_param(name).astype(dtype))


def run_both(model, X, dY_seed=0):
    """(Y, dX, param grads) with the fused step, then with it switched off."""
    results = []
    for fused in (True, False):
        saved = chain_module.run_window_maxout
        if not fused:
            chain_module.run_window_maxout = lambda *args: None
        try:
            for node in model.walk():
                for name in node.param_names:
                    if node.has_param(name):
                        node.set_grad(name, numpy.zeros_like(node.get_param(name)))
            Y, backprop = model.begin_update(X)
            rng = numpy.random.default_rng(dY_seed)
            if isinstance(Y, list):
                dY = [rng.normal(size=y.shape).astype(y.dtype) for y in Y]
            else:
                dY = rng.normal(size=Y.shape).astype(Y.dtype)
            dX = backprop(dY)
            grads = [
                node.get_grad(name).copy()
                for node in model.walk()
                for name in node.param_names
                if node.has_grad(name)
            ]
            predicted = model.predict(X)
        finally:
            chain_module.run_window_maxout = saved
        results.append((Y, dX, grads, predicted))
    return results


def assert_same(a, b):
    if isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            numpy.testing.assert_array_equal(x, y)
    else:
        numpy.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("window", [1, 2])
def test_encoder_fused_matches_layer_by_layer(dtype, window):
    ops = CountingOps()
    model = with_ops(encoder(8, window, 2), ops)
    rng = numpy.random.default_rng(1)
    Xs = [rng.normal(size=(n, 8)).astype(dtype) for n in (5, 1, 12, 3)]
    model.initialize(X=[X.astype("float32") for X in Xs])
    as_dtype(model, dtype)
    ops.fused_calls = 0
    (Y, dX, grads, pred), (Y_ref, dX_ref, grads_ref, pred_ref) = run_both(model, Xs)
    # Two blocks, forward and predict with the fused step on: it ran.
    assert ops.fused_calls == 4
    assert_same(Y, Y_ref)
    assert_same(dX, dX_ref)
    assert_same(pred, pred_ref)
    assert len(grads) == len(grads_ref) > 0
    for got, expected in zip(grads, grads_ref):
        numpy.testing.assert_array_equal(got, expected)


def test_nested_pair_and_backprop_after_prediction():
    ops = CountingOps()
    # Nested two deep, where the order of the layers after Maxout shows.
    inner = chain(chain(Maxout(nO=4, nI=15, nP=2), LayerNorm(nI=4)), Relu(nO=3, nI=4))
    model = with_ops(chain(expand_window(1), inner, Relu(nO=2)), ops)
    X = numpy.random.default_rng(2).normal(size=(9, 5)).astype("f")
    model.initialize(X=X)
    (Y, dX, grads, _), (Y_ref, dX_ref, grads_ref, _) = run_both(model, X)
    assert ops.fused_calls > 0
    assert_same(Y, Y_ref)
    assert_same(dX, dX_ref)
    for got, expected in zip(grads, grads_ref):
        numpy.testing.assert_array_equal(got, expected)
    # is_train=False records no winners; backprop then recovers them.
    Y_infer, backprop_infer = model(X, is_train=False)
    Y_train, backprop_train = model(X, is_train=True)
    dY = numpy.ones_like(Y_train)
    numpy.testing.assert_array_equal(backprop_infer(dY), backprop_train(dY))


def test_fused_pair_input_gradient_matches_finite_differences():
    model = with_ops(chain(expand_window(2), Maxout(nO=3, nI=20, nP=3)), NumpyOps())
    X = numpy.random.default_rng(3).normal(size=(7, 4))
    model.initialize(X=X.astype("float32"))
    as_dtype(model, "float64")
    check_gradients(model, X, atol=1e-6, rtol=1e-5)


def test_ragged_empty_and_wrong_widths_run_layer_by_layer():
    ops = CountingOps()
    model = with_ops(chain(expand_window(1), Maxout(nO=4, nI=15, nP=2)), ops)
    X = numpy.random.default_rng(4).normal(size=(6, 5)).astype("f")
    model.initialize(X=X)
    ops.fused_calls = 0
    # Ragged: windows stop at sequence bounds, which the fused step does not do.
    with pytest.raises((TypeError, ValueError)):
        model.predict(Ragged(X, numpy.asarray([2, 4], dtype="int32")))
    assert model.predict(X[:0]).shape == (0, 4)
    with pytest.raises(ValueError, match="maxout expects a 2d input of width 15"):
        model.predict(X[:, :4])
    with pytest.raises(ValueError, match="in layer 'maxout'"):
        model.predict(X.astype("float64"))
    assert ops.fused_calls == 0


def test_other_pairs_and_mixed_ops_are_left_alone():
    ops = CountingOps()
    # Not Maxout after the window; a Maxout not at the front of the next chain.
    first = with_ops(chain(expand_window(1), Relu(nO=4, nI=15)), ops)
    second = with_ops(chain(expand_window(1), chain(Dropout(0.0), Maxout(nO=4, nI=15, nP=2))), ops)
    X = numpy.random.default_rng(5).normal(size=(6, 5)).astype("f")
    for model in (first, second):
        model.initialize(X=X)
        model.predict(X)
    assert ops.fused_calls == 0
    # Layers on different ops objects each keep their own.
    third = chain(expand_window(1), Maxout(nO=4, nI=15, nP=2), LayerNorm(nI=4))
    third.initialize(X=X)
    third.layers[0].ops = CountingOps()
    third.layers[1].ops = ops
    third.predict(X)
    assert ops.fused_calls == 0


def test_reference_ops_give_the_layers_results():
    X = numpy.random.default_rng(6).normal(size=(11, 5)).astype("f")
    fast = with_ops(chain(expand_window(1), Maxout(nO=4, nI=15, nP=3)), NumpyOps())
    slow = with_ops(chain(expand_window(1), Maxout(nO=4, nI=15, nP=3)), Ops())
    fast.initialize(X=X)
    slow.initialize(X=X)
    slow.from_bytes(fast.to_bytes())
    numpy.testing.assert_allclose(fast.predict(X), slow.predict(X), rtol=1e-5, atol=1e-6)
