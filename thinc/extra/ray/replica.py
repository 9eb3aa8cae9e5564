"""One worker's copy of a thinc model and its optimizer: computes the gradient of
its shard, applies the combined gradient, and hands over or takes its state.

Every replica applies the same combined gradient with an optimizer in the same
state, so replicas stay bit-identical without ever sending parameters; only a
new replica (a replacement, or a resumed run) receives the state."""

import copy
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy

from thinc.api import Model, Optimizer

from .gradients import Message, encode_gradients, sum_gradients
from .params import ParamLayout

UpdateFunction = Callable[[Model, List[Any]], Any]
OptimizerSpec = Union[Optimizer, Callable[[], Optimizer]]


def build_optimizer(spec: OptimizerSpec) -> Optimizer:
    """A fresh optimizer from a function that builds one, or a copy of an instance
    (a copy, so that its schedules can be replayed from their start)."""
    if isinstance(spec, Optimizer):
        return copy.deepcopy(spec)
    optimizer = spec() if callable(spec) else spec
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer must be a thinc Optimizer or a function returning one, not {type(optimizer)}"
        )
    return optimizer


class ThincReplica:
    """A thinc model trained by `update(model, batch) -> loss`, which runs the
    forward and backward passes (so the model's gradients hold the batch's) and
    returns the loss as a number."""

    def __init__(
        self, model: Model, update: UpdateFunction, optimizer: OptimizerSpec, data: Sequence
    ) -> None:
        self.model = model
        self.update = update
        self.optimizer_spec = optimizer
        self.optimizer = build_optimizer(optimizer)
        self.data = data
        self.layout = ParamLayout([model])
        self.layout.make_writable()
        # Schedules are generators, which cannot be sent anywhere: a new replica
        # builds a fresh optimizer and steps its schedules this many times.
        self.schedule_steps = 0

    def compute(self, indices: Sequence[int], scale: float) -> Tuple[Message, numpy.ndarray, float]:
        """(gradient times `scale`, as a message for the other workers; which params
        have a gradient; loss) for these examples."""
        loss = self.update(self.model, [self.data[i] for i in indices])
        message, mask = encode_gradients(self.layout, scale)
        return message, mask, float(loss if loss is not None else 0.0) * scale

    def apply(self, gradients: Sequence[Optional[Message]], mask: numpy.ndarray) -> None:
        """One optimizer step with the combined gradient, then the schedules' step."""
        self.layout.set_gradients(sum_gradients(self.layout, gradients), mask)
        self.model.finish_update(self.optimizer)
        self.optimizer.step_schedules()
        self.schedule_steps += 1

    def get_state(self) -> Dict[str, Any]:
        return {
            "model": self.model.to_bytes(),
            **self.layout.training_state(self.optimizer, self.schedule_steps),
        }

    def set_state(self, state: Dict[str, Any]) -> None:
        self.model.from_bytes(state["model"])
        self.layout = ParamLayout([self.model])
        self.layout.make_writable()
        self.layout.allocate_gradients(numpy.asarray(state["grad_mask"], dtype="bool"))
        self.optimizer = build_optimizer(self.optimizer_spec)
        for _ in range(state["schedule_steps"]):
            self.optimizer.step_schedules()
        self.schedule_steps = state["schedule_steps"]
        self.layout.load_optimizer_state(self.optimizer, state["optimizer"])

    def parameters(self) -> numpy.ndarray:
        return self.layout.parameters()


class ThincReplicaFactory:
    """What a worker needs to build its replica; sent once through the object store."""

    def __init__(self, model: Model, update: UpdateFunction, optimizer: OptimizerSpec) -> None:
        self.model = model
        self.update = update
        self.optimizer = optimizer

    def __call__(self, data: Optional[Sequence]) -> ThincReplica:
        return ThincReplica(
            self.model, self.update, self.optimizer, data if data is not None else []
        )
