"""Training words/sec of examples/ray_training.py with 1 and 2 Ray workers (one
thread each), their dev accuracy, and the gradient bytes moved per step.

Usage: .venv/bin/python bench/ray_training.py [--rounds 2] [--epochs 2] [--batch-words 2000]
    [--sample] [--limit N]
Runs alternate (1, 2, 1, 2, ...) so that a busy machine slows both alike; the table
shows each worker count's median run and the ratio of the medians, and is written to
bench/results/ray-<cpu>.txt. Both counts train on the same global batches, so their
dev accuracy should agree; a timing is never a test failure."""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

BENCH = Path(__file__).resolve().parent
CHECKOUT = BENCH.parent
EXAMPLE = CHECKOUT / "examples" / "ray_training.py"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown cpu"


def cpu_slug(model: str) -> str:
    words = re.sub(r"\((R|TM|tm)\)|CPU|Processor|@.*", " ", model).lower().split()
    return "-".join(words[:4]) or "unknown"


def run_once(workers: int, args: argparse.Namespace) -> Dict:
    command = [
        sys.executable,
        str(EXAMPLE),
        "--workers",
        str(workers),
        "--epochs",
        str(args.epochs),
        "--batch-words",
        str(args.batch_words),
        "--num-cpus",
        "2",
        "--quiet",
        "--no-eval",
    ]
    if args.sample:
        command.append("--sample")
    if args.limit:
        command += ["--limit", str(args.limit)]
    started = time.time()
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=args.timeout, cwd=CHECKOUT
    )
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{run.stderr[-3000:]}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["wall"] = time.time() - started
    print(
        f"  workers={workers}: {result['train_words_per_sec']:,.0f} words/s, dev accuracy "
        f"{result['dev_accuracy']:.4f}, {result['seconds_per_step'] * 1000:.0f} ms/step of which "
        f"{result['compute_seconds_per_step'] * 1000:.0f} ms computing with "
        f"{result.get('compute_cpu_share', 0):.0%} of a core each",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-words", type=int, default=2000)
    parser.add_argument("--sample", action="store_true", help="the bundled sample, not full EWT")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs: Dict[int, List[Dict]] = {1: [], 2: []}
    for round_number in range(args.rounds):
        print(f"round {round_number + 1}/{args.rounds}", flush=True)
        for workers in (1, 2):
            runs[workers].append(run_once(workers, args))
    load_after = os.getloadavg()
    median = {w: statistics.median(r["train_words_per_sec"] for r in rs) for w, rs in runs.items()}
    model = cpu_model()
    lines = [
        f"# bench/ray_training.py --rounds {args.rounds} --epochs {args.epochs} --batch-words "
        f"{args.batch_words}{' --sample' if args.sample else ''}, {time.strftime('%Y-%m-%d %H:%MZ', time.gmtime())}",
        f"# CPU: {model}, {os.cpu_count()} logical CPUs; one thread per worker; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after (other jobs shared the machine)",
        "workers  words/s (median)  runs words/s           dev accuracy  ms/step  compute ms/step  "
        "CPU share  gradient MB/worker  MB moved/step",
    ]
    for workers, results in runs.items():
        each = " ".join(f"{r['train_words_per_sec']:,.0f}" for r in results)
        middle = sorted(results, key=lambda r: r["train_words_per_sec"])[len(results) // 2]
        lines.append(
            f"{workers:>7}  {median[workers]:>16,.0f}  "
            f"{each:<21}  "
            f"{middle['dev_accuracy']:>12.4f}  {middle['seconds_per_step'] * 1000:>7.0f}  "
            f"{middle['compute_seconds_per_step'] * 1000:>15.0f}  "
            f"{middle.get('compute_cpu_share', 0):>9.0%}  "
            f"{middle['gradient_bytes_per_worker'] / 1e6:>18.2f}  {middle['bytes_per_step'] / 1e6:>13.2f}"
        )
    ratio = median[2] / median[1]
    lines.append(f"2 workers / 1 worker: {ratio:.2f}x training words/s")
    lines.append(
        "(CPU share: the CPU time a worker got while computing over the wall time; "
        "below 100% other processes held the cores)"
    )
    table = "\n".join(lines)
    print(table)
    output = args.output or BENCH / "results" / f"ray-{cpu_slug(model)}.txt"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(table + "\n")
    print(f"written to {output}")


if __name__ == "__main__":
    main()
