"""Times NumpyOps' kernels on spaCy-shaped work against thinc 8.3.14 and PyTorch.

Implementations alternate round by round. The table shows each one's median
time, and ratios that are the median of per-round ratios: the contenders of a
round run within a fraction of a second of each other, so a slow stretch on a
shared host slows all of them alike instead of whichever it happened to hit.
Each ratio against the faster baseline comes with a bootstrap interval for
that median, and the run ends by sorting kernels into ahead, level (the
interval spans 1.0) and behind.

A full run also writes its table to bench/results/kernels-<vendor>[-<generation>]-<isa>.txt,
replacing the one from the last run on that kind of CPU, so bench/results holds
the current table of each CPU family (--no-save, or --only, leaves them be)."""

import argparse
import datetime
import io
import os
import pickle
import platform
import random
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
REF_PYTHON = ROOT / ".venv-ref" / "bin" / "python"
RESULTS = ROOT / "bench" / "results"

# Shared by this process and the thinc 8.3.14 worker: builds each case's inputs
# (identical, from fixed seeds) and returns a zero-argument callable.
CASES_SOURCE = textwrap.dedent(
    r"""
    import numpy

    N_TOKENS, WIDTH, PIECES, N_PARAMS = 4000, 96, 3, 1_000_000

    def _lengths(rng):
        lengths, total = [], 0
        while total < N_TOKENS:
            length = int(min(rng.integers(5, 41), N_TOKENS - total))
            lengths.append(length)
            total += length
        return numpy.asarray(lengths, dtype="int32")

    # The last case's input arrays, so that PyTorch reads the very same memory.
    SHARED = {}

    # gemm cases: (first operand's shape, second's, trans1, trans2).
    PRODUCTS = {
        "gemm 1024^2": ((1024, 1024), (1024, 1024), False, False),
        "gemm tok2vec": ((N_TOKENS, 3 * WIDTH), (WIDTH * PIECES, 3 * WIDTH), False, True),
        "gemm tok2vec dW": ((N_TOKENS, WIDTH * PIECES), (N_TOKENS, 3 * WIDTH), True, False),
        "gemm parser 64x64@64x2000": ((64, 64), (64, 2000), False, False),
        "gemm parser 256x96@96x288": ((256, 96), (96, 288), False, False),
        # spaCy's parser training, one transition step of 16 states:
        # d(state features) = dY @ W (W's rows 4 KB apart), and dW = dY^T @ features.
        "gemm parser step dX 16x384@384x1024": ((16, 384), (384, 1024), False, False),
        "gemm parser step dW 384x16@16x1024": ((16, 384), (16, 1024), True, False),
        # The same dX later in training, 48 states (one block of rows: B packed a strip at a
        # time), and tok2vec's forward over a batch of 100 tokens.
        "gemm parser step dX 48x384@384x1024": ((48, 384), (384, 1024), False, False),
        "gemm tok2vec 100 rows": ((100, 3 * WIDTH), (WIDTH * PIECES, 3 * WIDTH), False, True),
    }

    def make_case(name, ops):
        rng = numpy.random.default_rng(0)
        f32 = lambda *shape: rng.standard_normal(shape).astype("float32")
        X = f32(N_TOKENS, WIDTH)
        dY = f32(N_TOKENS, WIDTH)
        SHARED.clear()
        SHARED.update(X=X, dY=dY)
        lengths = _lengths(rng)
        if name in PRODUCTS:
            first, second, trans1, trans2 = PRODUCTS[name]
            x, y = f32(*first), f32(*second)
            SHARED["gemm"] = (x, y)
            return lambda: ops.gemm(x, y, trans1=trans1, trans2=trans2)
        if name == "affine":
            a, w, b = f32(N_TOKENS, 3 * WIDTH), f32(WIDTH * PIECES, 3 * WIDTH), f32(WIDTH * PIECES)
            SHARED["gemm"] = (a, w, b)
            return lambda: ops.affine(a, w, b)
        unary = {"relu", "gelu", "gelu_approx", "swish", "mish", "dish", "sigmoid", "hard_sigmoid",
                 "hard_tanh", "hard_swish", "hard_swish_mobilenet", "relu_k", "clipped_linear"}
        if name in unary:
            method = getattr(ops, name)
            return lambda: method(X)
        if name.startswith("backprop_") and name[9:] in unary:
            base = name[9:]
            method = getattr(ops, name)
            Y = getattr(ops, base)(X)
            if base == "swish":
                return lambda: method(dY, X, Y)
            if base in ("relu", "sigmoid"):
                return lambda: method(dY, Y)
            return lambda: method(dY, X)
        if name == "softmax":
            return lambda: ops.softmax(X)
        if name == "backprop_softmax":
            Y = ops.softmax(X)
            return lambda: ops.backprop_softmax(Y, dY)
        if name == "softmax_sequences":
            return lambda: ops.softmax_sequences(X, lengths)
        if name == "backprop_softmax_sequences":
            Y = ops.softmax_sequences(X, lengths)
            return lambda: ops.backprop_softmax_sequences(dY, Y, lengths)
        if name == "seq2col":
            return lambda: ops.seq2col(X, 1, lengths=lengths)
        if name == "backprop_seq2col":
            d = f32(N_TOKENS, 3 * WIDTH)
            return lambda: ops.backprop_seq2col(d, 1, lengths=lengths)
        if name == "maxout":
            P = f32(N_TOKENS, WIDTH, PIECES)
            return lambda: ops.maxout(P)
        if name == "backprop_maxout":
            which = rng.integers(0, PIECES, (N_TOKENS, WIDTH)).astype("int32")
            return lambda: ops.backprop_maxout(dY, which, PIECES)
        if name in ("Maxout layer", "backprop Maxout layer"):
            # The Maxout layer's whole step, tok2vec-shaped: ours through the fused
            # private ops, thinc 8.3.14 through the public ops its layer calls.
            Xw, W, b = f32(N_TOKENS, 3 * WIDTH), f32(WIDTH, PIECES, 3 * WIDTH), f32(WIDTH, PIECES)
            W2, b2 = W.reshape(WIDTH * PIECES, 3 * WIDTH), b.reshape(WIDTH * PIECES)
            SHARED["maxout"] = (Xw, W, b)
            fused = hasattr(ops, "_maxout_forward")

            def forward():
                if fused:
                    return ops._maxout_forward(Xw, W, b)
                Z = ops.gemm(Xw, W2, trans2=True)
                Z += b2
                return ops.maxout(Z.reshape(N_TOKENS, WIDTH, PIECES))

            if name == "Maxout layer":
                return forward
            which = forward()[1]

            def backward():
                if fused:
                    return ops._maxout_backward(dY, which, Xw, W)
                d_pieces = ops.backprop_maxout(dY, which, PIECES).reshape(N_TOKENS, -1)
                db = d_pieces.sum(axis=0)
                dW = ops.gemm(d_pieces, Xw, trans1=True)
                return ops.gemm(d_pieces, W2), dW, db

            return backward
        if name in ("reduce_sum", "reduce_mean", "reduce_max"):
            method = getattr(ops, name)
            return lambda: method(X, lengths)
        if name in ("backprop_reduce_sum", "backprop_reduce_mean"):
            d = f32(len(lengths), WIDTH)
            method = getattr(ops, name)
            return lambda: method(d, lengths)
        if name == "backprop_reduce_max":
            d = f32(len(lengths), WIDTH)
            which = ops.reduce_max(X, lengths)[1]
            return lambda: ops.backprop_reduce_max(d, which, lengths)
        if name == "gather_add":
            table = f32(5000, WIDTH)
            indices = rng.integers(0, 5000, (N_TOKENS, 4)).astype("int32")
            return lambda: ops.gather_add(table, indices)
        if name == "scatter_add":
            table = f32(5000, WIDTH)
            indices = rng.integers(0, 5000, (N_TOKENS * 4,)).astype("int32")
            values = f32(N_TOKENS * 4, WIDTH)
            return lambda: ops.scatter_add(table, indices, values)
        if name == "hash":
            ids = rng.integers(0, 2**63, N_TOKENS * 4, dtype="uint64")
            return lambda: ops.hash(ids, 17)
        if name == "adam":
            w, g, m1, m2 = (numpy.abs(f32(N_PARAMS)) for _ in range(4))
            return lambda: ops.adam(w, g, m1, m2, 0.9, 0.999, 1e-8, 1e-9)
        if name == "clip_gradient":
            g = f32(N_PARAMS) * 1e-6
            return lambda: ops.clip_gradient(g, 1e9)
        if name == "update_averages":
            e, w = f32(N_PARAMS), f32(N_PARAMS)
            return lambda: ops.update_averages(e, w, 100)
        if name in ("lstm_forward_training", "lstm_forward_inference", "backprop_lstm"):
            nO = nI = 64
            batch = 32
            seq_lengths = numpy.sort(rng.integers(5, 41, batch))[::-1]
            size_at_t = numpy.asarray([(seq_lengths > t).sum() for t in range(seq_lengths[0])],
                                      dtype="int32")
            n_params = 4 * nO * (nI + nO) + 8 * nO
            params = (f32(n_params) * 0.1)
            H0 = numpy.zeros((1, 1, nO), "float32")
            C0 = numpy.zeros((1, 1, nO), "float32")
            Xl = f32(int(size_at_t.sum()), nI)
            if name == "lstm_forward_inference":
                return lambda: ops.lstm_forward_inference(params, H0, C0, Xl, size_at_t)
            Y, state = ops.lstm_forward_training(params, H0, C0, Xl, size_at_t)
            if name == "lstm_forward_training":
                return lambda: ops.lstm_forward_training(params, H0, C0, Xl, size_at_t)
            dYl = f32(*Y.shape)
            return lambda: ops.backprop_lstm(dYl, seq_lengths.astype("int32"), params, state)
        raise KeyError(name)

    def time_calls(function, n_calls):
        import time
        start = time.perf_counter()
        for _ in range(n_calls):
            function()
        return (time.perf_counter() - start) / n_calls
    """
)

KERNELS = [
    "gemm 1024^2",
    "gemm tok2vec",
    "gemm tok2vec dW",
    "gemm parser 64x64@64x2000",
    "gemm parser 256x96@96x288",
    "gemm parser step dX 16x384@384x1024",
    "gemm parser step dW 384x16@16x1024",
    "gemm parser step dX 48x384@384x1024",
    "gemm tok2vec 100 rows",
    "affine",
    "relu",
    "backprop_relu",
    "relu_k",
    "backprop_relu_k",
    "clipped_linear",
    "backprop_clipped_linear",
    "hard_sigmoid",
    "backprop_hard_sigmoid",
    "hard_tanh",
    "backprop_hard_tanh",
    "hard_swish",
    "backprop_hard_swish",
    "hard_swish_mobilenet",
    "backprop_hard_swish_mobilenet",
    "sigmoid",
    "backprop_sigmoid",
    "swish",
    "backprop_swish",
    "gelu",
    "backprop_gelu",
    "gelu_approx",
    "backprop_gelu_approx",
    "mish",
    "backprop_mish",
    "dish",
    "backprop_dish",
    "softmax",
    "backprop_softmax",
    "softmax_sequences",
    "backprop_softmax_sequences",
    "seq2col",
    "backprop_seq2col",
    "maxout",
    "backprop_maxout",
    "Maxout layer",
    "backprop Maxout layer",
    "reduce_sum",
    "backprop_reduce_sum",
    "reduce_mean",
    "backprop_reduce_mean",
    "reduce_max",
    "backprop_reduce_max",
    "gather_add",
    "scatter_add",
    "hash",
    "adam",
    "clip_gradient",
    "update_averages",
    "lstm_forward_training",
    "lstm_forward_inference",
    "backprop_lstm",
]

WORKER_SOURCE = r"""
import pickle, sys
sys.path = [p for p in sys.path if p not in ("", ".")]
exec(compile(sys.argv[1], "cases", "exec"))
from thinc.api import NumpyOps
ops = NumpyOps()
functions = {}
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
while True:
    try:
        command = pickle.load(stdin)
    except EOFError:
        break
    kind, name, n_calls = command
    try:
        if kind == "setup":
            functions[name] = make_case(name, ops)
            functions[name]()
            reply = ("ok", None)
        else:
            reply = ("ok", time_calls(functions[name], n_calls))
    except Exception as error:  # a kernel thinc 8.3.14 lacks is reported, not fatal
        reply = ("error", f"{type(error).__name__}: {error}")
    pickle.dump(reply, stdout)
    stdout.flush()
"""


class RefWorker:
    """thinc 8.3.14's NumpyOps, driven over a pipe in its own virtualenv."""

    def __init__(self, python: Path) -> None:
        self.process = subprocess.Popen(
            [str(python), "-c", WORKER_SOURCE, CASES_SOURCE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd="/",
            env={**os.environ, "PYTHONPATH": ""},
        )

    def call(self, kind: str, name: str, n_calls: int = 0):
        pickle.dump((kind, name, n_calls), self.process.stdin)
        self.process.stdin.flush()
        status, value = pickle.load(self.process.stdout)
        if status != "ok":
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def torch_case(name: str, shared: Dict[str, object]) -> Optional[Callable[[], object]]:
    """The closest PyTorch CPU equivalent of a kernel, or None. `shared` holds
    our case's input arrays: PyTorch reads the same memory, so neither side
    gains from where its inputs happened to land (pages, cache sets)."""
    try:
        import torch
    except ImportError:
        return None
    namespace: Dict[str, object] = {}
    exec(CASES_SOURCE, namespace)
    import numpy

    rng = numpy.random.default_rng(0)
    n, width = namespace["N_TOKENS"], namespace["WIDTH"]
    t = lambda *shape: torch.from_numpy(rng.standard_normal(shape).astype("float32"))
    X, dY = t(n, width), t(n, width)
    if "X" in shared:
        X, dY = torch.from_numpy(shared["X"]), torch.from_numpy(shared["dY"])
    products: Dict[str, Callable] = {"affine": lambda a, w, b: torch.addmm(b, a, w.T)}
    for product, (_, _, trans1, trans2) in namespace["PRODUCTS"].items():
        products[product] = lambda a, b, t1=trans1, t2=trans2: torch.mm(
            a.T if t1 else a, b.T if t2 else b
        )
    if name in products and "gemm" in shared:
        operands = [torch.from_numpy(array) for array in shared["gemm"]]
        return lambda: products[name](*operands)
    aten = torch.ops.aten
    cases = {
        "relu": lambda: torch.relu(X),
        "backprop_relu": lambda: aten.threshold_backward(dY, X, 0.0),
        "relu_k": lambda: torch.nn.functional.relu6(X),
        "backprop_relu_k": lambda: aten.hardtanh_backward(dY, X, 0.0, 6.0),
        "hard_tanh": lambda: torch.nn.functional.hardtanh(X),
        "backprop_hard_tanh": lambda: aten.hardtanh_backward(dY, X, -1.0, 1.0),
        "hard_sigmoid": lambda: torch.nn.functional.hardsigmoid(X),
        "backprop_hard_sigmoid": lambda: aten.hardsigmoid_backward(dY, X),
        "hard_swish_mobilenet": lambda: torch.nn.functional.hardswish(X),
        "backprop_hard_swish_mobilenet": lambda: aten.hardswish_backward(dY, X),
        "sigmoid": lambda: torch.sigmoid(X),
        "backprop_sigmoid": lambda: aten.sigmoid_backward(dY, X),
        "swish": lambda: torch.nn.functional.silu(X),
        "backprop_swish": lambda: aten.silu_backward(dY, X),
        "gelu": lambda: torch.nn.functional.gelu(X),
        "backprop_gelu": lambda: aten.gelu_backward(dY, X),
        "gelu_approx": lambda: torch.nn.functional.gelu(X, approximate="tanh"),
        "backprop_gelu_approx": lambda: aten.gelu_backward(dY, X, approximate="tanh"),
        "mish": lambda: torch.nn.functional.mish(X),
        "backprop_mish": lambda: aten.mish_backward(dY, X),
        "softmax": lambda: torch.softmax(X, -1),
        "backprop_softmax": lambda: aten._softmax_backward_data(dY, X, -1, torch.float32),
        "maxout": (lambda P: lambda: P.max(dim=2))(t(n, width, 3)),
    }
    if "maxout" in shared:
        Xw, W, b = (torch.from_numpy(array) for array in shared["maxout"])
        W2, b2 = W.reshape(-1, W.shape[2]), b.reshape(-1)
        pieces = W.shape[1]

        def maxout_layer():
            return torch.addmm(b2, Xw, W2.T).view(n, -1, pieces).max(dim=2)

        cases["Maxout layer"] = maxout_layer
        which = maxout_layer().indices

        def backprop_maxout_layer():
            d_pieces = torch.zeros(n, width, pieces).scatter_(2, which[..., None], dY[..., None])
            d_pieces = d_pieces.view(n, -1)
            return d_pieces @ W2, d_pieces.T @ Xw, d_pieces.sum(0)

        cases["backprop Maxout layer"] = backprop_maxout_layer
    table = t(5000, width)
    indices = torch.from_numpy(rng.integers(0, 5000, (n, 4)))
    cases["gather_add"] = lambda: torch.nn.functional.embedding_bag(indices, table, mode="sum")
    flat = torch.from_numpy(rng.integers(0, 5000, (n * 4,)))
    values = t(n * 4, width)
    cases["scatter_add"] = lambda: table.index_add_(0, flat, values)
    lengths = torch.from_numpy(namespace["_lengths"](numpy.random.default_rng(0)).astype("int64"))
    if hasattr(torch, "segment_reduce"):
        cases["reduce_sum"] = lambda: torch.segment_reduce(X, "sum", lengths=lengths)
        cases["reduce_mean"] = lambda: torch.segment_reduce(X, "mean", lengths=lengths)
        cases["reduce_max"] = lambda: torch.segment_reduce(X, "max", lengths=lengths)
    params = [torch.nn.Parameter(t(namespace["N_PARAMS"]))]
    params[0].grad = t(namespace["N_PARAMS"])
    optimizer = torch.optim.Adam(params, lr=1e-9, foreach=False, fused=True)
    cases["adam"] = optimizer.step
    cases["clip_gradient"] = lambda: torch.nn.utils.clip_grad_norm_(params, 1e9)
    lstm = torch.nn.LSTM(64, 64)
    packed_lengths = numpy.sort(rng.integers(5, 41, 32))[::-1].copy()
    sequence = torch.nn.utils.rnn.pack_padded_sequence(
        t(int(packed_lengths[0]), 32, 64), torch.from_numpy(packed_lengths)
    )

    def lstm_inference():
        with torch.no_grad():
            return lstm(sequence)

    cases["lstm_forward_inference"] = lstm_inference
    cases["lstm_forward_training"] = lambda: lstm(sequence)
    return cases.get(name)


# Each sample follows a pause and an untimed warm-up. The pause lets the
# previous implementation's worker threads go idle (torch's OpenMP pool spins
# 11.5 ms after its last call, ours stays awake 2 ms), so they do not compete
# with this one for the CPUs. The warm-up, half the sample's calls (10 ms),
# then brings this implementation back to its steady state: on this shared
# virtual machine the first several milliseconds after an idle pause ran up to
# twice as slow (relu_k settled from 60 to 33 us over ~200 calls, whoever ran
# it), a cost that would otherwise be averaged into each 20 ms sample and
# swamp the gaps between 40 us kernels.
PAUSE_SECONDS = 0.03
WARMUP_SHARE = 0.5


def calibrate(function: Callable[[], object], target: float = 0.02) -> int:
    function()
    start = time.perf_counter()
    function()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, min(2000, int(target / once)))


def gemm_flops() -> Dict[str, int]:
    """Flops of each gemm case (2 M N K), for its GFLOP/s and share of the peak."""
    namespace: Dict[str, object] = {}
    exec(CASES_SOURCE, namespace)
    flops = {}
    for name, (first, second, trans1, trans2) in namespace["PRODUCTS"].items():
        rows, depth = (first[1], first[0]) if trans1 else first
        columns = second[0] if trans2 else second[1]
        flops[name] = 2 * rows * depth * columns
    return flops


GEMM_FLOPS = gemm_flops()


def available_cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads_peak(n_threads: int) -> float:
    """fp32 flop/s of n threads each running 12 independent FMA chains of the
    widest vectors in use (AVX-512 or AVX2; enough to cover the FMA latency on
    both pipes)."""
    from thinc.backends._testing import measure_peak_flops

    if n_threads == 1:
        # On the calling thread: the CPU the one-thread gemm runs on. A new
        # thread may land on the other one, whose rate a neighbour on its
        # hardware thread can halve while this one runs at full speed (one
        # thread's gemm then came out at 105% of "peak").
        return measure_peak_flops(0.05)
    results: List[float] = []
    threads = [
        threading.Thread(target=lambda: results.append(measure_peak_flops(0.05)))
        for _ in range(n_threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(results)


def core_probe() -> float:
    """One thread's FMA rate over 10 ms: what this core gives right now."""
    from thinc.backends._testing import measure_peak_flops

    return measure_peak_flops(0.01)


def peak_flops() -> Dict[str, float]:
    """fp32 peak of one thread and of one thread per CPU: the best of several
    short runs, so a neighbour's burst does not lower it."""
    n_threads = available_cpus()
    peaks = {"1 thread": max(threads_peak(1) for _ in range(5))}
    if n_threads > 1:
        peaks[f"{n_threads} threads"] = max(threads_peak(n_threads) for _ in range(5))
    return peaks


def gemm_share_of_peak(
    namespace: Dict[str, object], ops, rounds: int, peaks: Dict[str, float]
) -> None:
    """gemm's flop rate as a share of the peak at the same thread count. A
    shared virtual CPU's rate drifts (another guest on a core's other hardware
    thread halves it), so each round probes the peak right before and right
    after the gemm. Two figures: the median over all rounds of rate / the
    round's best probe, and the median share of the clean rounds alone, those
    whose probes both reached 90% of the best probe of the run (the core was
    the machine's own for the whole round; a noisy round's ratio can land
    far off either way, above 100% included)."""
    from thinc.backends import cblas
    from thinc.backends.numpy_ops import get_num_threads

    own_kernel = cblas.gemm_paths()["float32"]["large"] == "thinc's own kernel"
    original = cblas.numpy_blas_threads()
    if own_kernel:
        # thinc's kernel splits over the compiled kernels' pool; one thread
        # means switching the split off.
        def set_threads(n_threads: int) -> None:
            cblas._use_own_sgemm(True, single_threaded=n_threads == 1)

        thread_counts = sorted({1, get_num_threads()})
    elif original:
        set_threads = cblas.set_numpy_blas_threads
        thread_counts = sorted({1, available_cpus()})
    else:
        print("gemm share of peak: the BLAS thread count cannot be set here")
        return
    print(
        "gemm share of the fp32 peak at the same thread count (all rounds: median of rate / the"
        " round's best probe; clean rounds: both probes within 10% of the run's best):"
    )
    try:
        for name in ("gemm 1024^2", "gemm tok2vec", "gemm tok2vec dW"):
            function = namespace["make_case"](name, ops)
            for n_threads in thread_counts:
                set_threads(n_threads)
                n_calls = calibrate(function, 0.1)
                rounds_seen = []  # (rate, probe before, probe after)
                for _ in range(rounds):
                    # OpenBLAS's threads spin for a while after a call; let them sleep.
                    time.sleep(0.2)
                    before = max(threads_peak(n_threads) for _ in range(2))
                    rate = GEMM_FLOPS[name] / namespace["time_calls"](function, n_calls)
                    after = threads_peak(n_threads)
                    rounds_seen.append((rate, before, after))
                label = "1 thread" if n_threads == 1 else f"{n_threads} threads"
                best = max([peaks.get(label, 0.0)] + [max(b, a) for _, b, a in rounds_seen])
                shares = [rate / max(b, a) for rate, b, a in rounds_seen]
                clean = [rate / best for rate, b, a in rounds_seen if min(b, a) >= 0.9 * best]
                rate = statistics.median(rate for rate, _, _ in rounds_seen)
                clean_text = (
                    f"{100 * statistics.median(clean):.0f}% in {len(clean)} clean round(s)"
                    if clean
                    else "no clean round"
                )
                print(
                    f"  {name:16s} {n_threads} thread(s): {rate / 1e9:5.0f} GFLOP/s;"
                    f" {100 * statistics.median(shares):.0f}% of peak over {len(shares)} rounds,"
                    f" {clean_text} (peak {best / 1e9:.0f} GFLOP/s)",
                    flush=True,
                )
    finally:
        if own_kernel:
            cblas._use_own_sgemm(True, single_threaded=False)
        else:
            cblas.set_numpy_blas_threads(original)


def warm_up(namespace: Dict[str, object], ops, seconds: float = 1.0) -> None:
    """Runs a small kernel of each contender in this process for a while, untimed.

    The first case measured in a fresh process ran ~40% slower than the same
    case measured again a few seconds later (worker threads, allocator and
    page state settling in), which charged whichever kernel came first."""
    ours = namespace["make_case"]("relu", ops)
    theirs = torch_case("relu", namespace["SHARED"])
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for function in (ours, theirs):
            if function is not None:
                namespace["time_calls"](function, 50)


def round_ratios(samples: Dict[str, List[float]], contenders: List[str]) -> List[float]:
    """(the fastest of `contenders` in each round) / ours, one per round."""
    present = [key for key in contenders if key in samples]
    return [
        min(samples[key][i] for key in present) / ours for i, ours in enumerate(samples["ours"])
    ]


def paired_ratio(samples: Dict[str, List[float]], contenders: List[str]) -> float:
    """Median over rounds of (the fastest of `contenders` in that round) / ours."""
    return statistics.median(round_ratios(samples, contenders))


BOOTSTRAP_DRAWS = 2000


def median_interval(values: List[float], coverage: float = 0.9) -> Tuple[float, float]:
    """A bootstrap interval for the median of `values`: the range the median
    of a resample falls in `coverage` of the time. A ratio whose interval
    spans 1.0 is a tie this run cannot tell apart from noise."""
    rng = random.Random(0)
    medians = sorted(
        statistics.median(rng.choices(values, k=len(values))) for _ in range(BOOTSTRAP_DRAWS)
    )
    tail = (1 - coverage) / 2
    return medians[int(tail * BOOTSTRAP_DRAWS)], medians[int((1 - tail) * BOOTSTRAP_DRAWS) - 1]


def stolen_ticks() -> Tuple[int, int]:
    """(ticks the hypervisor ran something else on our CPUs, all ticks) from
    /proc/stat, or (0, 0) where it is not readable."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return 0, 0
    ticks = [int(field) for field in fields[:8]]
    return (ticks[7] if len(ticks) > 7 else 0), sum(ticks)


def ticks_between(before: Tuple[int, int], after: Tuple[int, int]) -> Tuple[int, int]:
    """(stolen, all) ticks that passed between two stolen_ticks() readings."""
    return after[0] - before[0], after[1] - before[1]


def steal_share(ticks: Tuple[int, int]) -> float:
    stolen, total = ticks
    return stolen / total if total > 0 else 0.0


def cpuinfo(key: str) -> str:
    """The first value of `key` in /proc/cpuinfo, "" where there is none."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return ""


def cpu_name() -> str:
    return cpuinfo("model name") or "unknown CPU"


# The extensions that decide which kernels a CPU can run (x86 and Arm names),
# and whether it is a virtual machine's guest.
KERNEL_FLAGS = (
    "sse4_2 avx avx2 fma f16c avx512f avx512bw avx512vl avx512_vnni avx512_bf16 avx512_fp16 "
    "avx_vnni amx_tile amx_bf16 amx_int8 asimd asimdhp asimddp sve sve2 bf16 i8mm hypervisor"
).split()


def cpu_flags() -> List[str]:
    """Which of KERNEL_FLAGS this CPU has (x86 lists them as `flags`, Arm as `Features`)."""
    present = set((cpuinfo("flags") or cpuinfo("Features")).split())
    return [flag for flag in KERNEL_FLAGS if flag in present]


def amd_generation() -> str:
    """zen2 .. zen5 for an AMD CPU, from its family (and AVX-512, which Zen 4
    added to family 25); "" for other vendors and unknown families."""
    if cpuinfo("vendor_id") != "AuthenticAMD":
        return ""
    family = cpuinfo("cpu family")
    if family == "25":
        return "zen4" if "avx512f" in cpuinfo("flags").split() else "zen3"
    return {"23": "zen2", "26": "zen5"}.get(family, "")


def fma_throughput(isa: str) -> Tuple[str, int]:
    """How many FMAs a cycle one core retires at this level, in words and in
    float32 flop/cycle. Zen 4, and the laptop Zen 5 parts, run a 512-bit FMA
    on both of their 256-bit FMA pipes, so AVX-512 doubles no flops there;
    server and desktop Zen 5 (models 0x00-0x1f and 0x40-0x4f) have 512-bit
    pipes."""
    generation = amd_generation()
    model = int(cpuinfo("model") or 0)
    full_width_zen5 = generation == "zen5" and (model < 0x20 or 0x40 <= model < 0x50)
    if isa == "avx512" and generation in ("zen4", "zen5") and not full_width_zen5:
        return "1 x 512-bit FMA a cycle (two 256-bit pipes)", 32
    bits = 512 if isa == "avx512" else 256
    return f"2 x {bits}-bit FMA a cycle", 4 * bits // 32


def cpu_family() -> str:
    """vendor[-generation]-isa (intel-avx512, amd-zen3-avx2, amd-zen5-avx512, ...):
    which results table this CPU's run replaces. AMD's generations differ in
    what AVX-512 buys (none on Zen 3, 256-bit pipes on Zen 4, 512-bit on Zen 5),
    so each keeps its own tables."""
    vendors = {"GenuineIntel": "intel", "AuthenticAMD": "amd"}
    vendor = vendors.get(cpuinfo("vendor_id"), platform.machine())
    from thinc.backends import dispatch

    parts = [vendor, amd_generation(), dispatch.cpu_isa()]
    return "-".join(part for part in parts if part).lower()


class Tee(io.TextIOBase):
    """Writes go to the terminal and into a buffer, which becomes the saved table."""

    def __init__(self, terminal, buffer: io.StringIO) -> None:
        self.terminal, self.buffer = terminal, buffer

    def write(self, text: str) -> int:
        self.buffer.write(text)
        return self.terminal.write(text)

    def flush(self) -> None:
        self.terminal.flush()


def measure_kernel(
    name: str, namespace: Dict[str, object], ops, worker: Optional[RefWorker], rounds: int
) -> Dict[str, List[float]]:
    """Seconds per call of each contender, one sample per round, on inputs
    built afresh for this call."""
    ours = namespace["make_case"](name, ops)
    implementations = {"ours": (ours, calibrate(ours))}
    if worker is not None:
        try:
            worker.call("setup", name)
            implementations["ref"] = (None, 0)
        except RuntimeError:
            pass
    theirs = torch_case(name, namespace["SHARED"])
    if theirs is not None:
        implementations["torch"] = (theirs, calibrate(theirs))
    samples: Dict[str, List[float]] = {key: [] for key in implementations}
    keys = list(implementations)
    # Sub-0.2 ms kernels get three times the rounds (for every contender):
    # a 20 ms sample of them is at the mercy of a neighbour's burst on
    # the host, and more samples steady their median.
    n_rounds = rounds * (3 if implementations["ours"][1] >= 100 else 1)
    for round_index in range(n_rounds):
        # Each round starts with another implementation, so none always
        # runs right after the same neighbour.
        shift = round_index % len(keys)
        for key in keys[shift:] + keys[:shift]:
            function, n_calls = implementations[key]
            time.sleep(PAUSE_SECONDS)
            warmup = max(1, int(n_calls * WARMUP_SHARE))
            if key == "ref":
                n_ref = n_calls or implementations["ours"][1]
                worker.call("time", name, max(1, int(n_ref * WARMUP_SHARE)))
                samples[key].append(worker.call("time", name, n_ref))
            else:
                namespace["time_calls"](function, warmup)
                samples[key].append(namespace["time_calls"](function, n_calls))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per kernel in each pass")
    parser.add_argument(
        "--passes",
        type=int,
        default=2,
        help="passes over the kernel list (every other one in reverse order)",
    )
    parser.add_argument("--only", nargs="*", help="kernel names to run")
    parser.add_argument(
        "--no-save",
        action="store_true",
        help="print the table only, leaving bench/results as it is",
    )
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        help="a line of context for the saved table's header (repeatable)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    # A partial run (--only) would replace a full table with a few rows.
    save = not args.no_save and not args.only
    captured = io.StringIO()
    terminal = sys.stdout
    if save:
        sys.stdout = Tee(terminal, captured)
    try:
        run(args)
    finally:
        sys.stdout = terminal
    if save:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%MZ")
        header = [f"# bench/kernels.py --passes {args.passes} --rounds {args.rounds}, {stamp}"]
        header += [f"# {note}" for note in args.note]
        path = RESULTS / f"kernels-{cpu_family()}.txt"
        path.write_text("\n".join(header) + "\n" + captured.getvalue())
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


def run(args: argparse.Namespace) -> None:
    namespace: Dict[str, object] = {}
    exec(CASES_SOURCE, namespace)
    from thinc.backends.numpy_ops import NumpyOps

    ops = NumpyOps()
    worker = RefWorker(REF_PYTHON) if REF_PYTHON.exists() else None
    try:
        import torch

        torch_label = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch_label = "torch (missing)"
    from thinc.backends import cblas
    from thinc.backends.numpy_ops import get_num_threads

    peaks = peak_flops()
    single = peaks["1 thread"]
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores visible")
    from thinc.backends import dispatch

    fma_units, per_cycle = fma_throughput(dispatch.active_isa())
    print(
        f"fp32 peak ({dispatch.active_isa()} FMA, {fma_units} = {per_cycle} flop/cycle/core): "
        + ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in peaks.items())
        + (f" (implies ~{single / (per_cycle * 1e9):.2f} GHz for one thread)" if single else "")
    )
    print(
        f"gemm backend: {NumpyOps.blas_backend}; OpenBLAS threads: "
        f"{cblas.numpy_blas_threads() or 'n/a'}"
    )
    print(
        f"thinc kernel threads: {get_num_threads()} (THINC_NUM_THREADS="
        f"{os.environ.get('THINC_NUM_THREADS', 'unset')})"
    )
    ref_label = f"({REF_PYTHON.relative_to(ROOT)})" if worker else "(missing)"
    print(f"baselines: thinc 8.3.14 {ref_label}, {torch_label}")
    names = list(args.only or KERNELS)
    warm_up(namespace, ops)
    # A kernel's result could hinge on where its arrays happened to land or on
    # what a neighbour on the host did during its few seconds. Each pass
    # builds the inputs afresh, and every other pass runs the list backwards,
    # so a kernel's rounds come from two stretches of the run far apart.
    samples: Dict[str, Dict[str, List[float]]] = {name: {} for name in names}
    steal: Dict[str, Tuple[int, int]] = {name: (0, 0) for name in names}
    # A neighbour on the host's other hardware thread of this core halves the
    # FMA rate without any steal time: a short probe beside each kernel's
    # rounds shows whether they ran on a shared core.
    probes: Dict[str, List[float]] = {name: [] for name in names}
    skipped: Dict[str, str] = {}
    run_start = stolen_ticks()
    for pass_index in range(args.passes):
        order = names if pass_index % 2 == 0 else names[::-1]
        for position, name in enumerate(order):
            if name in skipped:
                continue
            print(
                f"\rpass {pass_index + 1}/{args.passes}, kernel {position + 1}/{len(order)}: {name:40s}",
                end="",
                file=sys.stderr,
                flush=True,
            )
            before = stolen_ticks()
            probes[name].append(core_probe())
            try:
                measured = measure_kernel(name, namespace, ops, worker, args.rounds)
            except Exception as error:
                skipped[name] = f"{type(error).__name__}: {error}"
                continue
            probes[name].append(core_probe())
            stolen, total = ticks_between(before, stolen_ticks())
            steal[name] = (steal[name][0] + stolen, steal[name][1] + total)
            for key, values in measured.items():
                samples[name].setdefault(key, []).extend(values)
    print("\r" + " " * 80 + "\r", end="", file=sys.stderr, flush=True)
    print(
        f"x best: median over rounds ({args.passes} passes of {args.rounds}, three times as many "
        "for sub-0.2 ms kernels) of the faster baseline's time / ours, with its 90% bootstrap "
        "interval; steal: share of CPU time the hypervisor gave to other guests while the "
        "kernel was timed; core: the lowest one-thread FMA rate probed around the kernel's "
        "rounds, as a share of the best probe of the run (near 50%: the host ran another "
        "guest on this core's other hardware thread, and the rounds beside it ran slower)"
    )
    all_probes = [rate for rates in probes.values() for rate in rates]
    best_probe = max(all_probes, default=0.0)
    header = (
        f"{'kernel':32s} {'ours ms':>9s} {'8.3.14 ms':>10s} {'torch ms':>9s} {'x 8.3.14':>9s} "
        f"{'x best':>7s} {'90% interval':>13s} {'steal':>6s} {'core':>5s}"
    )
    print(header)
    print("-" * len(header))
    speedups = []
    verdicts: Dict[str, List[str]] = {"ahead": [], "level": [], "behind": []}
    for name in names:
        if name in skipped:
            print(f"{name:32s} skipped: {skipped[name]}")
            continue
        kernel_samples = samples[name]
        medians = {key: statistics.median(values) * 1e3 for key, values in kernel_samples.items()}
        ref_ms, torch_ms = medians.get("ref"), medians.get("torch")
        ratio = paired_ratio(kernel_samples, ["ref"]) if ref_ms else None
        best_rounds = (
            round_ratios(kernel_samples, ["ref", "torch"]) if (ref_ms or torch_ms) else None
        )
        best = statistics.median(best_rounds) if best_rounds else None
        if ratio:
            speedups.append(ratio)
        text = f"{name:32s} {medians['ours']:9.3f} "
        text += f"{ref_ms:10.3f} " if ref_ms else f"{'-':>10s} "
        text += f"{torch_ms:9.3f} " if torch_ms else f"{'-':>9s} "
        text += f"{ratio:8.2f}x " if ratio else f"{'-':>9s} "
        text += f"{best:6.2f}x" if best else f"{'-':>7s}"
        if best:
            low, high = median_interval(best_rounds)
            text += f" {f'{low:.2f}-{high:.2f}x':>13s}"
            verdict = "ahead" if low > 1.0 else "behind" if high < 1.0 else "level"
            verdicts[verdict].append(f"{name} {best:.2f}x")
        else:
            text += f" {'':13s}"
        text += f" {100 * steal_share(steal[name]):5.1f}%"
        text += f" {100 * min(probes[name]) / best_probe:4.0f}%" if best_probe else f" {'-':>5s}"
        if name in GEMM_FLOPS:
            flops = GEMM_FLOPS[name] / (medians["ours"] / 1e3)
            text += f"  {flops / 1e9:.0f} GFLOP/s"
        print(text, flush=True)
    if speedups:
        print(
            f"median speed-up over thinc 8.3.14: {statistics.median(speedups):.2f}x "
            f"over {len(speedups)} kernels"
        )
    print(
        f"against the faster baseline: {len(verdicts['ahead'])} ahead (interval above 1.0), "
        f"{len(verdicts['level'])} level (interval spans 1.0), {len(verdicts['behind'])} behind"
    )
    for verdict in ("level", "behind"):
        if verdicts[verdict]:
            print(f"  {verdict}: " + ", ".join(verdicts[verdict]))
    print(
        f"CPU time stolen by the hypervisor during the kernel rounds: "
        f"{100 * steal_share(ticks_between(run_start, stolen_ticks())):.1f}%"
    )
    if best_probe:
        shared = [name for name, rates in probes.items() if rates and min(rates) < 0.8 * best_probe]
        print(
            f"one-thread FMA probes beside the kernels: {min(all_probes) / 1e9:.0f}-"
            f"{best_probe / 1e9:.0f} GFLOP/s, median {statistics.median(all_probes) / 1e9:.0f}; "
            f"{len(shared)} of {len(probes)} kernels had a probe below 80% of the best "
            "(a shared core: their rows are the least trustworthy)"
        )
    if worker is not None:
        worker.close()
    if not args.only or any(name.startswith("gemm") for name in args.only):
        gemm_share_of_peak(namespace, ops, args.rounds * args.passes, peaks)


if __name__ == "__main__":
    main()
