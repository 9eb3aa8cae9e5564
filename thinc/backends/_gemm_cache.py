"""Where thinc.backends.cblas keeps the float32 gemm choice it timed, so that
each machine measures once: a JSON file keyed by what the timing depends on
(THINC_GEMM_CACHE names another file, or 0 turns the cache and the timing off)."""

import contextlib
import json
import os
import platform
import time
from typing import Iterator, Optional

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; each process may time on its own
    fcntl = None  # type: ignore[assignment]

# How long a process waits for another one's timing (about a second) before
# it times on its own rather than hang behind a stuck one.
LOCK_PATIENCE = 30.0


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
