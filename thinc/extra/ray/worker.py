"""The Ray actor that holds one replica. Each step it first applies the previous
step's combined gradient (its replica sums the workers' gradients itself, in worker
order, so every worker gets the same bits), then computes its shard's gradient,
which it returns into the object store for the others to read."""

import os
import time
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy

from thinc.api import fix_random_seed

from .gradients import message_bytes


class Worker:
    """One replica on one Ray worker process. The coordinator calls `step` once a
    step; everything else is for starting, repairing and inspecting the replica."""

    def __init__(self, factory: Callable[[Any], Any], data: Any, index: int) -> None:
        self.replica = factory(data)
        self.index = index

    def step(
        self, header: Dict[str, Any], *gradients: Optional[Dict[str, numpy.ndarray]]
    ) -> Tuple[Any, Dict[str, Any]]:
        """Apply the pending combined gradient (when `gradients` are given), then
        compute this worker's shard: (scaled gradient or None, small stats)."""
        started = time.perf_counter()
        if gradients:
            self._apply(gradients, header["pending_mask"])
        applied = time.perf_counter()
        cpu = time.process_time()
        indices = header["indices"]
        gradient = mask = None
        loss = 0.0
        if indices:
            fix_random_seed(header["seed"])
            gradient, mask, loss = self.replica.compute(indices, header["scale"])
        finished = time.perf_counter()
        cpu = time.process_time() - cpu
        stats = {
            "loss": loss,
            "mask": mask,
            "gradient_bytes": message_bytes(gradient),
            "apply_seconds": applied - started,
            "compute_seconds": finished - applied,
            # CPU time against wall time shows whether the worker had its core.
            "compute_cpu_seconds": cpu,
        }
        return gradient, stats

    def apply(self, mask: numpy.ndarray, *gradients: Optional[Dict[str, numpy.ndarray]]) -> bool:
        """Apply a combined gradient without computing anything (the end of a run,
        or before a checkpoint)."""
        self._apply(gradients, mask)
        return True

    def _apply(
        self, gradients: Sequence[Optional[Dict[str, numpy.ndarray]]], mask: numpy.ndarray
    ) -> None:
        if any(gradient is not None for gradient in gradients):
            self.replica.apply(gradients, mask)

    def get_state(self) -> Dict[str, Any]:
        return self.replica.get_state()

    def set_state(self, state: Dict[str, Any]) -> bool:
        self.replica.set_state(state)
        return True

    def parameters(self) -> numpy.ndarray:
        return self.replica.parameters()

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A method of the replica that the coordinator does not know (evaluation,
        saving); the spaCy trainer uses it."""
        return getattr(self.replica, method)(*args, **kwargs)

    def describe(self) -> Dict[str, Any]:
        """Where this worker runs: process id and Ray node id."""
        import ray

        return {
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id(),
            "index": self.index,
        }
