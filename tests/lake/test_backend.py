"""Tests of biolake.lake.backend: same results on every backend, bounded, errors keep type."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biolake.errors import InputError
from biolake.lake import backend as backend_module
from biolake.lake.backend import (
    Backend,
    DaskBackend,
    ProcessesBackend,
    SynchronousBackend,
    ThreadsBackend,
    get_backend,
    map_chunks,
)

BACKEND_NAMES = ["synchronous", "threads", "processes", "dask"]
BAD_SCHEDULER_MESSAGE = (
    "The 'scheduler' parameter of get_backend must be 'synchronous', 'threads', 'processes', "
    "a Dask scheduler address (tcp://host:port) or a distributed.Client; got 'foo'"
)


# --- kernels: module level so that worker processes can unpickle them ---------------------


def square(x: int) -> int:
    return x * x


def affine(x: int, *, scale: int = 1, offset: int = 0) -> int:
    return scale * x + offset


def slow_identity(x: int) -> int:
    time.sleep(0.002 * (x % 3))  # finish out of order
    return x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise InputError("negative coverage", file="chunks.bin", record=x)
    return x


def column_sums(chunk: np.ndarray) -> np.ndarray:
    return chunk.sum(axis=0)


def with_reserved_names(x: int, *, key: str, priority: int) -> str:
    return f"{key}{x + priority}"


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[object]:
    """A real two-process Dask cluster for the module; closed client first, then cluster."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield cluster, client


@pytest.fixture(scope="module")
def dask_client(dask_cluster: tuple[object, object]) -> object:
    return dask_cluster[1]


@pytest.fixture(scope="module", params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each backend, with two workers, shared by the module's tests."""
    dask = request.param == "dask"
    scheduler = request.getfixturevalue("dask_client") if dask else request.param
    with get_backend(scheduler, workers=2) as opened:
        yield opened


class CountingItems:
    """A lazy iterable that records how many items have been pulled from it."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pulled = 0

    def __iter__(self) -> Iterator[int]:
        for i in range(self.n):
            self.pulled += 1
            yield i


# --- map: results and order ------------------------------------------------------------------


def test_map__same_results_in_input_order(backend: Backend) -> None:
    assert list(backend.map(square, range(20))) == [i * i for i in range(20)]
    assert list(backend.map(slow_identity, range(12), max_in_flight=5)) == list(range(12))


def test_map__passes_keyword_arguments(backend: Backend) -> None:
    assert list(backend.map(affine, [1, 2, 3], scale=10, offset=1)) == [11, 21, 31]


def test_map__keyword_named_like_a_submit_option_reaches_kernel(backend: Backend) -> None:
    assert list(backend.map(with_reserved_names, [1, 2], key="k", priority=5)) == ["k6", "k7"]


def test_map__empty_items(backend: Backend) -> None:
    assert list(backend.map(square, [])) == []


def test_map__is_lazy(backend: Backend) -> None:
    items = CountingItems(1000)
    results = backend.map(square, items, max_in_flight=3)
    assert items.pulled == 0
    assert next(results) == 0
    assert items.pulled <= 3
    results.close()
    assert items.pulled <= 3


# --- map: bounded in-flight ------------------------------------------------------------------


@pytest.mark.parametrize("max_in_flight", [1, 3])
def test_map__bounded_in_flight(backend: Backend, max_in_flight: int) -> None:
    items = CountingItems(30)
    yielded = 0
    for result in backend.map(slow_identity, items, max_in_flight=max_in_flight):
        assert result == yielded
        # this result is pulled but not yet counted as yielded
        assert 1 <= items.pulled - yielded <= max_in_flight
        yielded += 1
    assert yielded == items.pulled == 30


def test_map__default_in_flight_is_twice_the_workers(backend: Backend) -> None:
    items = CountingItems(40)
    limit = 2 * backend.n_workers
    for yielded, _ in enumerate(backend.map(square, items)):
        assert items.pulled - yielded <= limit


def test_map__early_break_stops_pulling(backend: Backend) -> None:
    items = CountingItems(10_000)
    for i, result in enumerate(backend.map(square, items, max_in_flight=4)):
        assert result == i * i
        if i == 5:
            break
    assert items.pulled <= 6 + 4
    # the backend remains usable after an abandoned map
    assert list(backend.map(square, [3])) == [9]


# --- map: errors -----------------------------------------------------------------------------


def test_map__kernel_error_keeps_type_and_message(backend: Backend) -> None:
    results = []
    with pytest.raises(InputError) as excinfo:
        for result in backend.map(fail_on_three, range(10), max_in_flight=2):
            results.append(result)
    assert results == [0, 1, 2]
    assert str(excinfo.value) == "chunks.bin: record 3: negative coverage"
    assert excinfo.value.record == 3
    assert excinfo.value.file == "chunks.bin"
    # the backend remains usable after a failed map
    assert list(backend.map(square, [2])) == [4]


def test_map__items_error_propagates(backend: Backend) -> None:
    def broken_items() -> Iterator[int]:
        yield 1
        yield 2
        raise InputError("truncated record", file="reads.fq", line=9)

    with pytest.raises(InputError, match=r"^reads\.fq: line 9: truncated record$"):
        list(backend.map(square, broken_items()))


def test_map__bad_arguments(backend: Backend) -> None:
    with pytest.raises(InputError, match=r"'max_in_flight' parameter of Backend\.map"):
        backend.map(square, range(3), max_in_flight=0)
    with pytest.raises(InputError, match=r"'max_in_flight' parameter of Backend\.map"):
        backend.map(square, range(3), max_in_flight=True)
    with pytest.raises(InputError, match=r"'func' parameter of Backend\.map"):
        backend.map("square", range(3))  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"'items' parameter of Backend\.map"):
        backend.map(square, 42)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["synchronous", "threads", "processes"])
def test_map__after_close_raises(name: str) -> None:
    opened = get_backend(name, workers=1)
    opened.close()
    opened.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        opened.map(square, [1])


# --- map on numpy chunks equals the unchunked result -----------------------------------------


@settings(max_examples=6, deadline=None, database=None)
@given(
    n_rows=st.integers(min_value=1, max_value=80),
    chunk_rows=st.integers(min_value=1, max_value=100),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_map__numpy_chunks_equal_unchunked(backend: Backend, n_rows: int, chunk_rows: int, seed: int) -> None:
    matrix = np.random.default_rng(seed).normal(size=(n_rows, 7))
    chunks = (matrix[start : start + chunk_rows] for start in range(0, n_rows, chunk_rows))
    partial_sums = list(backend.map(column_sums, chunks, max_in_flight=3))
    assert len(partial_sums) == -(-n_rows // chunk_rows)
    np.testing.assert_allclose(np.sum(partial_sums, axis=0), matrix.sum(axis=0), rtol=1e-12)


# --- get_backend -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("synchronous", SynchronousBackend),
        ("threads", ThreadsBackend),
        ("processes", ProcessesBackend),
    ],
)
def test_get_backend__local_names(name: str, cls: type[Backend]) -> None:
    with get_backend(name, workers=3) as opened:
        assert isinstance(opened, cls)
        assert opened.name == name
        assert opened.n_workers == (1 if name == "synchronous" else 3)


def test_get_backend__default_workers_is_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend_module, "_default_workers", lambda: 5)
    with get_backend("threads") as opened:
        assert opened.n_workers == 5


def test_get_backend__default_is_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIOLAKE_SCHEDULER", raising=False)
    with get_backend() as opened:
        assert opened.name == "threads"


def test_get_backend__env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOLAKE_SCHEDULER", "synchronous")
    with get_backend() as opened:
        assert opened.name == "synchronous"
    # an explicit scheduler wins over the environment
    with get_backend("threads", workers=1) as opened:
        assert opened.name == "threads"


def test_get_backend__env_var_dask_address(
    monkeypatch: pytest.MonkeyPatch, dask_cluster: tuple[object, object]
) -> None:
    cluster, _ = dask_cluster
    monkeypatch.setenv("BIOLAKE_SCHEDULER", cluster.scheduler_address)  # type: ignore[attr-defined]
    with get_backend() as opened:
        assert opened.name == "dask"
        assert list(opened.map(square, range(4))) == [0, 1, 4, 9]


def test_get_backend__bad_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOLAKE_SCHEDULER", "foo")
    with pytest.raises(InputError, match=r"^The environment variable BIOLAKE_SCHEDULER must be"):
        get_backend()


def test_get_backend__bad_scheduler_string() -> None:
    with pytest.raises(InputError) as excinfo:
        get_backend("foo")
    assert str(excinfo.value) == BAD_SCHEDULER_MESSAGE


@pytest.mark.parametrize("scheduler", [42, "", "dask", "http://localhost:8786", ["threads"]])
def test_get_backend__bad_scheduler_values(scheduler: object) -> None:
    with pytest.raises(InputError, match="'scheduler' parameter of get_backend"):
        get_backend(scheduler)  # type: ignore[arg-type]


@pytest.mark.parametrize("workers", [0, -2, 2.5, True, "4"])
def test_get_backend__bad_workers(workers: object) -> None:
    with pytest.raises(InputError, match="'workers' parameter of get_backend"):
        get_backend("threads", workers=workers)  # type: ignore[arg-type]


def test_get_backend__backend_instance_returned_as_is() -> None:
    with ThreadsBackend(2) as opened:
        assert get_backend(opened) is opened


def test_get_backend__processes_never_fork() -> None:
    with get_backend("processes", workers=1) as opened:
        assert isinstance(opened, ProcessesBackend)
        assert opened.start_method != "fork"


def test_get_backend__dask_address(dask_cluster: tuple[object, object]) -> None:
    cluster, _ = dask_cluster
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    with get_backend(address) as opened:
        assert isinstance(opened, DaskBackend)
        assert opened.name == "dask"
        assert opened.n_workers == 2  # 2 workers x 1 thread
        assert list(opened.map(square, range(6), max_in_flight=2)) == [0, 1, 4, 9, 16, 25]
        own_client = opened.client
    assert own_client.status == "closed"  # the backend's own client is closed with it


def test_get_backend__dask_client_is_not_closed(dask_client: object) -> None:
    with get_backend(dask_client, workers=7) as opened:
        assert opened.client is dask_client
        assert opened.n_workers == 7
    assert dask_client.status == "running"  # type: ignore[attr-defined]


def test_get_backend__unreachable_dask_address(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    monkeypatch.setattr(backend_module, "DEFAULT_CONNECT_TIMEOUT", 0.5)
    started = time.monotonic()
    with pytest.raises(InputError, match=re.escape(f"Dask scheduler at {address} within 0.5 s")):
        get_backend(address)
    assert time.monotonic() - started < 10


def test_get_backend__does_not_import_distributed() -> None:
    code = (
        "import sys, biolake.lake.backend as b; b.get_backend('threads').close(); "
        "sys.exit('distributed' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- map_chunks ------------------------------------------------------------------------------


def test_map_chunks__opens_and_closes_its_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Backend] = []
    real_create = backend_module._create_backend

    def spy(*args: object) -> Backend:
        created = real_create(*args)  # type: ignore[arg-type]
        opened.append(created)
        return created

    monkeypatch.setattr(backend_module, "_create_backend", spy)
    results = map_chunks(affine, [1, 2, 3], scheduler="threads", scale=2)
    assert opened == []  # nothing is started before iteration
    assert list(results) == [2, 4, 6]
    assert len(opened) == 1
    with pytest.raises(RuntimeError, match="closed"):
        opened[0].map(square, [1])


def test_map_chunks__default_scheduler_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOLAKE_SCHEDULER", "synchronous")
    main = threading.get_ident()
    assert list(map_chunks(_thread_of, [1, 2])) == [main, main]


def _thread_of(_: object) -> int:
    return threading.get_ident()


def test_map_chunks__given_backend_stays_open(backend: Backend) -> None:
    assert list(map_chunks(square, [1, 2], backend=backend, max_in_flight=1)) == [1, 4]
    assert list(backend.map(square, [3])) == [9]
    assert list(map_chunks(square, [4], scheduler=backend)) == [16]
    assert list(backend.map(square, [5])) == [25]


def test_map_chunks__error_keeps_type_and_closes() -> None:
    with pytest.raises(InputError, match="negative coverage"):
        list(map_chunks(fail_on_three, range(6), scheduler="threads"))


def test_map_chunks__backend_and_scheduler_conflict() -> None:
    with SynchronousBackend() as opened, pytest.raises(InputError, match="'backend' parameter"):
        map_chunks(square, [1], backend=opened, scheduler="threads")


def test_map_chunks__bad_scheduler() -> None:
    with pytest.raises(InputError, match="'scheduler' parameter of map_chunks"):
        map_chunks(square, [1], scheduler="foo")
