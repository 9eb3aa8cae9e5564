"""The reference Ops backend: every array operation thinc's layers use, written as
plain array code through ``self.xp`` so that it is correct for numpy and cupy alike.

The ops themselves live in thinc.backends._reference, one mixin per op family; Ops
combines them and adds what concerns the backend as a whole."""

from typing import Any, Optional

import numpy

from ..types import DeviceTypes, Xp

# The input checks, which NumpyOps, CupyOps' kernels and thinc 8.3 code import
# from this module.
from ._checks import (  # noqa: F401
    MAX_GRADIENT_ROWS,
    MAX_WINDOW,
    LengthsMismatchError,
    LengthsTypeError,
    _check_clip_threshold,
    _check_compatible_shape,
    _check_index_range,
    _check_layer_norm_gradient,
    _check_layer_norm_inputs,
    _check_lengths_total,
    _check_maxout_inputs,
    _check_same_shape,
    _check_window,
    _lengths_to_list,
    _shape_of,
    _whole_number,
)
from ._reference.activations import (  # noqa: F401  (thinc 8.3's module-level names)
    INV_SQRT2,
    INV_SQRT_2PI,
    SQRT2PI,
    ActivationOps,
    dsigmoid,
    dtanh,
    gaussian_cdf,
    gaussian_pdf,
    sigmoid,
)
from ._reference.arrays import ArrayOps, ArrayT, FloatsT, FloatsXdT  # noqa: F401
from ._reference.batching import BatchingOps
from ._reference.fused import FUSED_OP_STEPS, FusedLayerOps
from ._reference.recurrent import RecurrentOps, _split_weights  # noqa: F401
from ._reference.sequences import SequenceOps
from ._reference.tables import TableOps
from ._reference.training import TrainingOps, _average_decay  # noqa: F401


def _guard_fused(owner: type, name: str, fused: Any) -> Any:
    """``fused`` (owner's compiled version of op ``name``), running only while the
    ops it replaces are still owner's; otherwise Ops' reference version, which
    calls them."""
    reference = getattr(Ops, name)
    own_steps = tuple((step, getattr(owner, step)) for step in FUSED_OP_STEPS[name])

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Looked up on every call (no cache): tests patch classes and instances.
        # A plain loop: this runs for every layer call, and a generator under
        # all() cost as much as a small layer's kernel.
        kind = type(self)
        instance_attrs = getattr(self, "__dict__", None) or {}
        for step, own in own_steps:
            if getattr(kind, step) is not own or step in instance_attrs:
                return reference(self, *args, **kwargs)
        return fused(self, *args, **kwargs)

    run.__name__ = name
    run.__qualname__ = f"{owner.__name__}.{name}"
    run.__doc__ = fused.__doc__
    run.__wrapped__ = fused  # type: ignore[attr-defined]
    return run


class Ops(
    BatchingOps,
    SequenceOps,
    FusedLayerOps,
    RecurrentOps,
    ActivationOps,
    TableOps,
    TrainingOps,
    ArrayOps,
):
    """Reference backend. Subclasses override methods only to run them faster."""

    name: str = "base"
    xp: Xp = numpy

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Only thinc's own backends are guarded: a user's override of a fused op
        # is the user's decision and runs as written.
        if not cls.__module__.startswith("thinc."):
            return
        for name in FUSED_OP_STEPS:
            if name in cls.__dict__:
                setattr(cls, name, _guard_fused(cls, name, cls.__dict__[name]))

    def __init__(
        self, device_type: DeviceTypes = "cpu", device_id: int = -1, **kwargs: Any
    ) -> None:
        self.device_type = device_type
        self.device_id = device_id

    # What gemm runs on; NumpyOps names its BLAS per dtype.
    blas_backend: str = "the array module's matmul (xp.dot)"

    @staticmethod
    def paths() -> dict:
        """Which implementation each op family runs: here, plain array code
        through ``xp`` for all of them (NumpyOps reports its compiled kernels)."""
        return {
            "isa": {"cpu": None, "active": None},
            "kernels": {"all": "plain array code (thinc.backends.ops.Ops)"},
            "gemm": {"all": "the array module's matmul (xp.dot)", "forced": None},
            "threads": 1,
        }

    def cblas(self) -> Any:
        """C BLAS function pointers, for compiled code that multiplies matrices."""
        raise NotImplementedError(f"{type(self).__name__} does not provide C BLAS functions")

    def to_numpy(self, data: Any, *, byte_order: Optional[str] = None) -> numpy.ndarray:
        """A numpy copy (or the array itself) of ``data``, optionally converted to
        a byte order ("<", ">", "=")."""
        if not isinstance(data, numpy.ndarray):
            raise ValueError(
                f"Cannot convert {type(data).__name__} to numpy with the base Ops class"
            )
        if byte_order:
            data = data.astype(data.dtype.newbyteorder(byte_order))
        return data
