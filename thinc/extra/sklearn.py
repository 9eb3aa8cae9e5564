"""scikit-learn estimators around thinc models, and spaCy pipelines as sklearn transformers.

It lives in `thinc.extra`, beside the beam search, because it is an adapter outside the
Model -> layer -> Ops -> kernel path: nothing in `thinc.api` imports it, so scikit-learn stays
an optional extra (`pip install "thinc[sklearn]"`), needed only when this module is imported.

- `ThincClassifier` and `ThincRegressor` train a model built by any factory (a function, or a
  name in `registry.layers`) with `fit`/`partial_fit` and answer `predict`, `predict_proba`,
  `score`. Arguments for the factory and the optimizer are estimator parameters with the
  prefixes `model__` and `optimizer__`, so `GridSearchCV` can search them.
- `SpacyVectorizer` turns texts into one row of features per text: spaCy's doc vectors or
  the pooled output of the pipeline's tok2vec.

A fitted estimator saves itself in thinc's own format (`to_bytes`, `to_disk`): a msgpack
message holding the hyperparameters, the label set and `Model.to_bytes()`. Pickling (which
`joblib` and sklearn's tooling use) goes through the same bytes, so it round-trips exactly.
The optimizer's running averages are not saved: training resumed after loading starts them
afresh.
"""

import inspect
import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy
import srsly

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
    from sklearn.exceptions import NotFittedError
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import (
        _num_samples,
        check_consistent_length,
        check_is_fitted,
        column_or_1d,
        validate_data,
    )
except ImportError as error:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError(
        "thinc.extra.sklearn needs scikit-learn 1.6 or newer: "
        'pip install "thinc[sklearn]" (or pip install scikit-learn)'
    ) from error

from ..api import (
    CategoricalCrossentropy,
    L2Distance,
    Linear,
    Model,
    Relu,
    Softmax,
    chain,
    registry,
)

__all__ = [
    "ThincClassifier",
    "ThincRegressor",
    "SpacyVectorizer",
    "mlp_classifier",
    "mlp_regressor",
    "NotFittedError",
]

FORMAT = "thinc.extra.sklearn/1"
FACTORY_PREFIXES = ("model__", "optimizer__")
INPUT_TYPES = ("floats2d", "any")
# Prediction batches are larger than training ones: only memory bounds them.
PREDICT_BATCH_SIZE = 1024


def _mlp(output: Model, width: int, depth: int, dropout: float, nI: Optional[int]) -> Model:
    hidden = [
        Relu(nO=width, nI=nI if index == 0 else width, dropout=dropout) for index in range(depth)
    ]
    return chain(*hidden, output) if hidden else output


def mlp_classifier(
    *,
    width: int = 64,
    depth: int = 1,
    dropout: float = 0.0,
    nO: Optional[int] = None,
    nI: Optional[int] = None,
) -> Model:
    """`ThincClassifier`'s default model: `depth` Relu layers of `width`, then Softmax."""
    return _mlp(Softmax(nO=nO, nI=width if depth else nI), width, depth, dropout, nI)


def mlp_regressor(
    *,
    width: int = 64,
    depth: int = 1,
    dropout: float = 0.0,
    nO: Optional[int] = None,
    nI: Optional[int] = None,
) -> Model:
    """`ThincRegressor`'s default model: `depth` Relu layers of `width`, then Linear."""
    return _mlp(Linear(nO=nO, nI=width if depth else nI), width, depth, dropout, nI)


@contextmanager
def _seeded_global_rng(seed: Optional[int]) -> Iterator[None]:
    """thinc's initializers and dropout draw from numpy's global generator: seed it for the
    duration of a fit and give the caller its own state back afterwards."""
    if seed is None:
        yield
        return
    saved = numpy.random.get_state()
    numpy.random.seed(seed)
    try:
        yield
    finally:
        numpy.random.set_state(saved)


def _take(X: Any, indices: numpy.ndarray) -> Any:
    if isinstance(X, numpy.ndarray):
        return X[indices]
    return [X[int(index)] for index in indices]


def _accepted_arguments(factory: Callable) -> Tuple[set, bool]:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # builtins and some C callables have no signature
        return set(), False
    names = {parameter.name for parameter in parameters}
    takes_any = any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters)
    return names, takes_any


def _portable(value: Any) -> bool:
    """Whether a parameter value can go into the saved message (and come back equal)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_portable(item) for item in value)
    return False


class _ThincEstimator(BaseEstimator):
    """What the classifier and the regressor share: parameters, the training loop, batching,
    validation of X, saving and pickling. Subclasses say how labels become model targets."""

    _default_model: Callable = mlp_classifier

    def __init__(
        self,
        model: Union[Callable[..., Model], str, None] = None,
        *,
        optimizer: Union[Callable, str] = "Adam.v1",
        learn_rate: float = 0.001,
        max_iter: int = 100,
        batch_size: int = 32,
        shuffle: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        input_type: str = "floats2d",
        verbose: int = 0,
        random_state: Any = None,
        **factory_params: Any,
    ):
        self.model = model
        self.optimizer = optimizer
        self.learn_rate = learn_rate
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.input_type = input_type
        self.verbose = verbose
        self.random_state = random_state
        # Private, so that sklearn's checks do not count it as an attribute set in __init__;
        # get_params() reports its entries one by one. Names are checked in fit, as sklearn
        # asks: __init__ and set_params take anything.
        self._factory_params = dict(factory_params)

    # -- parameters -------------------------------------------------------------------

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        params = super().get_params(deep=deep)
        params.update(self._factory_params)
        return params

    def set_params(self, **params: Any) -> "_ThincEstimator":
        prefixed = {
            name: params.pop(name)
            for name in list(params)
            if name.startswith(FACTORY_PREFIXES) or name in self._factory_params
        }
        # A new dict, not an update: a clone may share the old one with this estimator.
        self._factory_params = {**self._factory_params, **prefixed}
        super().set_params(**params)
        return self

    def _prefixed(self, prefix: str) -> Dict[str, Any]:
        return {
            name[len(prefix) :]: value
            for name, value in self._factory_params.items()
            if name.startswith(prefix)
        }

    def _check_params(self) -> None:
        def require(condition: bool, message: str) -> None:
            if not condition:
                raise ValueError(f"{type(self).__name__}: {message}")

        unknown = sorted(
            name for name in self._factory_params if not name.startswith(FACTORY_PREFIXES)
        )
        require(
            not unknown,
            f"unknown parameters {unknown}; arguments for the model factory start with 'model__', "
            "for the optimizer with 'optimizer__'",
        )
        require(
            self.input_type in INPUT_TYPES,
            f"input_type must be one of {INPUT_TYPES}, not {self.input_type!r}",
        )
        for name in ("max_iter", "batch_size", "n_iter_no_change"):
            value = getattr(self, name)
            require(
                bool(
                    isinstance(value, (int, numpy.integer))
                    and not isinstance(value, bool)
                    and value >= 1
                ),
                f"{name} must be a positive integer, not {value!r}",
            )
        require(
            isinstance(self.learn_rate, (int, float))
            and math.isfinite(self.learn_rate)
            and self.learn_rate > 0,
            f"learn_rate must be a positive number, not {self.learn_rate!r}",
        )
        require(
            isinstance(self.tol, (int, float)) and math.isfinite(self.tol) and self.tol >= 0,
            f"tol must be a non-negative number, not {self.tol!r}",
        )
        require(
            isinstance(self.validation_fraction, float) and 0 < self.validation_fraction < 1,
            f"validation_fraction must be a float in (0, 1), not {self.validation_fraction!r}",
        )

    # -- input ------------------------------------------------------------------------

    def _validate_X(self, X: Any, *, reset: bool) -> Any:
        if self.input_type == "any":
            # The model decides what it accepts (texts, token lists, Ragged...); only the
            # sample count is checked here.
            if isinstance(X, str) or not hasattr(X, "__len__") or not hasattr(X, "__getitem__"):
                raise ValueError(
                    f"{type(self).__name__} with input_type='any' needs a sequence of samples "
                    f"(a list or an array), not {type(X).__name__}"
                )
            if _num_samples(X) == 0:
                raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
            return X
        X = validate_data(self, X, reset=reset, dtype=numpy.float32, order="C")
        # The compiled kernels take writable buffers; a read-only memmap must be copied.
        return X if X.flags.writeable else X.copy()

    def _validate_training_data(self, X: Any, y: Any, *, reset: bool) -> Tuple[Any, numpy.ndarray]:
        if y is None:
            raise ValueError(
                f"requires y to be passed, but the target y is None ({type(self).__name__})"
            )
        if self.input_type == "any":
            X = self._validate_X(X, reset=reset)
            y = numpy.asarray(y)
            check_consistent_length(X, y)
            y = self._validate_y(y)
            return X, y
        X, y = validate_data(
            self, X, y, reset=reset, dtype=numpy.float32, order="C", **self._y_check_params()
        )
        return (X if X.flags.writeable else X.copy()), self._validate_y(y)

    def _y_check_params(self) -> Dict[str, Any]:
        return {}

    def _validate_y(self, y: numpy.ndarray) -> numpy.ndarray:
        return y

    # -- the model --------------------------------------------------------------------

    def _factory(self) -> Callable[..., Model]:
        factory = type(self)._default_model if self.model is None else self.model
        if isinstance(factory, str):
            return registry.get("layers", factory)
        if isinstance(factory, Model):
            raise ValueError(
                f"{type(self).__name__}: model must be a function that builds a new Model, not a "
                "Model: each fit (and each clone in a grid search) trains a fresh one"
            )
        if not callable(factory):
            raise ValueError(
                f"{type(self).__name__}: model must be a function returning a thinc Model, or the "
                f"name of one in registry.layers, not {type(factory).__name__}"
            )
        return factory

    def _build_model(self, n_inputs: Optional[int], n_outputs: int) -> Model:
        factory = self._factory()
        arguments = self._prefixed("model__")
        accepted, takes_any = _accepted_arguments(factory)
        # Dims the factory asks for and the user did not give come from the data.
        for name, value in (("nO", n_outputs), ("nI", n_inputs)):
            if value is not None and name not in arguments and (name in accepted or takes_any):
                arguments[name] = value
        model = factory(**arguments)
        if not isinstance(model, Model):
            raise ValueError(
                f"{type(self).__name__}: the model factory returned {type(model).__name__}, not a thinc Model"
            )
        return model

    def _build_optimizer(self) -> Any:
        factory = self.optimizer
        if isinstance(factory, str):
            factory = registry.get("optimizers", factory)
        arguments = {"learn_rate": self.learn_rate, **self._prefixed("optimizer__")}
        return factory(**arguments)

    def _start(self, X: Any, targets: numpy.ndarray, n_outputs: int) -> None:
        n_inputs = X.shape[1] if self.input_type == "floats2d" else None
        self._dims_ = (n_inputs, n_outputs)
        model = self._build_model(n_inputs, n_outputs)
        sample = numpy.arange(min(_num_samples(X), 16))
        model.initialize(X=_take(X, sample), Y=targets[sample])
        self.model_ = model
        self.optimizer_ = self._build_optimizer()
        self.loss_curve_: List[float] = []
        self.n_iter_ = 0

    # -- training ---------------------------------------------------------------------

    def _seed(self) -> Optional[int]:
        """A seed for numpy's global generator, drawn from random_state (None: leave it be)."""
        if self.random_state is None:
            return None
        return int(self._rng_.randint(numpy.iinfo(numpy.int32).max))

    def _inputs(self, X: Any, rows: numpy.ndarray) -> Any:
        """The rows of X; checked float arrays become the model's Ops' arrays (cupy on a GPU)."""
        taken = _take(X, rows)
        return self.model_.ops.asarray(taken) if self.input_type == "floats2d" else taken

    def _epoch(self, X: Any, targets: numpy.ndarray) -> float:
        n_samples = _num_samples(X)
        order = self._rng_.permutation(n_samples) if self.shuffle else numpy.arange(n_samples)
        total = 0.0
        for start in range(0, n_samples, self.batch_size):
            batch = order[start : start + self.batch_size]
            guesses, backprop = self.model_.begin_update(self._inputs(X, batch))
            truths = targets[batch]
            backprop(self._loss.get_grad(guesses, self.model_.ops.asarray(truths)))
            self.model_.finish_update(self.optimizer_)
            total += self._loss_sum(self.model_.ops.to_numpy(guesses), truths)
        self.n_iter_ += 1
        return total / n_samples

    def _report(self, epoch_loss: float, validation: Optional[float], started: float) -> None:
        if self.verbose:
            shown = "" if validation is None else f"  validation score {validation:.4f}"
            print(
                f"{type(self).__name__} epoch {self.n_iter_:>3}  loss {epoch_loss:.5f}{shown}"
                f"  {time.perf_counter() - started:.2f}s",
                file=sys.stdout,
                flush=True,
            )

    def _train(self, X: Any, targets: numpy.ndarray, y: numpy.ndarray) -> None:
        """max_iter epochs, stopping once the score (early_stopping: on a held-out split) or
        the training loss has not improved by tol for n_iter_no_change epochs."""
        started = time.perf_counter()
        n_samples = _num_samples(X)
        validation = None
        if self.early_stopping:
            # A score on one sample says nothing (R² is not even defined there).
            n_held = max(2, int(math.ceil(self.validation_fraction * n_samples)))
            if n_samples - n_held < 1:
                raise ValueError(
                    f"{type(self).__name__}: {n_samples} samples are too few to hold out "
                    f"validation_fraction={self.validation_fraction} for early stopping"
                )
            order = self._rng_.permutation(n_samples)
            held, kept = order[:n_held], order[n_held:]
            validation = (_take(X, held), y[held])
            X, targets = _take(X, kept), targets[kept]
            self.validation_scores_: List[float] = []
        best, best_weights, stale = -numpy.inf, None, 0
        for _ in range(self.max_iter):
            epoch_loss = self._epoch(X, targets)
            self.loss_curve_.append(epoch_loss)
            if validation is not None:
                score = self._score_predictions(validation[1], self._predict_raw(validation[0]))
                self.validation_scores_.append(score)
            else:
                score = -epoch_loss
            self._report(epoch_loss, score if validation is not None else None, started)
            if not math.isfinite(epoch_loss):
                raise ValueError(
                    f"{type(self).__name__}: the training loss became {epoch_loss}; "
                    "try a smaller learn_rate or scaled inputs"
                )
            if score > best + self.tol:
                best, stale = score, 0
                if validation is not None:
                    best_weights = self.model_.to_bytes()
            else:
                stale += 1
                if stale >= self.n_iter_no_change:
                    break
        if validation is not None:
            self.best_validation_score_ = float(best)
            if best_weights is not None:
                self.model_.from_bytes(best_weights)

    def _fit(self, X: Any, y: Any) -> "_ThincEstimator":
        self._check_params()
        self._forget()
        X, y = self._validate_training_data(X, y, reset=True)
        self._rng_ = check_random_state(self.random_state)
        targets, n_outputs = self._learn_targets(y)
        with _seeded_global_rng(self._seed()):
            self._start(X, targets, n_outputs)
            self._train(X, targets, y)
        return self

    def _partial_fit(self, X: Any, y: Any, **first_call: Any) -> "_ThincEstimator":
        self._check_params()
        first = not hasattr(self, "model_")
        X, y = self._validate_training_data(X, y, reset=first)
        if first:
            self._rng_ = check_random_state(self.random_state)
            targets, n_outputs = self._learn_targets(y, partial=True, **first_call)
        else:
            targets = self._targets(y, **first_call)
        with _seeded_global_rng(self._seed()):
            if first:
                self._start(X, targets, n_outputs)
            if getattr(self, "optimizer_", None) is None:
                self.optimizer_ = self._build_optimizer()
            self.loss_curve_.append(self._epoch(X, targets))
            self._report(self.loss_curve_[-1], None, time.perf_counter())
        return self

    def _forget(self) -> None:
        for name in list(vars(self)):
            if name.endswith("_") and not name.startswith("__"):
                delattr(self, name)

    # -- prediction -------------------------------------------------------------------

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _predict_raw(self, X: Any) -> numpy.ndarray:
        n_samples = _num_samples(X)
        rows = numpy.arange(n_samples)
        outputs = [
            self.model_.ops.to_numpy(
                self.model_.predict(self._inputs(X, rows[start : start + PREDICT_BATCH_SIZE]))
            )
            for start in range(0, n_samples, PREDICT_BATCH_SIZE)
        ]
        return numpy.concatenate(outputs).astype(numpy.float64)

    def _checked_predict_raw(self, X: Any) -> numpy.ndarray:
        check_is_fitted(self)
        return self._predict_raw(self._validate_X(X, reset=False))

    # -- saving -----------------------------------------------------------------------

    def _fitted_state(self) -> Dict[str, Any]:
        state: Dict[str, Any] = {
            "n_iter": self.n_iter_,
            "loss_curve": list(self.loss_curve_),
            "dims": list(self._dims_),
        }
        if hasattr(self, "n_features_in_"):
            state["n_features_in"] = int(self.n_features_in_)
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in"] = [str(name) for name in self.feature_names_in_]
        return state

    def _restore_fitted_state(self, state: Dict[str, Any]) -> None:
        self.n_iter_ = state["n_iter"]
        self.loss_curve_ = list(state["loss_curve"])
        self._dims_ = tuple(state["dims"])
        if "n_features_in" in state:
            self.n_features_in_ = state["n_features_in"]
        if "feature_names_in" in state:
            self.feature_names_in_ = numpy.asarray(state["feature_names_in"], dtype=object)

    def to_bytes(self) -> bytes:
        """The fitted estimator in thinc's format: hyperparameters that are plain values, the
        fitted attributes and the model's own `to_bytes()`, in one msgpack message."""
        check_is_fitted(self)
        params = self.get_params(deep=False)
        message = {
            "format": FORMAT,
            "estimator": type(self).__name__,
            "params": {name: value for name, value in params.items() if _portable(value)},
            "state": self._fitted_state(),
            # Named only to say what to pass when loading: code is not saved.
            "factory": getattr(self.model, "__module__", "?")
            + "."
            + getattr(self.model, "__qualname__", repr(self.model)),
            "model": self.model_.to_bytes(),
        }
        return srsly.msgpack_dumps(message)

    def from_bytes(self, data: bytes) -> "_ThincEstimator":
        """Load what `to_bytes` wrote. Parameters that were plain values come from the message;
        the model factory (if it was a function) and any other object come from this estimator,
        which must build the same architecture."""
        try:
            message = srsly.msgpack_loads(data)
        except Exception:  # msgpack raises several types for bytes that are not msgpack
            message = None
        if not isinstance(message, dict) or message.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} message")
        if message["estimator"] != type(self).__name__:
            raise ValueError(
                f"the message holds a {message['estimator']}, not a {type(self).__name__}"
            )
        if "model" not in message["params"] and not callable(self.model):
            raise ValueError(
                f"the estimator was saved with the model factory {message['factory']}; pass it: "
                f"{type(self).__name__}({message['factory'].rsplit('.', 1)[-1]}).from_bytes(...)"
            )
        self.set_params(**message["params"])
        self._forget()
        self._restore_fitted_state(message["state"])
        self.model_ = self._build_model(*self._dims_).from_bytes(message["model"])
        self.optimizer_ = None
        self._rng_ = check_random_state(self.random_state)
        return self

    def to_disk(self, path: Union[str, Path]) -> None:
        Path(path).write_bytes(self.to_bytes())

    def from_disk(self, path: Union[str, Path]) -> "_ThincEstimator":
        return self.from_bytes(Path(path).read_bytes())

    def __getstate__(self) -> Dict[str, Any]:
        # BaseEstimator's state (with its version stamp) can be this object's own __dict__.
        state = dict(super().__getstate__())
        model = state.pop("model_", None)
        state.pop("optimizer_", None)
        if model is not None:
            # Weights travel in thinc's format, not as pickled arrays.
            state["_model_bytes"] = model.to_bytes()
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        model_bytes = state.pop("_model_bytes", None)
        super().__setstate__(state)
        if model_bytes is not None:
            self.model_ = self._build_model(*self._dims_).from_bytes(model_bytes)
            self.optimizer_ = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.input_type == "any":
            tags.input_tags.two_d_array = False
        return tags


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


POOLINGS = ("mean", "max", "mean_max")
FEATURES = ("vector", "tensor")


class SpacyVectorizer(TransformerMixin, BaseEstimator):
    """Texts in, one row of float32 features per text out, from a spaCy pipeline.

    `nlp` is a pipeline name or path for `spacy.load`, a `Language` object, or a function that
    returns one. `features="vector"` takes `Doc.vector` (the mean of the static word vectors,
    for pipelines that have them); `features="tensor"` pools `Doc.tensor`, the output of the
    pipeline's tok2vec, over the tokens by `pooling` ("mean", "max", or both side by side).
    The pipeline is loaded on the first `fit` or `transform`; nothing is learned. A pickled
    vectorizer loads it again from the name or function, which must give the same weights."""

    def __init__(
        self,
        nlp: Any = "en_core_web_sm",
        *,
        features: str = "tensor",
        pooling: str = "mean",
        batch_size: int = 64,
    ):
        self.nlp = nlp
        self.features = features
        self.pooling = pooling
        self.batch_size = batch_size

    def _pipeline(self) -> Any:
        if getattr(self, "nlp_", None) is None:
            try:
                import spacy
            except ImportError as error:
                raise ImportError(
                    "SpacyVectorizer needs spaCy: pip install 'spacy>=3.8,<3.9'"
                ) from error
            nlp = self.nlp
            if isinstance(nlp, (str, Path)):
                nlp = spacy.load(nlp)
            elif not isinstance(nlp, spacy.language.Language) and callable(nlp):
                nlp = nlp()
            if not isinstance(nlp, spacy.language.Language):
                raise ValueError(f"nlp must name or be a spaCy Language, not {type(nlp).__name__}")
            self.nlp_ = nlp
        return self.nlp_

    def _check_settings(self) -> None:
        if self.features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, not {self.features!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {self.pooling!r}")

    def fit(self, X: Any, y: Any = None) -> "SpacyVectorizer":
        """Load the pipeline and check the settings; nothing is learned from X."""
        self._check_settings()
        self._pipeline()
        return self

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(super().__getstate__())
        # A pipeline loaded by name or built by a function is loaded again on first use,
        # rather than pickled; a Language passed in is pickled as spaCy pickles it.
        if state.get("nlp_") is not None and state["nlp_"] is not self.nlp:
            del state["nlp_"]
        return state

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def _texts(self, X: Any) -> List[str]:
        if isinstance(X, str):
            raise ValueError("SpacyVectorizer takes a sequence of texts, not one string")
        if isinstance(X, numpy.ndarray) and X.ndim != 1:
            if X.ndim == 2 and X.shape[1] == 1:
                X = X[:, 0]
            else:
                raise ValueError(
                    f"SpacyVectorizer takes a 1D sequence of texts, not an array of shape {X.shape}"
                )
        texts = list(X)
        bad = [type(text).__name__ for text in texts if not isinstance(text, str)]
        if bad:
            raise ValueError(f"SpacyVectorizer takes texts (str), got {sorted(set(bad))}")
        return texts

    def _docs(self, nlp: Any, texts: List[str]) -> Iterator[Any]:
        if self.features == "vector" and nlp.vocab.vectors_length:
            # Static vectors need only the tokenizer.
            return (nlp.make_doc(text) for text in texts)
        keep = [name for name in ("tok2vec", "transformer") if name in nlp.pipe_names]
        # The tagger, parser and the rest add nothing to the features; skip them if the
        # pipeline has a shared tok2vec to run alone.
        disable = [name for name in nlp.pipe_names if name not in keep] if keep else []
        return nlp.pipe(texts, batch_size=self.batch_size, disable=disable)

    def _row(self, doc: Any) -> numpy.ndarray:
        if self.features == "vector":
            if not doc.vocab.vectors_length and not getattr(doc.tensor, "size", 0):
                raise ValueError(
                    "features='vector' needs a pipeline with static vectors or a tok2vec; "
                    "this one has neither"
                )
            return numpy.asarray(doc.vector, dtype=numpy.float32)
        tensor = doc.tensor
        if (
            not hasattr(tensor, "shape")
            or tensor.ndim != 2
            or (len(doc) and tensor.shape[0] != len(doc))
        ):
            raise ValueError(
                "features='tensor' needs a pipeline whose tok2vec sets Doc.tensor; "
                "this one sets none"
            )
        # A pipeline on the GPU leaves a cupy array here.
        tensor = numpy.asarray(tensor.get() if hasattr(tensor, "get") else tensor, dtype="f")
        width = tensor.shape[1]
        if tensor.shape[0] == 0:
            return numpy.zeros(
                width * (2 if self.pooling == "mean_max" else 1), dtype=numpy.float32
            )
        parts = []
        if self.pooling in ("mean", "mean_max"):
            parts.append(tensor.mean(axis=0))
        if self.pooling in ("max", "mean_max"):
            parts.append(tensor.max(axis=0))
        return numpy.concatenate(parts)

    def transform(self, X: Any) -> numpy.ndarray:
        """One row per text."""
        self._check_settings()
        texts = self._texts(X)
        nlp = self._pipeline()
        rows = [self._row(doc) for doc in self._docs(nlp, texts)]
        if not rows:
            return numpy.zeros((0, 0), dtype=numpy.float32)
        return numpy.vstack(rows)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = False
        return tags
