"""ThincClassifier and ThincRegressor: the shared estimator, told how labels
become the model's targets and how its outputs become predictions."""

from typing import Any, Dict, Optional, Sequence, Tuple

import numpy
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ...api import CategoricalCrossentropy, L2Distance
from ._base import _ThincEstimator, mlp_classifier, mlp_regressor


class ThincClassifier(ClassifierMixin, _ThincEstimator):
    """A scikit-learn classifier that trains a thinc model with categorical cross-entropy.

    `model` is a function (or a `registry.layers` name) returning a Model whose output is one
    row of class probabilities per sample (Softmax); it gets `nO` (the number of classes) and
    `nI` (the number of features) when its signature names them, and `model__*` parameters.
    By default X must be a 2D numeric array (`input_type="floats2d"`); `input_type="any"`
    passes X unchanged to a model that takes other input, such as a list of texts.

    The other parameters: `optimizer` (a function or `registry.optimizers` name, given
    `learn_rate` and the `optimizer__*` parameters), `max_iter` epochs at most, `batch_size`,
    `shuffle`; training stops once the training loss (or with `early_stopping`, the accuracy on
    a held-out `validation_fraction`) has not improved by `tol` for `n_iter_no_change` epochs;
    `verbose` prints each epoch; `random_state` makes a fit repeatable. After fitting:
    `classes_`, `n_iter_`, `loss_curve_` (mean NLL per epoch), `validation_scores_` and
    `best_validation_score_` (with early stopping), `n_features_in_`, `model_`.

    Bad input raises as sklearn's own estimators do: `NotFittedError` before `fit`; ValueError
    for NaN or infinite X, a wrong number of features or samples, continuous y, and labels
    outside `classes_` in `partial_fit` (`score` counts such labels wrong, as accuracy does)."""

    _default_model = staticmethod(mlp_classifier)

    def fit(self, X: Any, y: Any) -> "ThincClassifier":
        """Train a new model for up to max_iter epochs over (X, y)."""
        return self._fit(X, y)

    def partial_fit(self, X: Any, y: Any, classes: Optional[Sequence] = None) -> "ThincClassifier":
        """One epoch over (X, y). The first call needs `classes`, every label there will be."""
        return self._partial_fit(X, y, classes=classes)

    def _validate_y(self, y: numpy.ndarray) -> numpy.ndarray:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return y

    def _learn_targets(
        self, y: numpy.ndarray, partial: bool = False, classes: Optional[Sequence] = None
    ) -> Tuple[numpy.ndarray, int]:
        if classes is not None:
            self.classes_ = numpy.unique(numpy.asarray(classes))
        elif partial:
            # One batch need not show every label, so partial_fit cannot guess them.
            raise ValueError("classes must be passed on the first call to partial_fit.")
        else:
            self.classes_ = numpy.unique(y)
        return self._targets(y), len(self.classes_)

    def _targets(self, y: numpy.ndarray, classes: Optional[Sequence] = None) -> numpy.ndarray:
        if classes is not None and not numpy.array_equal(
            numpy.unique(numpy.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={list(classes)!r} differs from the classes of the first partial_fit call, "
                f"{list(self.classes_)!r}"
            )
        codes = numpy.searchsorted(self.classes_, y)
        codes = numpy.clip(codes, 0, len(self.classes_) - 1)
        unseen = self.classes_[codes] != y
        if unseen.any():
            raise ValueError(
                f"y contains labels the classifier was not given: {sorted(set(y[unseen].tolist()))!r}; "
                f"its classes are {self.classes_.tolist()!r}"
            )
        return numpy.eye(len(self.classes_), dtype=numpy.float32)[codes]

    # Stateless, so one instance serves every estimator.
    _loss = CategoricalCrossentropy(normalize=True)

    def _loss_sum(self, probabilities: numpy.ndarray, one_hot: numpy.ndarray) -> float:
        """Summed negative log-likelihood of the true classes: the reported training loss."""
        true = (probabilities * one_hot).sum(axis=1)
        return float(-numpy.log(numpy.maximum(true, 1e-12)).sum())

    def _score_predictions(self, y: numpy.ndarray, raw: numpy.ndarray) -> float:
        return float(accuracy_score(y, self.classes_[raw.argmax(axis=1)]))

    def predict_proba(self, X: Any) -> numpy.ndarray:
        """Class probabilities, one row per sample, columns in the order of `classes_`."""
        probabilities = self._checked_predict_raw(X)
        # float32 softmax rows sum to 1 only within rounding; sklearn expects float64 sums.
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> numpy.ndarray:
        with numpy.errstate(divide="ignore"):
            return numpy.log(self.predict_proba(X))

    def predict(self, X: Any) -> numpy.ndarray:
        """The most probable class of each sample."""
        raw = self._checked_predict_raw(X)
        return self.classes_[raw.argmax(axis=1)]

    def _fitted_state(self) -> Dict[str, Any]:
        state = super()._fitted_state()
        state["classes"] = self.classes_.tolist()
        state["classes_dtype"] = (
            self.classes_.dtype.str if self.classes_.dtype != object else "object"
        )
        return state

    def _restore_fitted_state(self, state: Dict[str, Any]) -> None:
        super()._restore_fitted_state(state)
        dtype = (
            object if state["classes_dtype"] == "object" else numpy.dtype(state["classes_dtype"])
        )
        self.classes_ = numpy.asarray(state["classes"], dtype=dtype)


class ThincRegressor(RegressorMixin, _ThincEstimator):
    """A scikit-learn regressor that trains a thinc model on the squared error.

    Like `ThincClassifier`, but the model outputs one column per target (Linear), `nO` is the
    number of targets, and y may have several columns. Targets are standardised for training
    (mean 0, standard deviation 1) and predictions mapped back, so the default learning rate
    suits targets of any scale. Early stopping scores R² on the held-out part; `loss_curve_` is
    the mean squared error in standardised units."""

    _default_model = staticmethod(mlp_regressor)

    def fit(self, X: Any, y: Any) -> "ThincRegressor":
        """Train a new model for up to max_iter epochs over (X, y)."""
        return self._fit(X, y)

    def partial_fit(self, X: Any, y: Any) -> "ThincRegressor":
        """One epoch over (X, y); the first call fixes the target scaling."""
        return self._partial_fit(X, y)

    def _y_check_params(self) -> Dict[str, Any]:
        return {"multi_output": True, "y_numeric": True}

    def _validate_y(self, y: numpy.ndarray) -> numpy.ndarray:
        y = numpy.asarray(y)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(numpy.float64)
            except (TypeError, ValueError) as error:
                raise ValueError(f"y must be numeric: {error}") from None
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1D or 2D, not {y.ndim}D")
        if not numpy.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity.")
        return y

    def _learn_targets(self, y: numpy.ndarray, partial: bool = False) -> Tuple[numpy.ndarray, int]:
        columns = y.reshape(len(y), -1).astype(numpy.float64)
        self._single_output_ = y.ndim == 1
        self.y_mean_ = columns.mean(axis=0)
        scale = columns.std(axis=0)
        self.y_scale_ = numpy.where(scale > 0, scale, 1.0)
        return self._targets(y), columns.shape[1]

    def _targets(self, y: numpy.ndarray) -> numpy.ndarray:
        columns = y.reshape(len(y), -1).astype(numpy.float64)
        if columns.shape[1] != len(self.y_mean_):
            raise ValueError(
                f"y has {columns.shape[1]} targets, but the regressor was fitted on {len(self.y_mean_)}"
            )
        return ((columns - self.y_mean_) / self.y_scale_).astype(numpy.float32)

    # Stateless, so one instance serves every estimator.
    _loss = L2Distance(normalize=True)

    def _loss_sum(self, guesses: numpy.ndarray, truths: numpy.ndarray) -> float:
        """Summed mean squared error over the targets (in standardised units)."""
        return float(((guesses - truths) ** 2).mean(axis=1).sum())

    def _unscale(self, raw: numpy.ndarray) -> numpy.ndarray:
        values = raw * self.y_scale_ + self.y_mean_
        return values[:, 0] if self._single_output_ else values

    def _score_predictions(self, y: numpy.ndarray, raw: numpy.ndarray) -> float:
        return float(r2_score(y, self._unscale(raw)))

    def predict(self, X: Any) -> numpy.ndarray:
        """Predicted targets: shape (n_samples,) if fitted on 1D y, else (n_samples, n_targets)."""
        return self._unscale(self._checked_predict_raw(X))

    def _fitted_state(self) -> Dict[str, Any]:
        state = super()._fitted_state()
        state.update(
            y_mean=self.y_mean_.tolist(),
            y_scale=self.y_scale_.tolist(),
            single_output=bool(self._single_output_),
        )
        return state

    def _restore_fitted_state(self, state: Dict[str, Any]) -> None:
        super()._restore_fitted_state(state)
        self.y_mean_ = numpy.asarray(state["y_mean"], dtype=numpy.float64)
        self.y_scale_ = numpy.asarray(state["y_scale"], dtype=numpy.float64)
        self._single_output_ = state["single_output"]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
