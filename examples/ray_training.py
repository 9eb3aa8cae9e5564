"""Train examples/pos_tagger.py's tagger data-parallel on N Ray workers.

Usage: .venv/bin/python examples/ray_training.py --workers 2 [--epochs 2] [--sample]
    [--address HOST:PORT] [--checkpoint FILE [--resume]]
Each worker holds a replica of the model and trains on its shard of every batch
(thinc.extra.ray.RayTrainer). Progress goes to stderr; the last line on stdout is one
JSON object with workers, train_words_per_sec, dev_accuracy and bytes_per_step."""
# The global batch (--batch-words) is the same for any number of workers, so runs
# with 1 and N workers take the same optimizer steps and reach the same accuracy;
# more workers only split each step's work. Needs Ray: pip install "thinc[ray]".

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import pos_tagger  # noqa: E402
from _common import OUTPUT, add_ewt_arguments, load_ewt, use_checkout_thinc  # noqa: E402

use_checkout_thinc()

from thinc.api import Adam, Model, fix_random_seed  # noqa: E402

Item = Tuple[numpy.ndarray, numpy.ndarray]


def update(model: Model, batch: List[Item]) -> float:
    """One worker's forward and backward pass over its shard; the gradient is the
    mean over the shard's words, which the trainer weights by the shard's words."""
    features = [x for x, _ in batch]
    labels = [y for _, y in batch]
    probs, backprop = model.begin_update(features)
    loss, gradients = pos_tagger.loss_and_gradient(model, probs, labels)
    backprop(gradients)
    return loss


def train(args: argparse.Namespace) -> dict:
    from thinc.extra.ray import RayTrainer, connect

    started = time.time()
    fix_random_seed(args.seed)
    train_sentences, dev_sentences, description = load_ewt(
        args.data_dir, args.sample, args.limit or None
    )
    tag_names = sorted({tag for sentence in train_sentences for tag in sentence.tags})
    tag_ids = {tag: i for i, tag in enumerate(tag_names)}
    featurize = pos_tagger.Featurizer()
    train_X, train_y = pos_tagger.encode_corpus(train_sentences, featurize, tag_ids)
    dev_X, dev_y = pos_tagger.encode_corpus(dev_sentences, featurize, tag_ids)
    n_words = sum(len(y) for y in train_y)
    log(
        f"data {description}: {len(train_X)} training sentences ({n_words} words), "
        f"{len(dev_X)} dev sentences, {len(tag_names)} tags"
    )
    model = pos_tagger.build_tagger(len(tag_names), width=args.width, depth=args.depth)
    model.initialize(
        X=train_X[:5], Y=[numpy.zeros((len(y), len(tag_names)), "f") for y in train_y[:5]]
    )

    ray = connect(args.address, num_cpus=args.num_cpus or None)
    # The workers may run where examples/ is not installed: send these modules'
    # code along with the update function instead of importing them by name.
    ray.cloudpickle.register_pickle_by_value(pos_tagger)
    ray.cloudpickle.register_pickle_by_value(_common)
    learn_rate = args.learn_rate

    def evaluate(trainer: Any, epoch: int) -> None:
        score = pos_tagger.accuracy(pos_tagger.predict(trainer.sync_model(), dev_X), dev_y)
        log(f"epoch {epoch}: dev accuracy {score:.4f}")

    data = list(zip(train_X, train_y))
    with RayTrainer(
        model,
        update,
        data,
        optimizer=lambda: Adam(learn_rate),
        workers=args.workers,
        sizes=[len(y) for y in train_y],
        seed=args.seed,
    ) as trainer:
        log(
            "workers: "
            + ", ".join(
                f"pid {w['pid']} on node {w['node_id'][:8]}" for w in trainer.describe_workers()
            )
        )
        result = trainer.fit(
            args.epochs,
            batch_size=args.batch_words,
            checkpoint=args.checkpoint,
            checkpoint_every=args.checkpoint_every,
            resume=args.resume,
            on_epoch=None if args.no_eval else evaluate,
            progress=not args.quiet,
        )
    dev_accuracy = pos_tagger.accuracy(pos_tagger.predict(model, dev_X), dev_y)
    summary = {
        "workers": args.workers,
        "train_words_per_sec": round(result.units_per_second, 1),
        "dev_accuracy": round(dev_accuracy, 4),
        "bytes_per_step": round(result.bytes_per_step),
        "gradient_bytes_per_worker": result.gradient_bytes_per_worker,
        "steps": result.steps,
        "epochs": result.epochs,
        "compute_seconds_per_step": round(result.compute_seconds_per_step, 4),
        "compute_cpu_share": round(result.compute_cpu_share, 3),
        "seconds_per_step": round(result.train_seconds / max(result.steps, 1), 4),
        "replacements": len(result.replacements),
        "seconds": round(time.time() - started, 1),
    }
    _common.write_summary(args.summary, summary)
    print(json.dumps(summary), flush=True)
    return summary


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_ewt_arguments(parser, OUTPUT / "ray_training.png")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--batch-words",
        type=int,
        default=1000,
        help="words per global batch, split among the workers",
    )
    parser.add_argument("--learn-rate", type=float, default=0.002)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--address", help="a Ray cluster's HOST:PORT (default: start a local one)")
    parser.add_argument(
        "--num-cpus", type=int, default=0, help="CPUs of the local cluster (default: all)"
    )
    parser.add_argument(
        "--checkpoint", help="save the run here (every --checkpoint-every steps, and at the end)"
    )
    parser.add_argument("--checkpoint-every", type=int, default=0)
    parser.add_argument(
        "--resume", action="store_true", help="continue from --checkpoint when it exists"
    )
    parser.add_argument("--no-eval", action="store_true", help="no dev evaluation after each epoch")
    return parser.parse_args(argv)


if __name__ == "__main__":
    train(parse_args())
