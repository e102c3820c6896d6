"""Where sandboxed tasks run: in the coordinator itself, in a local pool, or on a Dask cluster.

Every backend takes Tasks and hands back each job's outcome (or the exception that stopped its task)
to the coordinator, in the order they end; the coordinator alone interprets and stores them. The local
pool hands each job back as soon as it ends, while its child goes on with the task's next job; the
others, when the whole task is done. Isolation is the same everywhere: each task is a sandboxed child
process of whichever process runs it.
"""

from __future__ import annotations

import collections
import queue
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

from harness.grading.jobs import Ran, Task, run_task

CONNECT_TIMEOUT_S = 15  # to reach an existing scheduler; a wrong address should fail while the user watches
RETRIES = 2  # a task is retried this often on another worker (worker died, or raised) before it is given up
# (task, index, ran): job `index` of `task` has ended. (task, index, error): the task was stopped
# by `error`, its jobs from `index` on lost. A task is over after its last job or an error.
Finished = tuple[Task, int, "Ran | BaseException"]


def each_job(task: Task, result: "list[Ran] | BaseException") -> Iterator[Finished]:
    """A whole task's result (a Ran per job, or what stopped it) as the events of `completed()`."""
    if isinstance(result, BaseException):
        yield task, 0, result
        return
    for index, ran in enumerate(result):
        yield task, index, ran


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
            yield from each_job(task, run_task(task))


class LocalPool(Executor):
    """`jobs` tasks at a time on this machine, each a sandboxed child process with one CPU thread."""

    def __init__(self, jobs: int) -> None:
        self.description = f"local pool, {jobs} job(s) at a time"
        self._pool = ThreadPoolExecutor(jobs, thread_name_prefix="harness-job")
        self._ended: queue.Queue[Finished | Task] = queue.Queue()  # jobs as they end; a task when its child is gone
        self._open = 0  # tasks submitted whose child may still be there
        self._cancel = threading.Event()

    def submit(self, task: Task) -> None:
        self._open += 1
        self._pool.submit(self._run, task)

    def _run(self, task: Task) -> None:
        ended = 0

        def report(index: int, ran: Ran) -> None:
            nonlocal ended
            ended += 1
            self._ended.put((task, index, ran))

        try:
            run_task(task, self._cancel, report)
        except Exception as error:  # noqa: BLE001 - handed to the coordinator, which reports it
            if ended < len(task.jobs):
                self._ended.put((task, ended, error))
        finally:
            self._ended.put(task)

    def completed(self) -> Iterator[Finished]:
        while self._open:
            event = self._ended.get()
            if isinstance(event, Task):
                self._open -= 1
            else:
                yield event

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
            yield from each_job(task, result)

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
