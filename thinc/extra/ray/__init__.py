"""Data-parallel training of thinc models, and of spaCy pipelines, on Ray.

`RayTrainer` trains any thinc `Model` on N worker actors that each hold a replica;
`python -m thinc.extra.ray.spacy_train` does the same for a spaCy config. Ray is an
optional extra (`pip install "thinc[ray]"`): importing this package works without
it, and the first call that needs Ray says how to install it. See docs/ray.md."""

from .checkpoint import load_checkpoint, save_checkpoint
from .cluster import check_capacity, connect
from .coordinator import Coordinator, LedgerEntry, StepReport
from .dependency import require_ray
from .sharding import epoch_batches, epoch_order, split_batch, step_seed
from .trainer import RayTrainer, TrainResult

__all__ = [
    "Coordinator",
    "LedgerEntry",
    "RayTrainer",
    "StepReport",
    "TrainResult",
    "check_capacity",
    "connect",
    "epoch_batches",
    "epoch_order",
    "load_checkpoint",
    "require_ray",
    "save_checkpoint",
    "split_batch",
    "step_seed",
]
