"""Connecting to a Ray cluster, local or by address, and checking that it can hold
the workers asked for, with errors that say what is wrong instead of waiting."""

import os
import socket
from pathlib import Path
from typing import Any, Dict, Optional

from .dependency import require_ray

# Every thread pool a worker's kernels may use: one thread each, so N workers use N cores.
ONE_THREAD = {
    name: "1"
    for name in (
        "THINC_NUM_THREADS",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "BLIS_NUM_THREADS",
    )
}


WORKER_NICENESS = "RAY_worker_niceness"


def connect(
    address: Optional[str] = None,
    *,
    num_cpus: Optional[int] = None,
    connect_timeout: float = 10.0,
    **init_kwargs: Any,
) -> Any:
    """Start or join Ray unless this process already has: a local cluster when
    `address` is None (with `num_cpus` CPUs), else the cluster at "host:port",
    "auto" or "ray://host:port". Returns the `ray` module.

    A local cluster runs its workers at normal priority (`RAY_worker_niceness=0`
    unless that is set): Ray's default, nice 15, lets any other process on the
    machine take their CPU. For `ray start`, set it in that command's environment.

    A "host:port" that nothing answers on raises ConnectionError within
    `connect_timeout` seconds, rather than leaving Ray to retry for minutes."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    if address not in (None, "auto", "local"):
        _check_reachable(str(address), connect_timeout)
    options: Dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
    if address is None or address == "local":
        options["num_cpus"] = num_cpus
        # Ray starts worker processes at nice 15, behind every other process on the
        # machine; here the workers are the job. Read by the cluster this starts.
        os.environ.setdefault(WORKER_NICENESS, "0")
    options.update(init_kwargs)
    try:
        ray.init(address=address if address != "local" else None, **options)
    except ConnectionError as error:
        raise ConnectionError(f"could not join the Ray cluster at {address!r}: {error}") from error
    return ray


def _check_reachable(address: str, timeout: float) -> None:
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(
            f"a Ray cluster address is 'host:port' or 'ray://host:port', not {address!r}"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise ConnectionError(
            f"no Ray cluster answers at {address} ({error}); start one with "
            "`ray start --head` there, or leave the address out for a local cluster"
        ) from None


def check_capacity(workers: int, cpus_per_worker: float) -> None:
    """Refuse more workers than the cluster has CPUs for: Ray would otherwise keep
    the extra actors pending forever."""
    ray = require_ray()
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    total = ray.cluster_resources().get("CPU", 0.0)
    needed = workers * cpus_per_worker
    if needed > total:
        raise ValueError(
            f"{workers} workers at {cpus_per_worker:g} CPU each need {needed:g} CPUs, but "
            f"the Ray cluster has {total:g}: use fewer workers, a smaller cpus_per_worker, "
            "or a bigger cluster"
        )


def worker_environment(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment variables for worker processes: one thread per kernel pool, and
    this process's thinc importable (it may be a source checkout on sys.path)."""
    import thinc

    variables = dict(ONE_THREAD)
    extra = dict(extra or {})
    asked = extra.pop("PYTHONPATH", "")
    inherited = os.environ.get("PYTHONPATH", "")
    paths = [p for p in f"{asked}{os.pathsep}{inherited}".split(os.pathsep) if p]
    home = Path(thinc.__file__).resolve().parents[1]
    if home.name not in ("site-packages", "dist-packages"):
        paths.insert(0, str(home))
    variables["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    variables.update(extra)
    return variables
