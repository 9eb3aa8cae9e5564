"""`python -m spacy train` of a tagger + parser (HashEmbedCNN tok2vec) on UD English
EWT, on this checkout's thinc and on thinc 8.3.14: dev accuracy and training words/sec.

    .venv/bin/python bench/spacy_train.py [--max-steps 1000] [--eval-frequency 250]
        [--sequential] [--json bench/output/spacy_train.json]

The corpus (../shared/data/ud-english-ewt) is converted once with `spacy convert`
into bench/output/spacy_train/corpus. Both trainings run the same config
(bench/spacy_train.cfg, seed 0) with one thread each, by default at the same time so
that a busy machine slows them alike. This file is also the config's `--code` module:
it registers "bench.SpeedLogger.v1", which prints spaCy's usual table and writes each
evaluation (scores, words seen, seconds spent training and evaluating) as a JSON line.
Training words/s leave out the time spent evaluating on dev."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CHECKOUT = BENCH.parent
CONFIG = BENCH / "spacy_train.cfg"
OUTPUT = BENCH / "output" / "spacy_train"
UD_EWT = CHECKOUT.parent / "shared" / "data" / "ud-english-ewt"
SIDES = {"ours": CHECKOUT / ".venv-spacy", "8.3.14": CHECKOUT / ".venv-spacy-ref"}
ONE_THREAD = {
    name: "1"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
}
LOG_VARIABLE = "SPACY_TRAIN_BENCH_LOG"


# -- the logger, loaded by `spacy train --code` inside a spaCy virtualenv ----------------


def speed_logger():
    """A spaCy logger: the console table, plus one JSON line per evaluation."""
    from spacy import registry

    console = registry.loggers.get("spacy.ConsoleLogger.v3")(progress_bar=None)

    def setup(nlp, stdout=sys.stdout, stderr=sys.stderr):
        log_console, finalize_console = console(nlp, stdout, stderr)
        path = os.environ.get(LOG_VARIABLE)
        spent = {"eval_wall": 0.0, "eval_cpu": 0.0}
        start = {"wall": time.perf_counter(), "cpu": time.process_time()}
        evaluate = nlp.evaluate

        def timed_evaluate(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return evaluate(*args, **kwargs)
            finally:
                spent["eval_wall"] += time.perf_counter() - wall
                spent["eval_cpu"] += time.process_time() - cpu

        nlp.evaluate = timed_evaluate

        def log_step(info):
            log_console(info)
            if info is None or not path:
                return
            record = {
                "step": info["step"], "epoch": info["epoch"], "words": info["words"],
                "scores": {key: info["other_scores"].get(key)
                           for key in ("tag_acc", "dep_uas", "dep_las")},
                "losses": {key: float(value) for key, value in info["losses"].items()},
                "wall": time.perf_counter() - start["wall"],
                "cpu": time.process_time() - start["cpu"], **spent,
            }
            with open(path, "a", encoding="utf8") as file_:
                file_.write(json.dumps(record) + "\n")

        return log_step, finalize_console

    return setup


try:
    import spacy

    spacy.registry.loggers("bench.SpeedLogger.v1")(speed_logger)
except ImportError:  # the driver runs without spaCy
    pass


# -- driver ---------------------------------------------------------------------------------


def convert_corpus() -> Path:
    """Convert train and dev once; spaCy's converter gives the same docs either side."""
    corpus = OUTPUT / "corpus"
    for part in ("train", "dev"):
        target = corpus / f"en_ewt-ud-{part}.spacy"
        if target.exists():
            continue
        source = UD_EWT / f"en_ewt-ud-{part}.conllu"
        if not source.exists():
            raise SystemExit(f"{source} not found")
        corpus.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(SIDES["ours"] / "bin" / "python"), "-m", "spacy", "convert",
                        str(source), str(corpus), "--converter", "conllu", "--n-sents", "10"],
                       check=True, cwd=tempfile.gettempdir())
    return corpus


def start_training(name: str, venv: Path, corpus: Path, args) -> tuple:
    python = venv / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{python} not found: run scripts/make_spacy_venvs.sh first")
    output = OUTPUT / name
    output.mkdir(parents=True, exist_ok=True)
    log = output / "evaluations.jsonl"
    log.unlink(missing_ok=True)
    command = [str(python), "-m", "spacy", "train", str(CONFIG), "--code", str(Path(__file__)),
               "--output", str(output / "model"),
               "--paths.train", str(corpus / "en_ewt-ud-train.spacy"),
               "--paths.dev", str(corpus / "en_ewt-ud-dev.spacy"),
               "--training.max_steps", str(args.max_steps),
               "--training.eval_frequency", str(args.eval_frequency)]
    # An empty working directory keeps the checkout's thinc/ off the reference's path.
    workdir = tempfile.mkdtemp()
    console = open(output / "console.log", "w", encoding="utf8")
    process = subprocess.Popen(command, cwd=workdir, stdout=console, stderr=subprocess.STDOUT,
                               env={**os.environ, **ONE_THREAD, LOG_VARIABLE: str(log)})
    return process, log, console


def summarize(log: Path) -> dict:
    records = [json.loads(line) for line in log.read_text().splitlines()]
    if not records:
        raise SystemExit(f"{log} is empty: see console.log beside it")
    last = records[-1]
    train_wall = last["wall"] - last["eval_wall"]
    train_cpu = last["cpu"] - last["eval_cpu"]
    return {**last, "words_per_sec_wall": last["words"] / train_wall,
            "words_per_sec_cpu": last["words"] / train_cpu, "evaluations": records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--eval-frequency", type=int, default=250)
    parser.add_argument("--sequential", action="store_true",
                        help="train one side after the other instead of both at once")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    corpus = convert_corpus()
    results = {}
    running = {}
    for name, venv in SIDES.items():
        running[name] = start_training(name, venv, corpus, args)
        if args.sequential:
            running[name][0].wait()
    for name, (process, log, console) in running.items():
        status = process.wait()
        console.close()
        if status != 0:
            raise SystemExit(f"{name}: spacy train exited with {status}; see {console.name}")
        results[name] = summarize(log)

    print(f"\n{args.max_steps} steps, dev scores of the last step, training words/s "
          "without evaluation time")
    print(f"{'thinc':<8} {'TAG':>6} {'UAS':>6} {'LAS':>6} {'words/s wall':>13} {'words/s cpu':>12}")
    for name, result in results.items():
        scores = result["scores"]
        print(f"{name:<8} {100 * scores['tag_acc']:>6.2f} {100 * scores['dep_uas']:>6.2f} "
              f"{100 * scores['dep_las']:>6.2f} {result['words_per_sec_wall']:>13,.0f} "
              f"{result['words_per_sec_cpu']:>12,.0f}")
    ours, ref = results["ours"], results["8.3.14"]
    gaps = {key: 100 * (ours["scores"][key] - ref["scores"][key]) for key in ("tag_acc", "dep_las")}
    ratio = ours["words_per_sec_cpu"] / ref["words_per_sec_cpu"]
    print(f"ours - 8.3.14: TAG {gaps['tag_acc']:+.2f}, LAS {gaps['dep_las']:+.2f} points; "
          f"words/s (cpu) ratio {ratio:.2f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"results": results, "gaps": gaps, "ratio_cpu": ratio},
                                        indent=1))


if __name__ == "__main__":
    main()
