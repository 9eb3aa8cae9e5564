"""`RayTrainer`: train any thinc `Model` data-parallel on N Ray workers.

Each step takes one global batch (its composition depends only on the seed and the
epoch, never on the number of workers), cuts it into one contiguous shard per
worker, and every worker applies the same combined gradient with its own copy of
the optimizer, so the replicas stay bit-identical and 1 or N workers take the same
optimizer steps up to the order of floating-point additions."""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy

from thinc.api import Model

from .checkpoint import load_checkpoint, save_checkpoint
from .cluster import connect
from .coordinator import Coordinator, LedgerEntry, StepReport
from .replica import OptimizerSpec, ThincReplicaFactory, UpdateFunction
from .sharding import epoch_batches, split_batch

SizeSpec = Union[None, Sequence[int], Callable[[Any], int]]


@dataclass
class TrainResult:
    """What a `fit` call did. Sizes are in the units of `sizes` (words, say):
    `units_per_second` is training throughput, evaluation and checkpoints excluded.
    `bytes_per_step` counts gradient bytes written into the object store plus those
    read by the other workers, the mean over the steps of this call.
    `compute_seconds_per_step` is the slowest worker's computing time per step;
    `compute_cpu_share` the CPU time the workers got while computing over the wall
    time (near 1 on idle cores, lower where other processes took the CPU)."""

    workers: int
    epochs: int
    steps: int
    units: int
    train_seconds: float
    units_per_second: float
    losses: List[float]
    gradient_bytes_per_worker: int
    bytes_per_step: float
    compute_seconds_per_step: float
    compute_cpu_share: float
    replacements: List[Dict[str, Any]]
    finished: bool
    extra: Dict[str, Any] = field(default_factory=dict)


class RayTrainer:
    """Data-parallel training of `model` on `workers` Ray actors.

    Args:
        model: an initialized thinc model; it is pickled to every worker, and after
            `fit` holds the trained params.
        update: `update(model, batch) -> loss`, run on a worker for its shard (a list
            of items of `data`): it runs the forward and backward passes, leaving the
            gradients on the model. It must not call `finish_update`.
        data: the training items (any picklable sequence), sent to the cluster once.
        optimizer: a thinc `Optimizer`, or a function that builds one (needed when it
            has schedules: they cannot be pickled).
        workers: how many replicas, one Ray actor (`cpus_per_worker` CPUs) each.
        sizes: each item's size, as a sequence or a function of the item; batches
            are filled up to `batch_size` of these units (default: 1 per item).
        combine: "mean" weights each shard's gradient by its share of the batch's
            size, which makes a per-item mean loss come out as the batch's mean;
            "sum" adds them (for losses summed over items).
        seed: fixes the epochs' order, the shards and each shard's random draws.
        address: the Ray cluster to join if this process has not started Ray
            (`None`: start a local one).
        num_cpus: the CPUs of that local cluster (`None`: all of them).
        start_timeout: seconds to wait for the workers to start before TimeoutError.
        step_timeout: seconds a step may take before TimeoutError (None: no limit).
        env: more environment variables for the worker processes.
    """

    def __init__(
        self,
        model: Model,
        update: UpdateFunction,
        data: Sequence[Any],
        *,
        optimizer: OptimizerSpec,
        workers: int = 2,
        sizes: SizeSpec = None,
        combine: str = "mean",
        seed: int = 0,
        cpus_per_worker: float = 1.0,
        address: Optional[str] = None,
        num_cpus: Optional[int] = None,
        start_timeout: float = 120.0,
        step_timeout: Optional[float] = None,
        env: Optional[Dict[str, str]] = None,
    ) -> None:
        if combine not in ("mean", "sum"):
            raise ValueError(f"combine must be 'mean' or 'sum', not {combine!r}")
        if not isinstance(model, Model):
            raise TypeError(f"model must be a thinc Model, not {type(model)}")
        ray = connect(address, num_cpus=num_cpus)
        data = list(data)
        if not data:
            raise ValueError("no training data")
        self.sizes = _item_sizes(data, sizes)
        self.model = model
        self.combine = combine
        self.seed = seed
        self.workers = workers
        # Refused here with a clear message, not deep inside Ray's serializer.
        _check_picklable(ray, model, "model")
        _check_picklable(ray, update, "update function")
        _check_picklable(ray, optimizer, "optimizer")
        from .params import ParamLayout

        ParamLayout([model])  # refuses uninitialized models and shims up front
        self.coordinator = Coordinator(
            ThincReplicaFactory(model, update, optimizer),
            data,
            workers=workers,
            seed=seed,
            cpus_per_worker=cpus_per_worker,
            env=env,
            start_timeout=start_timeout,
            step_timeout=step_timeout,
        )
        # Where the run stands: the next step to take.
        self.epoch = 0
        self.step = 0
        self.global_step = 0

    # -- training -------------------------------------------------------------------

    def fit(
        self,
        epochs: int,
        *,
        batch_size: int,
        checkpoint: Optional[Union[str, Path]] = None,
        checkpoint_every: int = 0,
        resume: bool = False,
        max_steps: Optional[int] = None,
        on_step: Optional[Callable[["RayTrainer", StepReport], None]] = None,
        on_epoch: Optional[Callable[["RayTrainer", int], None]] = None,
        progress: bool = False,
    ) -> TrainResult:
        """Train until `epochs` epochs are done (counting those of a resumed run),
        or `max_steps` steps of this call. With `checkpoint`, the state is saved
        there every `checkpoint_every` steps and at the end; with `resume`, a run
        starts from that file when it exists. `on_step` runs after each step,
        `on_epoch` after each epoch (call `sync_model()` there to evaluate)."""
        if checkpoint is not None and resume and Path(checkpoint).exists():
            self.restore(checkpoint, batch_size=batch_size)
        started_step = self.global_step
        losses: List[float] = []
        units = 0
        seconds = 0.0
        moved = 0.0
        compute = 0.0
        compute_wall = compute_cpu = 0.0
        gradient_bytes = 0
        finished = True
        bar = _progress_bar(progress, epochs, self.epoch)
        try:
            while self.epoch < epochs:
                batches = epoch_batches(self.sizes, batch_size, self.seed, self.epoch)
                if bar is not None:
                    bar.reset(total=len(batches))
                    bar.set_description(f"epoch {self.epoch + 1}/{epochs}")
                    bar.update(self.step)
                while self.step < len(batches):
                    if max_steps is not None and self.global_step - started_step >= max_steps:
                        finished = False
                        break
                    batch = batches[self.step]
                    shards = split_batch(batch, self.sizes, self.workers)
                    scales = self._scales(batch, shards)
                    tick = time.perf_counter()
                    report = self.coordinator.run_step(self.epoch, self.step, shards, scales)
                    seconds += time.perf_counter() - tick
                    units += sum(self.sizes[i] for i in batch)
                    losses.append(report.loss)
                    moved += sum(report.gradient_bytes) + report.bytes_read
                    compute += max(report.compute_seconds)
                    compute_wall += sum(report.compute_seconds)
                    compute_cpu += sum(report.compute_cpu_seconds)
                    gradient_bytes = max(gradient_bytes, *report.gradient_bytes)
                    self.step += 1
                    self.global_step += 1
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{report.loss:.4f}")
                    if (
                        checkpoint is not None
                        and checkpoint_every
                        and self.global_step % checkpoint_every == 0
                    ):
                        self.save(checkpoint, batch_size=batch_size)
                    if on_step is not None:
                        on_step(self, report)
                if not finished:
                    break
                self.epoch += 1
                self.step = 0
                if on_epoch is not None:
                    on_epoch(self, self.epoch)
            tick = time.perf_counter()
            self.coordinator.flush()
            seconds += time.perf_counter() - tick
            self.sync_model()
            if checkpoint is not None:
                self.save(checkpoint, batch_size=batch_size)
        finally:
            if bar is not None:
                bar.close()
        steps = self.global_step - started_step
        return TrainResult(
            workers=self.workers,
            epochs=self.epoch,
            steps=steps,
            units=units,
            train_seconds=seconds,
            units_per_second=units / seconds if seconds else 0.0,
            losses=losses,
            gradient_bytes_per_worker=gradient_bytes,
            bytes_per_step=moved / steps if steps else 0.0,
            compute_seconds_per_step=compute / steps if steps else 0.0,
            compute_cpu_share=compute_cpu / compute_wall if compute_wall else 0.0,
            replacements=list(self.coordinator.replacements),
            finished=finished,
        )

    def _scales(self, batch: Sequence[int], shards: Sequence[Sequence[int]]) -> List[float]:
        if self.combine == "sum":
            return [1.0] * len(shards)
        total = sum(self.sizes[i] for i in batch)
        if total <= 0:
            return [len(shard) / max(len(batch), 1) for shard in shards]
        return [sum(self.sizes[i] for i in shard) / total for shard in shards]

    # -- the model, the replicas, checkpoints ------------------------------------------

    def sync_model(self) -> Model:
        """Copy the replicas' current params into `self.model` and return it."""
        state = self.coordinator.get_state()
        self.model.from_bytes(state["model"])
        return self.model

    def replica_parameters(self) -> List[numpy.ndarray]:
        """Each replica's params, flattened: equal arrays when all is well."""
        return self.coordinator.parameters()

    def save(self, path: Union[str, Path], *, batch_size: int) -> Path:
        """Write a checkpoint of the replicas' state and the run's position."""
        state = self.coordinator.get_state()
        return save_checkpoint(
            path,
            {
                "state": state,
                "epoch": self.epoch,
                "step": self.step,
                "global_step": self.global_step,
                "seed": self.seed,
                "workers": self.workers,
                "batch_size": batch_size,
                "combine": self.combine,
                "n_items": len(self.sizes),
                "ledger": [[e.epoch, e.step, e.worker, e.indices] for e in self.coordinator.ledger],
                "replacements": list(self.coordinator.replacements),
            },
        )

    def restore(self, path: Union[str, Path], *, batch_size: int) -> None:
        """Continue from a checkpoint written by `save` for the same data, seed and
        batch size (another worker count works, but is not bit-identical)."""
        payload = load_checkpoint(path)
        expected = {
            "seed": self.seed,
            "batch_size": batch_size,
            "combine": self.combine,
            "n_items": len(self.sizes),
        }
        for key, value in expected.items():
            if payload[key] != value:
                raise ValueError(
                    f"checkpoint {path} was written with {key}={payload[key]!r}, this run has "
                    f"{value!r}: its batches would not continue the same run"
                )
        self.coordinator.set_state(payload["state"])
        self.epoch, self.step, self.global_step = (
            payload["epoch"],
            payload["step"],
            payload["global_step"],
        )
        self.coordinator.ledger = [LedgerEntry(*entry) for entry in payload["ledger"]]
        self.coordinator.replacements = list(payload["replacements"])

    @property
    def ledger(self) -> List[LedgerEntry]:
        """Every shard trained so far: (epoch, step, worker index, item indices)."""
        return self.coordinator.ledger

    def describe_workers(self) -> List[Dict[str, Any]]:
        """Each worker's process id and Ray node id."""
        return self.coordinator.describe()

    def close(self) -> None:
        self.coordinator.close()

    def __enter__(self) -> "RayTrainer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def _item_sizes(data: Sequence[Any], sizes: SizeSpec) -> List[int]:
    if sizes is None:
        return [1] * len(data)
    values = [sizes(item) for item in data] if callable(sizes) else list(sizes)
    if len(values) != len(data):
        raise ValueError(f"{len(values)} sizes for {len(data)} items")
    if any(int(v) != v or v < 0 for v in values):
        raise ValueError("sizes must be whole numbers >= 0")
    return [int(v) for v in values]


def _check_picklable(ray: Any, value: Any, what: str) -> None:
    try:
        ray.cloudpickle.dumps(value)
    except Exception as error:
        raise TypeError(
            f"the {what} cannot be sent to Ray workers, because it cannot be pickled "
            f"({type(error).__name__}: {error}); build it from module-level functions, "
            "or pass a function that builds it"
        ) from None


def _progress_bar(enabled: bool, epochs: int, epoch: int) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=0, unit="step", dynamic_ncols=True, leave=False)
