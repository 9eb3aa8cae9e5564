"""Runs fuzz cases in a `python -O` worker process, one timeout per case, so a
segfault or an endless loop becomes a recorded outcome instead of ending the run.

A case is a picklable tuple (see cases.py); the worker answers each with
("ok", detail), ("error", exception name) or ("bad", what went wrong quietly).
The parent adds "crash" (the worker died) and "hang" (no answer in time) and
starts a fresh worker after either."""

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TIMEOUT = 10.0
# Refused allocations become MemoryError instead of taking the machine's memory.
WORKER_MEMORY_BYTES = 1 << 30

WORKER_SOURCE = """
import importlib.util, pickle, resource, struct, sys
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
# thinc may come from another checkout (to fuzz an older build), so the cases
# module is loaded from its file rather than through that checkout's tests package.
sys.path.insert(0, {thinc_root!r})
spec = importlib.util.spec_from_file_location("fuzz_cases", {cases!r})
cases = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cases)
run_case = cases.run_case
# Imports happen before the first case, so its timeout measures only the case.
cases.warm_up()
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
stdout.write(b"R")
stdout.flush()
while True:
    header = stdin.read(4)
    if len(header) < 4:
        break
    case = pickle.loads(stdin.read(struct.unpack("<I", header)[0]))
    try:
        outcome = run_case(case)
    except Exception as error:
        outcome = ("error", type(error).__name__)
    reply = pickle.dumps(outcome)
    stdout.write(struct.pack("<I", len(reply)) + reply)
    stdout.flush()
"""


class Worker:
    """One `python -O` process that runs cases until it dies or hangs."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, thinc_root: Optional[Path] = None) -> None:
        self.timeout = timeout
        self.thinc_root = Path(thinc_root) if thinc_root is not None else REPO_ROOT
        self.process: Optional[subprocess.Popen] = None

    def _start(self) -> None:
        source = WORKER_SOURCE.format(
            memory=WORKER_MEMORY_BYTES,
            thinc_root=str(self.thinc_root),
            cases=str(Path(__file__).with_name("cases.py")),
        )
        # Two threads, so the kernels split their work as they do in use.
        env = dict(os.environ, THINC_NUM_THREADS="2", PYTHONDONTWRITEBYTECODE="1")
        self.process = subprocess.Popen(
            [sys.executable, "-O", "-c", source],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=str(REPO_ROOT),
            env=env,
        )
        if self._read(1, 120.0) != b"R":
            raise RuntimeError("the fuzz worker did not start")

    def _read(self, size: int, timeout: float) -> Optional[bytes]:
        assert self.process is not None and self.process.stdout is not None
        data = b""
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while len(data) < size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, size - len(data))
            if not chunk:
                return b""
            data += chunk
        return data

    def _stop(self) -> Optional[int]:
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
        code = process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        return code

    def run(self, case: Any) -> Tuple[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self._start()
        assert self.process is not None and self.process.stdin is not None
        payload = pickle.dumps(case)
        try:
            self.process.stdin.write(struct.pack("<I", len(payload)) + payload)
            self.process.stdin.flush()
        except BrokenPipeError:
            return ("crash", self._stop())
        header = self._read(4, self.timeout)
        if header is None:
            self._stop()
            return ("hang", self.timeout)
        if len(header) < 4:
            code = self._stop()
            return ("crash", _describe_exit(code))
        body = self._read(struct.unpack("<I", header)[0], self.timeout)
        if not body:
            return ("crash", _describe_exit(self._stop()))
        return pickle.loads(body)

    def close(self) -> None:
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()
        self._stop()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def _describe_exit(code: Optional[int]) -> str:
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


FAILURES = ("crash", "hang", "bad")


class Tally:
    """Outcome counts of a run, and the cases that failed."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.errors: Counter = Counter()
        self.failures: List[Tuple[str, Any, Tuple[str, Any]]] = []

    def add(self, name: str, case: Any, outcome: Tuple[str, Any]) -> None:
        kind = outcome[0]
        self.counts[kind] += 1
        if kind == "error":
            self.errors[outcome[1]] += 1
        if kind in FAILURES:
            self.failures.append((name, case, outcome))

    def summary(self) -> Dict[str, Any]:
        return {
            "cases": sum(self.counts.values()),
            "outcomes": dict(self.counts),
            "errors": dict(self.errors.most_common()),
            "failures": [(name, outcome) for name, _, outcome in self.failures],
        }


def run_all(
    named_cases: Iterable[Tuple[str, Any]],
    timeout: float = DEFAULT_TIMEOUT,
    thinc_root: Optional[Path] = None,
) -> Tally:
    tally = Tally()
    with Worker(timeout, thinc_root) as worker:
        for name, case in named_cases:
            tally.add(name, case, worker.run(case))
    return tally
