"""Train a part-of-speech tagger on UD English EWT with a spaCy-style tok2vec:
hashed NORM/PREFIX/SUFFIX/SHAPE embeddings, then residual CNN blocks.

Usage: .venv/bin/python examples/pos_tagger.py [--epochs 2]; the training curve goes to
examples/output/pos_tagger.png. Only thinc.api is used, so the script runs unchanged on
thinc 8.3.14: THINC_EXAMPLES_USE_INSTALLED=1 .venv-ref/bin/python examples/pos_tagger.py"""
# Each token's attribute strings are hashed to 64-bit ids in Python; the model
# does the rest: HashEmbed picks its column and rehashes the id into its table,
# Maxout+LayerNorm mixes the four embeddings, and every residual block of
# expand_window >> Maxout >> LayerNorm widens each word's view by one word on
# either side.

import os

# One BLAS thread unless asked otherwise: thinc 8.3.14's blis runs single-
# threaded, and on a small shared machine extra BLAS threads mostly fight.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    OUTPUT,
    Sentence,
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
    HashEmbed,
    LayerNorm,
    Maxout,
    Model,
    Softmax,
    chain,
    clone,
    concatenate,
    expand_window,
    fix_random_seed,
    residual,
    with_array,
)
from thinc.types import Floats2d, Ints2d  # noqa: E402

# spaCy's default tagger tok2vec: rows per attribute, width, depth, pieces.
ATTRIBUTE_ROWS = (5000, 1000, 2500, 2500)


def build_tagger(
    n_tags: int,
    width: int = 96,
    depth: int = 4,
    window: int = 1,
    pieces: int = 3,
    rows: Sequence[int] = ATTRIBUTE_ROWS,
) -> Model[List[Ints2d], List[Floats2d]]:
    """List of (n_words, 4) uint64 id arrays in, list of (n_words, n_tags)
    tag probabilities out."""
    embeddings = [
        HashEmbed(nO=width, nV=n_rows, column=column, seed=column + 7)
        for column, n_rows in enumerate(rows)
    ]
    embed = chain(
        concatenate(*embeddings),
        Maxout(nO=width, nI=width * len(rows), nP=pieces, normalize=True),
    )
    block = chain(
        expand_window(window_size=window),
        Maxout(nO=width, nI=width * (2 * window + 1), nP=pieces),
        LayerNorm(nI=width),
    )
    # Padding each sentence with window*depth zero rows keeps the windows of
    # neighbouring sentences in one flattened batch from seeing each other.
    encode = clone(residual(block), depth)
    return chain(
        with_array(embed),
        with_array(encode, pad=window * depth),
        with_array(Softmax(nO=n_tags, nI=width)),
    )


class Featurizer:
    """Sentence words -> (n_words, 4) uint64 ids of their attribute strings."""

    def __init__(self) -> None:
        self.hash = StringHasher()

    def __call__(self, words: Sequence[str]) -> numpy.ndarray:
        ids = [[self.hash(value) for value in token_attributes(word)] for word in words]
        return numpy.asarray(ids, dtype="uint64").reshape(len(words), 4)


def encode_corpus(
    sentences: Sequence[Sentence], featurize: Featurizer, tag_ids: dict
) -> Tuple[List[numpy.ndarray], List[numpy.ndarray]]:
    features = [featurize(sentence.words) for sentence in sentences]
    # Tags unseen in training get -1: always wrong, never a training target.
    labels = [
        numpy.asarray([tag_ids.get(tag, -1) for tag in sentence.tags], dtype="int64")
        for sentence in sentences
    ]
    return features, labels


def predict(model: Model, features: List[numpy.ndarray], batch_words: int = 2000) -> List:
    lengths = [len(x) for x in features]
    guesses: List[numpy.ndarray] = []
    for batch in batches_by_words(lengths, range(len(features)), batch_words):
        for probs in model.predict([features[i] for i in batch]):
            guesses.append(model.ops.to_numpy(probs).argmax(axis=1))
    return guesses


def accuracy(guesses: List[numpy.ndarray], labels: List[numpy.ndarray]) -> float:
    right = sum(int((g == y).sum()) for g, y in zip(guesses, labels))
    total = sum(len(y) for y in labels)
    return right / max(total, 1)


def loss_and_gradient(
    model: Model, probs: List[Floats2d], labels: List[numpy.ndarray]
) -> Tuple[float, List[Floats2d]]:
    """Mean cross-entropy per word and its gradient with respect to the softmax
    inputs, (probs - one_hot) / n_words; words with unseen tags are ignored."""
    if not labels:
        return 0.0, []
    # One pass over the whole batch: per-sentence numpy calls cost more than the math.
    guess = numpy.concatenate([model.ops.to_numpy(p) for p in probs])
    truth = numpy.concatenate(labels)
    rows = numpy.flatnonzero(truth >= 0)
    n_words = max(len(rows), 1)
    gradient = guess.copy()
    gradient[rows, truth[rows]] -= 1.0
    gradient[truth < 0] = 0.0
    gradient /= n_words
    total = -float(numpy.log(numpy.maximum(guess[rows, truth[rows]], 1e-9)).sum())
    ends = numpy.cumsum([len(y) for y in labels])[:-1]
    return total / n_words, [model.ops.asarray2f(g) for g in numpy.split(gradient, ends)]


def baseline_accuracies(train: Sequence[Sentence], dev: Sequence[Sentence]) -> dict:
    """Dev accuracy of guessing each word's commonest training tag (the
    commonest tag overall for unseen words) and of always the commonest tag."""
    overall: dict = {}
    per_word: dict = {}
    for sentence in train:
        for word, tag in zip(sentence.words, sentence.tags):
            overall[tag] = overall.get(tag, 0) + 1
            counts = per_word.setdefault(word, {})
            counts[tag] = counts.get(tag, 0) + 1
    commonest = max(overall, key=overall.get)
    by_word = by_majority = total = 0
    for sentence in dev:
        for word, tag in zip(sentence.words, sentence.tags):
            counts = per_word.get(word)
            guess = max(counts, key=counts.get) if counts else commonest
            by_word += guess == tag
            by_majority += commonest == tag
            total += 1
    return {"word's commonest tag": by_word / total, "commonest tag": by_majority / total}


def train_tagger(args: argparse.Namespace) -> dict:
    started = time.time()
    fix_random_seed(args.seed)
    limit = args.limit if args.limit else None
    train, dev, description = load_ewt(args.data_dir, args.sample, limit)
    tag_names = sorted({tag for sentence in train for tag in sentence.tags})
    tag_ids = {tag: i for i, tag in enumerate(tag_names)}
    featurize = Featurizer()
    train_X, train_y = encode_corpus(train, featurize, tag_ids)
    dev_X, dev_y = encode_corpus(dev, featurize, tag_ids)
    n_train_words = sum(len(y) for y in train_y)
    baselines = baseline_accuracies(train, dev)
    print(
        f"thinc {thinc.__version__} from {Path(thinc.__file__).parent}\n"
        f"data {description}: {len(train)} training sentences ({n_train_words} words), "
        f"{len(dev)} dev sentences ({sum(len(y) for y in dev_y)} words), {len(tag_names)} tags\n"
        + ", ".join(f"baseline '{name}' {value:.4f}" for name, value in baselines.items())
    )

    model = build_tagger(len(tag_names), width=args.width, depth=args.depth)
    model.initialize(
        X=train_X[:5], Y=[numpy.zeros((len(y), len(tag_names)), "f") for y in train_y[:5]]
    )
    optimizer = Adam(args.learn_rate)
    rng = numpy.random.RandomState(args.seed)
    lengths = [len(y) for y in train_y]
    loss_steps: List[float] = []
    losses: List[float] = []
    eval_steps: List[float] = [0.0]
    scores: List[float] = [accuracy(predict(model, dev_X), dev_y)]
    train_seconds = 0.0
    for epoch in range(args.epochs):
        batches = batches_by_words(lengths, rng.permutation(len(train_X)), args.batch_words)
        checkpoints = {
            len(batches) * (k + 1) // args.evals_per_epoch for k in range(args.evals_per_epoch)
        }
        epoch_start = time.perf_counter()
        window_losses: List[float] = []
        for step, batch in enumerate(progress(batches, f"epoch {epoch + 1}", args.quiet), 1):
            probs, backprop = model.begin_update([train_X[i] for i in batch])
            loss, gradients = loss_and_gradient(model, probs, [train_y[i] for i in batch])
            backprop(gradients)
            model.finish_update(optimizer)
            window_losses.append(loss)
            if step % 20 == 0 or step == len(batches):
                loss_steps.append(epoch + step / len(batches))
                losses.append(float(numpy.mean(window_losses)))
                window_losses = []
            if step in checkpoints:
                train_seconds += time.perf_counter() - epoch_start
                scores.append(accuracy(predict(model, dev_X), dev_y))
                eval_steps.append(epoch + step / len(batches))
                epoch_start = time.perf_counter()
        print(
            f"epoch {epoch + 1}: loss {losses[-1]:.4f}, dev accuracy {scores[-1]:.4f}, "
            f"{n_train_words * (epoch + 1) / train_seconds:,.0f} training words/s",
            flush=True,
        )

    # A serialization round trip must give back the same predictions.
    start = time.perf_counter()
    final_guesses = predict(model, dev_X)
    inference_seconds = time.perf_counter() - start
    copy = build_tagger(len(tag_names), width=args.width, depth=args.depth)
    copy.from_bytes(model.to_bytes())
    same = all(numpy.array_equal(a, b) for a, b in zip(final_guesses, predict(copy, dev_X)))
    if not same:
        raise SystemExit("the reloaded model predicts differently from the trained one")
    summary = {
        "thinc_version": thinc.__version__,
        "data": description,
        "epochs": args.epochs,
        "dev_accuracy": scores[-1],
        "best_dev_accuracy": max(scores),
        "dev_accuracy_curve": list(zip(eval_steps, scores)),
        "baselines": baselines,
        "training_words_per_second": n_train_words * args.epochs / train_seconds,
        "inference_words_per_second": sum(len(x) for x in dev_X) / inference_seconds,
        "seconds": time.time() - started,
    }
    print(
        f"final dev accuracy {summary['dev_accuracy']:.4f} (best {summary['best_dev_accuracy']:.4f}); "
        f"{summary['inference_words_per_second']:,.0f} words/s tagging; "
        f"done in {summary['seconds']:.0f}s"
    )
    for sentence, guesses in list(zip(dev, final_guesses))[:2]:
        print(" ".join(f"{w}/{tag_names[g]}" for w, g in zip(sentence.words, guesses)))
    if not args.no_plot:
        plot = plot_training_curve(
            Path(args.plot),
            f"POS tagger, UD English EWT (thinc {thinc.__version__})",
            loss_steps,
            losses,
            eval_steps,
            scores,
            "accuracy",
            {f"baseline: {k}": v for k, v in baselines.items() if k != "commonest tag"},
            loss_name="training loss (mean per word)",
        )
        if plot is not None:
            print(f"training curve written to {plot}")
    write_summary(args.summary, summary)
    return summary


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_ewt_arguments(parser, OUTPUT / "pos_tagger.png")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-words", type=int, default=500)
    parser.add_argument("--learn-rate", type=float, default=0.002)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--evals-per-epoch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    train_tagger(parse_args())
