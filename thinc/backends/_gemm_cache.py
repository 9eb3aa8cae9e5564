"""Where thinc.backends.cblas keeps the float32 gemm choice it timed, so that
each machine measures once (a few times where other processes were busy
during the timing): a JSON file keyed by what the timing depends on
(THINC_GEMM_CACHE names another file, or 0 turns the cache and the timing off),
and the rules for timing again."""

import contextlib
import json
import os
import platform
import time
from dataclasses import dataclass
from typing import Iterator, Optional

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; each process may time on its own
    fcntl = None  # type: ignore[assignment]

# How long a process waits for another one's timing (about a second) before
# it times on its own rather than hang behind a stuck one.
LOCK_PATIENCE = 30.0
# A timing during which other processes (or the host, as steal time) took
# more than this share of the CPUs this process may run on was busy: its
# choice is used, but later processes time again and keep each candidate's
# best of all timings. A steady load on one of two CPUs once halved the own
# kernel's two-thread rate (62 GFLOP/s against OpenBLAS's 89; 168 and 144
# quiet), and a single timing would have kept OpenBLAS for good.
BUSY_SHARE = 0.25
# A busy entry is timed again once this many seconds have passed, then four
# times as long after each further timing, MAX_TIMINGS timings in all (the
# last one stands, busy or not).
RETIME_AFTER = 60.0
MAX_TIMINGS = 5
# A later timing replaces the stored choice only when its pick is at least
# this much faster than the stored one (by each one's best of all timings):
# processes on a machine share one choice, and so the same bits (a Ray
# worker that replaces a lost one must redo its shard exactly), so a switch
# has to be worth more than timing noise; candidates within noise of each
# other (the own kernel and OpenBLAS on a Zen 3) then never flip.
RETIME_SWITCH = 1.3


def cache_path() -> Optional[str]:
    setting = os.environ.get("THINC_GEMM_CACHE", "").strip()
    if setting == "0":
        return None
    if setting:
        return setting
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "thinc", "gemm-choice.json")


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf8", errors="replace") as lines:
            for line in lines:
                if line.startswith(("model name", "Model", "CPU part")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load(path: str) -> dict:
    """The cache's entries; empty where the file is missing or not a JSON object."""
    try:
        with open(path, encoding="utf8") as file:
            cache = json.load(file)
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def store(path: str, cache: dict) -> bool:
    """Writes the cache atomically (another process may read it meanwhile)."""
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        partial = f"{path}.{os.getpid()}"
        with open(partial, "w", encoding="utf8") as file:
            json.dump(cache, file, indent=1)
        os.replace(partial, path)
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class CpuSample:
    """A moment's counters: wall clock, this process's CPU seconds (all its
    threads) and the busy CPU seconds of the CPUs it may run on (None where
    /proc/stat is missing)."""

    wall: float
    own: float
    busy: Optional[float]
    cpus: int


def _allowed_cpus() -> Optional[set]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def sample_cpu(stat_path: str = "/proc/stat") -> CpuSample:
    times = os.times()
    own = times.user + times.system
    allowed = _allowed_cpus()
    busy = 0
    cpus = 0
    try:
        with open(stat_path, encoding="ascii", errors="replace") as lines:
            for line in lines:
                fields = line.split()
                name = fields[0] if fields else ""
                if not (name.startswith("cpu") and name[3:].isdigit()):
                    continue
                if allowed is not None and int(name[3:]) not in allowed:
                    continue
                # user nice system idle iowait irq softirq steal: all but the
                # idle pair (guest time is already inside user and nice).
                counts = [int(value) for value in fields[1:9]]
                busy += sum(counts) - counts[3] - counts[4]
                cpus += 1
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return CpuSample(time.monotonic(), own, None, 0)
    if cpus == 0 or ticks <= 0:
        return CpuSample(time.monotonic(), own, None, 0)
    return CpuSample(time.monotonic(), own, busy / ticks, cpus)


def others_share(before: CpuSample, after: CpuSample) -> Optional[float]:
    """The share (0 to 1) of this process's CPUs that anything else used
    between two samples; None where it cannot be told."""
    wall = after.wall - before.wall
    if before.busy is None or after.busy is None or before.cpus != after.cpus or wall <= 0:
        return None
    others = (after.busy - before.busy) - (after.own - before.own)
    return min(1.0, max(0.0, others / (wall * after.cpus)))


def retime_due(entry: dict, now: float) -> bool:
    """Whether a stored choice should be timed again: it was timed while the
    machine was busy, fewer than MAX_TIMINGS times, and long enough ago
    (entries without these fields predate them and are timed once more)."""
    timings = entry.get("timings")
    timed_at = entry.get("timed_at")
    if not isinstance(timings, int) or not isinstance(timed_at, (int, float)):
        return True
    if entry.get("busy") is not True or timings >= MAX_TIMINGS:
        return False
    return abs(now - timed_at) >= RETIME_AFTER * 4 ** max(0, timings - 1)


def best_seconds(earlier, now: dict) -> dict:
    """{size: {candidate: seconds}}: this timing's candidates, each with its
    best of this timing and any earlier one stored (load only slows)."""
    merged = {}
    for size, seconds in now.items():
        before = earlier.get(size) if isinstance(earlier, dict) else None
        before = before if isinstance(before, dict) else {}
        merged[size] = {}
        for candidate, value in seconds.items():
            old = before.get(candidate)
            if isinstance(old, (int, float)) and 0 < old < value:
                value = float(old)
            merged[size][candidate] = value
    return merged


def kept_choice(earlier, now: str, seconds: dict) -> str:
    """The choice after timing again: the stored one unless `now`'s pick is at
    least RETIME_SWITCH times faster (by `seconds`, each candidate's best)."""
    if earlier == now or earlier not in seconds or now not in seconds:
        return now
    return now if seconds[earlier] >= RETIME_SWITCH * seconds[now] else earlier


@contextlib.contextmanager
def exclusive(path: str, patience: float = LOCK_PATIENCE) -> Iterator[bool]:
    """Holds an advisory lock beside the cache file (yields whether it got it):
    processes that start together take turns to time and read each other's
    results. Without locks, or past `patience` seconds, it goes on unlocked."""
    if fcntl is None:
        yield False
        return
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        handle = open(f"{path}.lock", "a")
    except OSError:
        yield False
        return
    with handle:
        deadline = time.monotonic() + patience
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
                break
            except OSError:
                if time.monotonic() >= deadline:
                    locked = False
                    break
                time.sleep(0.02)
        try:
            yield locked
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)
