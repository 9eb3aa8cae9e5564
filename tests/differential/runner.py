"""Runs every case of cases.py with whichever thinc this interpreter imports, and
pickles plain outcomes (numpy arrays, builtins, exception type names) to argv[1]."""

import pickle
import resource
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy


def describe(value: Any, depth: int = 0) -> Any:
    """``value`` as builtins and numpy arrays only, so that it unpickles without
    thinc; thinc containers become (type name, fields...) tuples."""
    if depth > 6:
        return ("deep", type(value).__name__)
    kind = type(value).__name__
    if isinstance(value, numpy.ndarray):
        return ("array", value.dtype.kind, value.shape, numpy.array(value))
    if isinstance(value, numpy.generic):
        return ("scalar", value.dtype.kind, value.item())
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, (list, tuple)):
        return (kind, [describe(item, depth + 1) for item in value])
    if isinstance(value, dict):
        return ("dict", {str(key): describe(item, depth + 1) for key, item in value.items()})
    if kind == "Ragged":
        return ("Ragged", describe(value.dataXd, depth + 1), describe(value.lengths, depth + 1))
    if kind == "Padded":
        fields = (value.data, value.size_at_t, value.lengths, value.indices)
        return ("Padded",) + tuple(describe(field, depth + 1) for field in fields)
    if kind == "Model" or hasattr(value, "walk"):
        return ("Model", value.name)
    return ("object", kind)


class CaseTimeout(BaseException):
    """A case that runs for ever (8.3.14 loops on some inputs)."""


def _timed_out(signum: int, frame: Any) -> None:
    raise CaseTimeout()


def outcome(call: Any, api: Any) -> Any:
    signal.alarm(CASE_SECONDS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = call(api, numpy)
        return ("ok", describe(value))
    except CaseTimeout:
        return ("raise", "CaseTimeout", ["CaseTimeout"])
    except MemoryError:
        return ("raise", "MemoryError", ["MemoryError"])
    except RecursionError:
        # Reported as itself, never as a match for any other failure.
        return ("raise", "RecursionError", ["RecursionError"])
    except Exception as error:  # noqa: BLE001 - every failure is an outcome here
        names = [cls.__name__ for cls in type(error).__mro__]
        return ("raise", type(error).__name__, names, str(error)[:200])
    finally:
        signal.alarm(0)


CASE_SECONDS = 10
MEMORY_BYTES = 4 << 30


def main() -> None:
    # A case that allocates without bound fails alone instead of taking the machine.
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    signal.signal(signal.SIGALRM, _timed_out)
    sys.setrecursionlimit(400)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import cases

    import thinc
    import thinc.api as api

    results = {"thinc": thinc.__version__, "file": thinc.__file__, "outcomes": {}}
    for function, edge, call in cases.CASES:
        results["outcomes"][(function, edge)] = outcome(call, api)
    with open(sys.argv[1], "wb") as file:
        pickle.dump(results, file)


if __name__ == "__main__":
    main()
