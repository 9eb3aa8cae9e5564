"""The driver's side of data-parallel training: starts one Ray actor per replica,
sends each its shard every step, replaces a worker that dies (resynchronised from
a survivor, its shard redone) and keeps the ledger of what each step consumed.

The combined gradient never passes through the driver: each worker's gradient
goes into Ray's object store, and the next step hands every worker the references
to all of them."""

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy

from .cluster import check_capacity, worker_environment
from .dependency import require_ray
from .sharding import step_seed
from .worker import Worker


@dataclass
class StepReport:
    """What one step cost: loss (already combined), the gradient bytes each worker
    wrote, the bytes workers read from other workers, wall and CPU seconds per
    worker, and the workers replaced during the step."""

    loss: float
    gradient_bytes: List[int]
    bytes_read: int
    compute_seconds: List[float]
    compute_cpu_seconds: List[float]
    apply_seconds: List[float]
    replaced: List[int] = field(default_factory=list)


@dataclass
class LedgerEntry:
    epoch: int
    step: int
    worker: int
    indices: List[int]


class Coordinator:
    """`workers` actors, each holding `factory(data)`; `factory` and `data` are put in
    the object store once and reused by replacements."""

    def __init__(
        self,
        factory: Callable[[Any], Any],
        data: Any,
        *,
        workers: int,
        seed: int = 0,
        cpus_per_worker: float = 1.0,
        env: Optional[Dict[str, str]] = None,
        start_timeout: float = 120.0,
        step_timeout: Optional[float] = None,
        max_replacements: int = 16,
    ) -> None:
        ray = require_ray()
        if not ray.is_initialized():
            raise RuntimeError(
                "Ray is not running in this process: call thinc.extra.ray.connect() first"
            )
        check_capacity(workers, cpus_per_worker)
        self.n_workers = workers
        self.seed = seed
        self.start_timeout = start_timeout
        self.step_timeout = step_timeout
        self.max_replacements = max_replacements
        self._factory_ref = ray.put(factory)
        self._data_ref = ray.put(data)
        self._actor = ray.remote(Worker).options(
            num_cpus=cpus_per_worker,
            runtime_env={"env_vars": worker_environment(env)},
            max_restarts=0,
            max_task_retries=0,
        )
        # The previous step's gradients (one reference per worker, None for an
        # empty shard) and the union of their masks: applied at the next call.
        self._pending: Optional[Tuple[List[Any], numpy.ndarray]] = None
        self.ledger: List[LedgerEntry] = []
        self.replacements: List[Dict[str, Any]] = []
        self.workers: List[Any] = []
        try:
            self.workers = [
                self._actor.remote(self._factory_ref, self._data_ref, i) for i in range(workers)
            ]
            self._wait_ready(self.workers)
        except BaseException:
            self.close()
            raise

    # -- starting and repairing ---------------------------------------------------

    def _wait_ready(self, actors: Sequence[Any]) -> List[Dict[str, Any]]:
        ray = require_ray()
        try:
            return ray.get(
                [actor.describe.remote() for actor in actors], timeout=self.start_timeout
            )
        except ray.exceptions.GetTimeoutError:
            raise TimeoutError(
                f"{len(actors)} Ray worker(s) did not start within {self.start_timeout:g}s: the "
                "cluster may lack free CPUs (other jobs hold them) or be unable to start processes"
            ) from None
        except ray.exceptions.RayActorError as error:
            raise RuntimeError(f"a Ray worker failed while building its replica: {error}") from None

    def _replace(
        self, dead: Sequence[int], survivors: Sequence[int], epoch: int, step: int
    ) -> None:
        """Start new workers in place of `dead`, holding a survivor's state."""
        ray = require_ray()
        if len(self.replacements) + len(dead) > self.max_replacements:
            raise RuntimeError(
                f"more than {self.max_replacements} workers died in this run; stopping "
                "(resume from the last checkpoint once the cluster is healthy)"
            )
        state = None
        for index in survivors:
            try:
                state = ray.get(self.workers[index].get_state.remote())
                break
            except ray.exceptions.RayActorError:
                continue
        if state is None:
            raise RuntimeError(
                f"every worker died at epoch {epoch}, step {step}: no replica is left to copy; "
                "resume from the last checkpoint"
            )
        state_ref = ray.put(state)
        fresh = [self._actor.remote(self._factory_ref, self._data_ref, index) for index in dead]
        self._wait_ready(fresh)
        ray.get([actor.set_state.remote(state_ref) for actor in fresh])
        for index, actor in zip(dead, fresh):
            self.workers[index] = actor
            self.replacements.append({"epoch": epoch, "step": step, "worker": index})

    # -- one step -----------------------------------------------------------------

    def run_step(
        self, epoch: int, step: int, shards: Sequence[Sequence[int]], scales: Sequence[float]
    ) -> StepReport:
        """Apply the previous step's combined gradient and compute this one's:
        worker i gets shards[i], its gradient multiplied by scales[i]."""
        ray = require_ray()
        if len(shards) != self.n_workers or len(scales) != self.n_workers:
            raise ValueError(
                f"expected {self.n_workers} shards and scales, got {len(shards)} and {len(scales)}"
            )
        pending_refs, pending_mask = self._pending if self._pending else ([], None)
        headers = [
            {
                "indices": list(shard),
                "scale": float(scale),
                "seed": step_seed(self.seed, epoch, step, index),
                "pending_mask": pending_mask,
            }
            for index, (shard, scale) in enumerate(zip(shards, scales))
        ]
        calls = {
            index: self._submit(index, headers[index], pending_refs)
            for index in range(self.n_workers)
        }
        stats: Dict[int, Dict[str, Any]] = {}
        gradient_refs: Dict[int, Any] = {}
        replaced: List[int] = []
        while calls:
            dead = []
            for index, (_, stats_ref) in calls.items():
                try:
                    stats[index] = ray.get(stats_ref, timeout=self.step_timeout)
                except ray.exceptions.GetTimeoutError:
                    raise TimeoutError(
                        f"worker {index} took over {self.step_timeout:g}s for epoch {epoch}, step {step}"
                    ) from None
                except ray.exceptions.RayActorError:
                    dead.append(index)
            gradient_refs.update(
                {index: call[0] for index, call in calls.items() if index not in dead}
            )
            calls = {}
            if dead:
                survivors = [index for index in range(self.n_workers) if index in stats]
                self._replace(dead, survivors, epoch, step)
                replaced.extend(dead)
                # A survivor has applied the pending gradient, so its state already
                # holds it: the replacements only redo their shards.
                calls = {index: self._submit(index, headers[index], []) for index in dead}
        refs = [gradient_refs[index] for index in range(self.n_workers)]
        masks = [
            stats[index]["mask"]
            for index in range(self.n_workers)
            if stats[index]["mask"] is not None
        ]
        mask = numpy.logical_or.reduce(masks) if masks else None
        self._pending = (refs, mask) if mask is not None else None
        for index, shard in enumerate(shards):
            if len(shard):
                self.ledger.append(LedgerEntry(epoch, step, index, [int(i) for i in shard]))
        gradient_bytes = [stats[index]["gradient_bytes"] for index in range(self.n_workers)]
        return StepReport(
            loss=float(sum(stats[index]["loss"] for index in range(self.n_workers))),
            gradient_bytes=gradient_bytes,
            # Every worker reads every other worker's gradient.
            bytes_read=(self.n_workers - 1) * sum(gradient_bytes),
            compute_seconds=[stats[index]["compute_seconds"] for index in range(self.n_workers)],
            compute_cpu_seconds=[
                stats[index]["compute_cpu_seconds"] for index in range(self.n_workers)
            ],
            apply_seconds=[stats[index]["apply_seconds"] for index in range(self.n_workers)],
            replaced=replaced,
        )

    def _submit(
        self, index: int, header: Dict[str, Any], pending_refs: Sequence[Any]
    ) -> Tuple[Any, Any]:
        # Two returns: the gradient stays in the object store, the stats come back.
        return self.workers[index].step.options(num_returns=2).remote(header, *pending_refs)

    def flush(self, epoch: int = -1, step: int = -1) -> None:
        """Apply the pending combined gradient on every worker now."""
        ray = require_ray()
        if self._pending is None:
            return
        refs, mask = self._pending
        calls = [worker.apply.remote(mask, *refs) for worker in self.workers]
        dead = []
        for index, call in enumerate(calls):
            try:
                ray.get(call, timeout=self.step_timeout)
            except ray.exceptions.RayActorError:
                dead.append(index)
        if dead:
            survivors = [index for index in range(self.n_workers) if index not in dead]
            self._replace(dead, survivors, epoch, step)
        self._pending = None

    # -- state --------------------------------------------------------------------

    def get_state(self) -> Dict[str, Any]:
        """The replicas' common state (after applying what is pending)."""
        self.flush()
        return self.call_first("get_state")

    def set_state(self, state: Dict[str, Any]) -> None:
        ray = require_ray()
        self._pending = None
        state_ref = ray.put(state)
        ray.get([worker.set_state.remote(state_ref) for worker in self.workers])

    def parameters(self) -> List[numpy.ndarray]:
        """Each replica's params as one flat array (after applying what is pending)."""
        ray = require_ray()
        self.flush()
        return ray.get([worker.parameters.remote() for worker in self.workers])

    def call_first(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run a worker method on the first worker that answers."""
        ray = require_ray()
        for worker in self.workers:
            try:
                if method in ("get_state", "parameters", "describe"):
                    return ray.get(getattr(worker, method).remote())
                return ray.get(worker.call.remote(method, *args, **kwargs))
            except ray.exceptions.RayActorError:
                continue
        raise RuntimeError("every worker has died")

    def describe(self) -> List[Dict[str, Any]]:
        """Each worker's process id and Ray node id."""
        ray = require_ray()
        return ray.get([worker.describe.remote() for worker in self.workers])

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        ray = require_ray()
        for worker in self.workers:
            try:
                ray.kill(worker, no_restart=True)
            except Exception:  # already gone
                pass
        self.workers = []
        self._pending = None

    def __enter__(self) -> "Coordinator":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
