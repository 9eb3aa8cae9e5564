"""The shim that holds a Keras model: runs it forward under a tf.GradientTape,
steps its variables with a thinc optimizer and serializes its weights as HDF5."""

import contextlib
import os
import tempfile
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, cast

import catalogue
import numpy

from .. import compat
from ..types import ArgsKwargs, FloatsXd
from ..util import assert_tensorflow_installed, tensorflow2xp, xp2tensorflow
from .shim import Shim

# Factories for subclassed Keras models, registered by keras_subclass: a model
# that Keras cannot save whole is rebuilt from its factory name plus weights.
keras_model_fns = catalogue.create("thinc", "keras", entry_points=True)

# Every HDF5 file starts with this signature.
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def maybe_handshake_model(keras_model: Any) -> Any:
    """Make sure a Keras model has created its weights. An unbuilt model made
    by a keras_subclass class is called once on its example input (eg_x) and
    compiled with its eg_compile arguments; any other unbuilt model is an error."""
    if getattr(keras_model, "built", False):
        return keras_model
    needed = ("eg_x", "eg_shape", "eg_compile")
    missing = [name for name in needed if not hasattr(keras_model, name)]
    if missing:
        raise ValueError(
            f"Keras model {type(keras_model).__name__} has no weights yet and no example "
            f"data to build them (missing {', '.join(missing)}): build it first "
            "(call it on sample input or model.build(input_shape)), or decorate its "
            "class with thinc's keras_subclass"
        )
    tensorflow = compat.tensorflow
    example = tensorflow.convert_to_tensor(keras_model.eg_x)
    expected_shape = tuple(keras_model.eg_shape)
    if len(expected_shape) != len(example.shape) or any(
        want is not None and want != got for want, got in zip(expected_shape, example.shape)
    ):
        raise ValueError(
            f"keras_subclass example input has shape {tuple(example.shape)}, but "
            f"input_shape is {expected_shape}"
        )
    keras_model(example)
    keras_model.compile(**keras_model.eg_compile)
    return keras_model


class TensorFlowShim(Shim):
    """Holds a tf.keras Model. Inputs arrive as ArgsKwargs of tf tensors; the
    backprop callback takes the output's gradient (same structure as the
    output) and returns the inputs' gradients as ArgsKwargs. Variable
    gradients add up until finish_update steps them; ``gradients`` holds them
    as thinc 8.3 does, a list in ``trainable_variables`` order (None for a
    variable that has had no gradient yet), or None before the first backprop."""

    gradients: Optional[List[Any]]

    def __init__(self, model: Any, config=None, optimizer: Any = None) -> None:
        assert_tensorflow_installed()
        super().__init__(model, config, optimizer)
        self.gradients = None

    def __str__(self) -> str:
        lines: List[str] = []
        self._model.summary(print_fn=lines.append)
        return "\n".join(lines)

    def __call__(self, X: ArgsKwargs, is_train: bool) -> Tuple[Any, Callable]:
        if is_train:
            return self.begin_update(X)
        return self.predict(X), _no_backprop

    def predict(self, X: ArgsKwargs) -> Any:
        """Run the model in inference mode."""
        return self._model(*X.args, **_with_training(X.kwargs, False))

    def begin_update(self, X: ArgsKwargs) -> Tuple[Any, Callable]:
        """Run the model in training mode under a gradient tape."""
        tensorflow = compat.tensorflow
        watched = _float_tensors(X)
        with tensorflow.GradientTape() as tape:
            tape.watch([tensor for _, tensor in watched])
            output = self._model(*X.args, **_with_training(X.kwargs, True))

        def backprop(d_output: Any) -> ArgsKwargs:
            variables = list(self._model.trainable_variables)
            sources = variables + [tensor for _, tensor in watched]
            grads = tape.gradient(output, sources, output_gradients=d_output)
            self._accumulate(variables, grads[: len(variables)])
            return _input_grads(X, watched, grads[len(variables) :])

        return output, backprop

    def _accumulate(self, variables: List[Any], grads: List[Any]) -> None:
        tensorflow = compat.tensorflow
        if self.gradients is None:
            self.gradients = [None] * len(variables)
        elif len(self.gradients) != len(variables):
            raise ValueError(
                f"The Keras model has {len(variables)} trainable variables but its pending "
                f"gradients are for {len(self.gradients)}: call finish_update before "
                "changing which variables are trainable"
            )
        for position, grad in enumerate(grads):
            if grad is None:
                continue
            # Embedding lookups give IndexedSlices; the optimizer wants dense arrays.
            grad = tensorflow.convert_to_tensor(grad)
            pending = self.gradients[position]
            self.gradients[position] = grad if pending is None else pending + grad

    def finish_update(self, optimizer) -> None:
        """Step every variable that received a gradient, keyed (shim id, variable name)."""
        if self.gradients is None:
            return
        variables = list(self._model.trainable_variables)
        for key, variable, grad in zip(_variable_keys(variables), variables, self.gradients):
            if grad is None:
                continue
            weights, _ = optimizer(
                (self.id, key),
                cast(FloatsXd, tensorflow2xp(compat.tensorflow.convert_to_tensor(variable))),
                cast(FloatsXd, tensorflow2xp(grad)),
            )
            variable.assign(xp2tensorflow(weights))
        self.gradients = None

    @contextlib.contextmanager
    def use_params(self, params: Dict) -> Iterator[None]:
        """Temporarily load the arrays keyed (this shim's id, variable name)."""
        variables = list(self._model.trainable_variables)
        keyed = dict(zip(_variable_keys(variables), variables))
        own = {
            key[1]: value
            for key, value in params.items()
            if isinstance(key, tuple) and len(key) == 2 and key[0] == self.id and key[1] in keyed
        }
        backup = {name: _variable_array(keyed[name]) for name in own}
        for name, value in own.items():
            keyed[name].assign(_to_host(value))
        try:
            yield
        finally:
            for name, value in backup.items():
                keyed[name].assign(value)

    def _clone_model(self) -> Any:
        """A new Keras model with this one's architecture and weights."""
        tensorflow = compat.tensorflow
        name = getattr(self._model, "catalogue_name", None)
        if name is not None:
            new_model = _build_from_catalogue(name, getattr(self._model, "eg_args", None))
        else:
            try:
                new_model = tensorflow.keras.models.clone_model(self._model)
            except Exception as error:
                raise ValueError(
                    f"Cannot clone Keras model {type(self._model).__name__}: {error}. "
                    "Decorate a subclassed model with thinc's keras_subclass so it can "
                    "be rebuilt from its factory"
                ) from error
            if not new_model.built:
                new_model.build(self._model.inputs[0].shape if self._model.inputs else None)
        new_model.set_weights(self._model.get_weights())
        return new_model

    def copy(self) -> "TensorFlowShim":
        """A shim (with a new id) holding a clone of the model."""
        return TensorFlowShim(self._clone_model(), config=dict(self.cfg), optimizer=self._optimizer)

    def to_device(self, device_type: str, device_id: int) -> None:
        tensorflow = compat.tensorflow
        gpus = tensorflow.config.list_logical_devices("GPU")
        if device_type == "cpu":
            if not gpus:
                # Everything already lives on the CPU: keep the model object as it is.
                return
            device = "CPU:0"
        elif device_type == "gpu":
            if not gpus:
                raise ValueError("Cannot move a TensorFlow model to the GPU: TensorFlow sees none")
            device = f"GPU:{device_id}"
        else:
            raise ValueError(f"Invalid device_type '{device_type}': expected 'cpu' or 'gpu'")
        # Keras variables stay where they were created, so rebuild the model there.
        with tensorflow.device(device):
            self._model = self._clone_model()

    def to_bytes(self) -> Any:
        """The whole model as HDF5 bytes (Keras's h5 format). A model Keras
        cannot save that way (subclassed) becomes (factory name, weights),
        which needs a keras_subclass factory to load."""
        try:
            return _save_h5_bytes(self._model)
        except (NotImplementedError, ValueError, TypeError) as error:
            name = getattr(self._model, "catalogue_name", None)
            if name is None:
                raise ValueError(
                    f"Cannot serialize Keras model {type(self._model).__name__} as HDF5 "
                    f"({error}) and it has no factory: decorate its class with thinc's "
                    "keras_subclass"
                ) from error
            keras_model_fns.get(name)
            return (name, [numpy.asarray(w) for w in self._model.get_weights()])

    def from_bytes(self, data: Any) -> "TensorFlowShim":
        """Load weights saved by to_bytes into the model. Only arrays are read:
        an HDF5 file's weights by layer, or a (factory name, weights) pair."""
        if isinstance(data, (bytes, bytearray)):
            if not bytes(data[:8]) == _HDF5_SIGNATURE:
                raise ValueError("TensorFlowShim bytes are not an HDF5 file of Keras weights")
            _load_h5_weights(self._model, bytes(data))
            return self
        if isinstance(data, (list, tuple)) and len(data) == 2 and isinstance(data[0], str):
            name, weights = data
            if not isinstance(weights, (list, tuple)) or not all(
                isinstance(w, numpy.ndarray) for w in weights
            ):
                raise ValueError("TensorFlowShim weights must be a list of numpy arrays")
            if self._model is None:
                self._model = _build_from_catalogue(name, None)
            current = self._model.get_weights()
            if len(current) != len(weights) or any(
                c.shape != w.shape for c, w in zip(current, weights)
            ):
                raise ValueError(
                    "TensorFlowShim weights do not fit the model: expected shapes "
                    f"{[c.shape for c in current]}, got {[w.shape for w in weights]}"
                )
            self._model.set_weights(list(weights))
            return self
        raise ValueError(
            f"TensorFlowShim cannot load {type(data).__name__}: expected HDF5 bytes or "
            "(factory name, weights)"
        )


def _with_training(kwargs: Dict[str, Any], is_train: bool) -> Dict[str, Any]:
    # Keras passes `training` on to the layers (dropout, batch norm) that use it.
    if "training" in kwargs:
        return kwargs
    return {**kwargs, "training": is_train}


def _float_tensors(X: ArgsKwargs) -> List[Tuple[Any, Any]]:
    """(position or keyword, tensor) for each floating-point tf tensor argument."""
    tensorflow = compat.tensorflow
    found: List[Tuple[Any, Any]] = []
    for key, value in X.items():
        if isinstance(value, tensorflow.Tensor) and value.dtype.is_floating:
            found.append((key, value))
    return found


def _input_grads(X: ArgsKwargs, watched: List[Tuple[Any, Any]], grads: List[Any]) -> ArgsKwargs:
    by_key = {key: grad for (key, _), grad in zip(watched, grads)}
    args = tuple(by_key.get(position) for position in range(len(X.args)))
    kwargs = {name: by_key.get(name) for name in X.kwargs}
    return ArgsKwargs(args=args, kwargs=kwargs)


def _variable_keys(variables: List[Any]) -> List[str]:
    """A stable, unique name per variable: Keras 3's path, else Keras 2's name."""
    keys: List[str] = []
    seen: Dict[str, int] = {}
    for variable in variables:
        key = getattr(variable, "path", None) or variable.name
        if key in seen:
            seen[key] += 1
            key = f"{key}#{seen[key]}"
        else:
            seen[key] = 0
        keys.append(key)
    return keys


def _variable_array(variable: Any) -> Any:
    # Keras 3 variables are not tf tensors; converting first works for both Keras 2 and 3.
    return compat.tensorflow.convert_to_tensor(variable).numpy()


def _to_host(array: Any) -> Any:
    return array.get() if hasattr(array, "get") else numpy.asarray(array)


def _build_from_catalogue(name: str, eg_args: Optional[ArgsKwargs]) -> Any:
    model_fn = keras_model_fns.get(name)
    if eg_args is not None:
        model = model_fn(*eg_args.args, **eg_args.kwargs)
    else:
        model = model_fn()
    return maybe_handshake_model(model)


class _temporary_h5:
    """A fresh .h5 path, removed on exit: Keras picks its format by suffix."""

    def __enter__(self) -> str:
        self.directory = tempfile.mkdtemp()
        return os.path.join(self.directory, "model.h5")

    def __exit__(self, *exc_info: Any) -> None:
        for name in os.listdir(self.directory):
            os.remove(os.path.join(self.directory, name))
        os.rmdir(self.directory)


def _save_h5_bytes(keras_model: Any) -> bytes:
    with _temporary_h5() as path, _quiet_keras():
        keras_model.save(path, include_optimizer=False)
        with open(path, "rb") as file_:
            return file_.read()


def _load_h5_weights(keras_model: Any, data: bytes) -> None:
    with _temporary_h5() as path:
        with open(path, "wb") as file_:
            file_.write(data)
        try:
            with _quiet_keras():
                keras_model.load_weights(path)
        except (ValueError, KeyError, OSError) as error:
            raise ValueError(f"Cannot load Keras weights from HDF5 bytes: {error}") from error


@contextlib.contextmanager
def _quiet_keras() -> Iterator[None]:
    # Keras 3 warns that HDF5 is a legacy format on every save; thinc's byte
    # format is HDF5 on purpose, so that warning is noise here.
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*HDF5.*legacy.*")
        warnings.filterwarnings("ignore", message=".*legacy.*HDF5.*")
        # Keras's own HDF5 code still calls numpy.array on its variables the numpy 1 way.
        warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept")
        yield


def _no_backprop(d_output: Any) -> Any:
    raise ValueError("This output was computed for inference (is_train=False): no backprop")
