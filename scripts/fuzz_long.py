"""The long fuzz run: many seeded kernel calls and mutated model files through the
harness of tests/fuzz (a `python -O` worker, a timeout per case), then a table
of outcomes. Failing cases are pickled for replay.

    python scripts/fuzz_long.py --kernel-calls 100000 --model-files 20000
    python scripts/fuzz_long.py --thinc-root /path/to/other/checkout   # another build
"""

import argparse
import json
import pickle
import sys
import time
from collections import Counter
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.cases import Chooser, corpus, kernel_case, model_case  # noqa: E402
from tests.fuzz.harness import FAILURES, Worker  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel-calls", type=int, default=100_000)
    parser.add_argument("--model-files", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    parser.add_argument(
        "--thinc-root",
        type=Path,
        default=None,
        help="checkout whose thinc the worker imports (default: this one)",
    )
    parser.add_argument(
        "--failures",
        type=Path,
        default=Path("fuzz_failures.pickle"),
        help="where failing cases are written (only if there are any)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    chooser = Chooser(numpy.random.default_rng(args.seed))
    outcomes: Counter = Counter()
    errors: Counter = Counter()
    details: Counter = Counter()
    failures = []
    started = time.monotonic()
    with Worker(args.timeout, args.thinc_root) as worker:

        def record(group: str, name: str, case, expected: str = "any") -> None:
            outcome = worker.run(case)
            outcomes[(group, outcome[0])] += 1
            if outcome[0] == "error":
                errors[(group, outcome[1])] += 1
            elif outcome[0] == "ok" and group == "model files":
                details[outcome[1]] += 1
            unexpected = expected != "any" and outcome[0] != expected
            if outcome[0] in FAILURES or unexpected:
                failures.append((name, case, outcome))
                print(f"FAIL {name}: {outcome}", flush=True)

        for name, case, expected in corpus():
            record("corpus", name, case, expected)
        for index in range(args.kernel_calls):
            case = kernel_case(chooser)
            record("kernel calls", f"kernel-{index}-{case[1]}", case)
            if (index + 1) % 10_000 == 0:
                print(f"  {index + 1} kernel calls, {time.monotonic() - started:.0f}s", flush=True)
        for index in range(args.model_files):
            case = model_case(chooser)
            record("model files", f"model-{index}-{case[1]}-{case[4]}", case)
            if (index + 1) % 5_000 == 0:
                print(f"  {index + 1} model files, {time.monotonic() - started:.0f}s", flush=True)
    elapsed = time.monotonic() - started

    print(
        f"\nseed {args.seed}, {elapsed:.0f}s, python -O worker, {args.timeout:g}s timeout per case"
    )
    print(f"{'group':<14}{'cases':>9}{'ok':>9}{'refused':>9}{'crash':>7}{'hang':>6}{'bad':>5}")
    figures = {}
    for group in ("corpus", "kernel calls", "model files"):
        counts = {kind: outcomes[(group, kind)] for kind in ("ok", "error", "crash", "hang", "bad")}
        figures[group] = counts
        print(
            f"{group:<14}{sum(counts.values()):>9}{counts['ok']:>9}{counts['error']:>9}"
            f"{counts['crash']:>7}{counts['hang']:>6}{counts['bad']:>5}"
        )
    print("\nrefusals by exception:")
    for (group, name), count in sorted(errors.items(), key=lambda item: -item[1]):
        print(f"  {group:<14}{name:<28}{count:>8}")
    print("\nmodel files that loaded:")
    for detail, count in details.most_common():
        print(f"  {detail:<60}{count:>8}")
    if args.json is not None:
        figures["refusals"] = {f"{group}: {name}": count for (group, name), count in errors.items()}
        figures["loaded"] = dict(details)
        figures["seconds"] = round(elapsed)
        args.json.write_text(json.dumps(figures, indent=2))
    if failures:
        with args.failures.open("wb") as file:
            pickle.dump(failures, file)
        print(f"\n{len(failures)} failures, pickled to {args.failures}")
        return 1
    print("\nno crashes, hangs or inconsistent loads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
