"""`python -m spacy train` of a tagger + parser (HashEmbedCNN tok2vec) on UD English
EWT, on this checkout's thinc and on thinc 8.3.14: dev accuracy and training words/sec.

    .venv/bin/python bench/spacy_train.py [--max-steps 1000] [--eval-frequency 250]
        [--sequential] [--sides ours 8.3.14] [--thinc-checkout DIR] [--summary-only]

The corpus (../shared/data/ud-english-ewt) is converted once with `spacy convert`
into bench/output/spacy_train/corpus. Both trainings run the same config
(bench/spacy_train.cfg, seed 0) with one thread each, by default at the same time so
that a busy machine slows them alike. This file is also the config's `--code` module:
it registers "bench.SpeedLogger.v1", which prints spaCy's usual table and writes each
evaluation (scores, words seen, seconds spent training and evaluating) as a JSON line.
Training words/s leave out the time spent evaluating on dev. The side-by-side table of
every evaluation is printed and saved as bench/output/spacy_train/summary.txt (and .json)."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

BENCH = Path(__file__).resolve().parent
CHECKOUT = BENCH.parent
CONFIG = BENCH / "spacy_train.cfg"
OUTPUT = BENCH / "output" / "spacy_train"
UD_EWT = CHECKOUT.parent / "shared" / "data" / "ud-english-ewt"
SIDES = {"ours": CHECKOUT / ".venv-spacy", "8.3.14": CHECKOUT / ".venv-spacy-ref"}
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
                "step": info["step"],
                "epoch": info["epoch"],
                "words": info["words"],
                "scores": {
                    key: info["other_scores"].get(key) for key in ("tag_acc", "dep_uas", "dep_las")
                },
                "losses": {key: float(value) for key, value in info["losses"].items()},
                "wall": time.perf_counter() - start["wall"],
                "cpu": time.process_time() - start["cpu"],
                **spent,
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
        subprocess.run(
            [
                str(SIDES["ours"] / "bin" / "python"),
                "-m",
                "spacy",
                "convert",
                str(source),
                str(corpus),
                "--converter",
                "conllu",
                "--n-sents",
                "10",
            ],
            check=True,
            cwd=tempfile.gettempdir(),
        )
    return corpus


def start_training(name: str, venv: Path, corpus: Path, args) -> tuple:
    python = venv / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{python} not found: run scripts/make_spacy_venvs.sh first")
    output = OUTPUT / name
    output.mkdir(parents=True, exist_ok=True)
    log = output / "evaluations.jsonl"
    log.unlink(missing_ok=True)
    command = [
        str(python),
        "-m",
        "spacy",
        "train",
        str(CONFIG),
        "--code",
        str(Path(__file__)),
        "--output",
        str(output / "model"),
        "--paths.train",
        str(corpus / "en_ewt-ud-train.spacy"),
        "--paths.dev",
        str(corpus / "en_ewt-ud-dev.spacy"),
        "--training.max_steps",
        str(args.max_steps),
        "--training.eval_frequency",
        str(args.eval_frequency),
    ]
    environment = {**os.environ, **ONE_THREAD, LOG_VARIABLE: str(log)}
    if name == "ours" and args.thinc_checkout is not None:
        environment["PYTHONPATH"] = str(args.thinc_checkout.resolve())
    # An empty working directory keeps the checkout's thinc/ off the reference's path.
    workdir = tempfile.mkdtemp()
    found = subprocess.run(
        [str(python), "-c", "import thinc; print(thinc.__file__)"],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
    )
    print(f"{name}: thinc from {found.stdout.strip() or found.stderr.strip()}", flush=True)
    console = open(output / "console.log", "w", encoding="utf8")
    process = subprocess.Popen(
        command, cwd=workdir, stdout=console, stderr=subprocess.STDOUT, env=environment
    )
    return process, log, console


def training_rates(records: List[dict]) -> List[dict]:
    """Each evaluation with training words per second, evaluation time left out: since
    the start (cumulative) and since the previous evaluation (interval)."""
    rows = []
    previous = {"words": 0, "cpu": 0.0, "wall": 0.0}
    for record in records:
        train = {
            "words": record["words"],
            "cpu": record["cpu"] - record["eval_cpu"],
            "wall": record["wall"] - record["eval_wall"],
        }
        interval_cpu = train["cpu"] - previous["cpu"]
        rows.append(
            {
                **record,
                "words_per_sec_cpu": train["words"] / train["cpu"],
                "words_per_sec_wall": train["words"] / train["wall"],
                "interval_words_per_sec_cpu": (train["words"] - previous["words"]) / interval_cpu
                if interval_cpu > 0
                else float("nan"),
            }
        )
        previous = train
    return rows


def summarize(log: Path) -> dict:
    if not log.exists() or not log.read_text().strip():
        raise SystemExit(f"{log} is missing or empty: see console.log beside it")
    records = training_rates([json.loads(line) for line in log.read_text().splitlines()])
    return {**records[-1], "evaluations": records}


def report(results: Dict[str, dict]) -> str:
    """Side-by-side table of every evaluation, then the gaps at the last one."""
    names = list(results)
    columns = ("TAG", "UAS", "LAS", "w/cpu-s", "interval")
    lines = [
        "dev scores at each evaluation; training words per CPU-second without evaluation "
        "time, since the start and since the previous evaluation",
        f"{'step':>6} {'words':>8}  "
        + "  ".join(
            f"{name + ' ' + column:>{max(len(name + ' ' + column), 8)}}"
            for name in names
            for column in columns
        ),
    ]
    by_step = [{row["step"]: row for row in results[name]["evaluations"]} for name in names]
    for step in sorted(set().union(*by_step)):
        cells = []
        words = next(table[step]["words"] for table in by_step if step in table)
        for name, table in zip(names, by_step):
            row = table.get(step)
            values = (
                ("", "", "", "", "")
                if row is None
                else (
                    f"{100 * row['scores']['tag_acc']:.2f}",
                    f"{100 * row['scores']['dep_uas']:.2f}",
                    f"{100 * row['scores']['dep_las']:.2f}",
                    f"{row['words_per_sec_cpu']:,.0f}",
                    f"{row['interval_words_per_sec_cpu']:,.0f}",
                )
            )
            cells.extend(
                f"{value:>{max(len(name + ' ' + column), 8)}}"
                for value, column in zip(values, columns)
            )
        lines.append(f"{step:>6} {words:>8}  " + "  ".join(cells))
    if {"ours", "8.3.14"} <= set(results):
        # Compare at the last step both sides reached: a shorter run has fewer evaluations.
        common = {row["step"] for row in results["ours"]["evaluations"]} & {
            row["step"] for row in results["8.3.14"]["evaluations"]
        }
        if not common:
            return "\n".join(lines)
        step = max(common)
        ours, ref = (
            {row["step"]: row for row in results[name]["evaluations"]}[step]
            for name in ("ours", "8.3.14")
        )
        gaps = {
            key: 100 * (ours["scores"][key] - ref["scores"][key])
            for key in ("tag_acc", "dep_uas", "dep_las")
        }
        ratio = ours["words_per_sec_cpu"] / ref["words_per_sec_cpu"]
        lines.append(
            f"step {ours['step']}, ours - 8.3.14: TAG {gaps['tag_acc']:+.2f}, "
            f"UAS {gaps['dep_uas']:+.2f}, LAS {gaps['dep_las']:+.2f} points; "
            f"training words/CPU-s ratio ours/8.3.14 {ratio:.2f}x"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--eval-frequency", type=int, default=250)
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="train one side after the other instead of both at once",
    )
    parser.add_argument(
        "--sides",
        nargs="+",
        choices=list(SIDES),
        default=list(SIDES),
        help="train only these; the others' last logs join the summary",
    )
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="train nothing: summarize the logs already in " + str(OUTPUT),
    )
    parser.add_argument(
        "--thinc-checkout",
        type=Path,
        default=None,
        help="a built copy of this checkout for the ours side to import "
        "thinc from (PYTHONPATH), so that rebuilds here cannot disturb a run",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=OUTPUT / "summary.json",
        help="where the results go; summary.txt is written beside it",
    )
    args = parser.parse_args()
    sides = [] if args.summary_only else args.sides
    if sides:
        corpus = convert_corpus()
    running = {}
    for name in sides:
        running[name] = start_training(name, SIDES[name], corpus, args)
        if args.sequential:
            running[name][0].wait()
    for name, (process, log, console) in running.items():
        status = process.wait()
        console.close()
        if status != 0:
            raise SystemExit(f"{name}: spacy train exited with {status}; see {console.name}")
    results = {
        name: summarize(OUTPUT / name / "evaluations.jsonl")
        for name in SIDES
        if name in running or (OUTPUT / name / "evaluations.jsonl").exists()
    }
    text = report(results)
    print("\n" + text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    args.json.with_name("summary.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
