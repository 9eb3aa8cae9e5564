"""Train a small part-of-speech tagger on a sample of UD English EWT, save it,
reload it and tag a few sentences, using only thinc's core dense layers.

Each token becomes a bag of hashed features (lowercase form, prefix, suffix and
shape of the word and its neighbours), computed in numpy and fed as a dense
0/1 vector through Relu -> Relu -> Softmax. Run with `make demo`."""

import argparse
import json
import time
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy
from _common import plot_training_curve, progress

from thinc.layers import Relu, Softmax, chain
from thinc.loss import CategoricalCrossentropy
from thinc.model import Model
from thinc.optimizers import Adam
from thinc.util import fix_random_seed

HERE = Path(__file__).parent

DATA = HERE / "data"
OUTPUT = HERE / "output"

# Feature hashing: every feature string lands in one of N_BUCKETS columns, twice
# (with two different salts) so that a collision rarely erases a feature.
N_BUCKETS = 4096
HASH_SALTS = (b"a", b"b")
WINDOW = (-1, 0, 1)

Sentence = Tuple[List[str], List[str]]


def read_conllu(path: Path) -> List[Sentence]:
    """(words, tags) for each sentence; multiword-token and empty-node lines are
    skipped because their words are repeated on the lines that follow them."""
    sentences: List[Sentence] = []
    words: List[str] = []
    tags: List[str] = []
    for line in path.read_text(encoding="utf8").splitlines():
        if not line.strip():
            if words:
                sentences.append((words, tags))
                words, tags = [], []
            continue
        if line.startswith("#"):
            continue
        columns = line.split("\t")
        if not columns[0].isdigit():
            continue
        words.append(columns[1])
        tags.append(columns[3])
    if words:
        sentences.append((words, tags))
    return sentences


def word_shape(word: str) -> str:
    """Letters, digits and other characters as X, x, d or themselves, with runs
    cut at three: "McDonald's" -> "XxXxxx'x", "1,250.00" -> "d,ddd.dd"."""
    shape: List[str] = []
    for char in word:
        if char.isupper():
            code = "X"
        elif char.isalpha():
            code = "x"
        elif char.isdigit():
            code = "d"
        else:
            code = char
        if len(shape) < 3 or shape[-3:] != [code] * 3:
            shape.append(code)
    return "".join(shape)


def word_features(word: str) -> List[str]:
    lower = word.lower()
    return [f"w={lower}", f"p={lower[:2]}", f"s={lower[-3:]}", f"h={word_shape(word)}"]


class Featurizer:
    """Maps each token to the bucket ids of its window's features; hashes each
    distinct feature string once."""

    def __init__(self) -> None:
        self.cache: Dict[str, List[int]] = {}
        self.n_features = len(WINDOW) * len(word_features("x")) * len(HASH_SALTS)

    def buckets(self, feature: str) -> List[int]:
        ids = self.cache.get(feature)
        if ids is None:
            data = feature.encode("utf8")
            ids = [zlib.crc32(salt + data) % N_BUCKETS for salt in HASH_SALTS]
            self.cache[feature] = ids
        return ids

    def __call__(self, words: Sequence[str]) -> numpy.ndarray:
        reach = max(abs(offset) for offset in WINDOW)
        padded = ["<s>"] * reach + list(words) + ["</s>"] * reach
        per_word = [word_features(word) for word in padded]
        rows = []
        for i in range(reach, reach + len(words)):
            row: List[int] = []
            for offset in WINDOW:
                for feature in per_word[i + offset]:
                    row.extend(self.buckets(f"{offset}{feature}"))
            rows.append(row)
        return numpy.asarray(rows, dtype="int32").reshape(len(words), self.n_features)


def to_dense(bucket_ids: numpy.ndarray) -> numpy.ndarray:
    """(batch, n_features) bucket ids -> (batch, N_BUCKETS) 0/1 float32 rows."""
    dense = numpy.zeros((bucket_ids.shape[0], N_BUCKETS), dtype="float32")
    dense[numpy.arange(bucket_ids.shape[0])[:, None], bucket_ids] = 1.0
    return dense


def build_model(n_tags: int, width: int = 64) -> Model:
    return chain(
        Relu(nO=width, nI=N_BUCKETS, dropout=0.1, normalize=True),
        Relu(nO=width // 2, dropout=0.1),
        Softmax(nO=n_tags),
    )


def predict_tags(model: Model, features: numpy.ndarray, batch_size: int = 1024) -> numpy.ndarray:
    guesses = [
        model.predict(to_dense(features[start : start + batch_size])).argmax(axis=1)
        for start in range(0, len(features), batch_size)
    ]
    return numpy.concatenate(guesses) if guesses else numpy.zeros((0,), dtype="int64")


def baselines(train: List[Sentence], dev: List[Sentence]) -> Tuple[float, float]:
    """Accuracy on dev of always guessing the commonest tag, and of guessing
    each word's commonest training tag (the commonest tag for unseen words)."""
    overall: Counter = Counter()
    per_word: Dict[str, Counter] = defaultdict(Counter)
    for words, tags in train:
        overall.update(tags)
        for word, tag in zip(words, tags):
            per_word[word.lower()][tag] += 1
    majority = overall.most_common(1)[0][0]
    total = majority_right = word_right = 0
    for words, tags in dev:
        for word, tag in zip(words, tags):
            counts = per_word.get(word.lower())
            guess = counts.most_common(1)[0][0] if counts else majority
            total += 1
            majority_right += tag == majority
            word_right += tag == guess
    return majority_right / total, word_right / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learn-rate", type=float, default=0.002)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where the model is saved")
    args = parser.parse_args()
    output = args.output
    started = time.time()
    fix_random_seed(args.seed)

    train = read_conllu(DATA / "en_ewt-ud-train-sample.conllu")
    dev = read_conllu(DATA / "en_ewt-ud-dev-sample.conllu")
    tag_names = sorted({tag for _, tags in train for tag in tags})
    tag_ids = {tag: i for i, tag in enumerate(tag_names)}
    featurize = Featurizer()

    def prepare(sentences: List[Sentence]) -> Tuple[numpy.ndarray, numpy.ndarray]:
        features = numpy.concatenate([featurize(words) for words, _ in sentences])
        # Tags never seen in training count as errors on dev (id -1 never matches).
        labels = numpy.asarray(
            [tag_ids.get(tag, -1) for _, tags in sentences for tag in tags], dtype="int64"
        )
        return features, labels

    train_X, train_y = prepare(train)
    dev_X, dev_y = prepare(dev)
    majority_accuracy, word_accuracy = baselines(train, dev)
    print(
        f"{len(train)} training sentences ({len(train_y)} tokens), {len(dev)} dev "
        f"sentences ({len(dev_y)} tokens), {len(tag_names)} tags"
    )
    print(
        f"baselines on dev: commonest tag {majority_accuracy:.3f}, "
        f"each word's commonest tag {word_accuracy:.3f}"
    )

    model = build_model(len(tag_names))
    one_hot = numpy.eye(len(tag_names), dtype="float32")
    model.initialize(X=to_dense(train_X[:8]), Y=one_hot[train_y[:8]])
    optimizer = Adam(args.learn_rate)
    loss = CategoricalCrossentropy()
    token_rows = numpy.arange(args.batch_size)
    rng = numpy.random.default_rng(args.seed)
    # For the plot: the loss of every tenth of an epoch, and dev accuracy per epoch.
    loss_steps, loss_curve, accuracies = [], [], []
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(train_y))
        starts = range(0, len(order), args.batch_size)
        losses = []
        for start in progress(starts, f"epoch {epoch}"):
            batch = order[start : start + args.batch_size]
            guesses, backprop = model.begin_update(to_dense(train_X[batch]))
            backprop(loss.get_grad(guesses, one_hot[train_y[batch]]))
            model.finish_update(optimizer)
            # Mean negative log-likelihood of the true tags, for the progress report.
            true_probs = guesses[token_rows[: len(batch)], train_y[batch]]
            losses.append(float(-numpy.log(numpy.maximum(true_probs, 1e-8)).mean()))
        for tenth, part in enumerate(numpy.array_split(numpy.asarray(losses), 10), start=1):
            if part.size:
                loss_steps.append(epoch - 1 + tenth / 10)
                loss_curve.append(float(part.mean()))
        accuracy = float((predict_tags(model, dev_X) == dev_y).mean())
        accuracies.append(accuracy)
        print(f"epoch {epoch}: train loss {numpy.mean(losses):.3f}, dev accuracy {accuracy:.3f}")

    output.mkdir(parents=True, exist_ok=True)
    model_path = output / "pos-tagger.bin"
    model.to_disk(model_path)
    (output / "tags.json").write_text(json.dumps(tag_names))
    print(f"saved the model to {model_path}")

    plot = plot_training_curve(
        output / "training.png",
        f"POS tagger on UD English EWT (sample): {len(train_y)} training tokens",
        loss_steps,
        loss_curve,
        list(range(1, args.epochs + 1)),
        accuracies,
        "accuracy",
        baselines={"each word's commonest tag": word_accuracy, "commonest tag": majority_accuracy},
    )
    if plot is not None:
        print(f"training curve (loss and dev accuracy per epoch): {plot}")

    reloaded_tags = json.loads((output / "tags.json").read_text())
    reloaded = build_model(len(reloaded_tags)).from_disk(model_path)
    if not numpy.array_equal(predict_tags(reloaded, dev_X), predict_tags(model, dev_X)):
        raise SystemExit("the reloaded model predicts differently from the trained one")
    print(
        f"reloaded {model_path}: it tags all {len(dev_y)} dev tokens exactly as the trained model did"
    )
    examples = [dev[0][0], dev[1][0], "I saw her duck under the table .".split()]
    for words in examples:
        guesses = predict_tags(reloaded, featurize(words))
        print(" ".join(f"{word}/{reloaded_tags[i]}" for word, i in zip(words, guesses)))
    print(f"done in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
