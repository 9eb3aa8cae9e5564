"""thinc.extra.ray on a cluster joined by address: an unreachable address fails fast,
and two "nodes" on this machine (`ray start --head` plus a second raylet, both on
loopback, one CPU each) train one replica each, exchanging gradients between
object stores. Every `ray` command has a timeout, and `ray stop` always runs."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason='Ray is not installed (pip install "thinc[ray]")')

from thinc.extra.ray import connect  # noqa: E402

CHECKOUT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).with_name("ray")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ray_command(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RAY), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=dict(os.environ),
    )


@pytest.fixture
def no_local_ray():
    # ray.init may be called once per process: leave none from other modules behind.
    ray.shutdown()
    yield
    ray.shutdown()


def test_an_unreachable_address_fails_fast(no_local_ray):
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=f"no Ray cluster answers at {address}"):
        connect(address, connect_timeout=5)
    assert time.monotonic() - started < 15
    with pytest.raises(ValueError, match="host:port"):
        connect("not an address")
    assert not ray.is_initialized()


@pytest.fixture
def two_node_cluster(no_local_ray, monkeypatch):
    if not RAY.exists():
        pytest.skip(f"no ray executable beside {sys.executable}")
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = [
        "--num-cpus=1",
        "--node-ip-address=127.0.0.1",
        "--object-store-memory=100000000",
        "--disable-usage-stats",
    ]
    # Ray's socket paths must stay under 108 bytes: pytest's tmp_path is too deep.
    session_dir = tempfile.mkdtemp(prefix="thinc-ray-")
    # Ray 2.60 authenticates every node and driver with a token: a fresh one for
    # this throwaway cluster, shared through the environment.
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
    try:
        head = ray_command(
            "start",
            "--head",
            f"--port={port}",
            "--include-dashboard=false",
            *common,
            f"--temp-dir={session_dir}",
        )
        assert head.returncode == 0, head.stdout + head.stderr
        second = ray_command("start", f"--address={address}", *common)
        assert second.returncode == 0, second.stdout + second.stderr
        yield address
    finally:
        ray.shutdown()
        ray_command("stop", "--force", timeout=60)
        shutil.rmtree(session_dir, ignore_errors=True)


# The driver runs in its own process, so that Ray reads this cluster's token from
# the environment rather than whatever an earlier ray.init in this process cached.
DRIVER = """
import json, sys, time
import numpy, ray
from thinc.extra.ray import RayTrainer, connect
from tests.extra.test_ray import BATCH, make_data, make_model, scheduled_adam, update

connect(sys.argv[1])
deadline = time.monotonic() + 60
while len([n for n in ray.nodes() if n["Alive"]]) < 2 and time.monotonic() < deadline:
    time.sleep(0.5)
with RayTrainer(make_model(), update, make_data(), optimizer=scheduled_adam, workers=2, seed=7,
                start_timeout=90) as trainer:
    nodes = [worker["node_id"] for worker in trainer.describe_workers()]
    result = trainer.fit(1, batch_size=BATCH)
    replicas = trainer.replica_parameters()
print(json.dumps({
    "nodes": nodes,
    "alive": len([n for n in ray.nodes() if n["Alive"]]),
    "finished": result.finished,
    "steps": result.steps,
    "bytes_per_step": result.bytes_per_step,
    "gradient_bytes": result.gradient_bytes_per_worker,
    "replicas_equal": bool(numpy.array_equal(replicas[0], replicas[1])),
}))
"""


def test_two_nodes_each_run_a_replica(two_node_cluster):
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, two_node_cluster],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["alive"] == 2
    assert len(set(report["nodes"])) == 2, "both workers ran on one node"
    assert report["finished"] and report["steps"] == 8
    # Each worker read the other's gradient, out of the other node's object store.
    assert report["bytes_per_step"] == 4 * report["gradient_bytes"]
    assert report["replicas_equal"]
