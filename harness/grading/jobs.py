"""One sandboxed job as a plain value: everything a worker needs, on this machine or another.

The coordinator builds a Task (the child's instructions for one or more jobs of one submission, done
one after another in one sandboxed child; the submission's bytes, the isolation layer and limits,
which slice of CIFAR-10 to hand over); any worker runs it with `run_task` and returns each job's
sandbox Outcome, a training run's validation scored on the test labels the worker kept from the
child (`held_out`), a checks job's verdicts computed by a second child from what the first handed
back (`harness.grading.checks.verdicts`). Workers never touch the results store.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import os
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from harness.engine import data, devices
from harness.grading import held_out, sandbox
from harness.grading.checks import verdicts


@dataclass(frozen=True)
class DataSlice:
    """The CIFAR-10 arrays a training job reads, and how its test outputs are scored (a task and a
    loss of harness.engine.objectives); `root` must be readable at this path on every worker."""

    root: Path
    train_limit: int | None
    test_limit: int | None
    task: str = "multiclass"
    loss: str = "cross_entropy"


@dataclass(frozen=True)
class Task:
    key: str  # unique within a batch: its first planned record's identity
    jobs: tuple[dict[str, Any], ...]  # the child's instructions, one per job, done in this order
    files: dict[str, bytes] = field(repr=False)
    layer: str
    limits: sandbox.Limits
    data: DataSlice | None = None
    device: str = "cpu"
    walls: tuple[float, ...] = ()  # each job's wall clock (s); none given: the limits' for every job


@dataclass
class Ran:
    """What a worker hands back for one job: the sandbox's outcome, and when and where it ran."""

    outcome: sandbox.Outcome  # its outputs already scored and dropped: only `validation` travels
    started_at: str  # ISO 8601, UTC
    environment: dict[str, Any]  # the worker's provenance, not the coordinator's
    validation: list[dict[str, float]] | None = None  # per epoch: val_loss, val_accuracy (scored here)


class WorkerUnfit(RuntimeError):
    """This worker cannot give the isolation the coordinator promised; the task must run elsewhere."""


def run_task(task: Task, cancel: threading.Event | None = None,
             on_ran: Callable[[int, Ran], None] | None = None) -> list[Ran]:
    """Run one task's jobs in one sandboxed child on this machine (called on the worker); a Ran per job,
    each also handed to `on_ran(index, ran)` as soon as its job ends."""
    if task.layer not in sandbox.available_layers():
        raise WorkerUnfit(f"{socket.gethostname()} cannot isolate with {task.layer} "
                          f"(it has {', '.join(sandbox.available_layers())}); install bubblewrap there")
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    where = {**devices.environment(devices.resolve_device(task.device)), "host": socket.gethostname(),
             "isolation": task.layer, "torch_threads": task.limits.threads}  # the child's, not this process's
    if len(task.jobs) > 1:
        where["jobs_in_child"] = len(task.jobs)
    handover = _handover(task.data) if task.data else None
    inputs = {"data": handover.path} if handover else {}
    if handover:
        where["data"] = handover.data
    ran: list[Ran] = []

    def ended(index: int, outcome: sandbox.Outcome) -> None:
        validation = _scored(outcome, handover, task.data) if handover else None
        if task.jobs[index]["job"] == "checks":
            _checked(outcome, task.jobs[index]["context"], task)
        outcome.outputs = None
        ran.append(Ran(outcome, started, dict(where), validation))  # each record amends its own copy
        if on_ran is not None:
            on_ran(index, ran[-1])

    sandbox.run_children(list(task.jobs), files=task.files, layer=task.layer, limits=task.limits, walls=task.walls,
                         inputs=inputs, cancel=cancel, devices=_devices(task.device), on_outcome=ended)
    return ran


def _devices(device: str) -> tuple[Path, ...]:
    return sandbox.gpu_devices() if device.startswith("cuda") else ()


def check_gpu(layer: str, device: str) -> str:
    """The GPU's name, when a sandboxed child (its limits, its uid, its bound device nodes) can compute
    on `device`; IsolationUnavailable with what the child said when it cannot."""
    limits = sandbox.Limits(wall_s=120)
    outcome = sandbox.run_child({"job": "gpu", "device": device, "gpu_memory_bytes": limits.gpu_memory_bytes},
                                files={}, layer=layer, limits=limits, devices=_devices(device))
    if outcome.ok and (outcome.result or {}).get("ok") is True:
        return str(outcome.result.get("device"))
    said = outcome.log_tail.strip().splitlines()[-1][:300] if outcome.log_tail.strip() else outcome.status
    raise sandbox.IsolationUnavailable(f"--device {device}: a child in the {layer} sandbox cannot compute on the "
                                       f"GPU ({said}); grade with --device cpu")


def _scored(outcome: sandbox.Outcome, handover: held_out.Handover, wanted: DataSlice) -> list[dict[str, float]] | None:
    """The child's test outputs scored against the labels it never saw; malformed ones make its outcome bad."""
    if not outcome.ok or "error" in outcome.result:
        return None
    try:
        return held_out.score(outcome.outputs, handover, task=wanted.task, loss=wanted.loss)
    except ValueError as error:
        outcome.status, outcome.log_tail = "bad_result", f"{outcome.log_tail}\n[{error}]"
        return None


def _checked(outcome: sandbox.Outcome, context: dict[str, Any], task: Task) -> None:
    """A checks job's outcome, turned into verdicts computed where no code of the submission runs: what
    its child handed back is checked by a second sandboxed child given no file of the submission."""
    if not outcome.ok or "error" in outcome.result:
        return
    handed = outcome.result
    outcome.result = {"checks": verdicts.decided(handed, lambda parts: _verdicts(handed, parts, context, outcome, task))}


def _verdicts(handed: dict[str, Any], parts: list[str], context: dict[str, Any], exported: sandbox.Outcome,
              task: Task) -> tuple[list[Any] | None, str]:
    """(the grader's child's check results, '') or (None, why it gave none); its time is added to the job's."""
    job = {"job": "verdicts", "parts": parts, "context": context, "programs": handed.get("programs"),
           "pipelines": handed.get("pipelines")}
    with tempfile.TemporaryDirectory(prefix="harness-verdicts-") as folder:
        inputs = {}
        if exported.outputs is not None:
            inputs["weights"] = Path(folder) / "weights.npy"
            np.save(inputs["weights"], exported.outputs)
        outcome = sandbox.run_child(job, files={}, layer=task.layer, limits=task.limits, inputs=inputs)
    exported.wall_s += outcome.wall_s
    result = outcome.result or {}
    if outcome.ok and isinstance(result.get("checks"), list):
        return result["checks"], ""
    if isinstance(result.get("error"), str):
        return None, result["error"][:500]
    last = outcome.log_tail.strip().splitlines()
    return None, f"its child ended: {outcome.status}" + (f" ({last[-1][:300]})" if last else "")


_handover_lock = threading.Lock()


def _handover(wanted: DataSlice) -> held_out.Handover:
    with _handover_lock:  # concurrent jobs ask at once; write the file (and draw its test order) once per process
        return _cached_handover(wanted.root, wanted.train_limit, wanted.test_limit)


HANDOVER_PREFIX = "harness-data-"


@functools.cache
def _cached_handover(root: Path, train_limit: int | None, test_limit: int | None) -> held_out.Handover:
    dataset = data.load("cifar10", root, download=False)
    _sweep_handovers(Path(tempfile.gettempdir()))
    folder = Path(tempfile.mkdtemp(prefix=f"{HANDOVER_PREFIX}{os.getpid()}@{socket.gethostname()}-"))
    atexit.register(shutil.rmtree, folder, True)
    return held_out.write(dataset, folder / "cifar10.npz", train_limit=train_limit, test_limit=test_limit)


def _sweep_handovers(folder: Path) -> None:
    """Remove the handover folders that processes of this machine left when they died without cleaning
    up (a Dask worker killed with -9 leaves its copy of CIFAR-10: about 185 MB of the full set)."""
    for stale in folder.glob(f"{HANDOVER_PREFIX}*@*"):
        pid, _, made_on = stale.name[len(HANDOVER_PREFIX):].partition("@")
        host = made_on.rpartition("-")[0]  # mkdtemp's random suffix has no dash
        if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's: alive
        pass
    return True
