"""thinc.extra.ray: sharding, the optimizer's portable state and checkpoints (no
cluster needed), then data-parallel training on a local 2-CPU Ray cluster: replicas
stay identical and agree with single-process training, a killed worker is replaced
without changing the result, a resumed run ends where an uninterrupted one does,
and bad input fails fast. The two-node cluster test is in test_ray_cluster.py."""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy
import pytest

ray = pytest.importorskip("ray", reason='Ray is not installed (pip install "thinc[ray]")')

from thinc.api import Adam, HashEmbed, Relu, Softmax, chain, decaying, fix_random_seed  # noqa: E402
from thinc.extra.ray import (  # noqa: E402
    RayTrainer,
    epoch_batches,
    load_checkpoint,
    save_checkpoint,
    split_batch,
    step_seed,
)
from thinc.extra.ray.gradients import ROWS, encode_gradients, message_bytes, sum_gradients  # noqa: E402
from thinc.extra.ray.params import ParamLayout  # noqa: E402

CHECKOUT = Path(__file__).resolve().parents[2]
EPOCHS = 2
BATCH = 32


# -- a tiny task: three classes read off the first three features -------------------


def make_data(n=256, seed=0):
    rng = numpy.random.RandomState(seed)
    X = rng.uniform(-1, 1, (n, 10)).astype("f")
    Y = X[:, :3].argmax(axis=1)
    return list(zip(X, Y))


def make_model(dropout=0.1):
    fix_random_seed(0)
    model = chain(Relu(nO=16, dropout=dropout), Relu(nO=16), Softmax(nO=3))
    X = numpy.zeros((2, 10), dtype="f")
    return model.initialize(X=X, Y=numpy.eye(3, dtype="f")[:2])


def update(model, batch):
    """Mean cross-entropy over the shard; its gradient left on the model."""
    X = numpy.stack([x for x, _ in batch])
    Y = numpy.asarray([y for _, y in batch])
    probs, backprop = model.begin_update(X)
    rows = numpy.arange(len(Y))
    d_probs = probs.copy()
    d_probs[rows, Y] -= 1
    backprop(d_probs / len(Y))
    return float(-numpy.log(probs[rows, Y] + 1e-9).mean())


def scheduled_adam():
    # A schedule makes the optimizer unpicklable and its position part of the state.
    return Adam(decaying(0.02, 1e-2))


def accuracy(model, data):
    X = numpy.stack([x for x, _ in data])
    Y = numpy.asarray([y for _, y in data])
    return float((model.predict(X).argmax(axis=1) == Y).mean())


def flat_params(model):
    return ParamLayout([model]).parameters()


# -- no cluster needed ----------------------------------------------------------------


def test_epoch_batches_cover_every_item_once_and_depend_only_on_seed_and_epoch():
    sizes = [1 + i % 7 for i in range(100)]
    batches = epoch_batches(sizes, 20, seed=3, epoch=1)
    assert sorted(i for batch in batches for i in batch) == list(range(100))
    assert all(sum(sizes[i] for i in batch) >= 20 for batch in batches[:-1])
    assert batches == epoch_batches(sizes, 20, seed=3, epoch=1)
    assert batches != epoch_batches(sizes, 20, seed=3, epoch=2)
    assert batches != epoch_batches(sizes, 20, seed=4, epoch=1)
    with pytest.raises(ValueError, match="batch_size"):
        epoch_batches(sizes, 0, seed=0, epoch=0)


def test_split_batch_is_contiguous_and_balanced_by_size():
    sizes = [5, 1, 1, 1, 1, 1, 5, 5]
    batch = [0, 1, 2, 3, 4, 5, 6, 7]
    shards = split_batch(batch, sizes, 2)
    assert shards[0] + shards[1] == batch
    totals = [sum(sizes[i] for i in shard) for shard in shards]
    assert abs(totals[0] - totals[1]) <= 5
    assert split_batch([4], [3] * 5, 3) == [[], [4], []]
    assert split_batch([], [], 2) == [[], []]
    with pytest.raises(ValueError):
        split_batch(batch, sizes, 0)


def test_step_seeds_differ_by_every_coordinate():
    seeds = {step_seed(0, e, s, w) for e in range(3) for s in range(3) for w in range(3)}
    assert len(seeds) == 27
    assert step_seed(1, 2, 3, 4) == step_seed(1, 2, 3, 4)


def test_optimizer_state_moves_between_processes_models_with_other_ids():
    data = make_data(64)
    first, second = make_model(dropout=0.0), make_model(dropout=0.0)
    assert [n.id for n in first.walk()] != [n.id for n in second.walk()]
    optimizer = Adam(0.01)
    for start in range(0, 48, 16):
        update(first, data[start : start + 16])
        first.finish_update(optimizer)
    layout = ParamLayout([first])
    state = layout.optimizer_state(optimizer)
    assert len(state["mom1"]) == len(layout.slots)
    assert set(state["nr_update"].values()) == {3}
    assert all(":" in key and key.split(":")[0].isdigit() for key in state["mom1"])
    second.from_bytes(first.to_bytes())
    other = Adam(0.01)
    ParamLayout([second]).load_optimizer_state(other, state)
    # The same next step on both: equal only if moments and counts came across.
    update(first, data[48:])
    first.finish_update(optimizer)
    update(second, data[48:])
    second.finish_update(other)
    numpy.testing.assert_array_equal(flat_params(first), flat_params(second))
    fresh = make_model(dropout=0.0).from_bytes(second.to_bytes())
    update(fresh, data[48:])
    fresh.finish_update(Adam(0.01))
    assert not numpy.array_equal(flat_params(fresh), flat_params(first))


def test_embedding_gradients_travel_as_rows_and_sum_to_the_dense_sum():
    fix_random_seed(0)
    model = chain(HashEmbed(nO=8, nV=500), Softmax(nO=3, nI=8))
    ids = numpy.arange(40, dtype="uint64")
    model.initialize(X=ids[:4], Y=numpy.eye(3, dtype="f")[[0, 1, 2, 0]])
    softmax = model.layers[1]
    softmax.set_param("W", numpy.random.normal(0, 1, softmax.get_param("W").shape).astype("f"))
    layout = ParamLayout([model])
    messages, dense = [], []
    for start in (0, 20):
        probs, backprop = model.begin_update(ids[start : start + 20])
        backprop(probs - 0.5)
        message, mask = encode_gradients(layout, scale=0.5)
        flat, _ = layout.gradients(scale=0.5)
        messages.append(message)
        dense.append(flat)
        for slot in layout.slots:
            slot.node.set_grad(slot.name, slot.node.get_grad(slot.name) * 0)
    assert mask.all()
    assert ROWS in messages[0]["kinds"], "20 ids touch far fewer than half of 500 rows"
    assert message_bytes(messages[0]) < dense[0].nbytes / 2
    numpy.testing.assert_array_equal(sum_gradients(layout, messages + [None]), dense[0] + dense[1])
    assert sum_gradients(layout, [None, None]) is None
    with pytest.raises(ValueError, match="different architectures"):
        sum_gradients(ParamLayout([make_model()]), messages)


def test_layout_refuses_an_uninitialized_model():
    with pytest.raises(ValueError, match="initialize"):
        ParamLayout([chain(Relu(nO=4), Softmax(nO=2))])


def test_checkpoint_round_trip_and_refusals(tmp_path):
    payload = {
        "state": {"w": numpy.arange(6, dtype="f").reshape(2, 3), "b": b"\x00\x01"},
        "epoch": 2,
    }
    path = save_checkpoint(tmp_path / "run.ckpt", payload)
    loaded = load_checkpoint(path)
    numpy.testing.assert_array_equal(loaded["state"]["w"], payload["state"]["w"])
    assert loaded["state"]["w"].dtype == numpy.float32 and loaded["state"]["b"] == b"\x00\x01"
    assert loaded["epoch"] == 2
    with pytest.raises(TypeError, match="Python objects"):
        save_checkpoint(tmp_path / "bad.ckpt", {"x": numpy.array([object()])})
    (tmp_path / "junk.ckpt").write_bytes(b"not msgpack at all \xc1")
    with pytest.raises(ValueError, match="checkpoint"):
        load_checkpoint(tmp_path / "junk.ckpt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.ckpt")


def test_import_works_without_ray_and_use_says_how_to_install():
    script = (
        "import sys; sys.modules['ray'] = None\n"
        "import thinc.extra.ray as r\n"
        "try:\n    r.connect()\nexcept ImportError as e:\n    print('ERR', e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=CHECKOUT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "ERR" in result.stdout and 'pip install "thinc[ray]"' in result.stdout


# -- on a local cluster ---------------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024 * 1024)
    try:
        yield ray
    finally:
        ray.shutdown()


def train(workers=2, epochs=EPOCHS, dropout=0.1, **fit_options):
    data = make_data()
    model = make_model(dropout)
    with RayTrainer(
        model, update, data, optimizer=scheduled_adam, workers=workers, seed=7
    ) as trainer:
        result = trainer.fit(epochs, batch_size=BATCH, **fit_options)
        replicas = trainer.replica_parameters()
        ledger = list(trainer.ledger)
    return model, result, replicas, ledger


@pytest.fixture(scope="module")
def clean_run(local_ray):
    return train()


def assert_each_item_once_per_epoch(ledger, n_items, epochs):
    for epoch in range(epochs):
        seen = [i for entry in ledger if entry.epoch == epoch for i in entry.indices]
        assert sorted(seen) == list(range(n_items)), f"epoch {epoch}: dropped or repeated items"
    steps = [(e.epoch, e.step, e.worker) for e in ledger]
    assert len(steps) == len(set(steps)), "a shard was recorded twice"


def test_replicas_hold_identical_params_and_learn(clean_run):
    model, result, replicas, ledger = clean_run
    assert len(replicas) == 2
    numpy.testing.assert_array_equal(replicas[0], replicas[1])
    numpy.testing.assert_array_equal(replicas[0], flat_params(model))
    assert result.finished and result.epochs == EPOCHS and result.steps == EPOCHS * 8
    assert numpy.mean(result.losses[-4:]) < numpy.mean(result.losses[:4])
    assert accuracy(model, make_data()) > 0.6
    # A small model's gradient goes dense: its params plus a few bytes of framing.
    assert 0 <= result.gradient_bytes_per_worker - flat_params(model).nbytes < 100
    assert_each_item_once_per_epoch(ledger, 256, EPOCHS)


def test_two_workers_take_the_steps_of_one_process(local_ray):
    """Without dropout, N workers are single-process training on the same global
    batches, up to the order of float additions."""
    model, result, replicas, _ = train(workers=2, dropout=0.0)
    reference = make_model(dropout=0.0)
    optimizer = scheduled_adam()
    data = make_data()
    for epoch in range(EPOCHS):
        for batch in epoch_batches([1] * len(data), BATCH, seed=7, epoch=epoch):
            update(reference, [data[i] for i in batch])
            reference.finish_update(optimizer)
            optimizer.step_schedules()
    numpy.testing.assert_allclose(flat_params(model), flat_params(reference), rtol=1e-4, atol=1e-5)
    assert not numpy.array_equal(flat_params(model), flat_params(make_model(dropout=0.0)))


def test_a_killed_worker_is_replaced_and_the_result_does_not_change(clean_run):
    killed = []

    def kill(trainer, report):
        if trainer.global_step == 3:
            ray.kill(trainer.coordinator.workers[1], no_restart=True)
            killed.append("ray.kill")
        if trainer.global_step == 9:
            # The process itself, while the step's gradients wait to be applied.
            pid = trainer.describe_workers()[0]["pid"]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    model, result, replicas, ledger = train(on_step=kill)
    assert len(killed) == 2
    # ray.kill returns before the actor is gone, so the step that finds worker 1
    # dead is the next one or, when the actor answers once more, the one after.
    assert [r["worker"] for r in result.replacements] == [1, 0]
    assert result.replacements[0]["step"] in (3, 4)
    assert result.replacements[1]["step"] == 1
    assert result.finished and result.steps == EPOCHS * 8
    numpy.testing.assert_array_equal(replicas[0], replicas[1])
    # Replacements redo the lost shards with the same seeds: the very same run.
    numpy.testing.assert_array_equal(flat_params(model), flat_params(clean_run[0]))
    assert accuracy(model, make_data()) == accuracy(clean_run[0], make_data())
    assert_each_item_once_per_epoch(ledger, 256, EPOCHS)


def test_a_worker_killed_during_a_step_is_replaced(clean_run):
    """A kill that lands while the step runs (its timing varies; the result may not)."""

    def kill_soon(trainer, report):
        if trainer.global_step == 4:
            pid = trainer.describe_workers()[1]["pid"]
            threading.Timer(0.01, os.kill, (pid, signal.SIGKILL)).start()

    model, result, _, ledger = train(on_step=kill_soon)
    assert len(result.replacements) == 1
    numpy.testing.assert_array_equal(flat_params(model), flat_params(clean_run[0]))
    assert_each_item_once_per_epoch(ledger, 256, EPOCHS)


def test_stopped_and_resumed_run_ends_with_the_uninterrupted_params(clean_run, tmp_path):
    path = tmp_path / "run.ckpt"
    _, first, _, _ = train(checkpoint=path, max_steps=5)
    assert not first.finished and first.steps == 5
    saved = load_checkpoint(path)
    assert (saved["epoch"], saved["step"], saved["global_step"]) == (0, 5, 5)
    # A fresh process's view: a new model, resumed from the file.
    model, second, replicas, ledger = train(checkpoint=path, resume=True)
    assert second.finished and second.steps == EPOCHS * 8 - 5
    numpy.testing.assert_array_equal(replicas[0], replicas[1])
    numpy.testing.assert_array_equal(flat_params(model), flat_params(clean_run[0]))
    assert_each_item_once_per_epoch(ledger, 256, EPOCHS)


def test_resume_refuses_a_checkpoint_of_another_run(local_ray, tmp_path):
    path = tmp_path / "run.ckpt"
    train(epochs=1, checkpoint=path, max_steps=2)
    with RayTrainer(
        make_model(), update, make_data(), optimizer=scheduled_adam, workers=1, seed=7
    ) as trainer:
        with pytest.raises(ValueError, match="batch_size"):
            trainer.fit(1, batch_size=BATCH * 2, checkpoint=path, resume=True)


def test_more_workers_than_cpus_is_refused(local_ray):
    with pytest.raises(ValueError, match="need 3 CPUs.*has 2"):
        RayTrainer(make_model(), update, make_data(), optimizer=Adam(0.01), workers=3)


def test_unpicklable_model_update_or_optimizer_is_refused(local_ray):
    model = make_model()
    model.attrs["lock"] = threading.Lock()
    with pytest.raises(TypeError, match="model cannot be sent"):
        RayTrainer(model, update, make_data(), optimizer=Adam(0.01), workers=1)
    lock = threading.Lock()
    with pytest.raises(TypeError, match="update function cannot be sent"):
        RayTrainer(make_model(), lambda m, b: lock, make_data(), optimizer=Adam(0.01), workers=1)
    with pytest.raises(TypeError, match="optimizer cannot be sent.*function that builds"):
        RayTrainer(make_model(), update, make_data(), optimizer=scheduled_adam(), workers=1)
    with pytest.raises(ValueError, match="initialize"):
        RayTrainer(
            chain(Relu(nO=4), Softmax(nO=3)), update, make_data(), optimizer=Adam(0.01), workers=1
        )


def failing_update(model, batch):
    raise ValueError("this update always fails")


def test_an_error_in_the_update_function_reaches_the_caller(local_ray):
    with RayTrainer(
        make_model(), failing_update, make_data(), optimizer=Adam(0.01), workers=2
    ) as trainer:
        with pytest.raises(ValueError, match="always fails"):
            trainer.fit(1, batch_size=BATCH)
