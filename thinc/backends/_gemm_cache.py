"""Where thinc.backends.cblas keeps the float32 gemm choice it timed, so that
each machine measures once: a JSON file keyed by what the timing depends on
(THINC_GEMM_CACHE names another file, or 0 turns the cache and the timing off)."""

import json
import os
import platform
from typing import Optional


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
