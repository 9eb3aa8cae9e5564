"""Words per second of examples/pos_tagger.py's tagger, training and inference,
for this checkout's thinc, thinc 8.3.14 and an equivalent PyTorch CPU model.

Usage: .venv/bin/python bench/tagger.py [--rounds 5] [--train-words 10000] [--threads one|default]
    [--no-save] [--note TEXT]"""
# Each contender runs in its own worker process with one thread (or, with
# --threads default, each library's default thread count), fed the same
# sentences in the same batches; rounds are interleaved (ours, 8.3.14, torch,
# ours, ...) so a busy machine slows them alike, and the table shows the median
# round, the ratios the median of each round's ratio. Words/s are given against
# the worker's CPU time as well as wall time, because on a shared machine CPU time
# is the steadier of the two. Featurizing (string hashing in Python) happens
# before the clock starts for everyone.

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy

BENCH = Path(__file__).resolve().parent
CHECKOUT = BENCH.parent
EXAMPLES = CHECKOUT / "examples"
REPLY = "REPLY "
ONE_THREAD = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "BLIS_NUM_THREADS",
        "THINC_NUM_THREADS",
    )
}


# -- data shared by every worker ----------------------------------------------------------


def load_batches(settings: dict):
    """(train batches, inference batches, n_tags): lists of sentence feature
    arrays and tag-id arrays, built the same way in every worker."""
    sys.path.insert(0, str(EXAMPLES))
    import pos_tagger
    from _common import batches_by_words, load_ewt

    train, _, _ = load_ewt(settings["data_dir"], settings["sample"])
    tag_names = sorted({tag for sentence in train for tag in sentence.tags})
    tag_ids = {tag: i for i, tag in enumerate(tag_names)}
    order = numpy.random.RandomState(0).permutation(len(train))
    lengths = [len(sentence.words) for sentence in train]
    groups = batches_by_words(lengths, order, settings["batch_words"])
    featurize = pos_tagger.Featurizer()

    def take(n_words: int, groups: List[List[int]]) -> list:
        batches, words = [], 0
        for group in groups:
            if words >= n_words:
                break
            sentences = [train[i] for i in group]
            features, labels = pos_tagger.encode_corpus(sentences, featurize, tag_ids)
            batches.append((features, labels))
            words += sum(len(y) for y in labels)
        if words < n_words:
            print(f"note: only {words} words available", file=sys.stderr)
        return batches

    train_batches = take(settings["train_words"], groups)
    # Inference reads different sentences, in bigger batches, as taggers do.
    infer_groups = batches_by_words(lengths, order[::-1], settings["infer_batch_words"])
    return train_batches, take(settings["infer_words"], infer_groups), len(tag_names)


# -- thinc worker (this checkout or 8.3.14: the same code) ---------------------------------


class ThincContender:
    def __init__(self, settings: dict) -> None:
        import pos_tagger

        from thinc.api import Adam, fix_random_seed

        fix_random_seed(0)
        self.train_batches, self.infer_batches, n_tags = load_batches(settings)
        self.pos_tagger = pos_tagger
        self.model = pos_tagger.build_tagger(
            n_tags, width=settings["width"], depth=settings["depth"]
        )
        features, labels = self.train_batches[0]
        self.model.initialize(X=features, Y=[numpy.zeros((len(y), n_tags), "f") for y in labels])
        self.optimizer = Adam(settings["learn_rate"])
        import thinc

        self.name = f"thinc {thinc.__version__}"
        self.compute = self.describe_compute()

    def describe_compute(self) -> str:
        ops = self.model.ops
        backend = getattr(ops, "blas_backend", None)
        if backend is None:
            # thinc 8.3.14's NumpyOps multiplies through blis when it can.
            from importlib.metadata import PackageNotFoundError, version

            try:
                backend = f"blis {version('blis')}" if getattr(ops, "use_blis", True) else "numpy"
            except PackageNotFoundError:
                backend = "numpy"
        return f"{type(ops).__name__}, gemm by {backend}"

    def train(self) -> int:
        words = 0
        for features, labels in self.train_batches:
            probs, backprop = self.model.begin_update(features)
            _, gradients = self.pos_tagger.loss_and_gradient(self.model, probs, labels)
            backprop(gradients)
            self.model.finish_update(self.optimizer)
            words += sum(len(y) for y in labels)
        return words

    def infer(self) -> int:
        words = 0
        for features, _ in self.infer_batches:
            for probs in self.model.predict(features):
                probs.argmax(axis=1)
                words += len(probs)
        return words


# -- PyTorch worker: the same architecture written in torch ---------------------------------


class TorchContender:
    """HashEmbed as EmbeddingBag over four hashed rows per id, expand_window as
    a shifted concatenation (an unfold of width 3), Maxout as Linear + max over
    pieces, then LayerNorm; sentences are flattened with `depth` zero rows
    between them, re-zeroed after every block, as thinc's with_array(pad=) does."""

    def __init__(self, settings: dict) -> None:
        import torch

        if settings.get("threads", "one") == "one":
            torch.set_num_threads(1)
        torch.manual_seed(0)
        self.torch = torch
        sys.path.insert(0, str(EXAMPLES))
        import pos_tagger

        self.train_batches, self.infer_batches, n_tags = load_batches(settings)
        self.rows = list(pos_tagger.ATTRIBUTE_ROWS)
        self.depth = settings["depth"]
        self.model = self.build(n_tags, settings["width"], settings["depth"])
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=settings["learn_rate"])
        self.name = f"torch {torch.__version__}"
        self.compute = (
            f"{torch.get_num_threads()} intra-op thread(s), "
            f"oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}"
        )

    def build(self, n_tags: int, width: int, depth: int):
        torch = self.torch
        nn = torch.nn
        rows = self.rows

        class Tagger(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.tables = nn.ModuleList(nn.EmbeddingBag(n, width, mode="sum") for n in rows)
                self.mix = nn.Linear(width * len(rows), width * 3)
                self.mix_norm = nn.LayerNorm(width)
                self.blocks = nn.ModuleList(nn.Linear(width * 3, width * 3) for _ in range(depth))
                self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(depth))
                self.output = nn.Linear(width, n_tags)

            @staticmethod
            def maxout(linear, X):
                return linear(X).view(X.shape[0], width, 3).max(dim=2).values

            def forward(self, keys, mask):
                embedded = torch.cat([table(keys[a]) for a, table in enumerate(self.tables)], dim=1)
                hidden = self.mix_norm(self.maxout(self.mix, embedded)) * mask
                for block, norm in zip(self.blocks, self.norms):
                    padded = nn.functional.pad(hidden, (0, 0, 1, 1))
                    window = torch.cat([padded[:-2], padded[1:-1], padded[2:]], dim=1)
                    hidden = (hidden + norm(self.maxout(block, window))) * mask
                return self.output(hidden)

        return Tagger()

    def prepare(self, features: Sequence[numpy.ndarray]):
        """Flattened ids with pad rows, their four hashed table rows per
        attribute, the pad mask and the positions of the real words."""
        torch = self.torch
        pad = self.depth
        width = 4
        total = sum(len(x) for x in features) + pad * (len(features) + 1)
        ids = numpy.zeros((total, width), dtype="uint64")
        real = numpy.zeros(total, dtype=bool)
        start = pad
        for x in features:
            ids[start : start + len(x)] = x
            real[start : start + len(x)] = True
            start += len(x) + pad
        keys = []
        for column, n_rows in enumerate(self.rows):
            # Four multiplicative hashes per id, like HashEmbed's four keys.
            salted = ids[:, column : column + 1] * numpy.asarray(
                [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5],
                dtype="uint64",
            )
            keys.append(
                torch.from_numpy(
                    ((salted >> numpy.uint64(33)) % numpy.uint64(n_rows)).astype("int64")
                )
            )
        mask = torch.from_numpy(real.astype("float32")[:, None])
        return keys, mask, torch.from_numpy(numpy.flatnonzero(real))

    def train(self) -> int:
        torch = self.torch
        self.model.train()
        words = 0
        for features, labels in self.train_batches:
            keys, mask, positions = self.prepare(features)
            logits = self.model(keys, mask)[positions]
            target = torch.from_numpy(numpy.concatenate(labels))
            loss = torch.nn.functional.cross_entropy(logits, target, ignore_index=-1)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            words += len(target)
        return words

    def infer(self) -> int:
        torch = self.torch
        self.model.eval()
        words = 0
        with torch.inference_mode():
            for features, _ in self.infer_batches:
                keys, mask, positions = self.prepare(features)
                probs = torch.softmax(self.model(keys, mask)[positions], dim=1)
                probs.argmax(dim=1)
                words += len(positions)
        return words


def serve(kind: str, settings: dict) -> None:
    """Answers "train" / "infer" lines on stdin with words, wall and CPU seconds."""
    sys.path.insert(0, str(EXAMPLES))
    contender = TorchContender(settings) if kind == "torch" else ThincContender(settings)
    # One untimed pass of each warms caches and lets lazy initialisation happen.
    contender.train()
    contender.infer()
    threads = "/".join(os.environ.get(name, "unset") for name in ONE_THREAD)
    names = "/".join(name.split("_")[0] for name in ONE_THREAD)
    info = {"name": contender.name, "compute": f"{contender.compute}; {names} threads {threads}"}
    print(REPLY + json.dumps(info), flush=True)
    for line in sys.stdin:
        task = line.strip()
        if task not in ("train", "infer"):
            break
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        wall, cpu = time.perf_counter(), time.process_time()
        words = contender.train() if task == "train" else contender.infer()
        reply = {
            "words": words,
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            # Fresh pages from the kernel cost system time that the CPU clock counts.
            "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults,
        }
        print(REPLY + json.dumps(reply), flush=True)


# -- coordinator ---------------------------------------------------------------------------


class Worker:
    def __init__(self, label: str, python: str, kind: str, settings: dict, installed: bool) -> None:
        if settings.get("threads", "one") == "one":
            env = dict(os.environ, **ONE_THREAD)
        else:
            env = {key: value for key, value in os.environ.items() if key not in ONE_THREAD}
        if installed:
            env["THINC_EXAMPLES_USE_INSTALLED"] = "1"
        self.label = label
        self.process = subprocess.Popen(
            [
                python,
                str(Path(__file__).resolve()),
                "--worker",
                kind,
                "--settings",
                json.dumps(settings),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(BENCH),
        )
        info = self.read()
        self.name = info["name"]
        self.compute = info["compute"]

    def read(self) -> dict:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(REPLY):
                return json.loads(line[len(REPLY) :])
        raise RuntimeError(f"the {self.label} worker stopped (exit code {self.process.wait()})")

    def ask(self, task: str) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(task + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def table(workers: List[Worker], results: Dict[str, Dict[str, List[dict]]]) -> str:
    def rate(label: str, task: str, clock: str) -> float:
        return statistics.median(r["words"] / r[clock] for r in results[label][task])

    lines = []
    header = f"{'contender':<26}" + "".join(
        f"{task + ' w/s ' + clock:>20}" for task in ("train", "infer") for clock in ("cpu", "wall")
    )
    lines.append(header)
    for worker in workers:
        cells = "".join(
            f"{rate(worker.label, task, clock):>20,.0f}"
            for task in ("train", "infer")
            for clock in ("cpu", "wall")
        )
        lines.append(f"{worker.name + ' (' + worker.label + ')':<26}"[:26] + cells)

    def paired_ratio(label: str, task: str, clock: str) -> float:
        # Each round's runs sit next to each other in time, so the ratio within a
        # round cancels most of the drift in machine load that medians alone keep.
        return statistics.median(
            (mine["words"] / mine[clock]) / (theirs["words"] / theirs[clock])
            for mine, theirs in zip(results[ours][task], results[label][task])
        )

    ours = workers[0].label
    for worker in workers[1:]:
        cells = "".join(
            f"{paired_ratio(worker.label, task, clock):>19.2f}x"
            for task in ("train", "infer")
            for clock in ("cpu", "wall")
        )
        lines.append(f"{'ours / ' + worker.label:<26}" + cells)
    lines.append("")
    for worker in workers:
        faults = {
            task: statistics.median(r["faults"] for r in results[worker.label][task])
            for task in ("train", "infer")
        }
        lines.append(
            f"{worker.label:<8} {worker.compute}; minor page faults per round: "
            f"train {faults['train']:,.0f}, infer {faults['infer']:,.0f}"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--train-words", type=int, default=10000, help="words per training round")
    parser.add_argument("--infer-words", type=int, default=20000, help="words per inference round")
    parser.add_argument("--batch-words", type=int, default=1000)
    parser.add_argument("--infer-batch-words", type=int, default=2000)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument(
        "--threads",
        choices=["one", "default"],
        default="one",
        help="one thread per contender, or each library's default (the thread variables unset: "
        "thinc 8.3.14's blis runs one, PyTorch and this checkout one per CPU)",
    )
    parser.add_argument("--data-dir")
    parser.add_argument("--sample", action="store_true", help="use the sample in examples/data")
    parser.add_argument("--ref-python", default=str(CHECKOUT / ".venv-ref" / "bin" / "python"))
    parser.add_argument("--contenders", default="ours,ref,torch", help="comma-separated subset")
    parser.add_argument(
        "--no-save", action="store_true", help="print the table only, leaving bench/results be"
    )
    parser.add_argument(
        "--note", action="append", default=[], help="a line of context for the header (repeatable)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        serve(args.worker, json.loads(args.settings))
        return
    settings = {
        "train_words": args.train_words,
        "infer_words": args.infer_words,
        "batch_words": args.batch_words,
        "infer_batch_words": args.infer_batch_words,
        "width": args.width,
        "depth": args.depth,
        "learn_rate": 0.001,
        "data_dir": args.data_dir,
        "sample": args.sample,
        "threads": args.threads,
    }
    wanted = args.contenders.split(",")
    workers: List[Worker] = []
    if "ours" in wanted:
        workers.append(Worker("ours", sys.executable, "thinc", settings, installed=False))
    if "ref" in wanted:
        if Path(args.ref_python).exists():
            workers.append(Worker("8.3.14", args.ref_python, "thinc", settings, installed=True))
        else:
            print(f"no thinc 8.3.14 interpreter at {args.ref_python}: skipping it")
    if "torch" in wanted:
        workers.append(Worker("torch", sys.executable, "torch", settings, installed=False))
    results: Dict[str, Dict[str, List[dict]]] = {
        w.label: {"train": [], "infer": []} for w in workers
    }
    print(
        f"width {args.width}, depth {args.depth}; per round {args.train_words} training words "
        f"(batches of {args.batch_words}) and {args.infer_words} inference words "
        f"(batches of {args.infer_batch_words}); {args.rounds} rounds; {threads_text(args)}"
    )
    try:
        for round_number in range(args.rounds):
            for task in ("train", "infer"):
                for worker in workers:
                    reply = worker.ask(task)
                    results[worker.label][task].append(reply)
            print(f"round {round_number + 1}/{args.rounds} done", flush=True)
    finally:
        for worker in workers:
            worker.close()
    report = table(workers, results)
    print(report)
    # Only a run with every contender at the default sizes replaces this CPU
    # family's table (as bench/kernels.py does with its own).
    defaults = parser.parse_args([])
    sizes = (
        "rounds",
        "train_words",
        "infer_words",
        "batch_words",
        "infer_batch_words",
        "width",
        "depth",
    )
    full = len(workers) == 3 and all(getattr(args, n) == getattr(defaults, n) for n in sizes)
    if full and not args.no_save and not args.sample:
        save_table(args, report)


def threads_text(args: argparse.Namespace) -> str:
    if args.threads == "one":
        return "one thread each"
    sys.path.insert(0, str(BENCH))
    from kernels import available_cpus

    return (
        f"each library's default threads ({', '.join(ONE_THREAD)} unset; {available_cpus()} CPUs)"
    )


def save_table(args: argparse.Namespace, report: str) -> None:
    """Writes bench/results/tagger-<vendor>-<isa>.txt: the table under a header
    naming the command, the date, the CPU and its flags."""
    sys.path.insert(0, str(BENCH))
    sys.path.insert(0, str(CHECKOUT))  # cpu_family() asks this checkout's thinc
    from kernels import RESULTS, cpu_family, cpu_flags, cpu_name

    stamp = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime())
    lines = [f"# bench/tagger.py {shlex.join(sys.argv[1:])}, {stamp}"]
    lines += [f"# {note}" for note in args.note]
    lines.append(f"CPU: {cpu_name()}; flags: {' '.join(cpu_flags())}")
    lines.append(
        f"width {args.width}, depth {args.depth}; per round {args.train_words} training words "
        f"(batches of {args.batch_words}) and {args.infer_words} inference words (batches of "
        f"{args.infer_batch_words}); {args.rounds} rounds; {threads_text(args)}"
    )
    # The default-thread run is a second table beside the one-thread one.
    stem = "tagger" if args.threads == "one" else "tagger_default_threads"
    path = RESULTS / f"{stem}-{cpu_family()}.txt"
    path.write_text("\n".join(lines) + "\n" + report + "\n")
    print(f"wrote {path.relative_to(CHECKOUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
