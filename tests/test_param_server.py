"""ParamServer's gradient increments: NumpyOps' compiled add (strided views of
the gradient's shape, as spaCy's parser adds a transposed weight gradient each
step) gives numpy's bits, and everything it declines still goes through +=."""

import numpy
import pytest

from thinc._param_server import ParamServer
from thinc.backends.numpy_ops import _add_into


def _views(rng, dtype):
    """(name, gradient shape, value view) for layouts the compiled add walks."""
    f = lambda *shape: rng.standard_normal(shape).astype(dtype)
    nF, nO, nP, nI = 3, 5, 2, 7
    return [
        ("transposed", (6, 4), f(4, 6).T),
        ("permuted 4-d", (nF, nO, nP, nI), f(nO, nP, nF, nI).transpose((2, 0, 1, 3))),
        ("inner axis strided", (5, 4), f(5, 8)[:, ::2]),
        ("reversed", (9,), f(9)[::-1]),
        ("reversed rows of a transpose", (3, 4), f(4, 3).T[::-1]),
        ("broadcast row (zero stride)", (5, 6), numpy.broadcast_to(f(6), (5, 6))),
        ("length-1 axes", (1, 4, 1, 3), f(3, 1, 4, 1).transpose((3, 2, 1, 0))),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_add_matches_numpy(dtype):
    rng = numpy.random.default_rng(0)
    for name, shape, value in _views(rng, dtype):
        assert not value.flags.c_contiguous, name  # contiguous ones are numpy's
        start = rng.standard_normal(shape).astype(dtype)
        ours = start.copy()
        assert _add_into(ours, value), name
        want = start.copy()
        want += value
        numpy.testing.assert_array_equal(ours, want, err_msg=name)


def test_compiled_add_declines_what_it_does_not_do():
    g = numpy.zeros((4, 6), "float32")
    v = numpy.ones((4, 6), "float32")
    read_only = g.copy()
    read_only.flags.writeable = False
    cases = {
        "both contiguous (numpy's loop is faster)": (g, v),
        "empty (contiguous to numpy)": (numpy.zeros((0, 3), "float32"), v[:0, :3]),
        "another dtype": (g, v.astype("float64").T.copy().T),
        "integers": (g.astype("int32"), v.astype("int32")[::-1]),
        "broadcasting": (g, v[0, ::2]),
        "another shape": (g, numpy.ones((6, 4), "float32")[:, ::-1]),
        "strided gradient": (numpy.zeros((4, 12), "float32")[:, ::2], v[::-1]),
        "read-only gradient": (read_only, v[::-1]),
        "overlapping": (g, g[::-1]),
        "same array": (g, g),
        "big-endian": (g.astype(">f4"), v.astype(">f4")[::-1]),
        "not arrays": (g, v.tolist()),
    }
    for name, (grad, value) in cases.items():
        before = numpy.array(grad, copy=True)
        assert _add_into(grad, value) is False, name
        numpy.testing.assert_array_equal(grad, before, err_msg=name)


def test_numpy_ops_registers_the_compiled_add():
    import thinc._param_server as param_server

    assert param_server._compiled_add is _add_into


def test_inc_grad_adds_views_and_falls_back_to_numpy():
    server = ParamServer()
    rng = numpy.random.default_rng(1)
    first = rng.standard_normal((6, 4)).astype("float32")
    server.inc_grad(1, "W", first)
    stored = server.get_grad(1, "W")
    assert stored is not first  # the first increment is a copy
    view = rng.standard_normal((4, 6)).astype("float32").T
    server.inc_grad(1, "W", view)
    numpy.testing.assert_array_equal(server.get_grad(1, "W"), first + view)
    assert server.get_grad(1, "W") is stored  # added in place
    # Broadcasting and casting are numpy's: still accepted, through +=.
    row = rng.standard_normal((4,)).astype("float64")
    want = stored + row.astype("float32")
    server.inc_grad(1, "W", row)
    numpy.testing.assert_allclose(server.get_grad(1, "W"), want, rtol=1e-6)
    # An increment that overlaps the gradient itself: numpy's semantics.
    grad = server.get_grad(1, "W")
    want = grad + grad[::-1].copy()
    server.inc_grad(1, "W", grad[::-1])
    numpy.testing.assert_array_equal(server.get_grad(1, "W"), want)


def test_a_gradient_cleared_to_a_scalar_takes_the_next_increment():
    # set_grad(name, 0.0) is how thinc 8.3's tests clear a gradient; the next
    # increment must land (it was silently dropped: the float was added to
    # in a local and never stored).
    server = ParamServer()
    server.set_grad(1, "W", 0.0)
    value = numpy.arange(6, dtype="f").reshape(2, 3)
    server.inc_grad(1, "W", value)
    grad = server.get_grad(1, "W")
    assert isinstance(grad, numpy.ndarray)
    numpy.testing.assert_array_equal(grad, value)
    server.inc_grad(1, "W", value)
    assert server.get_grad(1, "W") is grad  # an array from then on: in place
    numpy.testing.assert_array_equal(grad, 2 * value)


@pytest.mark.parametrize("layer", ["Linear", "SparseLinear"])
def test_layers_accumulate_into_a_gradient_cleared_to_zero(layer):
    from thinc.api import Linear, SparseLinear

    if layer == "Linear":
        model = Linear(3, 4)
        X = numpy.ones((2, 4), dtype="f")
    else:
        model = SparseLinear(2, length=64)
        keys = numpy.arange(1, 9, dtype="uint64")
        X = (keys, numpy.ones(8, dtype="f"), numpy.asarray([4, 4], dtype="int32"))
    model.initialize()
    Y, backprop = model.begin_update(X)
    backprop(numpy.ones_like(Y))
    expected = model.get_grad("W").copy()
    assert numpy.count_nonzero(expected)
    model.set_grad("W", 0.0)
    Y, backprop = model.begin_update(X)
    backprop(numpy.ones_like(Y))
    numpy.testing.assert_array_equal(model.get_grad("W"), expected)
