"""Where sandboxed tasks run: in the coordinator itself, in a local pool, or on a Dask cluster.

Every backend takes Tasks and hands each one's Outcomes, one per job (or the exception that stopped
it), back to the coordinator, in the order they finish; the coordinator alone interprets and stores
them. Isolation is the same everywhere: each task is a sandboxed child process of whichever process
runs it.
"""

from __future__ import annotations

import collections
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Iterator

from harness.jobs import Ran, Task, run_task

CONNECT_TIMEOUT_S = 15  # to reach an existing scheduler; a wrong address should fail while the user watches
RETRIES = 2  # a task is retried this often on another worker (worker died, or raised) before it is given up
Finished = tuple[Task, "list[Ran] | BaseException"]  # a Ran per job of the task


class ExecutorUnavailable(RuntimeError):
    pass


class Executor:
    """submit() tasks, then iterate completed(); tasks submitted while iterating are waited for too."""

    description = ""
    dashboard: str | None = None

    def submit(self, task: Task) -> None:
        raise NotImplementedError

    def completed(self) -> Iterator[Finished]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop: anything still running is killed and never reported."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class InProcess(Executor):
    """One task at a time in the coordinator's own thread, in submission order; a harness error
    raises here with its whole traceback (for debugging)."""

    description = "in-process, one job at a time"

    def __init__(self) -> None:
        self._queue: collections.deque[Task] = collections.deque()

    def submit(self, task: Task) -> None:
        self._queue.append(task)

    def completed(self) -> Iterator[Finished]:
        while self._queue:
            task = self._queue.popleft()
            yield task, run_task(task)


class LocalPool(Executor):
    """`jobs` tasks at a time on this machine, each a sandboxed child process with one CPU thread."""

    def __init__(self, jobs: int) -> None:
        self.description = f"local pool, {jobs} job(s) at a time"
        self._pool = ThreadPoolExecutor(jobs, thread_name_prefix="harness-job")
        self._pending: dict[Future, Task] = {}
        self._cancel = threading.Event()

    def submit(self, task: Task) -> None:
        self._pending[self._pool.submit(run_task, task, self._cancel)] = task

    def completed(self) -> Iterator[Finished]:
        while self._pending:
            done, _ = wait(self._pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = self._pending.pop(future)
                yield task, future.exception() or future.result()

    def close(self) -> None:
        self._cancel.set()  # running children are killed; their jobs raise Cancelled and are dropped
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskCluster(Executor):
    """Tasks on Dask workers: an existing cluster at `address`, or a LocalCluster of `workers`
    processes (one thread each). A worker that dies mid-task has the task rerun on another, at most
    RETRIES more times (an existing cluster applies its own `distributed.scheduler.allowed-failures`)."""

    def __init__(self, address: str | None, *, workers: int) -> None:
        try:
            import dask
            import distributed
        except ImportError:
            raise ExecutorUnavailable("Dask is not installed: pip install 'nt-harness[dask]'") from None
        self._cluster = None
        if address is None:
            with dask.config.set({"distributed.scheduler.allowed-failures": RETRIES}):
                self._cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                         dashboard_address=":0")
            self.client = distributed.Client(self._cluster)
            self.description = f"Dask LocalCluster, {workers} worker process(es)"
        else:
            try:
                self.client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as error:
                raise ExecutorUnavailable(f"cannot reach the Dask scheduler at {address}: {error}") from None
            threads = sum(w["nthreads"] for w in self.client.scheduler_info()["workers"].values())
            self.description = f"Dask cluster at {address}, {threads} worker thread(s) now"
        if "dashboard" in self.client.scheduler_info().get("services", {}):
            self.dashboard = self.client.dashboard_link
        self._running = distributed.as_completed()
        self._submitted: dict[str, tuple[object, Task]] = {}  # Dask key -> (future, task)

    def submit(self, task: Task) -> None:
        future = self.client.submit(run_task, task, key=f"{task.key}-{uuid.uuid4().hex[:8]}", pure=False,
                                     retries=RETRIES)
        self._submitted[future.key] = (future, task)
        self._running.add(future)

    def completed(self) -> Iterator[Finished]:
        for future in self._running:
            _, task = self._submitted.pop(future.key)
            try:
                result: list[Ran] | BaseException = future.result()
            except Exception as error:  # KilledWorker after RETRIES deaths, or what the task raised
                result = error
            future.release()
            yield task, result

    def close(self) -> None:
        if self._submitted:  # interrupted: what is still queued or running is dropped
            self.client.cancel([future for future, _ in self._submitted.values()])
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(*, in_process: bool = False, dask: str | None = None, scheduler: str | None = None,
                  jobs: int = 1) -> Executor:
    """The backend the command line asked for: --in-process, --dask local, --scheduler ADDRESS, or
    (the default) a local pool of `jobs`."""
    if in_process:
        return InProcess()
    if dask == "local":
        return DaskCluster(None, workers=jobs)
    if scheduler:
        return DaskCluster(scheduler, workers=jobs)
    return LocalPool(jobs)
