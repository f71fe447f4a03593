"""One execution layer for the studies: executors and one submit / as-completed loop.

Every study that evaluates independent tasks (the chunks of a sweep or a
map) runs them through :func:`run_tasks` on a :class:`Workers`, which wraps a
:class:`concurrent.futures.Executor`:

=================  ====================================================================
scheduler          executor
=================  ====================================================================
``"synchronous"``  :class:`InlineExecutor`: each task runs in the calling thread when
                   submitted (debugging, one core)
``"threads"``      :class:`concurrent.futures.ThreadPoolExecutor`, one thread per core
``"processes"``    :class:`concurrent.futures.ProcessPoolExecutor`, one process per core,
                   started with ``fork`` on Linux: it needs no ``if __name__ ==
                   "__main__":`` guard in the calling script, and the workers inherit
                   the compiled Numba code of the parent (no warm-up per worker).  Where
                   ``fork`` is unavailable or unsafe (macOS, Windows) ``spawn`` is used,
                   which does need the guard; the default is then ``"threads"``.
an address         ``distributed.Client(address).get_executor()``: a dask.distributed
                   cluster (connection tried for ``timeout`` seconds, then refused)
a Client           its :meth:`~distributed.Client.get_executor`
an Executor        used as it is (not shut down)
=================  ====================================================================

Worker processes ignore SIGINT (Ctrl-C reaches the parent, which cancels
the pending tasks and stops the workers) and, on Linux, are killed by the
kernel when the parent dies (``PR_SET_PDEATHSIG``), so no worker outlives a
killed run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "InlineExecutor",
    "SchedulerError",
    "Workers",
    "available_cpus",
    "check_scheduler",
    "open_workers",
    "run_tasks",
]

K = TypeVar("K")

#: Names of the local schedulers.
LOCAL_SCHEDULERS: dict[str, str] = {
    "synchronous": "synchronous",
    "sync": "synchronous",
    "single-threaded": "synchronous",
    "threads": "threads",
    "threading": "threads",
    "processes": "processes",
    "multiprocessing": "processes",
}

#: Seconds to wait for a dask.distributed scheduler before giving up.
CONNECT_TIMEOUT = 5.0

_PR_SET_PDEATHSIG = 1


class SchedulerError(ValueError):
    """A scheduler that cannot be used: unknown name, unreachable address, no workers."""


class InlineExecutor(cf.Executor):
    """Runs every task in the calling thread at submission (the ``"synchronous"`` scheduler)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - delivered through the future, as in a pool
            fut.set_exception(exc)
        else:
            fut.set_result(result)
        return fut


def available_cpus() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def _fork_is_safe() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _init_worker(parent: int) -> None:
    """Initializer of the worker processes: ignore Ctrl-C, die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


@dataclass
class Workers:
    """An executor with what the loop needs to know about it.

    Attributes
    ----------
    executor
        Anything with the :class:`concurrent.futures.Executor` interface.
    n_workers
        How many tasks run at once.
    description
        E.g. ``"2 local processes (fork)"`` (for messages and provenance).
    kind
        ``"synchronous"``, ``"threads"``, ``"processes"``, ``"distributed"`` or
        ``"executor"`` (one given by the caller).
    owned
        Whether :meth:`close` shuts the executor down.
    """

    executor: cf.Executor
    n_workers: int
    description: str
    kind: str
    owned: bool = True
    client: Any = None
    _started: bool = field(default=False, repr=False)

    def start(self) -> None:
        """Start the worker processes now (a no-op task per worker; idempotent).

        With ``fork`` the workers are copies of this process at this moment:
        call it after warming up (compiling) in the parent.
        """
        if self._started or self.kind != "processes":
            return
        futures = [self.executor.submit(os.getpid) for _ in range(self.n_workers)]
        for fut in futures:
            fut.result()
        self._started = True

    def close(self, *, cancel: bool = False) -> None:
        """Shut the executor down if it is ours; ``cancel`` drops pending tasks and
        stops running ones (worker processes are killed)."""
        if not self.owned:
            return
        if self.kind == "distributed":  # its futures are cancelled by run_tasks
            self.executor.shutdown(wait=not cancel)
        else:
            if self.kind == "processes" and cancel:
                # stop the running tasks too: kill the workers, then wait for the pool's
                # manager thread to notice and finish (else its exit races with the
                # interpreter's and an OSError is printed at exit)
                manager = getattr(self.executor, "_executor_manager_thread", None)
                processes = list((getattr(self.executor, "_processes", None) or {}).values())
                self.executor.shutdown(wait=False, cancel_futures=True)
                for p in processes:
                    p.kill()
                if manager is not None:
                    manager.join()
            self.executor.shutdown(wait=True, cancel_futures=cancel)
        if self.client is not None:
            self.client.close()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.close(cancel=exc_type is not None)


def check_scheduler(scheduler: Any) -> None:
    """Raise :class:`SchedulerError` now for a scheduler of a form that cannot be used.

    Does not connect to a distributed scheduler (:func:`open_workers` does).
    """
    if scheduler is None or isinstance(scheduler, cf.Executor):
        return
    if isinstance(scheduler, str):
        if scheduler in LOCAL_SCHEDULERS or "://" in scheduler or ":" in scheduler:
            return
        raise SchedulerError(
            f"scheduler {scheduler!r} is neither a local scheduler "
            f"({', '.join(sorted(LOCAL_SCHEDULERS))}) nor a dask.distributed address "
            "such as 'tcp://host:8786'"
        )
    if _is_client(scheduler):
        return
    raise SchedulerError(
        "scheduler must be None, 'processes', 'threads', 'synchronous', a scheduler address, "
        f"a distributed.Client or a concurrent.futures executor (got {scheduler!r})"
    )


def _is_client(obj: Any) -> bool:
    if "distributed" not in sys.modules:
        return False
    from distributed import Client

    return isinstance(obj, Client)


def open_workers(
    scheduler: Any = None, *, n_tasks: int | None = None, timeout: float = CONNECT_TIMEOUT
) -> Workers:
    """The :class:`Workers` of a scheduler specification (see the module docstring).

    Parameters
    ----------
    scheduler
        ``None`` (default: ``"processes"`` where ``fork`` is available, else
        ``"threads"``; ``"synchronous"`` on one core or for a single task),
        a local scheduler name, a dask.distributed address or ``Client``, or
        a :class:`concurrent.futures.Executor`.
    n_tasks
        Number of tasks to come (for the default choice).
    timeout
        Seconds to try to reach a distributed scheduler.

    Raises
    ------
    SchedulerError
        For an unknown scheduler, an unreachable address (after ``timeout``
        seconds at most) or a cluster without workers, in one line.
    """
    check_scheduler(scheduler)
    cpus = available_cpus()
    if scheduler is None:
        if cpus < 2 or (n_tasks is not None and n_tasks <= 1):
            scheduler = "synchronous"
        else:
            scheduler = "processes" if _fork_is_safe() else "threads"
    if isinstance(scheduler, cf.Executor):
        n = int(getattr(scheduler, "_max_workers", 1) or 1)
        return Workers(scheduler, n, f"{type(scheduler).__name__} ({n} workers)", "executor", False)
    if isinstance(scheduler, str) and scheduler in LOCAL_SCHEDULERS:
        name = LOCAL_SCHEDULERS[scheduler]
        if name == "synchronous":
            return Workers(InlineExecutor(), 1, "this process (synchronous)", name)
        if name == "threads":
            pool = cf.ThreadPoolExecutor(max_workers=cpus, thread_name_prefix="cooperon")
            return Workers(pool, cpus, f"{cpus} threads", name)
        method = "fork" if _fork_is_safe() else "spawn"
        pool = cf.ProcessPoolExecutor(
            max_workers=cpus,
            mp_context=multiprocessing.get_context(method),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )
        return Workers(pool, cpus, f"{cpus} local processes ({method})", name)
    return _distributed_workers(scheduler, timeout)


async def _identity(address: str, timeout: float) -> dict:
    """The scheduler's identity, over a comm of its own (no Client: nothing to clean up)."""
    from distributed.comm import connect

    comm = await connect(address, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await asyncio.wait_for(comm.read(), timeout)
    finally:
        comm.abort()


def _probe_scheduler(address: str, timeout: float) -> None:
    """Raise :class:`SchedulerError` in one line unless a dask scheduler answers at ``address``.

    Runs in a thread of its own (``asyncio.run`` works even where the caller's
    thread already has an event loop, e.g. in Jupyter).  Any failure --
    refused, timed out, or something that is not a dask scheduler (an HTTP
    server's reply read as a frame length can ask for exabytes) -- is reported.
    """
    with cf.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(asyncio.run, asyncio.wait_for(_identity(address, timeout), timeout))
        try:
            info = fut.result()
        except Exception as exc:  # noqa: BLE001 - whatever the connection did, say it in a line
            lines = str(exc).strip().splitlines()
            reason = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
            raise SchedulerError(
                f"scheduler {address!r}: no dask.distributed scheduler reachable within "
                f"{timeout:g} s ({reason})"
            ) from None
    if not isinstance(info, dict) or info.get("type") != "Scheduler":
        raise SchedulerError(f"scheduler {address!r}: the server there is not a dask scheduler")


def _distributed_workers(scheduler: Any, timeout: float) -> Workers:
    from distributed import Client

    owned = not isinstance(scheduler, Client)
    if owned:
        _probe_scheduler(scheduler, timeout)
        client = Client(scheduler, timeout=timeout, set_as_default=False)
        where = scheduler
    else:
        client = scheduler
        where = client.scheduler.address
    n = sum(client.nthreads().values())
    if n == 0:
        if owned:
            client.close()
        raise SchedulerError(f"scheduler {where!r} has no workers")
    executor = client.get_executor(pure=False)
    return Workers(
        executor,
        n,
        f"dask.distributed at {where} ({n} threads)",
        "distributed",
        True,
        client if owned else None,
    )


def run_tasks(
    workers: Workers,
    tasks: Iterable[tuple[K, Callable[..., Any], tuple]],
    on_result: Callable[[K, Any], None],
    *,
    max_in_flight: int | None = None,
) -> None:
    """Run ``tasks`` on ``workers`` and hand each result to ``on_result`` as it arrives.

    Parameters
    ----------
    workers
        Where the tasks run.
    tasks
        ``(key, function, args)`` triples, consumed lazily: at most
        ``max_in_flight`` tasks are submitted and not yet handled at any time
        (default: two per worker), so a long task list costs no memory.
    on_result
        ``on_result(key, result)``, called in this thread, once per task.

    Raises
    ------
    Exception
        The first exception raised by a task (with its own message and
        type) or by ``on_result``; the pending tasks are cancelled.
    KeyboardInterrupt
        Passed on after cancelling the pending tasks.
    """
    limit = max(1, max_in_flight or 2 * workers.n_workers)
    todo = iter(tasks)
    in_flight: dict[cf.Future, K] = {}

    def refill() -> None:
        while len(in_flight) < limit:
            item = next(todo, None)
            if item is None:
                return
            key, fn, args = item
            in_flight[workers.executor.submit(fn, *args)] = key

    try:
        refill()
        while in_flight:
            done, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
            for fut in [f for f in in_flight if f in done]:  # in the order of submission
                key = in_flight.pop(fut)
                on_result(key, fut.result())
            refill()
    finally:
        for fut in in_flight:
            fut.cancel()
