"""The compiled kernels' worker pool: split work must equal serial work and the
reference Ops, under THINC_NUM_THREADS=1, from two Python threads, after fork."""

import os
import pickle
import subprocess
import sys
import threading
import time

import numpy
import pytest

from thinc.backends import dispatch, numpy_ops
from thinc.backends.numpy_ops import NumpyOps
from thinc.backends.ops import Ops

OPS = NumpyOps()
REFERENCE = Ops()
# Above any array in these tests, so the kernels run serially.
SERIAL_GRAIN = 2**62
# Small enough that every input below is split into several parts.
SPLIT_GRAIN = 40
NORM_BLOCKS_SPLIT = 2 * SPLIT_GRAIN + 3


@pytest.fixture
def split_small_work():
    numpy_ops._set_parallel_grain(SPLIT_GRAIN)
    yield
    numpy_ops._set_parallel_grain(0)


def _inputs(dtype, seed=0):
    rng = numpy.random.default_rng(seed)
    # 1003 rows: the parts do not end on a multiple of the vector width.
    X = (rng.standard_normal((1003, 37)) * 3).astype(dtype)
    dY = rng.standard_normal((1003, 37)).astype(dtype)
    return rng, X, dY


def _cases(dtype):
    """(name, our call, reference call) for every op that splits its work."""
    rng, X, dY = _inputs(dtype)
    Y_sigmoid = REFERENCE.sigmoid(X)
    Y_swish = REFERENCE.swish(X)
    Y_softmax = REFERENCE.softmax(X)
    pieces = rng.standard_normal((1003, 37, 3)).astype(dtype)
    which = rng.integers(0, 3, (1003, 37)).astype("int32")
    which5 = rng.integers(0, 5, (1003, 37)).astype("int32")
    which11 = rng.integers(0, 11, (1003, 37)).astype("int32")
    table = rng.standard_normal((500, 37)).astype(dtype)
    indices32 = rng.integers(0, 500, (1003, 4)).astype("int32")
    cases = []
    for name in (
        "relu",
        "sigmoid",
        "swish",
        "gelu",
        "gelu_approx",
        "mish",
        "dish",
        "hard_swish",
        "hard_swish_mobilenet",
        "hard_tanh",
        "clipped_linear",
    ):
        cases.append((name, (lambda n: lambda ops: getattr(ops, n)(X))(name)))
    for name in (
        "backprop_relu",
        "backprop_gelu",
        "backprop_gelu_approx",
        "backprop_mish",
        "backprop_hard_swish",
        "backprop_dish",
        "backprop_hard_tanh",
    ):
        cases.append((name, (lambda n: lambda ops: getattr(ops, n)(dY, X))(name)))
    cases += [
        ("backprop_sigmoid", lambda ops: ops.backprop_sigmoid(dY, Y_sigmoid)),
        ("backprop_swish", lambda ops: ops.backprop_swish(dY, X, Y_swish)),
        ("softmax", lambda ops: ops.softmax(X)),
        ("softmax temperature", lambda ops: ops.softmax(X, temperature=0.5)),
        ("backprop_softmax", lambda ops: ops.backprop_softmax(Y_softmax, dY)),
        ("maxout", lambda ops: ops.maxout(pieces)),
        ("backprop_maxout", lambda ops: ops.backprop_maxout(dY, which, 3)),
        ("backprop_maxout P=5", lambda ops: ops.backprop_maxout(dY, which5, 5)),
        ("backprop_maxout P=11", lambda ops: ops.backprop_maxout(dY, which11, 11)),
        ("gather_add int32", lambda ops: ops.gather_add(table, indices32)),
        ("gather_add int64", lambda ops: ops.gather_add(table, indices32.astype("int64"))),
    ]
    # Sequences of 0 to 11 rows (spaCy sends empty docs too), 1003 rows in all.
    lengths = rng.integers(0, 12, 200).astype("int32")
    lengths = lengths[numpy.cumsum(lengths) <= 1003]
    lengths = numpy.append(lengths, 1003 - lengths.sum()).astype("int32")
    positive = lengths[lengths > 0]
    n_seq = len(lengths)
    d_seq = rng.standard_normal((n_seq, 37)).astype(dtype)
    d_positive = rng.standard_normal((len(positive), 37)).astype(dtype)
    which_max = REFERENCE.reduce_max(X, positive)[1]
    Y_sequences = REFERENCE.softmax_sequences(X, lengths)
    d_window = rng.standard_normal((1003, 3 * 37)).astype(dtype)
    params = [rng.standard_normal(70001).astype(dtype) for _ in range(4)]
    params[3] = numpy.abs(params[3])

    def adam(ops):
        # The gradient is left out: NumpyOps zeroes it, as thinc 8.3.14's does.
        weights, gradient, mom1, mom2 = (p.copy() for p in params)
        result = ops.adam(weights, gradient, mom1, mom2, 0.9, 0.999, 1e-8, 0.01)
        return result[0], result[2], result[3]

    def update_averages(ops):
        ema = params[0].copy()
        ops.update_averages(ema, params[1], 7)
        return ema

    # Enough 32768-element blocks for the norm's blocks to be split too.
    large_gradient = rng.standard_normal(NORM_BLOCKS_SPLIT * 32768 + 5).astype(dtype)

    def clip_gradient(ops):
        return ops.clip_gradient(large_gradient.copy(), 10.0)

    cases += [
        ("reduce_sum", lambda ops: ops.reduce_sum(X, lengths)),
        ("reduce_mean", lambda ops: ops.reduce_mean(X, lengths)),
        ("reduce_max", lambda ops: ops.reduce_max(X, positive)),
        ("backprop_reduce_sum", lambda ops: ops.backprop_reduce_sum(d_seq, lengths)),
        ("backprop_reduce_mean", lambda ops: ops.backprop_reduce_mean(d_seq, lengths)),
        (
            "backprop_reduce_max",
            lambda ops: ops.backprop_reduce_max(d_positive, which_max, positive),
        ),
        ("seq2col", lambda ops: ops.seq2col(X, 1, lengths=lengths)),
        ("backprop_seq2col", lambda ops: ops.backprop_seq2col(d_window, 1, lengths=lengths)),
        ("softmax_sequences", lambda ops: ops.softmax_sequences(X, lengths)),
        (
            "backprop_softmax_sequences",
            lambda ops: ops.backprop_softmax_sequences(dY, Y_sequences, lengths),
        ),
        ("adam", adam),
        ("update_averages", update_averages),
        ("clip_gradient", clip_gradient),
    ]
    return cases


def _as_arrays(result):
    return list(result) if isinstance(result, tuple) else [result]


def _run_all(dtype):
    return {name: _as_arrays(call(OPS)) for name, call in _cases(dtype)}


def test_num_threads_is_a_positive_count():
    count = numpy_ops.get_num_threads()
    assert isinstance(count, int)
    assert 1 <= count <= 8


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_split_work_equals_serial_and_reference(dtype, split_small_work):
    # Inputs reach |x| = 12, where gelu_approx's gradient multiplies a
    # one-ulp difference in tanh near 1 by x * 0.8 * (1 + 0.13 x^2).
    # The reference's float64 gelu uses a 1e-7-accurate erf approximation,
    # the kernel the exact erfc.
    rtol, atol = (3e-5, 2e-5) if dtype == numpy.float32 else (1e-6, 1e-6)
    for name, call in _cases(dtype):
        split = _as_arrays(call(OPS))
        numpy_ops._set_parallel_grain(SERIAL_GRAIN)
        serial = _as_arrays(call(OPS))
        numpy_ops._set_parallel_grain(SPLIT_GRAIN)
        expected = _as_arrays(call(REFERENCE))
        for got, same, want in zip(split, serial, expected):
            # Element-wise and row-wise work is split without changing any
            # element's arithmetic, so the results are bit-identical.
            assert numpy.array_equal(got, same), name
            numpy.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)


def test_split_work_reports_the_first_bad_index(split_small_work):
    _, _, dY = _inputs(numpy.float32)
    which = numpy.zeros(dY.shape, dtype="int32")
    which[700, 5] = 3
    which[900, 1] = -1
    with pytest.raises(IndexError, match=r"which.flat\[25905\] = 3"):
        OPS.backprop_maxout(dY, which, 3)
    table = numpy.ones((50, 37), dtype="float32")
    indices = numpy.zeros((1003, 2), dtype="int64")
    indices[800, 1] = 50
    indices[950, 0] = -3
    with pytest.raises(IndexError, match="index 50 is out of bounds"):
        OPS.gather_add(table, indices)


def test_split_work_handles_empty_and_tiny_inputs(split_small_work):
    for shape in [(0,), (1,), (3, 1), (0, 5)]:
        X = numpy.linspace(-3, 3, int(numpy.prod(shape))).astype("float32").reshape(shape)
        numpy.testing.assert_allclose(OPS.sigmoid(X), REFERENCE.sigmoid(X), rtol=3e-5, atol=3e-6)


def _subprocess_results(env_threads: str) -> tuple:
    code = (
        "import pickle, sys, warnings\n"
        "warnings.simplefilter('error')\n"
        "from thinc.backends import numpy_ops\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from tests.backends import test_parallel as t\n"
        "numpy_ops._set_parallel_grain(t.SPLIT_GRAIN)\n"
        "sys.stdout.buffer.write(pickle.dumps((numpy_ops.get_num_threads(), t._run_all('float32'))))\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # The child runs at the level this module is forced to (tests/conftest.py).
    env = {**os.environ, "THINC_NUM_THREADS": env_threads, "THINC_ISA": dispatch.active_isa()}
    completed = subprocess.run(
        [sys.executable, "-c", code, root], capture_output=True, env=env, timeout=300, cwd=root
    )
    return completed


# 1: no pool; 3 and 8: more threads than this machine may have CPUs, so that
# chunks are split into uneven home shares (8 threads own 4 chunks each, 3 own
# 10 or 11 of 32) and some threads find their share already taken by others.
@pytest.mark.parametrize("env_threads", ["1", "3", "8"])
def test_thread_count_from_the_environment_gives_the_same_results(split_small_work, env_threads):
    completed = _subprocess_results(env_threads)
    assert completed.returncode == 0, completed.stderr.decode()
    threads, results = pickle.loads(completed.stdout)
    assert threads == int(env_threads)
    here = _run_all(numpy.float32)
    for name, arrays in here.items():
        for got, want in zip(results[name], arrays):
            assert numpy.array_equal(got, want), name


def test_malformed_thread_setting_warns():
    completed = _subprocess_results("lots")
    assert completed.returncode != 0
    assert b"THINC_NUM_THREADS='lots' is not a positive integer" in completed.stderr


def test_two_python_threads_share_the_pool(split_small_work):
    expected = _run_all(numpy.float32)
    failures = []

    def worker():
        try:
            for _ in range(5):
                for name, arrays in _run_all(numpy.float32).items():
                    for got, want in zip(arrays, expected[name]):
                        if not numpy.array_equal(got, want):
                            failures.append(name)
        except Exception as error:  # reported below, not lost in the thread
            failures.append(repr(error))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a kernel call hung"
    assert failures == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_computes_correctly(split_small_work):
    expected = _run_all(numpy.float32)  # the parent's workers are running now
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's teardown
        status = 1
        try:
            results = _run_all(numpy.float32)
            same = all(
                numpy.array_equal(got, want)
                for name, arrays in results.items()
                for got, want in zip(arrays, expected[name])
            )
            os.write(write_end, b"ok" if same else b"mismatch")
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung in a kernel")
    message = os.read(read_end, 100)
    os.close(read_end)
    assert os.WEXITSTATUS(status) == 0
    assert message == b"ok"
