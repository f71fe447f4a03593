"""Tests of cooperon.studies.execution: the executors and the one submit / as-completed loop."""

from __future__ import annotations

import concurrent.futures as cf
import threading

import pytest

from cooperon.studies.execution import (
    InlineExecutor,
    SchedulerError,
    Workers,
    check_scheduler,
    open_workers,
    run_tasks,
)


class _CountingExecutor(cf.ThreadPoolExecutor):
    """A thread pool that records the largest number of tasks submitted and not finished."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.lock = threading.Lock()
        self.outstanding = 0
        self.most = 0

    def submit(self, fn, /, *args, **kwargs):
        with self.lock:
            self.outstanding += 1
            self.most = max(self.most, self.outstanding)
        fut = super().submit(fn, *args, **kwargs)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, fut):
        with self.lock:
            self.outstanding -= 1


def _square(x: int) -> int:
    return x * x


def test_run_tasks_hands_every_result_over_once_and_bounds_the_tasks_in_flight():
    pool = _CountingExecutor()
    workers = Workers(pool, 2, "test", "executor", owned=False)
    consumed = []

    def tasks():
        for i in range(50):
            consumed.append(i)
            yield i, _square, (i,)

    results = {}
    run_tasks(workers, tasks(), results.__setitem__)
    pool.shutdown()
    assert results == {i: i * i for i in range(50)}
    assert pool.most <= 4  # two per worker: the task list is consumed lazily


def test_run_tasks_propagates_a_task_error_and_cancels_the_rest():
    started = []

    def task(i):
        started.append(i)
        if i == 2:
            raise KeyError(f"task {i} failed")
        return i

    seen = []
    with pytest.raises(KeyError, match="task 2 failed"):
        run_tasks(
            Workers(InlineExecutor(), 1, "inline", "synchronous"),
            ((i, task, (i,)) for i in range(10)),
            lambda k, r: seen.append(k),
            max_in_flight=1,
        )
    assert seen == [0, 1] and started == [0, 1, 2]


def test_inline_executor_runs_at_submission_and_keeps_exceptions_in_the_future():
    ex = InlineExecutor()
    assert ex.submit(_square, 3).result() == 9
    fut = ex.submit(int, "not a number")
    assert isinstance(fut.exception(), ValueError)


@pytest.mark.parametrize("name", ["thread", "gpu", ""])
def test_unknown_scheduler_names_are_refused(name):
    with pytest.raises(SchedulerError, match=rf"scheduler {name!r} is neither a local scheduler"):
        check_scheduler(name)
    with pytest.raises(SchedulerError, match="scheduler must be None"):
        check_scheduler(3)


def test_a_given_executor_is_used_and_not_shut_down():
    pool = cf.ThreadPoolExecutor(max_workers=3)
    with open_workers(pool) as workers:
        assert workers.n_workers == 3 and not workers.owned
    assert pool.submit(_square, 4).result() == 16  # still usable
    pool.shutdown()


def test_local_schedulers():
    with open_workers("synchronous") as w:
        assert isinstance(w.executor, InlineExecutor) and w.n_workers == 1
    with open_workers("threads") as w:
        assert isinstance(w.executor, cf.ThreadPoolExecutor)
    with open_workers("processes") as w:
        w.start()
        assert w.executor.submit(_square, 5).result() == 25
    # one task: not worth a pool
    with open_workers(None, n_tasks=1) as w:
        assert w.kind == "synchronous"
