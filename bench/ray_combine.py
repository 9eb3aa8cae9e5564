"""The two ways to combine gradients on Ray, timed without any model compute:
all-gather + local sum (what thinc.extra.ray does: every worker reads every
gradient and runs the optimizer over all params) against sharded ownership (the
Ray tutorial's parameter shards: each worker sums and updates 1/N of the params,
then everyone reads the updated shards).

Usage: .venv/bin/python bench/ray_combine.py [--params 1500000] [--workers 2] [--steps 60]
Each step ends with the driver waiting for it, as RayTrainer's steps do. Prints
milliseconds per step (median of --rounds) and bytes moved per step."""

import argparse
import os
import statistics
import time

os.environ.setdefault("THINC_NUM_THREADS", "1")

import numpy
import ray

from thinc.api import Adam

ONE_THREAD = {"THINC_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@ray.remote(num_cpus=1, runtime_env={"env_vars": ONE_THREAD})
class Peer:
    def __init__(self, size: int, workers: int, index: int) -> None:
        rng = numpy.random.default_rng(index)
        self.params = rng.normal(0, 1, size).astype("f")
        # A fixed stand-in for the gradient a forward/backward pass would leave.
        self.gradient = rng.normal(0, 1e-3, size).astype("f")
        self.bounds = numpy.linspace(0, size, workers + 1).astype(int)
        self.index = index
        self.workers = workers
        self.optimizer = Adam(0.001)

    # all-gather: apply the sum of everyone's gradient to all params, return a new one
    def gather_step(self, *gradients):
        if gradients:
            total = numpy.array(gradients[0], copy=True)
            for gradient in gradients[1:]:
                total += gradient
            self.params, _ = self.optimizer(("params", 0), self.params, total)
        return self.gradient.copy()

    # sharded: take the updated shards, return this worker's gradient cut into shards
    def shard_step(self, *shards):
        if shards:
            self.params[:] = numpy.concatenate(shards)
        pieces = tuple(self.gradient[a:b].copy() for a, b in zip(self.bounds, self.bounds[1:]))
        return pieces if self.workers > 1 else pieces[0]

    def own(self, *pieces):
        """Sum everyone's piece of this worker's shard and update the shard."""
        a, b = self.bounds[self.index], self.bounds[self.index + 1]
        total = numpy.array(pieces[0], copy=True)
        for piece in pieces[1:]:
            total += piece
        shard = self.params[a:b].copy()
        shard, _ = self.optimizer(("shard", self.index), shard, total)
        return shard


def time_gather(peers, steps: int) -> float:
    refs: list = []
    started = time.perf_counter()
    for _ in range(steps):
        refs = [peer.gather_step.remote(*refs) for peer in peers]
        ray.wait(refs, num_returns=len(refs), fetch_local=False)
    return (time.perf_counter() - started) / steps


def time_sharded(peers, steps: int) -> float:
    n = len(peers)
    shards: list = []
    started = time.perf_counter()
    for _ in range(steps):
        pieces = [peer.shard_step.options(num_returns=n).remote(*shards) for peer in peers]
        if n == 1:
            pieces = [[p] for p in pieces]
        shards = [peers[j].own.remote(*[pieces[i][j] for i in range(n)]) for j in range(n)]
        ray.wait(shards, num_returns=n, fetch_local=False)
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=int, default=1_500_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ray.init(num_cpus=max(args.workers, 2), include_dashboard=False, log_to_driver=False)
    peers = [Peer.remote(args.params, args.workers, i) for i in range(args.workers)]
    ray.get([peer.gather_step.remote() for peer in peers])
    gather, sharded = [], []
    for _ in range(args.rounds):
        gather.append(time_gather(peers, args.steps))
        sharded.append(time_sharded(peers, args.steps))
    n, size = args.workers, args.params * 4
    print(
        f"{args.params:,} float32 params ({size / 1e6:.1f} MB), {n} workers, one thread each, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"all-gather + local sum: {statistics.median(gather) * 1000:6.1f} ms/step, "
        f"{n * size / 1e6:.1f} MB written + {n * (n - 1) * size / 1e6:.1f} MB read by other workers"
    )
    print(
        f"sharded ownership:      {statistics.median(sharded) * 1000:6.1f} ms/step, "
        f"{(n * size + size) / 1e6:.1f} MB written + {2 * (n - 1) * size / 1e6:.1f} MB read by other workers"
    )
    ray.shutdown()


if __name__ == "__main__":
    main()
