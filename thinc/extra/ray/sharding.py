"""Which examples each worker trains on at each step. Everything here is a pure
function of (seed, epoch, step, worker index), so a resumed or repaired run sees
exactly the batches and dropout draws of an uninterrupted one."""

from typing import List, Sequence

import numpy


def epoch_order(n_items: int, seed: int, epoch: int) -> numpy.ndarray:
    """The order in which epoch `epoch` visits the examples."""
    return numpy.random.default_rng([seed, epoch]).permutation(n_items)


def epoch_batches(sizes: Sequence[int], batch_size: int, seed: int, epoch: int) -> List[List[int]]:
    """The epoch's global batches: example indices in the epoch's order, each batch
    closed once its sizes (words, say) reach `batch_size`. The batches do not depend
    on the number of workers, so 1 and N workers take the same optimizer steps."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    batches: List[List[int]] = []
    current: List[int] = []
    total = 0
    for index in epoch_order(len(sizes), seed, epoch):
        current.append(int(index))
        total += sizes[index]
        if total >= batch_size:
            batches.append(current)
            current, total = [], 0
    if current:
        batches.append(current)
    return batches


def split_batch(batch: Sequence[int], sizes: Sequence[int], n_shards: int) -> List[List[int]]:
    """`batch` cut into `n_shards` contiguous pieces of near-equal total size; an
    example goes to the shard its size's midpoint falls in. Pieces may be empty
    when the batch has fewer examples than shards."""
    if n_shards < 1:
        raise ValueError(f"n_shards must be at least 1, not {n_shards}")
    weights = numpy.asarray([sizes[i] for i in batch], dtype="float64")
    total = weights.sum()
    if total <= 0:
        weights = numpy.ones(len(batch))
        total = float(len(batch))
    midpoints = numpy.cumsum(weights) - weights / 2
    owners = numpy.minimum((midpoints * n_shards / max(total, 1e-12)).astype("int64"), n_shards - 1)
    shards: List[List[int]] = [[] for _ in range(n_shards)]
    for index, owner in zip(batch, owners):
        shards[int(owner)].append(int(index))
    return shards


def step_seed(seed: int, epoch: int, step: int, worker: int) -> int:
    """The random seed a worker sets before computing its shard of a step, so that
    dropout masks depend on the step and shard, not on which process runs it."""
    return int(numpy.random.SeedSequence([seed, epoch, step, worker]).generate_state(1)[0])
