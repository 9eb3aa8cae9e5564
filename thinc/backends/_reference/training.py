"""The reference optimizer steps: Adam, weight averaging and gradient clipping."""

from typing import Tuple

from ...types import Floats1d
from .._checks import _check_clip_threshold, _check_compatible_shape, _whole_number
from .arrays import ArrayOps, FloatsT


class TrainingOps(ArrayOps):
    """In-place updates of weights and their statistics."""

    def update_averages(
        self, ema: FloatsT, weights: FloatsT, t: int, max_decay: float = 0.9999
    ) -> None:
        """Move the exponential moving average ``ema`` towards ``weights`` in place,
        with a decay that warms up over the first steps."""
        decay = _average_decay(t, max_decay)
        ema -= (1 - decay) * (ema - weights)

    def adam(
        self,
        weights: Floats1d,
        gradient: Floats1d,
        mom1: Floats1d,
        mom2: Floats1d,
        beta1: float,
        beta2: float,
        eps: float,
        learn_rate: float,
        mod_rate: float = 1.0,
    ) -> Tuple[Floats1d, Floats1d, Floats1d, Floats1d]:
        """One Adam step, updating weights and both moments in place (bias
        correction is the caller's job, folded into learn_rate)."""
        _check_compatible_shape(weights, gradient)
        _check_compatible_shape(weights, mom1)
        _check_compatible_shape(weights, mom2)
        mom1 *= beta1
        mom1 += gradient * (1.0 - beta1)
        mom2 *= beta2
        mom2 += gradient * gradient * (1.0 - beta2)
        weights -= learn_rate * (mom1 / (mod_rate * self.xp.sqrt(mom2) + eps))
        return weights, gradient, mom1, mom2

    def clip_gradient(self, gradient: FloatsT, threshold: float) -> FloatsT:
        """Scale ``gradient`` in place so its L2 norm is at most ``threshold``."""
        _check_clip_threshold(threshold)
        norm = float(self.xp.sqrt((gradient.astype("float64") ** 2).sum()))
        if norm > threshold:
            gradient *= threshold / norm
        return gradient

    def logloss(self, y_true: FloatsT, y_pred: FloatsT) -> float:
        """Elementwise binary cross-entropy (an array, despite the annotation)."""
        log_yp = self.xp.log(y_pred + 1e-8)
        log_one_minus = self.xp.log((1 - y_pred) + 1e-8)
        return -(y_true * log_yp + (1 - y_true) * log_one_minus)  # type: ignore[return-value]


def _average_decay(t: int, max_decay: float) -> float:
    """update_averages' decay at step t. t counts steps, so a negative one is
    refused: t = -10 divides by zero and other negatives give decays outside [0, 1)."""
    t = _whole_number(t, "update_averages: t")
    if t < 0:
        raise ValueError(f"update_averages: t counts steps and must be >= 0, got {t}")
    return min((1.0 + t) / (10.0 + t), max_decay)
