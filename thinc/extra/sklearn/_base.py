"""The machinery the thinc estimators share: parameters with the model__ and
optimizer__ prefixes, input checks, the training loop, prediction and saving; and
the MLP factories that the estimators train by default."""

import inspect
import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import numpy
import srsly

try:
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError  # noqa: F401  (re-exported by the package)
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import (
        _num_samples,
        check_consistent_length,
        check_is_fitted,
        validate_data,
    )
except ImportError as error:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError(
        "thinc.extra.sklearn needs scikit-learn 1.6 or newer: "
        'pip install "thinc[sklearn]" (or pip install scikit-learn)'
    ) from error

from ...api import Linear, Model, Relu, Softmax, chain, registry

FORMAT = "thinc.extra.sklearn/1"
FACTORY_PREFIXES = ("model__", "optimizer__")
INPUT_TYPES = ("floats2d", "any")
# Float inputs are predicted in batches of exactly this many rows (the last
# padded with zeros): how a product is computed (which kernel, how its sums
# are split) depends on its row count, so a row's prediction would otherwise
# differ in its last bits with the rows predicted beside it. 256 rows: padding
# one row costs little (the default model: 106 -> 121 us per one-row predict,
# 198 in batches of 1,024), and big inputs pay the per-batch overhead rarely
# (20,000 rows: 2.10 ms in unpadded batches of 1,024, 2.33 ms so).
PREDICT_BATCH_SIZE = 256


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
        outputs = []
        for start in range(0, n_samples, PREDICT_BATCH_SIZE):
            inputs = self._inputs(X, rows[start : start + PREDICT_BATCH_SIZE])
            n_rows = len(inputs)
            if self.input_type == "floats2d" and n_rows < PREDICT_BATCH_SIZE:
                padded = self.model_.ops.alloc2f(
                    PREDICT_BATCH_SIZE, inputs.shape[1], dtype=inputs.dtype
                )
                padded[:n_rows] = inputs
                inputs = padded
            outputs.append(self.model_.ops.to_numpy(self.model_.predict(inputs))[:n_rows])
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
