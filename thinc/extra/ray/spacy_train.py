"""Train a spaCy 3.8 pipeline from its config on N Ray workers, like `spacy train`:

    python -m thinc.extra.ray.spacy_train CONFIG --workers 2 --output DIR \\
        [--code FILE] [--address HOST:PORT] [--paths.train X --paths.dev Y ...]

Every worker builds the pipeline from the config (`init_nlp`), then takes worker 0's
weights; each step, spaCy's own batcher picks the global batch (on the driver, over
the training documents' lengths), each worker runs `nlp.update(..., sgd=False)` on its
contiguous share, and every worker applies the summed gradient with its own copy of
the config's optimizer. Evaluation uses the optimizer's averages, as `spacy train`
does; DIR/model-best and DIR/model-last are written by the driver, DIR/scores.jsonl
holds every evaluation, and the last line printed is a JSON summary."""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy

from .gradients import Message, encode_gradients, sum_gradients
from .params import ParamLayout


class _Sized:
    """A stand-in for a training Example that spaCy's batchers can measure."""

    __slots__ = ("index", "length")

    def __init__(self, index: int, length: int) -> None:
        self.index = index
        self.length = length

    def __len__(self) -> int:
        return self.length


def load_training_config(config_path: Path, overrides: Dict[str, Any], code: Optional[Path]):
    """(blank pipeline, its config with overrides and defaults filled in, the
    [training] block resolved); imports `code` first so that its registered
    functions exist."""
    from spacy import util
    from spacy.schemas import ConfigSchemaTraining

    if code is not None:
        util.import_file("ray_spacy_code", code)
    raw = util.load_config(config_path, overrides=overrides, interpolate=False)
    nlp = util.load_model_from_config(raw, auto_fill=True)
    training = util.registry.resolve(
        nlp.config.interpolate()["training"], schema=ConfigSchemaTraining
    )
    return nlp, nlp.config, training


class SpacyReplica:
    """A spaCy pipeline and its optimizer on one worker (the replica protocol of
    thinc.extra.ray.worker: compute, apply, get_state, set_state)."""

    def __init__(self, config_text: str, code: Optional[str]) -> None:
        from spacy import util
        from spacy.training.initialize import init_nlp

        if code is not None:
            util.import_file("ray_spacy_code", code)
        self.nlp = init_nlp(util.load_config_from_str(config_text, interpolate=False), use_gpu=-1)
        self.config = self.nlp.config
        _, self.training = self._resolve()
        self.optimizer = self.training["optimizer"]
        train_corpus, self.dev_corpus = util.resolve_dot_names(
            self.config.interpolate(), [self.training["train_corpus"], self.training["dev_corpus"]]
        )
        self.examples = list(train_corpus(self.nlp))
        self.frozen = list(self.training["frozen_components"])
        self.annotating = list(self.training["annotating_components"])
        dropout = self.training["dropout"]
        self.dropouts = None if isinstance(dropout, float) else dropout
        self.dropout = dropout if isinstance(dropout, float) else next(dropout)
        self.schedule_steps = 0
        self.layout = self._layout()

    def _resolve(self) -> Tuple[Any, Dict[str, Any]]:
        from spacy import util
        from spacy.schemas import ConfigSchemaTraining

        return self.config, util.registry.resolve(
            self.config.interpolate()["training"], schema=ConfigSchemaTraining
        )

    def _trainable(self) -> List[Any]:
        return [
            proc
            for name, proc in self.nlp.pipeline
            if name not in self.frozen
            and getattr(proc, "is_trainable", False)
            and getattr(proc, "model", None) not in (True, False, None)
        ]

    def _layout(self) -> ParamLayout:
        layout = ParamLayout([proc.model for proc in self._trainable()], require_all=False)
        layout.make_writable()
        return layout

    def lengths(self) -> List[int]:
        return [len(example) for example in self.examples]

    def compute(self, indices: Sequence[int], scale: float) -> Tuple[Message, numpy.ndarray, float]:
        losses: Dict[str, float] = {}
        self.nlp.update(
            [self.examples[i] for i in indices],
            drop=self.dropout,
            sgd=False,
            losses=losses,
            exclude=self.frozen,
            annotates=self.annotating,
        )
        message, mask = encode_gradients(self.layout, scale)
        return message, mask, float(sum(losses.values())) * scale

    def apply(self, gradients: Sequence[Optional[Message]], mask: numpy.ndarray) -> None:
        self.layout.set_gradients(sum_gradients(self.layout, gradients), mask)
        for proc in self._trainable():
            proc.finish_update(self.optimizer)
        self._step_schedules()

    def _step_schedules(self) -> None:
        self.optimizer.step_schedules()
        if self.dropouts is not None:
            self.dropout = next(self.dropouts)
        self.schedule_steps += 1

    def get_state(self) -> Dict[str, Any]:
        return {
            "nlp": self.nlp.to_bytes(),
            **self.layout.training_state(self.optimizer, self.schedule_steps),
        }

    def set_state(self, state: Dict[str, Any]) -> None:
        self.nlp.from_bytes(state["nlp"])
        self.layout = self._layout()
        self.layout.allocate_gradients(numpy.asarray(state["grad_mask"], dtype="bool"))
        # A fresh optimizer and dropout schedule, moved to the same step.
        _, self.training = self._resolve()
        self.optimizer = self.training["optimizer"]
        dropout = self.training["dropout"]
        self.dropouts = None if isinstance(dropout, float) else dropout
        self.dropout = dropout if isinstance(dropout, float) else next(dropout)
        self.schedule_steps = 0
        for _ in range(state["schedule_steps"]):
            self._step_schedules()
        self.layout.load_optimizer_state(self.optimizer, state["optimizer"])

    def parameters(self) -> numpy.ndarray:
        return self.layout.parameters()

    def evaluate(self) -> Dict[str, Any]:
        """Dev scores with the optimizer's averaged weights, as `spacy train` reports."""
        with self.nlp.use_params(self.optimizer.averages or {}):
            scores = self.nlp.evaluate(self.dev_corpus(self.nlp))
        return {key: value for key, value in scores.items() if isinstance(value, (int, float))}

    def pipeline_bytes(self) -> bytes:
        """The pipeline with averaged weights, as `spacy train` saves it."""
        with self.nlp.use_params(self.optimizer.averages or {}):
            return self.nlp.to_bytes()


class SpacyReplicaFactory:
    def __init__(self, config_text: str, code: Optional[str]) -> None:
        self.config_text = config_text
        self.code = code

    def __call__(self, data: Any) -> SpacyReplica:
        return SpacyReplica(self.config_text, self.code)


def weighted_score(scores: Dict[str, Any], weights: Dict[str, Optional[float]]) -> float:
    return float(
        sum((scores.get(name) or 0.0) * weight for name, weight in weights.items() if weight)
    )


def global_batches(lengths: List[int], batcher: Any, max_epochs: int, seed: Optional[int]):
    """(epoch, item indices) for every step, from spaCy's own batcher and epoch
    shuffling (`create_train_batches`), run over stand-ins of the documents."""
    from spacy.training.loop import create_train_batches

    from thinc.api import fix_random_seed

    if seed is not None:
        fix_random_seed(seed)
    stand_ins = [_Sized(index, length) for index, length in enumerate(lengths)]
    for epoch, batch in create_train_batches(
        None, lambda nlp: list(stand_ins), batcher, max_epochs
    ):
        yield epoch, [item.index for item in batch]


def train(args: argparse.Namespace, overrides: Dict[str, Any]) -> Dict[str, Any]:
    from .cluster import connect
    from .coordinator import Coordinator
    from .sharding import split_batch

    nlp, config, training = load_training_config(args.config, overrides, args.code)
    connect(args.address, num_cpus=args.num_cpus or None)
    code = str(args.code.resolve()) if args.code else None
    started = time.time()
    coordinator = Coordinator(
        SpacyReplicaFactory(config.to_str(), code),
        None,
        workers=args.workers,
        seed=training["seed"] or 0,
        start_timeout=args.start_timeout,
    )
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    log_path = output / "scores.jsonl"
    log_path.unlink(missing_ok=True)
    # The metrics that count towards the score (a filled config lists every metric).
    weights = {name: weight for name, weight in training["score_weights"].items() if weight}
    try:
        # Worker 0's initial weights for all: init_nlp draws from each process's RNG.
        coordinator.set_state(coordinator.call_first("get_state"))
        lengths = coordinator.call_first("lengths")
        log(
            f"{args.workers} workers ready in {time.time() - started:.0f}s; "
            f"{len(lengths)} training docs, {sum(lengths)} words"
        )
        max_steps = training["max_steps"]
        eval_frequency = training["eval_frequency"]
        best = (-1.0, -1)
        words = 0
        train_seconds = 0.0
        bytes_moved = 0.0
        last_scores: Dict[str, Any] = {}
        steps = 0
        batches = global_batches(
            lengths, training["batcher"], training["max_epochs"], training["seed"]
        )
        for step, (epoch, batch) in enumerate(batches):
            if max_steps and step >= max_steps:
                break
            tick = time.perf_counter()
            shards = split_batch(batch, lengths, args.workers)
            # spaCy's losses are sums over the batch: the shards' gradients add up.
            report = coordinator.run_step(epoch, step, shards, [1.0] * args.workers)
            train_seconds += time.perf_counter() - tick
            bytes_moved += sum(report.gradient_bytes) + report.bytes_read
            words += sum(lengths[i] for i in batch)
            steps = step + 1
            if step % eval_frequency == 0 or (max_steps and steps == max_steps):
                tick = time.perf_counter()
                coordinator.flush(epoch, step)
                train_seconds += time.perf_counter() - tick
                last_scores = coordinator.call_first("evaluate")
                score = weighted_score(last_scores, weights)
                record = {
                    "step": step,
                    "epoch": epoch,
                    "words": words,
                    "score": score,
                    "loss": report.loss,
                    "train_seconds": round(train_seconds, 2),
                    **{k: last_scores.get(k) for k in weights},
                }
                with log_path.open("a", encoding="utf8") as file:
                    file.write(json.dumps(record) + "\n")
                log(
                    f"step {step:5d} epoch {epoch} loss {report.loss:9.2f} "
                    + " ".join(f"{k} {100 * (last_scores.get(k) or 0):.2f}" for k in weights)
                    + f" score {100 * score:.2f} ({words / max(train_seconds, 1e-9):.0f} words/s)"
                )
                if score > best[0]:
                    best = (score, step)
                    nlp.from_bytes(coordinator.call_first("pipeline_bytes"))
                    nlp.to_disk(output / "model-best")
        nlp.from_bytes(coordinator.call_first("pipeline_bytes"))
        nlp.to_disk(output / "model-last")
        summary = {
            "workers": args.workers,
            "steps": steps,
            "words": words,
            "train_words_per_sec": round(words / max(train_seconds, 1e-9), 1),
            "bytes_per_step": round(bytes_moved / max(steps, 1)),
            "final": {k: last_scores.get(k) for k in weights},
            "best_score": best[0],
            "best_step": best[1],
            "replacements": len(coordinator.replacements),
            "seconds": round(time.time() - started, 1),
        }
    finally:
        coordinator.close()
    print(json.dumps(summary), flush=True)
    return summary


def parse_overrides(extra: Sequence[str]) -> Dict[str, Any]:
    """`--section.key value` pairs, as `spacy train` takes them; values are JSON
    when they parse as JSON, else strings."""
    overrides: Dict[str, Any] = {}
    items = list(extra)
    while items:
        name = items.pop(0)
        if not name.startswith("--") or "." not in name:
            raise SystemExit(
                f"unexpected argument {name!r}: config overrides look like --paths.train FILE"
            )
        if "=" in name:
            name, value = name.split("=", 1)
        elif items:
            value = items.pop(0)
        else:
            raise SystemExit(f"{name} needs a value")
        try:
            overrides[name[2:]] = json.loads(value)
        except ValueError:
            overrides[name[2:]] = value
    return overrides


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Optional[Sequence[str]] = None) -> Tuple[argparse.Namespace, Dict[str, Any]]:
    parser = argparse.ArgumentParser(
        prog="python -m thinc.extra.ray.spacy_train", description=__doc__.splitlines()[0]
    )
    parser.add_argument("config", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", required=True)
    parser.add_argument(
        "--code", type=Path, help="a Python file registering functions the config names"
    )
    parser.add_argument("--address", help="a Ray cluster's HOST:PORT (default: start a local one)")
    parser.add_argument("--num-cpus", type=int, default=0, help="CPUs of the local cluster")
    parser.add_argument("--start-timeout", type=float, default=300.0)
    args, extra = parser.parse_known_args(argv)
    if not args.config.exists():
        parser.error(f"no config at {args.config}")
    return args, parse_overrides(extra)


if __name__ == "__main__":
    train(*parse_args())
