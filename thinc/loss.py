"""Loss functions: objects that turn a model's guesses and the gold truths into the
gradient to backpropagate (``get_grad``), a scalar loss (``get_loss``), or both."""

import numbers
from typing import Any, Dict, Generic, List, Optional, Sequence, Tuple, TypeVar, Union, cast

from .config import registry
from .types import Floats2d, Ints1d, Ragged
from .util import LabelTypeError, get_array_module, to_categorical

__all__ = [
    "Loss",
    "CategoricalCrossentropy",
    "SequenceCategoricalCrossentropy",
    "L2Distance",
    "CosineDistance",
]


class UnknownLabelError(ValueError, KeyError):
    """A truth names a class that is not among the loss's names. It is also a
    KeyError because thinc 8.3 raised one, and callers may catch that."""


class LabelOutOfRangeError(ValueError, IndexError):
    """A truth is an integer outside [0, n_classes). It is also an IndexError
    because thinc 8.3 raised one (indexing its one-hot table), and callers may
    catch that."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


GuessT = TypeVar("GuessT")
TruthT = TypeVar("TruthT")
GradT = TypeVar("GradT")
LossT = TypeVar("LossT")

IntsOrFloats = Union[Ints1d, Floats2d]
IntsOrFloatsOrStrs = Union[Ints1d, Floats2d, Sequence[int], Sequence[str]]


class Loss(Generic[GuessT, TruthT, GradT, LossT]):
    """Base class of the losses. Subclasses take their settings as keyword
    arguments and implement ``get_grad`` and ``get_loss``; calling the object
    returns ``(gradient, loss)``."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def __call__(self, guesses: GuessT, truths: TruthT) -> Tuple[GradT, LossT]:
        return self.get_grad(guesses, truths), self.get_loss(guesses, truths)

    def get_grad(self, guesses: GuessT, truths: TruthT) -> GradT:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_grad")

    def get_loss(self, guesses: GuessT, truths: TruthT) -> LossT:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_loss")


class CategoricalCrossentropy(Loss):
    """Cross-entropy of a softmax output: the gradient is ``guesses - target``,
    the gradient of the cross-entropy with respect to the softmax's input.

    Truths may be class indices (a list or an int array), class names (a list
    of strings, with ``names``), or a float array of target distributions.
    Rows whose truth equals ``missing_value`` get no gradient. A name starting
    with ``neg_prefix`` says "not this class": only that class is pushed down.
    ``label_smoothing`` moves that much probability mass from the gold class to
    the others. The loss reported is the sum of the squared gradient."""

    names: Optional[Sequence[str]]
    missing_value: Optional[Union[str, int]]
    _name_to_i: Dict[str, int]

    def __init__(
        self,
        *,
        normalize: bool = True,
        names: Optional[Sequence[str]] = None,
        missing_value: Optional[Union[str, int]] = None,
        neg_prefix: Optional[str] = None,
        label_smoothing: float = 0.0,
    ):
        self.normalize = normalize
        self.names = names
        self.missing_value = missing_value
        self.neg_prefix = neg_prefix
        self.label_smoothing = label_smoothing
        self._name_to_i = {name: i for i, name in enumerate(names)} if names is not None else {}

    def convert_truths(self, truths, guesses: Floats2d) -> Tuple[Floats2d, Floats2d]:
        """The target distribution and the 0/1 mask of gradient entries to keep,
        both shaped like ``guesses``."""
        target, mask = self._convert_truths(truths, guesses)
        self._check_names_fit(guesses)
        return target, mask

    def _check_names_fit(self, guesses: Floats2d) -> None:
        """``names`` must name every column of the guesses. (A single name is let
        through: thinc 8.3 broadcast it over all columns.)"""
        if not self.names:
            return
        n_classes = guesses.shape[-1]
        if len(self.names) not in (1, n_classes):
            raise ValueError(
                f"CategoricalCrossentropy has {len(self.names)} names but the guesses have "
                f"{n_classes} columns: names must give one name per column"
            )

    def _convert_truths(self, truths, guesses: Floats2d) -> Tuple[Floats2d, Floats2d]:
        xp = get_array_module(guesses)
        n_classes = guesses.shape[-1]
        if (
            isinstance(truths, (list, tuple))
            and getattr(guesses, "ndim", 2) == 1
            and all(isinstance(value, numbers.Integral) for value in truths)
        ):
            # One guess per row rather than a distribution: the integers are the
            # targets themselves, as for an integer array shaped like the guesses.
            truths = xp.asarray(truths, dtype="int32")
        if isinstance(truths, (list, tuple)):
            labels, missing_rows, negated = self._read_label_list(truths, n_classes)
            target = to_categorical(
                xp.asarray(labels, dtype="int32"),
                n_classes=n_classes,
                label_smoothing=self.label_smoothing,
            )
            mask = xp.ones(target.shape, dtype="float32")
            mask[missing_rows] = 0.0
            for row, label in negated:
                # "Not this class": the target row is empty and only that class
                # keeps a gradient.
                target[row] = 0.0
                mask[row] = 0.0
                mask[row, label] = 1.0
            return cast(Floats2d, target), mask
        if not hasattr(truths, "ndim") or not hasattr(truths, "dtype"):
            raise TypeError(
                "CategoricalCrossentropy truths must be a list of labels or an array, "
                f"got {type(truths).__name__}"
            )
        mask = xp.ones(guesses.shape, dtype="float32")
        if truths.ndim != guesses.ndim and truths.dtype.kind not in "iu":
            if truths.dtype.kind == "b" and truths.size == 0:
                # No labels at all (8.3 let an empty boolean array through).
                truths = truths.astype("int32")
            else:
                raise LabelTypeError(
                    "CategoricalCrossentropy truths that are not shaped like the guesses "
                    f"must be integer class indices, got dtype {truths.dtype}"
                )
        if truths.ndim == guesses.ndim - 1:
            is_missing = self._missing_by_value(truths)
            if is_missing is not None:
                mask[is_missing] = 0.0
                # Missing rows keep a placeholder class (wrapped like an index) so the
                # target stays a valid distribution; the mask hides them anyway.
                labels = xp.where(is_missing, truths % max(n_classes, 1), truths)
            else:
                labels = truths
            self._check_label_range(labels, n_classes)
            target = to_categorical(
                labels, n_classes=n_classes, label_smoothing=self.label_smoothing
            )
            return cast(Floats2d, target), mask
        if truths.ndim == guesses.ndim:
            if self.label_smoothing:
                raise ValueError(
                    "label_smoothing applies to class indices or names, not to truths "
                    "given as target distributions (an array shaped like the guesses)"
                )
            if truths.ndim == 1:
                # Values, one per guess: each is compared with missing_value.
                is_missing = self._missing_by_value(truths)
            elif truths.shape[-1] > 0:
                # Distributions: a row is missing when its argmax is missing_value.
                is_missing = self._missing_by_value(xp.argmax(truths, axis=-1))
            else:
                is_missing = None
            if is_missing is not None:
                mask[is_missing] = 0.0
            return truths, mask
        raise ValueError(
            f"CategoricalCrossentropy truths of shape {tuple(truths.shape)} do not fit "
            f"guesses of shape {tuple(guesses.shape)}: expected class indices of shape "
            f"{tuple(guesses.shape[:-1])} or distributions of shape {tuple(guesses.shape)}"
        )

    def _is_missing(self, value) -> bool:
        if value is None:
            return True
        missing = self.missing_value
        if missing is None or isinstance(value, str) != isinstance(missing, str):
            return False
        return bool(value == missing)

    def _missing_by_value(self, labels):
        """Boolean array of the entries equal to an integer ``missing_value``,
        or None when no entry can be missing."""
        missing = self.missing_value
        if missing is None or isinstance(missing, (str, bool)):
            return None
        return labels == missing

    def _read_label_list(self, truths: Sequence, n_classes: int):
        """Class indices for a list of ints or names, the rows that are missing,
        and the (row, class) pairs of negated names."""
        labels = [0] * len(truths)
        missing_rows: List[int] = []
        negated: List[Tuple[int, int]] = []
        for row, value in enumerate(truths):
            if self._is_missing(value):
                missing_rows.append(row)
                if isinstance(value, numbers.Integral):
                    labels[row] = int(value) % max(n_classes, 1)
            elif isinstance(value, str):
                prefix = self.neg_prefix
                is_negated = bool(prefix) and value.startswith(prefix)  # type: ignore[arg-type]
                name = value[len(prefix) :] if is_negated else value  # type: ignore[arg-type]
                labels[row] = self._index_of_name(name)
                if is_negated:
                    negated.append((row, labels[row]))
            elif isinstance(value, numbers.Integral):
                index = int(value)
                if not 0 <= index < n_classes:
                    raise LabelOutOfRangeError(
                        f"CategoricalCrossentropy truth {index} at position {row} is not a "
                        f"class index in [0, {n_classes})"
                    )
                labels[row] = index
            else:
                raise ValueError(
                    "CategoricalCrossentropy truths in a list must be class indices (int) "
                    f"or class names (str), got {type(value).__name__} at position {row}"
                )
        return labels, missing_rows, negated

    def _index_of_name(self, name: str) -> int:
        if self.names is None:
            raise ValueError(
                "CategoricalCrossentropy got class names as truths but no names to map "
                "them to columns: create it with names=[...], one per output column"
            )
        index = self._name_to_i.get(name)
        if index is None:
            known = ", ".join(repr(n) for n in list(self.names)[:20])
            more = ", ..." if len(self.names) > 20 else ""
            raise UnknownLabelError(f"Unknown label {name!r}: not one of the names [{known}{more}]")
        return index

    @staticmethod
    def _check_label_range(labels, n_classes: int) -> None:
        if labels.size == 0:
            return
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= n_classes:
            bad = low if low < 0 else high
            raise LabelOutOfRangeError(
                f"CategoricalCrossentropy truth {bad} is not a class index in [0, {n_classes})"
            )

    def __call__(self, guesses: Floats2d, truths: IntsOrFloatsOrStrs) -> Tuple[Floats2d, float]:
        d_guesses = self.get_grad(guesses, truths)
        return d_guesses, self._get_loss_from_grad(d_guesses)

    def get_grad(self, guesses: Floats2d, truths: IntsOrFloatsOrStrs) -> Floats2d:
        target, mask = self.convert_truths(truths, guesses)
        xp = get_array_module(target)
        if guesses.shape != target.shape:
            raise ValueError(
                "CategoricalCrossentropy: truths do not match the guesses' shape: "
                f"guesses {tuple(guesses.shape)}, truths {tuple(target.shape)}"
            )
        if xp.any(guesses > 1) or xp.any(guesses < 0):
            raise ValueError(
                "CategoricalCrossentropy guesses must be probabilities in [0, 1] "
                "(the output of a softmax)"
            )
        if xp.any(target > 1) or xp.any(target < 0):
            raise ValueError("CategoricalCrossentropy truth values must lie in [0, 1]")
        difference = guesses - target
        difference *= mask
        if self.normalize:
            difference = difference / guesses.shape[0]
        return difference

    def get_loss(self, guesses: Floats2d, truths: IntsOrFloatsOrStrs) -> float:
        return self._get_loss_from_grad(self.get_grad(guesses, truths))

    def _get_loss_from_grad(self, d_truth: Floats2d) -> float:
        return (d_truth**2).sum()


@registry.losses("CategoricalCrossentropy.v1")
def configure_CategoricalCrossentropy_v1(
    *,
    normalize: bool = True,
    names: Optional[Sequence[str]] = None,
    missing_value: Optional[Union[str, int]] = None,
) -> CategoricalCrossentropy:
    return CategoricalCrossentropy(normalize=normalize, names=names, missing_value=missing_value)


@registry.losses("CategoricalCrossentropy.v2")
def configure_CategoricalCrossentropy_v2(
    *,
    normalize: bool = True,
    names: Optional[Sequence[str]] = None,
    missing_value: Optional[Union[str, int]] = None,
    neg_prefix: Optional[str] = None,
) -> CategoricalCrossentropy:
    return CategoricalCrossentropy(
        normalize=normalize, names=names, missing_value=missing_value, neg_prefix=neg_prefix
    )


@registry.losses("CategoricalCrossentropy.v3")
def configure_CategoricalCrossentropy_v3(
    *,
    normalize: bool = True,
    names: Optional[Sequence[str]] = None,
    missing_value: Optional[Union[str, int]] = None,
    neg_prefix: Optional[str] = None,
    label_smoothing: float = 0.0,
) -> CategoricalCrossentropy:
    return CategoricalCrossentropy(
        normalize=normalize,
        names=names,
        missing_value=missing_value,
        neg_prefix=neg_prefix,
        label_smoothing=label_smoothing,
    )


class SequenceCategoricalCrossentropy(Loss):
    """CategoricalCrossentropy over a batch of sequences: one guess array and one
    truth per sequence (or one Ragged of guesses, whose gradient is then a
    Ragged too). With ``normalize``, gradients are divided by the number of
    sequences; the loss is the sum of the squared gradients."""

    def __init__(
        self,
        *,
        normalize: bool = True,
        names: Optional[Sequence[str]] = None,
        missing_value: Optional[Union[str, int]] = None,
        neg_prefix: Optional[str] = None,
        label_smoothing: float = 0.0,
    ):
        self.cc = CategoricalCrossentropy(
            normalize=False,
            names=names,
            missing_value=missing_value,
            neg_prefix=neg_prefix,
            label_smoothing=label_smoothing,
        )
        self.normalize = normalize

    def __call__(
        self, guesses: Sequence[Floats2d], truths: Sequence[IntsOrFloatsOrStrs]
    ) -> Tuple[List[Floats2d], float]:
        d_guesses = self.get_grad(guesses, truths)
        return d_guesses, self._get_loss_from_grad(d_guesses)

    def get_grad(
        self, guesses: Sequence[Floats2d], truths: Sequence[IntsOrFloatsOrStrs]
    ) -> List[Floats2d]:
        if isinstance(guesses, Ragged):
            return self._get_ragged_grad(guesses, truths)
        if len(guesses) != len(truths):
            raise ValueError(
                "SequenceCategoricalCrossentropy needs one truth per sequence: got "
                f"{len(guesses)} guesses and {len(truths)} truths"
            )
        n_sequences = len(guesses)
        d_scores = []
        for sequence_guesses, sequence_truths in zip(guesses, truths):
            d_sequence = self.cc.get_grad(sequence_guesses, sequence_truths)
            if self.normalize:
                d_sequence /= n_sequences
            d_scores.append(d_sequence)
        return d_scores

    def _get_ragged_grad(self, guesses: Ragged, truths) -> Ragged:
        xp = get_array_module(guesses.data)
        lengths = [int(length) for length in guesses.lengths]
        starts = [0]
        for length in lengths:
            starts.append(starts[-1] + length)
        sequences = [guesses.data[starts[i] : starts[i + 1]] for i in range(len(lengths))]
        d_sequences = self.get_grad(sequences, truths)
        if d_sequences:
            d_data = xp.concatenate(d_sequences, axis=0)
        else:
            d_data = xp.zeros(guesses.data.shape, dtype=guesses.data.dtype)
        return Ragged(d_data, guesses.lengths)

    def get_loss(self, guesses: Sequence[Floats2d], truths: Sequence[IntsOrFloatsOrStrs]) -> float:
        return self._get_loss_from_grad(self.get_grad(guesses, truths))

    def _get_loss_from_grad(self, grads: Sequence[Floats2d]) -> float:
        if isinstance(grads, Ragged):
            return self.cc._get_loss_from_grad(grads.data)
        loss = 0.0
        for grad in grads:
            loss += self.cc._get_loss_from_grad(grad)
        return loss


@registry.losses("SequenceCategoricalCrossentropy.v1")
def configure_SequenceCategoricalCrossentropy_v1(
    *, normalize: bool = True, names: Optional[Sequence[str]] = None
) -> SequenceCategoricalCrossentropy:
    return SequenceCategoricalCrossentropy(normalize=normalize, names=names)


@registry.losses("SequenceCategoricalCrossentropy.v2")
def configure_SequenceCategoricalCrossentropy_v2(
    *,
    normalize: bool = True,
    names: Optional[Sequence[str]] = None,
    neg_prefix: Optional[str] = None,
) -> SequenceCategoricalCrossentropy:
    return SequenceCategoricalCrossentropy(normalize=normalize, names=names, neg_prefix=neg_prefix)


@registry.losses("SequenceCategoricalCrossentropy.v3")
def configure_SequenceCategoricalCrossentropy_v3(
    *,
    normalize: bool = True,
    names: Optional[Sequence[str]] = None,
    missing_value: Optional[Union[str, int]] = None,
    neg_prefix: Optional[str] = None,
    label_smoothing: float = 0.0,
) -> SequenceCategoricalCrossentropy:
    return SequenceCategoricalCrossentropy(
        normalize=normalize,
        names=names,
        missing_value=missing_value,
        neg_prefix=neg_prefix,
        label_smoothing=label_smoothing,
    )


def _check_same_shape(what: str, guesses, truths) -> None:
    guess_shape = getattr(guesses, "shape", None)
    truth_shape = getattr(truths, "shape", None)
    if guess_shape is None or truth_shape is None:
        raise TypeError(
            f"{what} needs arrays, got {type(guesses).__name__} and {type(truths).__name__}"
        )
    if guess_shape != truth_shape:
        raise ValueError(
            f"{what}: guesses and truths differ in shape: "
            f"{tuple(guess_shape)} vs {tuple(truth_shape)}"
        )


class L2Distance(Loss):
    """Squared error: the gradient is ``guesses - truths`` (divided by the batch
    size with ``normalize``); the loss is the sum of the squared gradient."""

    def __init__(self, *, normalize: bool = True):
        self.normalize = normalize

    def __call__(self, guesses: Floats2d, truths: Floats2d) -> Tuple[Floats2d, float]:
        d_guesses = self.get_grad(guesses, truths)
        return d_guesses, (d_guesses**2).sum()

    def get_grad(self, guesses: Floats2d, truths: Floats2d) -> Floats2d:
        _check_same_shape("L2Distance", guesses, truths)
        difference = guesses - truths
        if self.normalize:
            difference = difference / guesses.shape[0]
        return difference

    def get_loss(self, guesses: Floats2d, truths: Floats2d) -> float:
        d_guesses = self.get_grad(guesses, truths)
        return (d_guesses**2).sum()


@registry.losses("L2Distance.v1")
def configure_L2Distance(*, normalize: bool = True) -> L2Distance:
    return L2Distance(normalize=normalize)


class CosineDistance(Loss):
    """One minus the cosine similarity of each row of guesses with its truth row,
    summed (and divided by the batch size with ``normalize``). With
    ``ignore_zeros``, rows whose truth is all zeros count as unannotated."""

    def __init__(self, *, normalize: bool = True, ignore_zeros: bool = False):
        self.normalize = normalize
        self.ignore_zeros = ignore_zeros

    def __call__(self, guesses: Floats2d, truths: Floats2d) -> Tuple[Floats2d, float]:
        return self.get_grad(guesses, truths), self.get_loss(guesses, truths)

    @staticmethod
    def _check(guesses, truths) -> None:
        # Any number of dimensions: the cosine is taken along axis 1, as in 8.3
        # (a 1-dimensional array has no axis 1: numpy's AxisError says so).
        _check_same_shape("CosineDistance", guesses, truths)

    @staticmethod
    def _parts(guesses: Floats2d, truths: Floats2d):
        xp = get_array_module(guesses)
        # The offset keeps all-zero rows from dividing by a zero norm.
        shifted_guesses = guesses + 1e-8
        shifted_truths = truths + 1e-8
        guess_norms = xp.linalg.norm(shifted_guesses, axis=1, keepdims=True)
        truth_norms = xp.linalg.norm(shifted_truths, axis=1, keepdims=True)
        norm_products = guess_norms * truth_norms
        cosine = (shifted_guesses * shifted_truths).sum(axis=1, keepdims=True) / norm_products
        return shifted_guesses, shifted_truths, guess_norms, norm_products, cosine

    def get_similarity(self, guesses: Floats2d, truths: Floats2d) -> float:
        """The cosine similarity of each row, as a (rows, 1) array."""
        self._check(guesses, truths)
        return self._parts(guesses, truths)[-1]

    def _unannotated_rows(self, truths: Floats2d):
        xp = get_array_module(truths)
        return xp.abs(truths).sum(axis=1) == 0

    def get_grad(self, guesses: Floats2d, truths: Floats2d) -> Floats2d:
        self._check(guesses, truths)
        shifted_guesses, shifted_truths, guess_norms, norm_products, cosine = self._parts(
            guesses, truths
        )
        d_cosine = (shifted_truths / norm_products) - (cosine * (shifted_guesses / guess_norms**2))
        if self.ignore_zeros:
            d_cosine[self._unannotated_rows(truths)] = 0
        if self.normalize:
            d_cosine = d_cosine / guesses.shape[0]
        return -d_cosine

    def get_loss(self, guesses: Floats2d, truths: Floats2d) -> float:
        self._check(guesses, truths)
        xp = get_array_module(guesses)
        cosine = self._parts(guesses, truths)[-1]
        losses = xp.abs(cosine - 1)
        if self.ignore_zeros:
            losses[self._unannotated_rows(truths)] = 0
        if self.normalize:
            losses = losses / guesses.shape[0]
        return losses.sum()


@registry.losses("CosineDistance.v1")
def configure_CosineDistance(
    *, normalize: bool = True, ignore_zeros: bool = False
) -> CosineDistance:
    return CosineDistance(normalize=normalize, ignore_zeros=ignore_zeros)
