"""Loss scaling for mixed-precision training of wrapped PyTorch models: scale
the output gradients up, unscale the parameter gradients, skip steps that overflow."""

from typing import Dict, Iterable, List, Union, cast

from ..compat import torch
from ..util import is_torch_array


class PyTorchGradScaler:
    """Keeps a scale factor per device. After each step, update() halves it
    (backoff_factor) if any gradient overflowed, and doubles it (growth_factor)
    after growth_interval overflow-free steps."""

    def __init__(
        self,
        enabled: bool = False,
        init_scale: float = 2.0**16,
        backoff_factor: float = 0.5,
        growth_factor: float = 2.0,
        growth_interval: int = 2000,
    ) -> None:
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"backoff_factor must be in (0, 1), got {backoff_factor}")
        if growth_factor <= 1.0:
            raise ValueError(f"growth_factor must be > 1, got {growth_factor}")
        if growth_interval < 1:
            raise ValueError(f"growth_interval must be >= 1, got {growth_interval}")
        self._enabled = enabled
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._found_inf = False
        self._scale = torch.full((1,), init_scale) if torch is not None else None

    @property
    def found_inf(self) -> bool:
        return self._found_inf

    @property
    def scale_factor(self) -> float:
        return float(self._scale.item()) if self._scale is not None else 1.0

    def to_(self, device: Union[str, int, "torch.device"]) -> None:
        self._scale = self._scale.to(device)

    def scale(
        self, tensors: Union["torch.Tensor", Iterable["torch.Tensor"]], inplace: bool = False
    ) -> Union["torch.Tensor", List["torch.Tensor"]]:
        """Multiply the tensors by the current scale (a no-op when disabled)."""
        if not self._enabled:
            return cast("torch.Tensor", tensors)
        if is_torch_array(tensors):
            return self._scale_one(cast("torch.Tensor", tensors), inplace)
        return [self._scale_one(tensor, inplace) for tensor in tensors]

    def _scale_one(self, tensor: "torch.Tensor", inplace: bool) -> "torch.Tensor":
        if not tensor.is_cuda:
            # As in thinc 8.3: fp16 loss scaling is a CUDA feature, and a CPU run
            # that asked for it should say so rather than train without it.
            raise ValueError(
                f"Gradient scaling (mixed precision) needs CUDA tensors, got one on "
                f"{tensor.device}: disable mixed_precision (or the grad_scaler) on the CPU"
            )
        scale = self._scale_on(tensor.device)
        return tensor.mul_(scale) if inplace else tensor * scale

    def _scale_on(self, device: "torch.device") -> "torch.Tensor":
        return self._scale.to(device) if self._scale.device != device else self._scale

    def unscale(self, tensors: Iterable["torch.Tensor"]) -> bool:
        """Divide the tensors (gradients) by the scale in place; returns and
        remembers whether any of them holds an inf or NaN."""
        if not self._enabled:
            return False
        per_device: Dict["torch.device", List["torch.Tensor"]] = {}
        for tensor in tensors:
            per_device.setdefault(tensor.device, []).append(tensor)
        for device, group in per_device.items():
            inverse = self._scale_on(device).double().reciprocal().float()
            for tensor in group:
                tensor.mul_(inverse)
                if not bool(torch.isfinite(tensor).all()):
                    self._found_inf = True
        return self._found_inf

    def update(self) -> None:
        """Adjust the scale after a step and forget the overflow flag."""
        if not self._enabled:
            return
        if self._found_inf:
            self._scale.mul_(self._backoff_factor)
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale.mul_(self._growth_factor)
                self._growth_tracker = 0
        self._found_inf = False
