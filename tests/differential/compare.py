"""Compares the runner's outcomes from two thincs: equal values, or the same
failure (ours may raise a subclass of thinc 8.3.14's exception type)."""

from typing import Any, Optional

import numpy

RTOL = 1e-4
ATOL = 1e-5


def difference(ours: Any, theirs: Any, path: str = "") -> Optional[str]:
    """None when the two described values agree, else where and how they differ."""
    if isinstance(theirs, tuple) and theirs[:1] == ("array",):
        if not (isinstance(ours, tuple) and ours[:1] == ("array",)):
            return f"{path}: expected an array, got {_short(ours)}"
        _, kind, shape, values = theirs
        _, our_kind, our_shape, our_values = ours
        if tuple(shape) != tuple(our_shape):
            return f"{path}: shape {our_shape} != {shape}"
        if (kind in "fc") != (our_kind in "fc"):
            return f"{path}: dtype kind {our_kind} != {kind}"
        if kind in "fciub" and values.size:
            if not numpy.allclose(
                our_values.astype("f8"), values.astype("f8"), rtol=RTOL, atol=ATOL, equal_nan=True
            ):
                return f"{path}: values differ"
        elif kind not in "fciub" and not numpy.array_equal(our_values, values):
            return f"{path}: values differ"
        return None
    if isinstance(theirs, (tuple, list)) and type(ours) is type(theirs):
        if len(theirs) != len(ours):
            return f"{path}: {len(ours)} items != {len(theirs)}: {_short(ours)} != {_short(theirs)}"
        for position, (mine, other) in enumerate(zip(ours, theirs)):
            found = difference(mine, other, f"{path}[{position}]")
            if found:
                return found
        return None
    if isinstance(theirs, dict) and isinstance(ours, dict):
        if sorted(theirs) != sorted(ours):
            return f"{path}: keys {sorted(ours)} != {sorted(theirs)}"
        for key in theirs:
            found = difference(ours[key], theirs[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(theirs, float) and isinstance(ours, (int, float)):
        return (
            None
            if numpy.isclose(ours, theirs, rtol=RTOL, atol=ATOL, equal_nan=True)
            else (f"{path}: {ours} != {theirs}")
        )
    if ours != theirs:
        return f"{path}: {_short(ours)} != {_short(theirs)}"
    return None


def outcome_difference(ours: Any, theirs: Any) -> Optional[str]:
    if theirs[0] == "raise":
        if ours[0] != "raise":
            return f"8.3.14 raises {theirs[1]}, ours returns {_short(ours[1])}"
        if theirs[1] not in ours[2]:
            return f"8.3.14 raises {theirs[1]}, ours raises {ours[1]}: {ours[3] if len(ours) > 3 else ''}"
        return None
    if ours[0] == "raise":
        detail = ours[3] if len(ours) > 3 else ""
        return f"8.3.14 returns {_short(theirs[1])}, ours raises {ours[1]}: {detail}"
    return difference(ours[1], theirs[1])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 160 else text[:157] + "..."
