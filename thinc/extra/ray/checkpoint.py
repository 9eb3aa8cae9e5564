"""Checkpoints of a data-parallel run: the replicas' common state (model bytes,
optimizer moments and averages, schedule position), where the run stands
(epoch, step) and the ledger, in one msgpack file written atomically.

Arrays are stored as dtype, shape and raw bytes, and read back without pickle,
so loading a checkpoint cannot run code."""

import os
from pathlib import Path
from typing import Any, Dict, Union

import numpy
import srsly.msgpack

FORMAT = "thinc.extra.ray checkpoint"
VERSION = 1
ARRAY = "__array__"


def save_checkpoint(path: Union[str, Path], payload: Dict[str, Any]) -> Path:
    """Write `payload` to `path`; a crash mid-write leaves the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    message = {"format": FORMAT, "version": VERSION, **payload}
    temporary.write_bytes(srsly.msgpack.packb(_encode(message), use_bin_type=True))
    os.replace(temporary, path)
    return path


def load_checkpoint(path: Union[str, Path]) -> Dict[str, Any]:
    """The payload saved at `path`, checked to be one of ours."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = _decode(srsly.msgpack.unpackb(path.read_bytes(), raw=False, strict_map_key=False))
    except Exception as error:
        raise ValueError(f"{path} is not a readable checkpoint: {error}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a thinc.extra.ray checkpoint")
    if payload.get("version") != VERSION:
        raise ValueError(
            f"{path} is a version {payload.get('version')} checkpoint; this thinc reads {VERSION}"
        )
    return payload


def _encode(value: Any) -> Any:
    if isinstance(value, numpy.ndarray):
        if value.dtype.hasobject:
            raise TypeError("a checkpoint cannot hold arrays of Python objects")
        array = numpy.ascontiguousarray(value)
        return {
            ARRAY: True,
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "data": array.tobytes(),
        }
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(ARRAY) is True:
            dtype = numpy.dtype(value["dtype"])
            if dtype.hasobject:
                raise ValueError("arrays of Python objects are refused")
            return numpy.frombuffer(value["data"], dtype=dtype).reshape(value["shape"]).copy()
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value
