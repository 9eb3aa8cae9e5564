"""Helpers shared by the example scripts: CoNLL-U reading, feature strings,
progress bars and the training-curve plot, free of any thinc import.

The examples run unchanged on thinc 8.3.14: set THINC_EXAMPLES_USE_INSTALLED=1
to import the installed thinc instead of this source checkout's."""

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, TypeVar

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
OUTPUT = HERE / "output"
SAMPLE_DIR = HERE / "data"
# The full treebank lives beside the checkout (../shared/data) on the build machine.
DEFAULT_EWT_DIR = CHECKOUT.parent / "shared" / "data" / "ud-english-ewt"

Item = TypeVar("Item")


def use_checkout_thinc() -> None:
    """Put this checkout first on sys.path, so `import thinc` gets the source
    tree, unless the caller asked for the installed thinc."""
    if os.environ.get("THINC_EXAMPLES_USE_INSTALLED") == "1":
        return
    if (CHECKOUT / "thinc" / "__init__.py").exists() and str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))


@dataclass
class Sentence:
    sent_id: str
    words: List[str]
    tags: List[str] = field(default_factory=list)

    @property
    def genre(self) -> str:
        """EWT's sent_ids start with the web genre: answers, email, newsgroup,
        reviews or weblog."""
        return self.sent_id.split("-", 1)[0]


def read_conllu(path: Path, limit: Optional[int] = None) -> List[Sentence]:
    """Sentences with their words and UPOS tags. Multiword-token lines (1-2)
    and empty nodes (1.1) are skipped: their words repeat on the lines after."""
    sentences: List[Sentence] = []
    sent_id = ""
    words: List[str] = []
    tags: List[str] = []
    with Path(path).open(encoding="utf8") as file:
        for line in file:
            line = line.rstrip("\n")
            if not line.strip():
                if words:
                    sentences.append(Sentence(sent_id, words, tags))
                    if limit is not None and len(sentences) >= limit:
                        return sentences
                sent_id, words, tags = "", [], []
            elif line.startswith("# sent_id"):
                sent_id = line.split("=", 1)[1].strip()
            elif not line.startswith("#"):
                columns = line.split("\t")
                if columns[0].isdigit():
                    words.append(columns[1])
                    tags.append(columns[3])
    if words:
        sentences.append(Sentence(sent_id, words, tags))
    return sentences[:limit] if limit is not None else sentences


def find_ewt(data_dir: Optional[str]) -> Optional[Path]:
    """The directory that holds en_ewt-ud-{train,dev}.conllu: the one asked for,
    else $THINC_EWT_DIR, else ../shared/data/ud-english-ewt; None if absent."""
    candidates = [data_dir, os.environ.get("THINC_EWT_DIR"), str(DEFAULT_EWT_DIR)]
    for candidate in candidates:
        if candidate and (Path(candidate) / "en_ewt-ud-train.conllu").exists():
            return Path(candidate)
    if data_dir:
        raise SystemExit(f"no en_ewt-ud-train.conllu in {data_dir}")
    return None


def load_ewt(data_dir: Optional[str], use_sample: bool, limit: Optional[int] = None):
    """(train, dev, description) from the full treebank, or from the bundled
    sample when asked to or when the treebank is missing; `limit` keeps that
    many sentences of each, spread through the files."""
    ewt = None if use_sample else find_ewt(data_dir)
    if ewt is None:
        if not use_sample:
            print(
                f"UD English EWT not found (looked in --data-dir, $THINC_EWT_DIR and "
                f"{DEFAULT_EWT_DIR}); using the small sample in {SAMPLE_DIR}"
            )
        train_path = SAMPLE_DIR / "en_ewt-ud-train-sample.conllu"
        dev_path = SAMPLE_DIR / "en_ewt-ud-dev-sample.conllu"
    else:
        train_path = ewt / "en_ewt-ud-train.conllu"
        dev_path = ewt / "en_ewt-ud-dev.conllu"
    if not train_path.exists():
        raise SystemExit(f"training data missing: {train_path}")
    train = spread_subset(read_conllu(train_path), limit)
    dev = spread_subset(read_conllu(dev_path), limit)
    return train, dev, f"{train_path.name} / {dev_path.name}"


def spread_subset(items: List[Item], limit: Optional[int]) -> List[Item]:
    """At most `limit` items taken at even steps through the whole list: the
    treebank is ordered by document, so its first sentences are one genre."""
    if limit is None or limit >= len(items):
        return items
    if limit <= 0:
        return []
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def word_shape(word: str) -> str:
    """Upper, lower, digit as X, x, d, other characters kept, runs cut at four,
    like spaCy's SHAPE: "McDonald's" -> "XxXxxxx'x", "1,250.00" -> "d,ddd.dd"."""
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
        if len(shape) < 4 or shape[-4:] != [code] * 4:
            shape.append(code)
    return "".join(shape)


class StringHasher:
    """Stable 64-bit ids for strings (Python's hash() is salted per process);
    each distinct string is hashed once."""

    def __init__(self) -> None:
        self.cache: Dict[str, int] = {}

    def __call__(self, text: str) -> int:
        key = self.cache.get(text)
        if key is None:
            digest = hashlib.blake2b(text.encode("utf8"), digest_size=8).digest()
            key = int.from_bytes(digest, "little")
            self.cache[text] = key
        return key


def token_attributes(word: str) -> List[str]:
    """The four attributes spaCy's tok2vec embeds: NORM, PREFIX, SUFFIX, SHAPE;
    each prefixed so that equal strings of different kinds get different ids."""
    lower = word.lower()
    return ["N" + lower, "P" + lower[:1], "S" + lower[-3:], "H" + word_shape(word)]


def progress(items: Sequence[Item], description: str, quiet: bool = False) -> Iterator[Item]:
    """A tqdm bar when tqdm is installed, else one line per tenth done."""
    if quiet:
        yield from items
        return
    try:
        from tqdm import tqdm
    except ImportError:
        step = max(1, len(items) // 10)
        for i, item in enumerate(items):
            if i % step == 0:
                print(f"{description}: {i}/{len(items)}", flush=True)
            yield item
        return
    yield from tqdm(items, desc=description, unit="batch", leave=False, dynamic_ncols=True)


def plot_training_curve(
    path: Path,
    title: str,
    loss_steps: Sequence[float],
    losses: Sequence[float],
    eval_steps: Sequence[float],
    scores: Sequence[float],
    score_name: str,
    baselines: Optional[Dict[str, float]] = None,
    loss_name: str = "training loss",
) -> Optional[Path]:
    """Training loss (left axis) and dev score (right axis) against epochs,
    written as a PNG; returns None with a message when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot written")
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, loss_axis = plt.subplots(figsize=(8, 4.5), dpi=100)
    loss_axis.plot(loss_steps, losses, color="tab:blue", linewidth=1, label="training loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel(loss_name, color="tab:blue")
    loss_axis.set_yscale("log")
    score_axis = loss_axis.twinx()
    score_axis.plot(eval_steps, scores, "o-", color="tab:red", label=f"dev {score_name}")
    for i, (name, value) in enumerate((baselines or {}).items()):
        score_axis.axhline(value, linestyle=":", color=f"C{i + 2}", label=name)
    score_axis.set_ylabel(f"dev {score_name}", color="tab:red")
    if scores:
        best = max(scores)
        score_axis.annotate(
            f"{best:.4f}",
            (eval_steps[scores.index(best)], best),
            textcoords="offset points",
            xytext=(-20, -16),
        )
    handles = loss_axis.get_legend_handles_labels()
    more = score_axis.get_legend_handles_labels()
    score_axis.legend(handles[0] + more[0], handles[1] + more[1], loc="center right")
    loss_axis.set_title(title)
    loss_axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def batches_by_words(lengths: Sequence[int], order: Iterable[int], words: int) -> List[List[int]]:
    """Consecutive groups of sentence indices from `order`, each closed once
    it holds at least `words` words, so batches carry similar work."""
    groups: List[List[int]] = []
    current: List[int] = []
    count = 0
    for index in order:
        current.append(int(index))
        count += lengths[index]
        if count >= words:
            groups.append(current)
            current, count = [], 0
    if current:
        groups.append(current)
    return groups


def add_ewt_arguments(parser, plot_path: Path) -> None:
    """The data, plot, summary and progress options every EWT example takes."""
    parser.add_argument("--data-dir", help="directory holding en_ewt-ud-{train,dev}.conllu")
    parser.add_argument(
        "--sample", action="store_true", help="use the small sample in examples/data"
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=0,
        help="keep this many sentences of each file, spread through it",
    )
    parser.add_argument("--plot", default=str(plot_path))
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--summary", help="write the figures as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def write_summary(path: Optional[str], summary: dict) -> None:
    """Write the run's figures as JSON where --summary asked for them."""
    if path:
        import json

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(summary, indent=2))
