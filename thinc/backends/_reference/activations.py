"""The reference activations and their gradients, elementwise and along an axis,
plus maxout's choice of the best piece."""

import math
from typing import Any, Optional, Tuple, cast

import numpy

from ..._frameworks import get_array_module
from ...types import Floats2d, Floats3d, Ints2d, Xp
from .._checks import _whole_number
from .arrays import ArrayOps, ArrayT, FloatsT, FloatsXdT

SQRT2PI = math.sqrt(2.0 / math.pi)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# Coefficients of the Abramowitz & Stegun 7.1.26 rational approximation of erf
# (absolute error below 1.5e-7, i.e. exact at float32 precision).
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


class ActivationOps(ArrayOps):
    """Activation functions, softmax and maxout."""

    # ----------------------------------------------------------------- activations

    def sigmoid(self, X: FloatsXdT, *, inplace: bool = False) -> FloatsXdT:
        # exp(-softplus(-x)) never overflows, whatever the sign of x.
        result = self.xp.exp(-self.xp.logaddexp(0, -X))
        return _write(X, result, inplace)

    def dsigmoid(self, Y: FloatsXdT, *, inplace: bool = False) -> FloatsXdT:
        """Derivative of the sigmoid given its output Y."""
        return _write(Y, Y * (1 - Y), inplace)

    def dtanh(self, Y: FloatsT, *, inplace: bool = False) -> FloatsT:
        """Derivative of tanh given its output Y."""
        return _write(Y, 1 - Y**2, inplace)

    def backprop_sigmoid(self, dY: FloatsXdT, Y: FloatsXdT, *, inplace: bool = False) -> FloatsXdT:
        return _write(dY, dY * Y * (1 - Y), inplace)

    def softmax(
        self,
        x: FloatsT,
        *,
        inplace: bool = False,
        axis: int = -1,
        temperature: float = 1.0,
    ) -> FloatsT:
        """Softmax along ``axis`` of x / temperature."""
        scaled = x / temperature if temperature != 1.0 else x
        shifted = scaled - scaled.max(axis=axis, keepdims=True)
        exps = self.xp.exp(shifted)
        return _write(x, exps / exps.sum(axis=axis, keepdims=True), inplace)

    def backprop_softmax(
        self, Y: FloatsT, dY: FloatsT, *, axis: int = -1, temperature: float = 1.0
    ) -> FloatsT:
        """Gradient of softmax given its output Y and the output gradient dY."""
        dX = Y * dY
        dX -= Y * dX.sum(axis=axis, keepdims=True)
        if temperature != 1.0:
            dX /= temperature
        return dX

    def relu(self, X: Floats2d, inplace: bool = False) -> Floats2d:
        if inplace:
            return self.xp.maximum(X, 0, out=X)
        return self.xp.maximum(X, 0)

    def backprop_relu(self, dY: Floats2d, Y: Floats2d, inplace: bool = False) -> Floats2d:
        return _write(dY, dY * _slope_or_nan(self.xp, Y > 0, Y), inplace)

    def clipped_linear(
        self,
        X: FloatsXdT,
        slope: float = 1.0,
        offset: float = 0.0,
        min_val: float = 0.0,
        max_val: float = 1.0,
        inplace: bool = False,
    ) -> FloatsXdT:
        """clip(X * slope + offset, min_val, max_val)."""
        if min_val != min_val or max_val != max_val:
            # A NaN bound gives NaN everywhere. numpy before 2.0 read it as "no
            # bound", so the rule is spelled out rather than left to xp.clip.
            return _write(X, self.xp.full_like(X, float("nan")), inplace)
        result = self.xp.clip(X * slope + offset, min_val, max_val)
        return _write(X, result.astype(X.dtype, copy=False), inplace)

    def backprop_clipped_linear(
        self,
        dY: FloatsXdT,
        X: FloatsXdT,
        slope: float = 1.0,
        offset: float = 0.0,
        min_val: float = 0.0,
        max_val: float = 1.0,
        inplace: bool = False,
    ) -> FloatsXdT:
        # The gradient is zero where the output is clipped, boundaries included.
        low = (min_val - offset) / slope
        high = (max_val - offset) / slope
        if slope < 0:
            low, high = high, low
        inside = _slope_or_nan(self.xp, (X > low) & (X < high), X)
        return _write(dY, (dY * slope * inside).astype(dY.dtype, copy=False), inplace)

    def relu_k(self, X: FloatsXdT, n: float = 6.0, inplace: bool = False) -> FloatsXdT:
        """ReLU capped at n."""
        return self.clipped_linear(X, max_val=n, inplace=inplace)

    def backprop_relu_k(
        self, dY: FloatsXdT, X: FloatsXdT, n: float = 6.0, inplace: bool = False
    ) -> FloatsXdT:
        return self.backprop_clipped_linear(dY, X, max_val=n, inplace=inplace)

    def hard_sigmoid(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        return self.clipped_linear(X, slope=0.2, offset=0.5, inplace=inplace)

    def backprop_hard_sigmoid(
        self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False
    ) -> FloatsXdT:
        return self.backprop_clipped_linear(dY, X, slope=0.2, offset=0.5, inplace=inplace)

    def hard_tanh(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        return self.clipped_linear(X, min_val=-1.0, max_val=1.0, inplace=inplace)

    def backprop_hard_tanh(self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        return self.backprop_clipped_linear(dY, X, min_val=-1.0, max_val=1.0, inplace=inplace)

    def swish(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """X * sigmoid(X), the sigmoid's input clipped to [-20, 20] as in thinc 8.3
        (and the compiled kernel): swish(-1e30) is -1e30 * sigmoid(-20) = -2.06e21."""
        return _write(X, X * self.sigmoid(_clip20(self.xp, X)), inplace)

    def backprop_swish(
        self, dY: FloatsXdT, X: FloatsXdT, Y: FloatsXdT, inplace: bool = False
    ) -> FloatsXdT:
        """Gradient of swish given its input X and output Y."""
        sigmoid = self.sigmoid(_clip20(self.xp, X))
        return _write(dY, dY * (Y + sigmoid * (1 - Y)), inplace)

    def hard_swish(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """X * hard_sigmoid(X)."""
        return _write(X, X * self.hard_sigmoid(X), inplace)

    def backprop_hard_swish(self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        xp = self.xp
        grad = xp.where(X > 2.5, 1.0, xp.where(X < -2.5, 0.0, 0.4 * X + 0.5))
        return _write(dY, (dY * grad).astype(dY.dtype, copy=False), inplace)

    def hard_swish_mobilenet(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """X * relu6(X + 3) / 6, the MobileNetV3 variant."""
        result = X * self.xp.clip(X + 3.0, 0.0, 6.0) / 6.0
        return _write(X, result.astype(X.dtype, copy=False), inplace)

    def backprop_hard_swish_mobilenet(
        self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False
    ) -> FloatsXdT:
        xp = self.xp
        grad = xp.where(X > 3.0, 1.0, xp.where(X < -3.0, 0.0, (2.0 * X + 3.0) / 6.0))
        return _write(dY, (dY * grad).astype(dY.dtype, copy=False), inplace)

    def dish(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """A smooth GELU-like activation without erf: X/2 * (1 + X/sqrt(1+X^2))."""
        half = 0.5 * X  # exact; first, so that a non-array fails here (TypeError)
        _, one_plus = _dish_terms(self.xp, X)
        with numpy.errstate(invalid="ignore"):  # -inf * 0: NaN, as the kernels give
            result = half.astype("float64") * one_plus
        return _write(X, result.astype(X.dtype, copy=False), inplace)

    def backprop_dish(self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        # With r = X / sqrt(1 + X^2), the gradient is 0.5 + r - r^3 / 2, bounded
        # for any X (X^3 would overflow); as (1 + r)(1 + r - r^2) / 2, with 1 + r
        # taken without cancelling, it keeps its digits for X < 0 too.
        ratio, one_plus = _dish_terms(self.xp, X)
        grad = 0.5 * one_plus * (one_plus - ratio * ratio)
        return _write(dY, (dY * grad).astype(dY.dtype, copy=False), inplace)

    def erf(self, X: FloatsXdT) -> FloatsXdT:
        """The error function (to about 1e-7)."""
        xp = self.xp
        sign = xp.sign(X)
        magnitude = xp.abs(X)
        t = 1.0 / (1.0 + _ERF_P * magnitude)
        a1, a2, a3, a4, a5 = _ERF_A
        polynomial = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t
        result = sign * (1.0 - polynomial * xp.exp(-magnitude * magnitude))
        return result.astype(X.dtype, copy=False)

    def gelu(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """X * Phi(X), with the exact Gaussian CDF."""
        return _write(X, X * gaussian_cdf(self, X), inplace)

    def backprop_gelu(self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        grad = gaussian_cdf(self, X) + X * gaussian_pdf(self, X)
        return _write(dY, dY * grad, inplace)

    def gelu_approx(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """GELU with the tanh approximation of the Gaussian CDF."""
        inner = SQRT2PI * (X + 0.044715 * X * X * X)
        result = 0.5 * X * (1.0 + self.xp.tanh(inner))
        return _write(X, result.astype(X.dtype, copy=False), inplace)

    def backprop_gelu_approx(self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        # Beyond |X| = 10 the gradient is 0 or 1 to the last bit; clipping there
        # keeps X^3 from overflowing into inf * 0 = NaN for huge inputs.
        X = self.xp.clip(X, -10.0, 10.0)
        inner = SQRT2PI * (X + 0.044715 * X * X * X)
        tanh_inner = self.xp.tanh(inner)
        d_inner = SQRT2PI * (1.0 + 3.0 * 0.044715 * X * X)
        grad = 0.5 * (1.0 + tanh_inner) + 0.5 * X * (1.0 - tanh_inner * tanh_inner) * d_inner
        return _write(dY, (dY * grad).astype(dY.dtype, copy=False), inplace)

    def sechsq(self, X: FloatsXdT) -> FloatsXdT:
        """sech(X)^2, with X clipped to [-20, 20] so cosh cannot overflow."""
        return ((1.0 / self.xp.cosh(_clip20(self.xp, X))) ** 2).astype(X.dtype, copy=False)

    def mish(self, X: FloatsXdT, threshold: float = 20.0, inplace: bool = False) -> FloatsXdT:
        """X * tanh(softplus(X)); X itself above ``threshold``, where they agree."""
        softplus = self.xp.logaddexp(0, X)
        result = self.xp.where(X >= threshold, X, X * self.xp.tanh(softplus))
        return _write(X, result.astype(X.dtype, copy=False), inplace)

    def backprop_mish(
        self, dY: FloatsXdT, X: Floats2d, threshold: float = 20.0, inplace: bool = False
    ) -> FloatsXdT:
        xp = self.xp
        tanh_softplus = xp.tanh(xp.logaddexp(0, X))
        grad = tanh_softplus + X * (1.0 - tanh_softplus * tanh_softplus) * self.sigmoid(X)
        grad = xp.where(X >= threshold, 1.0, grad)
        return _write(dY, (dY * grad).astype(dY.dtype, copy=False), inplace)

    # ------------------------------------------------------------------- maxout

    def maxout(self, X: Floats3d) -> Tuple[Floats2d, Ints2d]:
        """The maximum over the last axis (pieces) and which piece won, as int32.
        Ties go to the first piece; a NaN piece is the maximum (the first NaN wins),
        as numpy's argmax has it."""
        if X.ndim != 3:
            raise ValueError(f"maxout needs a 3d array (batch, nO, nP), got shape {X.shape}")
        which = X.argmax(axis=-1).astype("int32")
        best = self.xp.take_along_axis(X, which[..., None].astype("int64"), axis=-1)[..., 0]
        return best, which

    def backprop_maxout(self, dY: Floats2d, which: Ints2d, P: int) -> Floats3d:
        """Route each gradient to the piece that won."""
        P = _whole_number(P, "backprop_maxout: P")
        if dY.shape != which.shape:
            raise ValueError(
                f"backprop_maxout needs dY and which of one shape, got {dY.shape} and {which.shape}"
            )
        if which.size and (int(which.max()) >= P or int(which.min()) < 0):
            raise IndexError(
                f"backprop_maxout: piece index out of range [0, {P}): "
                f"min {int(which.min())}, max {int(which.max())}"
            )
        one_hot = which[..., None] == self.xp.arange(P)
        return (one_hot * dY[..., None]).astype(dY.dtype, copy=False)


def _write(target: Any, result: Any, inplace: bool) -> Any:
    """Return result, or copy it into ``target`` and return target when inplace."""
    if inplace:
        target[...] = result
        return target
    return result


def _clip20(xp: Xp, X: Any) -> Any:
    """X clipped to [-20, 20] in its own dtype (NaN stays NaN)."""
    return xp.clip(X, -20.0, 20.0).astype(X.dtype, copy=False)


def _dish_terms(xp: Xp, X: Any) -> Tuple[Any, Any]:
    """r = X / sqrt(1 + X^2) and 1 + r, in float64, from one hypot: thinc 8.3's
    X * X overflows for |X| > 1.8e19 in float32 (dish(1e30) came out 5e29), the
    compiled kernels' does not; r is +-1 at +-inf. For X < 0, 1 + r cancels
    (1 - 0.99995 at X = -100): there it is 1 / (s (s - X)), as s^2 - X^2 = 1."""
    X = X.astype("float64")
    with numpy.errstate(invalid="ignore", divide="ignore", over="ignore"):
        root = xp.hypot(1.0, X)
        ratio = xp.where(xp.isinf(X), xp.sign(X), X / root)
        one_plus = xp.where(X < 0, 1.0 / root / (root - X), 1.0 + ratio)
    return ratio, one_plus


def _slope_or_nan(xp: Xp, inside: Any, saved: Any) -> Any:
    """A 0/1 slope mask, NaN where the saved array is NaN (a compare alone says 0)."""
    return xp.where(xp.isnan(saved), saved, inside)


def gaussian_cdf(ops: ActivationOps, X: FloatsXdT) -> FloatsXdT:
    """Phi(X), the standard normal CDF."""
    return 0.5 * (1.0 + ops.erf(INV_SQRT2 * X))


def gaussian_pdf(ops: ActivationOps, X: FloatsXdT) -> FloatsXdT:
    """phi(X), the standard normal density."""
    return INV_SQRT_2PI * ops.xp.exp(-0.5 * X * X)


def sigmoid(X: Any, out: Optional[Any] = None) -> Any:
    xp = get_array_module(X)
    result = xp.exp(-xp.logaddexp(0, -X))
    if out is not None:
        out[...] = result
        return out
    return result


def dsigmoid(Y: ArrayT) -> ArrayT:
    return cast(Any, Y) * (1 - cast(Any, Y))


def dtanh(Y: ArrayT) -> ArrayT:
    return 1 - cast(Any, Y) ** 2
