"""thinc 8.3's msgpack format for models: attr values encoded by their type, and
bytes decoded without pickle (numpy arrays are rebuilt here; object arrays refused)."""

import functools
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

import numpy
import srsly

if TYPE_CHECKING:
    from .model import Model


def _decode_numpy_map(pairs: List[Tuple[Any, Any]]) -> Any:
    """object_pairs_hook for msgpack: builds dicts, and turns msgpack-numpy
    array maps back into arrays. Object dtypes are refused, so decoding never
    unpickles anything."""
    obj = dict(pairs)
    if b"nd" in obj:
        return _decode_array(obj)
    if b"complex" in obj and b"data" in obj:
        data = obj[b"data"]
        if not isinstance(data, (bytes, str)):
            raise ValueError("Cannot decode complex number: data is not a string")
        return complex(data.decode("utf8") if isinstance(data, bytes) else data)
    return obj


def _decode_array(obj: Dict[Any, Any]) -> Any:
    try:
        descr, data, kind = obj[b"type"], obj[b"data"], obj.get(b"kind", b"")
    except KeyError as error:
        raise ValueError(f"Cannot decode array: missing field {error}") from None
    if kind == b"O":
        raise ValueError("Refusing to decode an object array: it would need unpickling")
    if kind == b"V" and isinstance(descr, list):
        descr = [
            tuple(part.decode("utf8") if isinstance(part, bytes) else part for part in field)
            for field in descr
        ]
    try:
        dtype = numpy.dtype(descr)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Cannot decode array: invalid dtype {descr!r}") from error
    if dtype.hasobject:
        raise ValueError("Refusing to decode an object array: it would need unpickling")
    if not isinstance(data, bytes):
        raise ValueError("Cannot decode array: data is not bytes")
    if obj[b"nd"] is not True:
        # A numpy scalar.
        if len(data) != dtype.itemsize:
            raise ValueError("Cannot decode numpy scalar: data has the wrong size")
        return numpy.frombuffer(data, dtype=dtype)[0]
    shape = obj.get(b"shape")
    if not isinstance(shape, (list, tuple)) or not all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in shape
    ):
        raise ValueError(f"Cannot decode array: invalid shape {shape!r}")
    expected = dtype.itemsize * int(numpy.prod(shape, dtype=numpy.int64))
    if len(data) != expected:
        raise ValueError(
            f"Cannot decode array of shape {tuple(shape)} and dtype {dtype}: "
            f"expected {expected} bytes, got {len(data)}"
        )
    return numpy.frombuffer(data, dtype=dtype).reshape(shape)


def _safe_msgpack_loads(data: bytes) -> Any:
    """srsly.msgpack_loads without its decoder hooks: numpy arrays are decoded
    here, never through pickle."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"Expected bytes to deserialize, got {type(data).__name__}")
    try:
        return srsly.msgpack.unpackb(
            bytes(data), raw=False, use_list=True, object_pairs_hook=_decode_numpy_map
        )
    except ValueError:
        raise
    except Exception as error:  # the unpacker's own errors are not all ValueErrors
        raise ValueError(f"Cannot decode msgpack data: {error}") from error


def _unpack_model_bytes(bytes_data: bytes) -> Dict:
    try:
        msg = _safe_msgpack_loads(bytes_data)
    except ValueError as error:
        raise ValueError(
            f"Cannot deserialize model: corrupt or truncated data ({error})"
        ) from error
    if not isinstance(msg, dict):
        raise ValueError(
            f"Cannot deserialize model: expected a msgpack map, got {type(msg).__name__}"
        )
    return msg


@functools.singledispatch
def serialize_attr(_: Any, value: Any, name: str, model: "Model") -> bytes:
    """Serialize an attr value to bytes. Dispatches on the type of the first
    argument, so a library can register an encoder for its own attr types."""
    return srsly.msgpack_dumps(value)


@functools.singledispatch
def deserialize_attr(_: Any, value: Any, name: str, model: "Model") -> Any:
    """Decode an attr serialized by serialize_attr. Dispatches on the type of
    the attr's current value (the first argument)."""
    return _safe_msgpack_loads(value)
