"""Which Ops is current: per thread, per asyncio task, by name, by context manager."""

import asyncio
import threading

import pytest

from thinc.backends import (
    NumpyOps,
    Ops,
    get_array_ops,
    get_current_ops,
    get_ops,
    set_current_ops,
    set_gpu_allocator,
    use_ops,
)
from thinc.config import registry


class MarkedOps(NumpyOps):
    name = "marked"


@pytest.fixture(autouse=True)
def restore_ops():
    before = get_current_ops()
    yield
    set_current_ops(before)


def test_get_ops_by_name_and_alias():
    assert isinstance(get_ops("numpy"), NumpyOps)
    assert isinstance(get_ops("cpu"), NumpyOps)
    assert isinstance(get_ops("NumpyOps"), NumpyOps)


def test_get_ops_unknown_name_lists_known():
    with pytest.raises(ValueError, match="Invalid ops name 'nonsense'.*numpy"):
        get_ops("nonsense")


def test_default_is_numpy():
    assert isinstance(get_current_ops(), NumpyOps)


def test_set_current_ops_rejects_non_ops():
    with pytest.raises(TypeError, match="Ops instance"):
        set_current_ops("numpy")  # type: ignore[arg-type]


def test_use_ops_restores_previous():
    outer = MarkedOps()
    set_current_ops(outer)
    with use_ops("numpy") as inner:
        assert get_current_ops() is inner
        assert inner is not outer
    assert get_current_ops() is outer


def test_use_ops_restores_on_error():
    outer = MarkedOps()
    set_current_ops(outer)
    with pytest.raises(RuntimeError):
        with use_ops("numpy"):
            raise RuntimeError("boom")
    assert get_current_ops() is outer


def test_threads_are_isolated():
    main_ops = MarkedOps()
    set_current_ops(main_ops)
    seen = {}
    barrier = threading.Barrier(2)

    def worker(key):
        # A fresh thread starts from the main thread's ops ...
        seen[key + "-start"] = get_current_ops()
        own = NumpyOps()
        set_current_ops(own)
        barrier.wait()
        # ... and what one thread sets never reaches another.
        seen[key + "-end"] = get_current_ops()
        seen[key + "-own"] = own

    threads = [threading.Thread(target=worker, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["a-start"] is main_ops and seen["b-start"] is main_ops
    assert seen["a-end"] is seen["a-own"]
    assert seen["b-end"] is seen["b-own"]
    assert seen["a-own"] is not seen["b-own"]
    assert get_current_ops() is main_ops


def test_asyncio_tasks_are_isolated():
    main_ops = MarkedOps()
    set_current_ops(main_ops)

    async def task(results, key):
        own = NumpyOps()
        set_current_ops(own)
        await asyncio.sleep(0)
        results[key] = get_current_ops() is own

    async def run_all():
        results = {}
        await asyncio.gather(task(results, "x"), task(results, "y"))
        return results

    results = asyncio.run(run_all())
    assert results == {"x": True, "y": True}
    assert get_current_ops() is main_ops


def test_get_array_ops_for_numpy():
    import numpy

    assert isinstance(get_array_ops(numpy.zeros(2)), NumpyOps)


def test_registry_holds_backends():
    assert registry.ops.get("NumpyOps") is NumpyOps
    assert issubclass(registry.ops.get("CupyOps"), Ops)


def test_unknown_gpu_allocator():
    with pytest.raises(ValueError, match="GPU allocator 'nope'"):
        set_gpu_allocator("nope")


def test_contextvars_eq_thread_ops_sees_lost_context():
    import contextvars

    from thinc.backends import contextvars_eq_thread_ops

    set_current_ops(MarkedOps())
    assert contextvars_eq_thread_ops()
    # A fresh, empty context (as a notebook cell may get) no longer holds it.
    assert contextvars.Context().run(contextvars_eq_thread_ops) is False
