"""The params of one or more models as one flat vector, and the optimizer's state
under names that mean the same thing in every process.

A node is named by its position in a breadth-first walk of the models, which is
the same in every process that builds the same architecture; `Model.id` is not
(it counts the models a process has created), yet it is what the optimizer's
moments and averages are keyed by."""

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy

from thinc.api import Model, Optimizer

# The optimizer's hyper-parameters that a schedule may have moved.
HYPER_PARAMETERS = ("learn_rate", "b1", "b2", "eps", "L2", "grad_clip")


@dataclass
class ParamSlot:
    node: Model
    position: int
    name: str
    shape: Tuple[int, ...]
    offset: int
    size: int


class ParamLayout:
    """Where each param of `roots` lives in a flat gradient vector. A node shared
    by several roots (or several times in one) has one slot."""

    def __init__(self, roots: Sequence[Model], *, require_all: bool = True) -> None:
        self.nodes: List[Model] = []
        seen = set()
        for root in roots:
            for node in root.walk():
                if id(node) not in seen:
                    seen.add(id(node))
                    self.nodes.append(node)
        self.slots: List[ParamSlot] = []
        dtypes = []
        offset = 0
        for position, node in enumerate(self.nodes):
            if node.shims:
                raise ValueError(
                    f"layer '{node.name}' wraps another framework's model (a shim); "
                    "thinc.extra.ray trains thinc params only"
                )
            for name in node.param_names:
                if not node.has_param(name):
                    if require_all:
                        raise ValueError(
                            f"layer '{node.name}' has no value for its param '{name}': "
                            "initialize the model (model.initialize(X=..., Y=...)) before "
                            "training it on Ray"
                        )
                    continue
                param = node.get_param(name)
                self.slots.append(
                    ParamSlot(node, position, name, tuple(param.shape), offset, param.size)
                )
                dtypes.append(param.dtype)
                offset += param.size
        self.size = offset
        self.dtype = numpy.result_type(*dtypes) if dtypes else numpy.dtype("float32")
        self._position_of = {node.id: position for position, node in enumerate(self.nodes)}

    def make_writable(self) -> None:
        """Copy every param that is a read-only view: a model unpickled from Ray's
        object store shares its arrays with it, and the optimizer updates in place."""
        for slot in self.slots:
            value = slot.node.get_param(slot.name)
            flags = getattr(value, "flags", None)
            if flags is not None and not flags.writeable:
                slot.node.set_param(slot.name, slot.node.ops.asarray(numpy.array(value, copy=True)))

    def gradients(self, scale: float = 1.0) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """(flat gradient times `scale`, mask): the mask says which params have a
        gradient at all; the flat vector holds zeros for the others."""
        flat = numpy.empty(self.size, dtype=self.dtype)
        mask = numpy.zeros(len(self.slots), dtype="bool")
        factor = self.dtype.type(scale)
        for i, slot in enumerate(self.slots):
            piece = flat[slot.offset : slot.offset + slot.size]
            if slot.node.has_grad(slot.name):
                gradient = slot.node.ops.to_numpy(slot.node.get_grad(slot.name))
                # One pass: scaled straight into place.
                numpy.multiply(gradient.ravel(), factor, out=piece)
                mask[i] = True
            else:
                piece.fill(0)
        return flat, mask

    def set_gradients(self, flat: numpy.ndarray, mask: numpy.ndarray) -> None:
        """Make the params in `mask` take their gradients from `flat`. The params'
        gradients become views of `flat` (the optimizer zeroes them in place), so
        `flat` must be writable and not used afterwards."""
        self._check(flat, mask)
        if not flat.flags.writeable:
            flat = flat.copy()
        for i, slot in enumerate(self.slots):
            if mask[i]:
                piece = flat[slot.offset : slot.offset + slot.size].reshape(slot.shape)
                current = slot.node.get_param(slot.name)
                slot.node.set_grad(slot.name, slot.node.ops.asarray(piece, dtype=current.dtype))

    def grad_mask(self) -> numpy.ndarray:
        return numpy.asarray([slot.node.has_grad(slot.name) for slot in self.slots], dtype="bool")

    def allocate_gradients(self, mask: numpy.ndarray) -> None:
        """Give the params in `mask` zero gradients, as a replica that has trained
        has (the optimizer zeroes what it consumes), so that `finish_update` visits
        the same params in every replica."""
        for i, slot in enumerate(self.slots):
            if mask[i] and not slot.node.has_grad(slot.name):
                current = slot.node.get_param(slot.name)
                slot.node.set_grad(
                    slot.name, slot.node.ops.alloc(current.shape, dtype=current.dtype)
                )

    def parameters(self) -> numpy.ndarray:
        """Every param, flattened in slot order (for comparing replicas)."""
        flat = numpy.zeros(self.size, dtype=self.dtype)
        for slot in self.slots:
            value = slot.node.ops.to_numpy(slot.node.get_param(slot.name))
            flat[slot.offset : slot.offset + slot.size] = value.ravel()
        return flat

    def _check(self, flat: numpy.ndarray, mask: numpy.ndarray) -> None:
        if flat.shape != (self.size,) or mask.shape != (len(self.slots),):
            raise ValueError(
                f"gradient of shape {flat.shape} with mask {mask.shape} does not fit "
                f"this model's {self.size} params in {len(self.slots)} arrays: the "
                "replicas have different architectures"
            )

    # -- the optimizer's state, keyed by node position ----------------------------

    def optimizer_state(self, optimizer: Optimizer) -> Dict[str, Any]:
        """The optimizer's moments, averages, step counts and current
        hyper-parameters, for the params of these models."""

        def rekey(table: Optional[Dict]) -> Optional[Dict[str, Any]]:
            if table is None:
                return None
            renamed = {}
            for key, value in table.items():
                name = self._stable_key(key)
                if name is not None:
                    renamed[name] = (
                        value if isinstance(value, int) else numpy.array(optimizer_array(value))
                    )
            return renamed

        return {
            "mom1": rekey(optimizer.mom1),
            "mom2": rekey(optimizer.mom2),
            "averages": rekey(optimizer.averages),
            "nr_update": rekey(dict(optimizer.nr_update)),
            "last_seen": rekey(dict(optimizer.last_seen)),
            "hyper": {name: float(getattr(optimizer, name)) for name in HYPER_PARAMETERS},
        }

    def load_optimizer_state(self, optimizer: Optimizer, state: Dict[str, Any]) -> None:
        """The inverse of `optimizer_state`, onto an optimizer of this process."""
        keys = {
            f"{self._position_of[slot.node.id]}:{slot.name}": (slot.node.id, slot.name)
            for slot in self.slots
        }
        ops = self.slots[0].node.ops if self.slots else None

        def restore(table: Optional[Dict[str, Any]], as_array: bool) -> Dict:
            restored: Dict = {}
            for name, value in (table or {}).items():
                if name in keys:
                    # Copies: arrays from the object store are read-only views.
                    restored[keys[name]] = (
                        ops.asarray(numpy.array(value, copy=True)) if as_array and ops else value
                    )
            return restored

        optimizer.mom1 = restore(state["mom1"], True)
        optimizer.mom2 = restore(state["mom2"], True)
        if optimizer.averages is not None or state["averages"] is not None:
            optimizer.averages = restore(state["averages"], True)
        optimizer.nr_update.clear()
        optimizer.nr_update.update(restore(state["nr_update"], False))
        optimizer.last_seen.clear()
        optimizer.last_seen.update(restore(state["last_seen"], False))
        for name, value in state["hyper"].items():
            setattr(optimizer, name, value)

    def training_state(self, optimizer: Optimizer, schedule_steps: int) -> Dict[str, Any]:
        """What a new replica needs besides the weights: which params have
        gradients, the optimizer's state and how far its schedules have gone."""
        return {
            "grad_mask": self.grad_mask(),
            "optimizer": self.optimizer_state(optimizer),
            "schedule_steps": schedule_steps,
        }

    def _stable_key(self, key: Any) -> Optional[str]:
        if isinstance(key, tuple) and len(key) == 2 and key[0] in self._position_of:
            return f"{self._position_of[key[0]]}:{key[1]}"
        return None


def optimizer_array(value: Any) -> numpy.ndarray:
    """A moment or average as a numpy array (they live on the params' device)."""
    return value.get() if hasattr(value, "get") else numpy.asarray(value)
