"""One sandboxed job as a plain value: everything a worker needs, on this machine or another.

The coordinator builds a Task (the child's instructions, the submission's bytes, the isolation layer
and limits, which slice of CIFAR-10 to hand over); any worker runs it with `run_task` and returns the
sandbox's Outcome. Workers never touch the results store.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import data, env, sandbox


@dataclass(frozen=True)
class DataSlice:
    """The CIFAR-10 arrays a training job reads; `root` must be readable at this path on every worker."""

    root: Path
    train_limit: int | None
    test_limit: int | None


@dataclass(frozen=True)
class Task:
    key: str  # unique within a batch: the planned record's identity
    label: str  # "student: experiment", for progress lines
    job: dict[str, Any]
    files: dict[str, bytes] = field(repr=False)
    layer: str
    limits: sandbox.Limits
    data: DataSlice | None = None
    device: str = "cpu"


@dataclass
class Ran:
    """What a worker hands back: the sandbox's outcome, and when and where it ran."""

    outcome: sandbox.Outcome
    started_at: str  # ISO 8601, UTC
    environment: dict[str, Any]  # the worker's provenance, not the coordinator's


class WorkerUnfit(RuntimeError):
    """This worker cannot give the isolation the coordinator promised; the task must run elsewhere."""


def run_task(task: Task, cancel: threading.Event | None = None) -> Ran:
    """Run one task in the sandbox on this machine (called on the worker)."""
    if task.layer not in sandbox.available_layers():
        raise WorkerUnfit(f"{socket.gethostname()} cannot isolate with {task.layer} "
                          f"(it has {', '.join(sandbox.available_layers())}); install bubblewrap there")
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    where = {**env.environment(env.resolve_device(task.device)), "host": socket.gethostname(),
             "isolation": task.layer, "torch_threads": task.limits.threads}  # the child's, not this process's
    inputs = {"data": _arrays(task.data)} if task.data else {}
    outcome = sandbox.run_child(task.job, files=task.files, layer=task.layer, limits=task.limits,
                                inputs=inputs, cancel=cancel)
    return Ran(outcome, started, where)


_arrays_lock = threading.Lock()


def _arrays(wanted: DataSlice) -> Path:
    with _arrays_lock:  # concurrent jobs ask at once; write the file once per process
        return _cached_arrays(wanted)


@functools.cache
def _cached_arrays(wanted: DataSlice) -> Path:
    dataset = data.load("cifar10", wanted.root, download=False)
    folder = Path(tempfile.mkdtemp(prefix="harness-data-"))
    atexit.register(shutil.rmtree, folder, True)
    return data.save_arrays(dataset, folder / "cifar10.npz", train_limit=wanted.train_limit,
                            test_limit=wanted.test_limit)
