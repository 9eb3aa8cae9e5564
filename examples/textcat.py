"""Train a sentence classifier that guesses which web genre a UD English EWT
sentence comes from, with attention-weighted mean pooling over Ragged input.

Usage: .venv/bin/python examples/textcat.py [--epochs 4]; the training curve goes to
examples/output/textcat.png. Uses only thinc.api, so it also runs on thinc 8.3.14."""
# What it classifies: EWT mixes five sources and each sentence's sent_id names
# its source: answers (Yahoo! Answers), email (Enron), newsgroup, reviews and
# weblog. The label is that source, judged one sentence at a time; many short
# sentences ("Thanks!") carry no clue, which caps the reachable accuracy well
# below 1, so the commonest-genre baseline is printed beside the score.

import os

# One BLAS thread unless asked otherwise: thinc 8.3.14's blis runs single-
# threaded, and on a small shared machine extra BLAS threads mostly fight.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    OUTPUT,
    StringHasher,
    add_ewt_arguments,
    batches_by_words,
    load_ewt,
    plot_training_curve,
    progress,
    token_attributes,
    use_checkout_thinc,
    write_summary,
)

use_checkout_thinc()

import thinc  # noqa: E402
from thinc.api import (  # noqa: E402
    Adam,
    CategoricalCrossentropy,
    HashEmbed,
    Maxout,
    Model,
    ParametricAttention,
    Softmax,
    chain,
    concatenate,
    fix_random_seed,
    list2ragged,
    reduce_mean,
    with_array,
)
from thinc.types import Floats2d, Ints2d  # noqa: E402

ATTRIBUTE_ROWS = (5000, 1000, 2500, 2500)


def build_classifier(
    n_classes: int, width: int = 64, rows: Sequence[int] = ATTRIBUTE_ROWS
) -> Model[List[Ints2d], Floats2d]:
    """List of (n_words, 4) uint64 id arrays in, (n_sentences, n_classes)
    probabilities out."""
    embed = chain(
        concatenate(
            *[
                HashEmbed(nO=width, nV=n_rows, column=column, seed=column + 11)
                for column, n_rows in enumerate(rows)
            ]
        ),
        Maxout(nO=width, nI=width * len(rows), nP=3, normalize=True),
    )
    return chain(
        list2ragged(),
        with_array(embed),
        # Learns which words matter for the genre before averaging them.
        ParametricAttention(nO=width),
        reduce_mean(),
        Softmax(nO=n_classes, nI=width),
    )


def featurize(hasher: StringHasher, words: Sequence[str]) -> numpy.ndarray:
    ids = [[hasher(value) for value in token_attributes(word)] for word in words]
    return numpy.asarray(ids, dtype="uint64").reshape(len(words), 4)


def predict(model: Model, features: List[numpy.ndarray], batch_words: int = 4000) -> numpy.ndarray:
    lengths = [len(x) for x in features]
    guesses = []
    for batch in batches_by_words(lengths, range(len(features)), batch_words):
        probs = model.predict([features[i] for i in batch])
        guesses.append(model.ops.to_numpy(probs).argmax(axis=1))
    return numpy.concatenate(guesses)


def train_classifier(args: argparse.Namespace) -> dict:
    started = time.time()
    fix_random_seed(args.seed)
    train, dev, description = load_ewt(args.data_dir, args.sample, args.limit or None)
    genres = sorted({sentence.genre for sentence in train})
    genre_ids = {genre: i for i, genre in enumerate(genres)}
    hasher = StringHasher()
    train_X = [featurize(hasher, s.words) for s in train]
    dev_X = [featurize(hasher, s.words) for s in dev]
    train_y = numpy.asarray([genre_ids[s.genre] for s in train], dtype="int64")
    dev_y = numpy.asarray([genre_ids.get(s.genre, -1) for s in dev], dtype="int64")
    counts = numpy.bincount(train_y, minlength=len(genres))
    majority = float((dev_y == counts.argmax()).mean())
    print(
        f"thinc {thinc.__version__} from {Path(thinc.__file__).parent}\n"
        f"data {description}: {len(train)} training, {len(dev)} dev sentences; genres "
        + ", ".join(f"{g} {c}" for g, c in zip(genres, counts))
        + f"\nbaseline (always '{genres[counts.argmax()]}'): dev accuracy {majority:.4f}"
    )

    model = build_classifier(len(genres), width=args.width)
    one_hot = numpy.eye(len(genres), dtype="float32")
    model.initialize(X=train_X[:5], Y=one_hot[train_y[:5]])
    optimizer = Adam(args.learn_rate)
    loss_function = CategoricalCrossentropy()
    rng = numpy.random.RandomState(args.seed)
    lengths = [len(x) for x in train_X]
    loss_steps: List[float] = []
    losses: List[float] = []
    eval_steps: List[float] = [0.0]
    scores: List[float] = [float((predict(model, dev_X) == dev_y).mean())]
    recent: List[float] = []
    for epoch in range(args.epochs):
        batches = batches_by_words(lengths, rng.permutation(len(train_X)), args.batch_words)
        for step, batch in enumerate(progress(batches, f"epoch {epoch + 1}", args.quiet), 1):
            probs, backprop = model.begin_update([train_X[i] for i in batch])
            truths = one_hot[train_y[batch]]
            backprop(loss_function.get_grad(probs, truths))
            model.finish_update(optimizer)
            # Mean negative log-likelihood of the true genres, for the curve.
            true_probs = model.ops.to_numpy(probs)[numpy.arange(len(batch)), train_y[batch]]
            recent.append(float(-numpy.log(numpy.maximum(true_probs, 1e-9)).mean()))
            if step % 10 == 0 or step == len(batches):
                loss_steps.append(epoch + step / len(batches))
                losses.append(float(numpy.mean(recent)))
                recent = []
        scores.append(float((predict(model, dev_X) == dev_y).mean()))
        eval_steps.append(epoch + 1.0)
        print(
            f"epoch {epoch + 1}: loss {losses[-1]:.4f}, dev accuracy {scores[-1]:.4f}", flush=True
        )

    guesses = predict(model, dev_X)
    confusion = numpy.zeros((len(genres), len(genres)), dtype=int)
    for truth, guess in zip(dev_y, guesses):
        if truth >= 0:
            confusion[truth, guess] += 1
    print("confusion on dev (rows: true genre, columns: guessed)")
    print(" " * 10 + "".join(f"{g[:9]:>10}" for g in genres))
    for genre, row in zip(genres, confusion):
        print(f"{genre[:9]:>10}" + "".join(f"{n:>10}" for n in row))
    summary = {
        "thinc_version": thinc.__version__,
        "data": description,
        "genres": genres,
        "dev_accuracy": scores[-1],
        "majority_baseline": majority,
        "seconds": time.time() - started,
    }
    print(
        f"final dev accuracy {scores[-1]:.4f} vs baseline {majority:.4f}; done in {summary['seconds']:.0f}s"
    )
    if not args.no_plot:
        plot = plot_training_curve(
            Path(args.plot),
            f"Genre classifier, UD English EWT sentences (thinc {thinc.__version__})",
            loss_steps,
            losses,
            eval_steps,
            scores,
            "accuracy",
            {"baseline: commonest genre": majority},
            loss_name="training loss (mean per sentence)",
        )
        if plot is not None:
            print(f"training curve written to {plot}")
    write_summary(args.summary, summary)
    return summary


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_ewt_arguments(parser, OUTPUT / "textcat.png")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-words", type=int, default=1000)
    parser.add_argument("--learn-rate", type=float, default=0.002)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    train_classifier(parse_args())
