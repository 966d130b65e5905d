"""Where biolake jobs run: map a kernel over chunks, locally or on a Dask cluster.

A biolake job is a *kernel* (a plain, picklable function) applied to every chunk of
a (possibly huge, lazily produced) sequence of chunks. A :class:`Backend` runs the
kernel:

* ``"synchronous"`` — in the calling thread, one chunk after the other (debugging,
  profiling, ``pdb``);
* ``"threads"`` (the default) — a :class:`concurrent.futures.ThreadPoolExecutor`
  (numpy, pyarrow and duckdb release the GIL in their heavy loops);
* ``"processes"`` — a :class:`concurrent.futures.ProcessPoolExecutor` started with a
  fork-free method (``spawn`` unless the platform default is already fork-free);
* ``"dask"`` — a :mod:`dask.distributed` cluster, given by its scheduler address
  (``tcp://host:8786``) or by an existing :class:`distributed.Client`.

Every backend yields results **in input order**, **lazily**, keeping at most
``max_in_flight`` chunks submitted but not yet yielded, so a chunk iterator that
reads a 100 GB file is consumed with bounded memory. An exception raised by the
kernel reaches the caller with its original type and message (an
:class:`~biolake.errors.InputError` stays an ``InputError``) and the remaining tasks
are cancelled.

:func:`get_backend` turns a user-facing ``scheduler`` option (or the
``BIOLAKE_SCHEDULER`` environment variable) into a backend; :func:`map_chunks` is the
one-call convenience that opens and closes a backend around one map.

:mod:`distributed` is imported only when a Dask backend is requested, so importing
this module stays cheap.

Examples
--------
>>> def square(x):
...     return x * x
>>> with get_backend("threads", workers=2) as backend:
...     list(backend.map(square, range(5)))
[0, 1, 4, 9, 16]
>>> list(map_chunks(pow, [1, 2, 3], scheduler="synchronous", exp=2))
[1, 4, 9]
"""

from __future__ import annotations

import abc
import collections
import concurrent.futures as cf
import multiprocessing
import numbers
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from biolake.errors import InputError, check_param

if TYPE_CHECKING:
    import distributed

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "SCHEDULER_ENV_VAR",
    "Backend",
    "DaskBackend",
    "ProcessesBackend",
    "SynchronousBackend",
    "ThreadsBackend",
    "get_backend",
    "map_chunks",
]

T = TypeVar("T")
R = TypeVar("R")

#: Environment variable read by :func:`get_backend` when ``scheduler`` is None.
SCHEDULER_ENV_VAR = "BIOLAKE_SCHEDULER"

#: Seconds :func:`get_backend` waits for a Dask scheduler address to answer.
#: Override per backend with ``DaskBackend(address, timeout=...)``.
DEFAULT_CONNECT_TIMEOUT = 10.0

_LOCAL_SCHEDULERS = ("synchronous", "threads", "processes")
_DASK_PREFIXES = ("tcp://", "tls://", "inproc://")
_SCHEDULER_EXPECTED = (
    "'synchronous', 'threads', 'processes', a Dask scheduler address (tcp://host:port) or a distributed.Client"
)
_POSITIVE_INT = "a positive integer or None"


def _default_workers() -> int:
    """Number of CPUs this process may run on (affinity- and cgroup-aware when possible)."""
    process_cpu_count = getattr(os, "process_cpu_count", None)  # Python >= 3.13
    if process_cpu_count is not None:
        return process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _check_positive_int_or_none(function: str, name: str, value: Any) -> int | None:
    check_param(function, name, value, value is None or _is_positive_int(value), _POSITIVE_INT)
    return None if value is None else int(value)


def _check_iterable(function: str, items: Any) -> Iterator[Any]:
    try:
        return iter(items)
    except TypeError:
        check_param(function, "items", items, False, "an iterable of items")
        raise  # not reached: check_param raised


def _is_dask_client(value: Any) -> bool:
    # A distributed.Client can only exist if distributed has been imported already.
    distributed_module = sys.modules.get("distributed")
    return distributed_module is not None and isinstance(value, distributed_module.Client)


class Backend(abc.ABC):
    """Runs a kernel over many items, locally or on a cluster.

    Subclasses implement :meth:`_map` and :meth:`close`; use :func:`get_backend` to
    create one. A backend is a context manager that closes itself on exit.

    Attributes
    ----------
    name : str
        ``"synchronous"``, ``"threads"``, ``"processes"`` or ``"dask"``.
    n_workers : int
        How many items the backend computes at the same time.

    Examples
    --------
    >>> with get_backend("synchronous") as backend:
    ...     backend.name, backend.n_workers, list(backend.map(abs, [-1, 2, -3]))
    ('synchronous', 1, [1, 2, 3])
    """

    name: str
    n_workers: int

    _closed: bool = False

    def map(
        self,
        func: Callable[..., R],
        items: Iterable[T],
        *,
        max_in_flight: int | None = None,
        **kwargs: Any,
    ) -> Iterator[R]:
        """Apply ``func(item, **kwargs)`` to each item; yield the results in input order, lazily.

        Parameters
        ----------
        func
            The kernel. For the ``processes`` and ``dask`` backends it must be picklable
            (a module-level function, not a lambda or a nested function, for processes).
        items
            The items (typically chunks); may be a lazy iterator of unknown length. It
            is consumed only as results are consumed.
        max_in_flight
            At most this many items are submitted but not yet yielded, which bounds
            memory use. Default ``2 * n_workers``.
        **kwargs
            Passed to every call of ``func``.

        Returns
        -------
        Iterator
            The results, in the order of ``items``. Closing the iterator early (or
            leaving a ``for`` loop with ``break``) cancels the tasks still pending.

        Raises
        ------
        InputError
            If ``func`` is not callable, ``items`` is not iterable or ``max_in_flight``
            is not a positive integer.
        RuntimeError
            If the backend is closed.
        Exception
            Whatever ``func`` raised for an item, with its original type and message,
            when that item's result is due; the remaining tasks are cancelled.

        Examples
        --------
        >>> with get_backend("threads", workers=2) as backend:
        ...     list(backend.map(round, [1.234, 5.678], ndigits=1))
        [1.2, 5.7]
        """
        check_param("Backend.map", "func", func, callable(func), "a callable")
        iterator = _check_iterable("Backend.map", items)
        limit = _check_positive_int_or_none("Backend.map", "max_in_flight", max_in_flight)
        if self._closed:
            raise RuntimeError(f"the {self.name!r} backend is closed")
        if limit is None:
            limit = 2 * max(1, self.n_workers)
        return self._map(func, iterator, limit, kwargs)

    @abc.abstractmethod
    def _map(
        self,
        func: Callable[..., R],
        items: Iterator[T],
        max_in_flight: int,
        kwargs: dict[str, Any],
    ) -> Iterator[R]:
        """Do the work of :meth:`map` once its arguments are checked."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the backend's workers (idempotent).

        Examples
        --------
        >>> backend = get_backend("threads")
        >>> backend.close()
        >>> backend.close()  # closing twice is fine
        """

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} name={self.name!r} n_workers={self.n_workers} {state}>"


class SynchronousBackend(Backend):
    """Run every item in the calling thread, one after the other (for debugging).

    Parameters
    ----------
    n_workers
        Ignored; a synchronous backend always has one worker. Accepted so that
        ``BIOLAKE_SCHEDULER=synchronous`` works with code that passes ``workers``.

    Examples
    --------
    >>> list(SynchronousBackend().map(len, ["a", "bb"]))
    [1, 2]
    """

    name = "synchronous"

    def __init__(self, n_workers: int | None = None) -> None:
        self.n_workers = 1

    def _map(
        self,
        func: Callable[..., R],
        items: Iterator[T],
        max_in_flight: int,
        kwargs: dict[str, Any],
    ) -> Iterator[R]:
        for item in items:
            yield func(item, **kwargs)

    def close(self) -> None:
        """Mark the backend closed (there is nothing to release)."""
        self._closed = True


class _WindowedBackend(Backend):
    """A backend with futures: submit ahead up to ``max_in_flight``, yield in order."""

    @abc.abstractmethod
    def _submit(self, func: Callable[..., Any], item: Any, kwargs: dict[str, Any]) -> Any:
        """Start computing ``func(item, **kwargs)``; return a future."""

    @abc.abstractmethod
    def _result(self, future: Any) -> Any:
        """Wait for ``future`` and return its result (or raise its exception)."""

    @abc.abstractmethod
    def _cancel(self, futures: list[Any]) -> None:
        """Cancel futures whose results will never be asked for."""

    def _map(
        self,
        func: Callable[..., R],
        items: Iterator[T],
        max_in_flight: int,
        kwargs: dict[str, Any],
    ) -> Iterator[R]:
        pending: collections.deque[Any] = collections.deque()
        try:
            for item in items:
                pending.append(self._submit(func, item, kwargs))
                if len(pending) >= max_in_flight:
                    yield self._result(pending.popleft())
            while pending:
                yield self._result(pending.popleft())
        finally:
            # Reached on a task error, an error of `items`, or the consumer closing
            # the iterator early: nobody will ask for the pending results.
            if pending:
                self._cancel(list(pending))


class _ExecutorBackend(_WindowedBackend):
    """A backend on a :class:`concurrent.futures.Executor`."""

    _executor: cf.Executor

    def _submit(self, func: Callable[..., Any], item: Any, kwargs: dict[str, Any]) -> Any:
        return self._executor.submit(func, item, **kwargs)

    def _result(self, future: cf.Future[Any]) -> Any:
        return future.result()

    def _cancel(self, futures: list[cf.Future[Any]]) -> None:
        for future in futures:
            future.cancel()

    def close(self) -> None:
        """Cancel the tasks not started yet, wait for the running ones, stop the workers."""
        if not self._closed:
            self._closed = True
            self._executor.shutdown(wait=True, cancel_futures=True)


class ThreadsBackend(_ExecutorBackend):
    """Run items on a pool of threads of this process.

    Parameters
    ----------
    n_workers
        Number of threads; default: the number of CPUs this process may use.

    Examples
    --------
    >>> with ThreadsBackend(2) as backend:
    ...     list(backend.map(str.upper, ["a", "b"]))
    ['A', 'B']
    """

    name = "threads"

    def __init__(self, n_workers: int | None = None) -> None:
        n_workers = _check_positive_int_or_none("ThreadsBackend", "n_workers", n_workers)
        self.n_workers = n_workers or _default_workers()
        self._executor = cf.ThreadPoolExecutor(max_workers=self.n_workers, thread_name_prefix="biolake-worker")


def _fork_free_start_method() -> str:
    """The platform's default start method, or ``spawn`` if that default is ``fork``.

    Forking a process that runs threads (ours, Dask's, a BLAS pool) can deadlock the
    child, and Python >= 3.12 warns about it. ``spawn`` rather than ``forkserver``:
    each spawned child receives the parent's *current* ``sys.path``, whereas a fork
    server keeps the one it was started with.
    """
    methods = multiprocessing.get_all_start_methods()  # the platform default comes first
    method = multiprocessing.get_start_method(allow_none=True) or methods[0]
    return "spawn" if method == "fork" else method


class ProcessesBackend(_ExecutorBackend):
    """Run items in a pool of worker processes.

    ``func``, the items, ``kwargs`` and the results travel by pickle, so ``func`` must
    be a module-level function.

    Parameters
    ----------
    n_workers
        Number of processes; default: the number of CPUs this process may use.
    start_method
        ``"spawn"``, ``"forkserver"`` or ``"fork"``; default: the platform default,
        except that ``fork`` is replaced by ``spawn`` (fork is unsafe once threads run).

    Examples
    --------
    >>> with ProcessesBackend(2) as backend:  # doctest: +SKIP
    ...     list(backend.map(abs, [-1, -2]))
    [1, 2]
    """

    name = "processes"

    def __init__(self, n_workers: int | None = None, *, start_method: str | None = None) -> None:
        n_workers = _check_positive_int_or_none("ProcessesBackend", "n_workers", n_workers)
        methods = multiprocessing.get_all_start_methods()
        check_param(
            "ProcessesBackend",
            "start_method",
            start_method,
            start_method is None or start_method in methods,
            f"one of {', '.join(map(repr, methods))} or None",
        )
        self.n_workers = n_workers or _default_workers()
        self.start_method: str = start_method or _fork_free_start_method()
        self._executor = cf.ProcessPoolExecutor(
            max_workers=self.n_workers, mp_context=multiprocessing.get_context(self.start_method)
        )


def _call_with_kwargs(func: Callable[..., R], item: Any, kwargs: dict[str, Any]) -> R:
    return func(item, **kwargs)


class DaskBackend(_WindowedBackend):
    """Run items on a Dask cluster through :mod:`dask.distributed`.

    Parameters
    ----------
    scheduler
        A scheduler address (``tcp://host:8786``, ``tls://...``, ``inproc://...``):
        the backend connects a new :class:`distributed.Client` to it and closes that
        client in :meth:`close`. Or an existing (synchronous) ``distributed.Client``:
        the backend uses it and leaves it open.
    n_workers
        How many items the cluster computes at once, used for the default
        ``max_in_flight``; default: the total number of worker threads of the
        cluster, asked anew at each :meth:`map` (clusters can scale).
    timeout
        Seconds to wait for the scheduler at ``scheduler`` (an address) to answer.

    Raises
    ------
    InputError
        If the scheduler cannot be reached within ``timeout`` seconds, or the client
        is asynchronous.

    Examples
    --------
    >>> from distributed import LocalCluster  # doctest: +SKIP
    >>> with LocalCluster(n_workers=2) as cluster, DaskBackend(cluster.scheduler_address) as b:
    ...     list(b.map(abs, [-1, -2]))  # doctest: +SKIP
    [1, 2]
    """

    name = "dask"

    def __init__(
        self,
        scheduler: str | distributed.Client,
        *,
        n_workers: int | None = None,
        timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        import distributed  # lazily: importing it costs about a second

        self._fixed_n_workers = _check_positive_int_or_none("DaskBackend", "n_workers", n_workers)
        check_param(
            "DaskBackend",
            "timeout",
            timeout,
            isinstance(timeout, numbers.Real) and not isinstance(timeout, bool) and timeout > 0,
            "a positive number of seconds",
        )
        if isinstance(scheduler, distributed.Client):
            check_param(
                "DaskBackend",
                "scheduler",
                scheduler,
                not scheduler.asynchronous,
                "a synchronous distributed.Client (asynchronous=False)",
            )
            self._client = scheduler
            self._owns_client = False
        else:
            check_param(
                "DaskBackend",
                "scheduler",
                scheduler,
                isinstance(scheduler, str) and scheduler.startswith(_DASK_PREFIXES),
                "a Dask scheduler address (tcp://host:port) or a distributed.Client",
            )
            try:
                self._client = distributed.Client(scheduler, timeout=float(timeout), set_as_default=False)
            except (OSError, ValueError) as exc:  # TimeoutError is an OSError
                raise InputError(
                    f"cannot connect to the Dask scheduler at {scheduler} "
                    f"within {timeout:g} s ({type(exc).__name__}: {exc})"
                ) from exc
            self._owns_client = True
        self._submit_options: frozenset[str] | None = None

    @property
    def client(self) -> distributed.Client:
        """The :class:`distributed.Client` the backend submits to."""
        return self._client

    @property
    def n_workers(self) -> int:  # type: ignore[override]
        """Total worker threads of the cluster (at least 1), unless fixed at creation."""
        if self._fixed_n_workers is not None:
            return self._fixed_n_workers
        if self._client.status != "running":
            return 1
        return max(1, sum(self._client.nthreads().values()))

    def _kwargs_collide(self, kwargs: dict[str, Any]) -> bool:
        if self._submit_options is None:
            import inspect

            parameters = inspect.signature(type(self._client).submit).parameters
            self._submit_options = frozenset(
                name for name, parameter in parameters.items() if parameter.kind is inspect.Parameter.KEYWORD_ONLY
            )
        return not self._submit_options.isdisjoint(kwargs)

    def _submit(self, func: Callable[..., Any], item: Any, kwargs: dict[str, Any]) -> Any:
        if self._kwargs_collide(kwargs):
            # A kernel keyword named like a submit option (key=, workers=, priority=...)
            # must reach the kernel, not Client.submit.
            return self._client.submit(_call_with_kwargs, func, item, kwargs, pure=False)
        return self._client.submit(func, item, pure=False, **kwargs)

    def _result(self, future: distributed.Future) -> Any:
        return future.result()

    def _cancel(self, futures: list[distributed.Future]) -> None:
        if self._client.status == "running":
            self._client.cancel(futures)

    def close(self) -> None:
        """Close the client if the backend created it (a client passed in stays open)."""
        if not self._closed:
            self._closed = True
            if self._owns_client:
                self._client.close()


def _resolve_scheduler(
    scheduler: str | distributed.Client | Backend | None, function: str
) -> str | distributed.Client | Backend:
    """Check ``scheduler`` (or the environment variable) without creating anything."""
    if scheduler is None:
        from_env = os.environ.get(SCHEDULER_ENV_VAR, "").strip()
        if not from_env:
            return "threads"
        if from_env.lower() in _LOCAL_SCHEDULERS:
            return from_env.lower()
        if from_env.startswith(_DASK_PREFIXES):
            return from_env
        raise InputError(
            f"The environment variable {SCHEDULER_ENV_VAR} must be {_SCHEDULER_EXPECTED}; got {from_env!r}"
        )
    if isinstance(scheduler, Backend) or _is_dask_client(scheduler):
        return scheduler
    ok = isinstance(scheduler, str) and (scheduler.lower() in _LOCAL_SCHEDULERS or scheduler.startswith(_DASK_PREFIXES))
    check_param(function, "scheduler", scheduler, ok, _SCHEDULER_EXPECTED)
    name = str(scheduler)
    return name.lower() if name.lower() in _LOCAL_SCHEDULERS else name


def _create_backend(scheduler: str | distributed.Client | Backend, workers: int | None) -> Backend:
    if isinstance(scheduler, Backend):
        return scheduler
    if scheduler == "synchronous":
        return SynchronousBackend()
    if scheduler == "threads":
        return ThreadsBackend(workers)
    if scheduler == "processes":
        return ProcessesBackend(workers)
    return DaskBackend(scheduler, n_workers=workers, timeout=DEFAULT_CONNECT_TIMEOUT)


def get_backend(
    scheduler: str | distributed.Client | Backend | None = None,
    *,
    workers: int | None = None,
) -> Backend:
    """Create the backend a ``scheduler`` option names.

    Parameters
    ----------
    scheduler
        ``"synchronous"``, ``"threads"`` or ``"processes"``; a Dask scheduler address
        starting with ``tcp://``, ``tls://`` or ``inproc://`` (a new client, closed with
        the backend); a :class:`distributed.Client` (used, not closed); or a
        :class:`Backend` (returned as is). Default: the ``BIOLAKE_SCHEDULER``
        environment variable if set, else ``"threads"``.
    workers
        Number of threads or processes; default: the number of CPUs this process may
        use. For Dask it only sets the default ``max_in_flight`` (default: the total
        worker threads of the cluster). Ignored for ``"synchronous"`` (always one)
        and for a :class:`Backend` instance.

    Returns
    -------
    Backend
        Close it (or use it in a ``with`` block) when done.

    Raises
    ------
    InputError
        For a ``scheduler``, ``BIOLAKE_SCHEDULER`` or ``workers`` value that is not
        one of the above, or a Dask scheduler that cannot be reached within
        :data:`DEFAULT_CONNECT_TIMEOUT` seconds.

    Examples
    --------
    >>> with get_backend("threads", workers=4) as backend:
    ...     backend.name, backend.n_workers
    ('threads', 4)
    >>> get_backend("foo")
    Traceback (most recent call last):
    ...
    biolake.errors.InputError: The 'scheduler' parameter of get_backend must be 'synchronous', \
'threads', 'processes', a Dask scheduler address (tcp://host:port) or a distributed.Client; \
got 'foo'
    """
    workers = _check_positive_int_or_none("get_backend", "workers", workers)
    return _create_backend(_resolve_scheduler(scheduler, "get_backend"), workers)


def map_chunks(
    func: Callable[..., R],
    items: Iterable[T],
    *,
    backend: Backend | None = None,
    scheduler: str | distributed.Client | Backend | None = None,
    max_in_flight: int | None = None,
    **kwargs: Any,
) -> Iterator[R]:
    """Apply ``func(item, **kwargs)`` to each item on a backend; yield results in order.

    Parameters
    ----------
    func, items, max_in_flight, **kwargs
        As for :meth:`Backend.map`.
    backend
        The backend to use; it stays open. Give at most one of ``backend`` and
        ``scheduler``.
    scheduler
        If ``backend`` is None, a backend is created from ``scheduler`` as by
        :func:`get_backend` when iteration starts, and closed when the iterator is
        exhausted, fails or is closed.

    Returns
    -------
    Iterator
        The results, in the order of ``items``, computed lazily.

    Examples
    --------
    >>> import numpy as np
    >>> chunks = np.array_split(np.arange(10), 3)
    >>> [int(s) for s in map_chunks(np.sum, chunks, scheduler="threads")]
    [6, 15, 24]
    """
    check_param(
        "map_chunks",
        "backend",
        backend,
        backend is None or (isinstance(backend, Backend) and scheduler is None),
        "a Backend, or None when 'scheduler' is given",
    )
    check_param("map_chunks", "func", func, callable(func), "a callable")
    iterator = _check_iterable("map_chunks", items)
    _check_positive_int_or_none("map_chunks", "max_in_flight", max_in_flight)
    if backend is None:
        resolved = _resolve_scheduler(scheduler, "map_chunks")
        if not isinstance(resolved, Backend):
            return _map_with_own_backend(resolved, func, iterator, max_in_flight, kwargs)
        backend = resolved  # a Backend passed as scheduler: the caller closes it
    return backend.map(func, iterator, max_in_flight=max_in_flight, **kwargs)


def _map_with_own_backend(
    scheduler: str | distributed.Client,
    func: Callable[..., R],
    items: Iterator[T],
    max_in_flight: int | None,
    kwargs: dict[str, Any],
) -> Iterator[R]:
    with _create_backend(scheduler, None) as backend:
        yield from backend.map(func, items, max_in_flight=max_in_flight, **kwargs)
