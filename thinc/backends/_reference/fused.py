"""Whole-layer steps (layer norm, maxout) that the LayerNorm and Maxout layers call
through their ops, so that a backend can run each as one fused, compiled sweep."""

from typing import Optional, Tuple

from ...types import Floats1d, Floats2d, Floats3d, Ints1d, Ints2d
from .._checks import _check_layer_norm_gradient, _check_layer_norm_inputs, _check_maxout_inputs
from .activations import ActivationOps

# Each fused op of a library backend, and the overridable ops that thinc 8.3's
# layers call in its place. A user's subclass (or an instance attribute) that
# overrides one of those must see the calls, so the fused path then steps aside.
FUSED_OP_STEPS = {
    "affine": ("gemm",),
    "_maxout_forward": ("gemm", "affine", "maxout"),
    "_maxout_piece_gradients": ("backprop_maxout",),
    "_maxout_backward": ("gemm", "backprop_maxout", "_maxout_piece_gradients"),
    "_maxout_window_forward": ("seq2col", "gemm", "affine", "maxout", "_maxout_forward"),
    "_hash_embed_forward": ("as_contig", "hash", "gather_add"),
    "_layer_norm_forward": (),
    "_layer_norm_backward": (),
}


class FusedLayerOps(ActivationOps):
    """The private whole-layer steps, written in terms of the public ops.

    LayerNorm and Maxout call these instead of the public ops one by one, so that a
    backend (NumpyOps) can run each step as one compiled pass; being private, they
    leave the public Ops API as thinc 8.3's. In thinc 8.3 the layers called gemm,
    affine, maxout and the rest directly, so a user's subclass that overrides one
    of those expects to see the calls: for such a subclass a backend's fused step
    steps aside and the version here, which makes those calls, runs instead.
    FUSED_OP_STEPS names the ops each fused step stands in for, and
    Ops.__init_subclass__ installs the guard on thinc's own backends."""

    def _layer_norm_forward(
        self, X: Floats2d, G: Floats1d, b: Floats1d, epsilon: float = 1e-08
    ) -> Tuple[Floats2d, Tuple[Floats1d, Floats1d]]:
        """Each row shifted to zero mean and scaled to unit variance, times G plus b;
        also (mean, inverse_std) per row, which _layer_norm_backward reads."""
        _check_layer_norm_inputs(X, G, b)
        if X.shape[1] == 0:
            # A row without entries has nothing to normalize; its stats are taken as 0.
            mean = self.xp.zeros((X.shape[0], 1), dtype=X.dtype)
        else:
            mean = X.mean(axis=1, keepdims=True)
        variance = self.xp.var(X, axis=1, keepdims=True) if X.shape[1] else mean
        inverse_std = (variance + epsilon) ** -0.5
        normalized = (X - mean) * inverse_std
        return normalized * G + b, (mean[:, 0], inverse_std[:, 0])

    def _layer_norm_backward(
        self, dY: Floats2d, X: Floats2d, G: Floats1d, mean: Floats1d, inverse_std: Floats1d
    ) -> Tuple[Floats2d, Floats1d, Floats1d]:
        """(dX, dG, db) for _layer_norm_forward's input X and its stats."""
        _check_layer_norm_gradient(dY, X, G, mean, inverse_std)
        normalized = (X - mean[:, None]) * inverse_std[:, None]
        dG = (dY * normalized).sum(axis=0)
        db = dY.sum(axis=0)
        d_normalized = dY * G
        if X.shape[1] == 0:
            return d_normalized, dG, db
        # Both the mean and the variance depend on every entry of the row.
        projection = (d_normalized * normalized).mean(axis=1, keepdims=True)
        centered = d_normalized - d_normalized.mean(axis=1, keepdims=True)
        return (centered - normalized * projection) * inverse_std[:, None], dG, db

    def _maxout_forward(
        self, X: Floats2d, W: Floats3d, b: Floats2d, *, keep_which: bool = True
    ) -> Tuple[Floats2d, Optional[Ints2d]]:
        """Maxout over W (nO, nP, nI) and b (nO, nP): the best of each unit's nP
        affine pieces, and (with keep_which) which piece won, for the backward."""
        _check_maxout_inputs(X, W, b)
        nO, nP, nI = W.shape
        pieces = self.affine(X, W.reshape(nO * nP, nI), b.reshape(nO * nP))
        best, which = self.maxout(pieces.reshape(X.shape[0], nO, nP))
        return best, (which if keep_which else None)

    def _hash_embed_forward(
        self, ids: Ints1d, seed: int, table: Floats2d
    ) -> Tuple[Floats2d, Ints2d]:
        """HashEmbed's forward: the four hash keys of each id (its uint64 bit
        pattern) modulo the table's rows, and the sum of those rows of the
        table; (output, rows), rows as the uint32 (n, 4) the backward reads."""
        rows = self.hash(self.as_contig(ids, dtype="uint64"), seed) % table.shape[0]
        return self.gather_add(table, rows), rows

    def _maxout_window_forward(
        self, X: Floats2d, nW: int, W: Floats3d, b: Floats2d, *, keep_which: bool = True
    ) -> Tuple[Floats2d, Optional[Ints2d]]:
        """_maxout_forward over seq2col(X, nW) (X one sequence): expand_window
        followed by Maxout, which a backend may run without the windows."""
        return self._maxout_forward(self.seq2col(X, nW), W, b, keep_which=keep_which)

    def _maxout_window_backward(
        self, d_best: Floats2d, which: Ints2d, X: Floats2d, nW: int, W: Floats3d
    ) -> Tuple[Floats2d, Floats3d, Floats2d]:
        """(dX, dW, db) for _maxout_window_forward."""
        dX_windows, dW, db = self._maxout_backward(d_best, which, self.seq2col(X, nW), W)
        return self.backprop_seq2col(dX_windows, nW), dW, db

    def _maxout_backward(
        self, d_best: Floats2d, which: Ints2d, X: Floats2d, W: Floats3d
    ) -> Tuple[Floats2d, Floats3d, Floats2d]:
        """(dX, dW, db) for _maxout_forward, given the winners it recorded."""
        nO, nP, nI = W.shape
        if d_best.shape != (X.shape[0], nO):
            raise ValueError(
                f"maxout backward: gradient shape {tuple(d_best.shape)} differs from the "
                f"output shape {(X.shape[0], nO)}"
            )
        d_flat, db = self._maxout_piece_gradients(d_best, which, nP)
        dW = self.gemm(d_flat, X, trans1=True).reshape(nO, nP, nI)
        dX = self.gemm(d_flat, W.reshape(nO * nP, nI))
        return dX, dW, db

    def _maxout_piece_gradients(
        self, d_best: Floats2d, which: Ints2d, nP: int
    ) -> Tuple[Floats2d, Floats2d]:
        """Maxout's backward up to its two gemms: the gradient of every piece,
        as (rows, nO * nP), and the bias gradient (nO, nP)."""
        d_pieces = self.backprop_maxout(d_best, which, nP)
        return d_pieces.reshape(d_pieces.shape[0], d_best.shape[1] * nP), d_pieces.sum(axis=0)
