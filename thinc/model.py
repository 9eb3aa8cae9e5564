"""The Model class: a node in a tree of layers holding dims, params, refs and attrs.

Layers are Models built from a forward function and an init function; this
module also holds tree utilities (walk, copy, replace) and serialization; the
msgpack decoding is in thinc._msgpack and the checks on loading in thinc._model_checks."""

import contextlib
import copy as copy_module
import numbers
import threading
from contextvars import ContextVar
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generic,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
)

import numpy
import srsly

from ._frameworks import is_xp_array  # noqa: F401  (thinc 8.3 exposes it here)
from ._model_checks import (  # noqa: F401  (layers import these from here)
    _MSG_KEYS,
    _check_msg_structure,
    _check_node_compatible,
    _message_fits,
    declared_param_dims,
    register_param_dims,
)
from ._msgpack import _unpack_model_bytes, deserialize_attr, serialize_attr
from ._param_server import ParamServer
from ._validation import DATA_VALIDATION, validate_fwd_input_output
from .backends import CupyOps, NumpyOps, Ops, get_current_ops
from .shims import Shim
from .util import convert_recursive  # noqa: F401  (thinc 8.3 exposes it here)

if TYPE_CHECKING:
    from .optimizers import Optimizer
    from .types import FloatsXd

InT = TypeVar("InT")
OutT = TypeVar("OutT")
SelfT = TypeVar("SelfT", bound="Model")
_ModelT = TypeVar("_ModelT", bound="Model")

# Symbols that define_operators may bind, and the dunder each one drives.
_OPERATOR_METHODS = {
    "+": "__add__",
    "-": "__sub__",
    "*": "__mul__",
    "@": "__matmul__",
    "/": "__truediv__",
    "//": "__floordiv__",
    "%": "__mod__",
    "**": "__pow__",
    "<<": "__lshift__",
    ">>": "__rshift__",
    "&": "__and__",
    "^": "__xor__",
    "|": "__or__",
}

# Each thread and asyncio task sees its own operator table; the default is an
# empty mapping that is never mutated.
context_operators: ContextVar[Dict[str, Callable]] = ContextVar("context_operators", default={})

_WALK_ORDERS = ("bfs", "dfs_pre", "dfs_post")

# What `from thinc.model import *` gives, the same names as thinc 8.3.
__all__ = [
    "Model",
    "serialize_attr",
    "deserialize_attr",
    "change_attr_values",
    "set_dropout_rate",
    "wrap_model_recursive",
]


def empty_init(model: "Model", *args, **kwargs) -> "Model":
    """The init of a model that has nothing to infer or allocate."""
    return model


class Model(Generic[InT, OutT]):
    """A layer or a combination of layers: a forward function plus the dims,
    params, attrs, refs, child layers and shims it works with."""

    global_id: int = 0
    global_id_lock: threading.Lock = threading.Lock()
    _context_operators = context_operators

    __slots__ = (
        "name",
        "id",
        "ops",
        "_func",
        "init",
        "_params",
        "_dims",
        "_attrs",
        "_refs",
        "_layers",
        "_shims",
        "_has_params",
    )

    def __init__(
        self,
        name: str,
        forward: Callable,
        *,
        init: Optional[Callable] = None,
        dims: Dict[str, Optional[int]] = {},
        params: Dict[str, Optional["FloatsXd"]] = {},
        layers: Sequence["Model"] = [],
        shims: List[Shim] = [],
        attrs: Dict[str, Any] = {},
        refs: Dict[str, Optional["Model"]] = {},
        ops: Optional[Ops] = None,
    ) -> None:
        self.name = name
        self._func = forward
        self.init: Optional[Callable] = init if init is not None else empty_init
        self.ops = ops if ops is not None else get_current_ops()
        self._params = ParamServer()
        # Containers are copied: the defaults above are shared objects.
        self._dims: Dict[str, Optional[int]] = dict(dims)
        self._attrs: Dict[str, Any] = dict(attrs)
        self._refs: Dict[str, Optional[Model]] = dict(refs)
        self._layers: List[Model] = list(layers)
        self._shims: List[Shim] = list(shims)
        with Model.global_id_lock:
            Model.global_id += 1
            self.id = Model.global_id
        self._has_params: Dict[str, Optional[bool]] = {}
        for param_name, value in params.items():
            self._has_params[param_name] = None
            if value is not None:
                self.set_param(param_name, value)

    # --- children and names -------------------------------------------------

    @property
    def layers(self) -> List["Model"]:
        """The child models, in order (the list itself, so it can be edited)."""
        return self._layers

    @property
    def shims(self) -> List[Shim]:
        return self._shims

    @property
    def attrs(self) -> Dict[str, Any]:
        return self._attrs

    @property
    def param_names(self) -> Tuple[str, ...]:
        """Every declared param, allocated or not."""
        return tuple(self._has_params.keys())

    @property
    def grad_names(self) -> Tuple[str, ...]:
        """The params that currently have a gradient."""
        return tuple(name for name in self.param_names if self.has_grad(name))

    @property
    def dim_names(self) -> Tuple[str, ...]:
        return tuple(self._dims.keys())

    @property
    def ref_names(self) -> Tuple[str, ...]:
        return tuple(self._refs.keys())

    @classmethod
    @contextlib.contextmanager
    def define_operators(cls, operators: Dict[str, Callable]) -> Iterator[None]:
        """Within the block, bind operator symbols (">>", "|", "**", ...) to
        functions of two arguments, e.g. ``{">>": chain}``. The binding is
        local to the current thread or asyncio task and replaces, rather than
        extends, any enclosing one."""
        token = cls._context_operators.set(dict(operators))
        try:
            yield
        finally:
            cls._context_operators.reset(token)

    # --- dims ---------------------------------------------------------------

    def has_dim(self, name: str) -> Optional[bool]:
        """True if the dim is set, None if declared but unset, False if unknown."""
        if name not in self._dims:
            return False
        return True if self._dims[name] is not None else None

    def get_dim(self, name: str) -> int:
        """The dim's value. Raises KeyError for an unknown dim and ValueError for one that is
        declared but unset."""
        if name not in self._dims:
            raise KeyError(f"Cannot get dimension '{name}' for model '{self.name}'")
        value = self._dims[name]
        if value is None:
            raise ValueError(f"Cannot get dimension '{name}' for model '{self.name}': value unset")
        return value

    def set_dim(self, name: str, value: int, *, force: bool = False) -> None:
        """Set a declared dim. Changing a dim that is already set raises, unless
        ``force`` is given and no param has been allocated yet."""
        if name not in self._dims:
            raise KeyError(f"Cannot set unknown dimension '{name}' for model '{self.name}'.")
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, numbers.Integral)
        ):
            raise TypeError(
                f"Dimension '{name}' for model '{self.name}' must be an int or None, "
                f"got {type(value).__name__} {value!r}"
            )
        old_value = self._dims[name]
        has_params = any(bool(allocated) for allocated in self._has_params.values())
        if old_value is not None and old_value != value and (not force or has_params):
            raise ValueError(
                f"Attempt to change dimension '{name}' for model '{self.name}' "
                f"from {old_value} to {value}"
            )
        self._dims[name] = value

    def maybe_get_dim(self, name: str) -> Optional[int]:
        """The dim's value, or None where it is unset or unknown."""
        return self._dims.get(name)

    # --- params and gradients -----------------------------------------------

    def has_param(self, name: str) -> Optional[bool]:
        """True if allocated, None if declared but unallocated, False if unknown."""
        if name not in self._has_params:
            return False
        return True if self._has_params[name] else None

    def get_param(self, name: str) -> "FloatsXd":
        """The param's array. Raises KeyError for an unknown param and for one that is declared
        but not allocated yet."""
        if name not in self._has_params:
            raise KeyError(f"Unknown param: '{name}' for model '{self.name}'.")
        if not self._has_params[name]:
            raise KeyError(
                f"Parameter '{name}' for model '{self.name}' has not been allocated yet."
            )
        return self._params.get_param(self.id, name)

    def maybe_get_param(self, name: str) -> Optional["FloatsXd"]:
        """The param's array, or None where it is unknown or not allocated."""
        return self.get_param(name) if self.has_param(name) else None

    def set_param(self, name: str, value: Optional["FloatsXd"]) -> None:
        """Set (or declare, for a new name) a param; None marks it unallocated."""
        if value is None:
            self._has_params[name] = None
        else:
            self._params.set_param(self.id, name, value)
            self._has_params[name] = True

    def has_grad(self, name: str) -> bool:
        """Whether the param has an accumulated gradient."""
        return self._params.has_grad(self.id, name)

    def get_grad(self, name: str) -> "FloatsXd":
        """The param's accumulated gradient. Raises KeyError where it has none."""
        return self._params.get_grad(self.id, name)

    def set_grad(self, name: str, value: "FloatsXd") -> None:
        """Replace the param's gradient (inc_grad adds to it instead)."""
        self._params.set_grad(self.id, name, value)

    def maybe_get_grad(self, name: str) -> Optional["FloatsXd"]:
        """The param's gradient, or None where it has none."""
        return self.get_grad(name) if self.has_grad(name) else None

    def inc_grad(self, name: str, value: "FloatsXd") -> None:
        """Add to the param's gradient (the first call stores a copy)."""
        self._params.inc_grad(self.id, name, value)

    def get_gradients(self) -> Dict[Tuple[int, str], Tuple["FloatsXd", "FloatsXd"]]:
        """Every allocated param in the tree that has a gradient, as
        {(model id, name): (param, gradient)}."""
        gradients = {}
        for node in self.walk():
            for name in node.grad_names:
                if node.has_param(name):
                    gradients[(node.id, name)] = (node.get_param(name), node.get_grad(name))
        return gradients

    # --- refs ---------------------------------------------------------------

    def has_ref(self, name: str) -> Optional[bool]:
        """True if the ref points at a node, None if declared but unset, False
        if unknown."""
        if name not in self._refs:
            return False
        return True if self._refs[name] is not None else None

    def get_ref(self, name: str) -> "Model":
        """The node the ref points at. Raises KeyError for an unknown ref and ValueError for one
        that is declared but unset."""
        if name not in self._refs:
            raise KeyError(f"Cannot get reference '{name}' for model '{self.name}'.")
        value = self._refs[name]
        if value is None:
            raise ValueError(f"Cannot get reference '{name}' for model '{self.name}': value unset.")
        return value

    def maybe_get_ref(self, name: str) -> Optional["Model"]:
        """The node the ref points at, or None where it is unset or unknown."""
        return self._refs.get(name)

    def set_ref(self, name: str, value: Optional["Model"]) -> None:
        """Point a named ref at a node of this model's tree (or unset it)."""
        if value is not None and not any(node is value for node in self.walk()):
            raise ValueError(
                f"Cannot add reference to node not in tree: '{getattr(value, 'name', value)}' "
                f"is not a node of model '{self.name}'."
            )
        self._refs[name] = value

    # --- running ------------------------------------------------------------

    def __call__(self, X: InT, is_train: bool) -> Tuple[OutT, Callable]:
        """Run the forward pass: returns the output and a backprop callback."""
        try:
            return self._func(self, X, is_train=is_train)
        except ValueError as error:
            named = _dtype_error_naming_the_layer(self, X, error)
            if named is None:
                raise
            raise named from error

    def initialize(self, X: Optional[InT] = None, Y: Optional[OutT] = None) -> "Model":
        """Infer missing dims from sample data and allocate params, by calling
        the model's init. With data validation on, X and Y are checked against
        the forward function's annotations first."""
        if (X is not None or Y is not None) and DATA_VALIDATION.get():
            validate_fwd_input_output(self.name, self._func, X, Y)
        if self.init is not None:
            self.init(self, X=X, Y=Y)
        return self

    def begin_update(self, X: InT) -> Tuple[OutT, Callable[[OutT], InT]]:
        """Run the model for training: (output, backprop callback)."""
        return self(X, is_train=True)

    def predict(self, X: InT) -> OutT:
        """Run the model for inference."""
        return self(X, is_train=False)[0]

    def finish_update(self, optimizer: "Optimizer") -> None:
        """Update every param that has a gradient, once per node however often
        the node is shared, then let the shims update their own weights.
        The optimizer is called as optimizer((model id, name), param, gradient)
        and is responsible for resetting the gradient it consumed."""
        for node in self.walk():
            for name in node.grad_names:
                if node.has_param(name):
                    param, _ = optimizer((node.id, name), node.get_param(name), node.get_grad(name))
                    node.set_param(name, param)
            for shim in node.shims:
                shim.finish_update(optimizer)

    @contextlib.contextmanager
    def use_params(self, params: Dict[Tuple[int, str], "FloatsXd"]) -> Iterator[None]:
        """Within the block, use the arrays in ``params`` (keyed by (model id,
        name)) in place of the current ones, e.g. averaged weights; the
        originals are restored afterwards, also when the block raises."""
        backup: List[Tuple[Model, str, Any]] = []
        with contextlib.ExitStack() as stack:
            try:
                for node in self.walk():
                    for name in node.param_names:
                        key = (node.id, name)
                        if key in params:
                            backup.append((node, name, node.maybe_get_param(name)))
                            node.set_param(name, params[key])
                    for shim in node.shims:
                        stack.enter_context(shim.use_params(params))
                yield
            finally:
                for node, name, value in reversed(backup):
                    node.set_param(name, value)

    def replace_callbacks(self, forward: Callable, *, init: Optional[Callable] = None) -> None:
        """Swap in new forward and init functions (init may be None)."""
        self._func = forward
        self.init = init

    # --- the tree -----------------------------------------------------------

    def walk(self, *, order: str = "bfs") -> Iterable["Model"]:
        """Iterate over every node of the tree once, shared nodes included
        once: breadth-first ("bfs"), or depth-first visiting a node before
        ("dfs_pre") or after ("dfs_post") its children."""
        if order == "bfs":
            return self._walk_bfs()
        if order == "dfs_pre":
            return self._walk_dfs(post_order=False)
        if order == "dfs_post":
            return self._walk_dfs(post_order=True)
        raise ValueError(f"Invalid order, must be one of: {', '.join(_WALK_ORDERS)}")

    def _walk_bfs(self) -> Iterable["Model"]:
        queue: List[Model] = [self]
        seen = {id(self)}
        # Children are read only when their parent is reached, so the walk
        # sees layers appended to nodes it has not visited yet (iterating a
        # list reaches the items appended to it during the loop).
        for node in queue:
            yield node
            for layer in node._layers:
                key = id(layer)
                if key not in seen:
                    seen.add(key)
                    queue.append(layer)

    def _walk_dfs(self, post_order: bool = False) -> Iterable["Model"]:
        # An explicit stack: deep models must not hit the recursion limit.
        seen = {id(self)}
        if not post_order:
            yield self
        stack: List[Tuple[Model, Iterator[Model]]] = [(self, iter(self._layers))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if id(child) not in seen:
                    seen.add(id(child))
                    if not post_order:
                        yield child
                    stack.append((child, iter(child._layers)))
                    break
            else:
                stack.pop()
                if post_order:
                    yield node

    def remove_node(self, node: "Model") -> None:
        """Remove ``node`` from every child list in the tree and unset the refs
        that pointed at it."""
        for parent in list(self.walk()):
            parent._layers[:] = [layer for layer in parent._layers if layer is not node]
            for name, ref in parent._refs.items():
                if ref is node:
                    parent._refs[name] = None

    def replace_node(self, old: "Model", new: "Model") -> bool:
        """Put ``new`` wherever ``old`` is a child or the target of a ref.
        Returns whether ``old`` was found in the tree."""
        found = False
        # The node list is taken first, so ``new``'s own subtree (which may
        # contain ``old``) is left alone.
        for node in list(self.walk()):
            if node is old:
                found = True
                continue
            for position, layer in enumerate(node._layers):
                if layer is old:
                    node._layers[position] = new
                    found = True
            for name, ref in node._refs.items():
                if ref is old:
                    node._refs[name] = new
                    found = True
        return found

    def copy(self: SelfT) -> SelfT:
        """A deep copy: params, gradients, dims and attrs are copied, nodes and
        shims shared within this tree stay shared in the copy, and refs point
        at the corresponding nodes of the copy. The copies get new ids."""
        return self._copy()

    def _copy(self: SelfT, seen: Optional[Dict[int, Union["Model", Shim]]] = None) -> SelfT:
        is_root = seen is None
        if seen is None:
            seen = {}
        params = {}
        for name in self.param_names:
            params[name] = self.get_param(name).copy() if self.has_param(name) else None
        copied: Model = Model(
            self.name,
            self._func,
            init=self.init,
            params=params,
            dims=dict(self._dims),
            attrs=copy_module.deepcopy(self._attrs),
            ops=self.ops,
        )
        for name in self.grad_names:
            copied.set_grad(name, self.get_grad(name).copy())
        seen[id(self)] = copied
        for layer in self._layers:
            if id(layer) in seen:
                copied._layers.append(cast(Model, seen[id(layer)]))
            else:
                copied._layers.append(layer._copy(seen))
        for shim in self._shims:
            if id(shim) not in seen:
                seen[id(shim)] = shim.copy()
            copied._shims.append(cast(Shim, seen[id(shim)]))
        if is_root:
            # Refs may point anywhere in the tree, so they are mapped once
            # every node has its copy.
            for original in self.walk():
                node_copy = cast(Model, seen[id(original)])
                node_copy._refs = {
                    name: (None if ref is None else cast(Model, seen.get(id(ref), ref)))
                    for name, ref in original._refs.items()
                }
        return cast(SelfT, copied)

    # --- devices ------------------------------------------------------------

    def to_gpu(self, gpu_id: int) -> None:
        """Move every param, gradient and shim to GPU ``gpu_id`` (needs cupy)."""
        try:
            import cupy.cuda.device
        except ImportError as error:
            raise ValueError("Cannot move a model to the GPU: cupy is not installed") from error
        with cupy.cuda.device.Device(gpu_id):
            self._to_ops(CupyOps(device_id=gpu_id))

    def to_cpu(self) -> None:
        """Move every param, gradient and shim to the CPU."""
        self._to_ops(NumpyOps())

    def _to_ops(self, ops: Ops) -> None:
        """Make ``ops`` the backend of every node, converting arrays to it."""
        for node in self.walk():
            node.ops = ops
            for name in node.param_names:
                if node.has_param(name):
                    node.set_param(name, cast("FloatsXd", ops.asarray(node.get_param(name))))
                if node.has_grad(name):
                    node.set_grad(name, cast("FloatsXd", ops.asarray(node.get_grad(name))))
            for shim in node.shims:
                shim.to_device(ops.device_type, ops.device_id)

    # --- serialization ------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Serialize dims, refs, attrs, params and shims (msgpack, thinc's format)."""
        return srsly.msgpack_dumps(self.to_dict())

    def to_disk(self, path: Union[Path, str]) -> None:
        """Write params, dims and attrs to a file, in thinc 8.3's msgpack format (from_disk
        reads it)."""
        with Path(path).open("wb") as file_:
            file_.write(self.to_bytes())

    def to_dict(self) -> Dict:
        """The model's state as {"nodes", "attrs", "params", "shims"}: one entry
        per node, in walk() order; refs are stored as node indices."""
        nodes = list(self.walk())
        index_of = {id(node): position for position, node in enumerate(nodes)}
        # Key order is part of the byte format: nodes, attrs, params, shims.
        msg: Dict[str, List] = {key: [] for key in _MSG_KEYS}
        for position, node in enumerate(nodes):
            refs: Dict[str, Optional[int]] = {}
            outside = []
            for name, ref in node._refs.items():
                if ref is None:
                    refs[name] = None
                elif id(ref) in index_of:
                    refs[name] = index_of[id(ref)]
                else:
                    outside.append(name)
            if outside:
                raise ValueError(
                    f"Cannot get references: {outside} (model '{node.name}' refers to "
                    "nodes outside the tree being serialized)"
                )
            msg["nodes"].append(
                {
                    "index": position,
                    "name": node.name,
                    "dims": {name: node.maybe_get_dim(name) for name in node.dim_names},
                    "refs": refs,
                }
            )
        for node in nodes:
            attrs = {}
            for name, value in node.attrs.items():
                try:
                    attrs[name] = serialize_attr(value, value, name, node)
                except TypeError:
                    # Values msgpack cannot encode (functions, objects) are
                    # rebuilt by the layer's factory, so they are left out.
                    continue
            msg["attrs"].append(attrs)
        for node in nodes:
            params = {}
            for name in node.param_names:
                params[name] = _to_numpy(node.get_param(name)) if node.has_param(name) else None
            msg["params"].append(params)
        for node in nodes:
            msg["shims"].append([shim.to_bytes() for shim in node.shims])
        return msg

    def from_bytes(self, bytes_data: bytes) -> "Model":
        """Load state written by to_bytes into this model (same architecture)."""
        return self.from_dict(_unpack_model_bytes(bytes_data))

    def from_disk(self, path: Union[Path, str]) -> "Model":
        """Load params, dims and attrs from a file written by to_disk (thinc 8.3's format);
        returns self."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"Cannot load model '{self.name}': no file at {path}")
        return self.from_bytes(path.read_bytes())

    def from_dict(self, msg: Dict) -> "Model":
        """Load state produced by to_dict. Everything is checked before anything
        is changed, so a mismatch leaves the model as it was."""
        nodes = list(self.walk())
        _check_msg_structure(msg, nodes)
        for position, node in enumerate(nodes):
            _check_node_compatible(msg, position, node, nodes)
        for position, node in enumerate(nodes):
            info = msg["nodes"][position]
            for dim, value in info["dims"].items():
                if value is not None:
                    node.set_dim(dim, value)
            for name, ref_index in info["refs"].items():
                node._refs[name] = None if ref_index is None else nodes[ref_index]
            for name, value in msg["attrs"][position].items():
                node.attrs[name] = deserialize_attr(node.attrs.get(name), value, name, node)
            for name, value in msg["params"][position].items():
                if value is not None:
                    value = node.ops.asarray(value)
                    # Decoded arrays view the message's read-only buffer;
                    # params must be writable for in-place updates.
                    if isinstance(value, numpy.ndarray) and not value.flags.writeable:
                        value = value.copy()
                node.set_param(name, value)
            for shim, shim_bytes in zip(node.shims, msg["shims"][position]):
                shim.from_bytes(shim_bytes)
        return self

    def can_from_disk(self, path: Union[Path, str], *, strict: bool = True) -> bool:
        """Whether from_disk(path) would load. strict=False ignores differing
        node names and attr values."""
        path = Path(path)
        if not path.is_file():
            return False
        return self.can_from_bytes(path.read_bytes(), strict=strict)

    def can_from_bytes(self, bytes_data: bytes, *, strict: bool = True) -> bool:
        """Whether from_bytes would accept these bytes (the same tree of layers, names and
        dims), without changing this model."""
        try:
            msg = _unpack_model_bytes(bytes_data)
        except ValueError:
            return False
        return self.can_from_dict(msg, strict=strict)

    def can_from_dict(self, msg: Dict, *, strict: bool = True) -> bool:
        """Whether from_dict would accept this message (the same tree of layers, names and
        dims), without changing this model."""
        return _message_fits(msg, list(self.walk()), strict=strict)

    # --- operators ----------------------------------------------------------

    def _apply_operator(self, symbol: str, other: Any) -> "Model":
        function = self._context_operators.get().get(symbol)
        if function is None:
            raise TypeError(f"Undefined operator: {symbol}")
        return function(self, other)

    def __add__(self, other: Any) -> "Model":
        return self._apply_operator("+", other)

    def __sub__(self, other: Any) -> "Model":
        return self._apply_operator("-", other)

    def __mul__(self, other: Any) -> "Model":
        return self._apply_operator("*", other)

    def __matmul__(self, other: Any) -> "Model":
        return self._apply_operator("@", other)

    def __div__(self, other: Any) -> "Model":
        return self._apply_operator("/", other)

    def __truediv__(self, other: Any) -> "Model":
        return self._apply_operator("/", other)

    def __floordiv__(self, other: Any) -> "Model":
        return self._apply_operator("//", other)

    def __mod__(self, other: Any) -> "Model":
        return self._apply_operator("%", other)

    def __pow__(self, other: Any) -> "Model":
        return self._apply_operator("**", other)

    def __lshift__(self, other: Any) -> "Model":
        return self._apply_operator("<<", other)

    def __rshift__(self, other: Any) -> "Model":
        return self._apply_operator(">>", other)

    def __and__(self, other: Any) -> "Model":
        return self._apply_operator("&", other)

    def __xor__(self, other: Any) -> "Model":
        return self._apply_operator("^", other)

    def __or__(self, other: Any) -> "Model":
        return self._apply_operator("|", other)


# --- decoding, with checks ----------------------------------------------------


def _dtype_error_naming_the_layer(model: Model, X: Any, error: ValueError) -> Optional[ValueError]:
    """A dtype error raised deep in the ops, restated with the innermost layer
    that saw it, its params' dtypes and the input's; None for other errors
    and for errors an inner layer has already named."""
    if getattr(error, "thinc_layer", None) is not None or "dtype" not in str(error):
        return None
    param_dtypes = sorted(
        {str(model.get_param(name).dtype) for name in model.param_names if model.has_param(name)}
    )
    context = f"in layer '{model.name}'"
    if param_dtypes:
        context += f", whose params are {' and '.join(param_dtypes)}"
    input_dtype = getattr(X, "dtype", None)
    if input_dtype is not None:
        context += f", given {input_dtype} input"
        if len(param_dtypes) == 1 and str(input_dtype) != param_dtypes[0]:
            context += f": cast it with X.astype('{param_dtypes[0]}')"
    try:  # the same exception class, so that callers' except clauses still match
        named = type(error)(f"{error} ({context})")
    except Exception:  # noqa: BLE001 - a class whose constructor wants more
        return None
    named.thinc_layer = model.name  # type: ignore[attr-defined]
    return named


def _to_numpy(array: Any) -> Any:
    """A host (numpy) copy of a device array; numpy arrays pass through."""
    if isinstance(array, numpy.ndarray):
        return array
    if hasattr(array, "get"):  # cupy
        return array.get()
    return numpy.asarray(array)


# --- tree utilities -----------------------------------------------------------


def wrap_model_recursive(model: Model, wrapper: Callable[[Model], _ModelT]) -> _ModelT:
    """Wrap every node of the tree (each child is replaced in place by its
    wrapper) and return the wrapped root."""
    for node in list(model.walk()):
        model.replace_node(node, wrapper(node))
    return wrapper(model)


def change_attr_values(model: _ModelT, mapping: Dict[str, Dict[str, Any]]) -> _ModelT:
    """For each node whose name is in ``mapping``, set the attrs it already
    has to the mapped values; attrs a node lacks are not added."""
    for node in model.walk():
        if node.name in mapping:
            for attr, value in mapping[node.name].items():
                if attr in node.attrs:
                    node.attrs[attr] = value
    return model


def set_dropout_rate(model: _ModelT, drop: float, attrs=["dropout_rate"]) -> _ModelT:
    """Set the dropout rate on every node that has one of the given attrs."""
    # spaCy's parser and NER call this on every predict: one attrs lookup a node.
    for node in model.walk():
        node_attrs = node.attrs
        for attr in attrs:
            if attr in node_attrs:
                node_attrs[attr] = drop
    return model
