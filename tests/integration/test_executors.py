"""The three backends run the same sandboxed tasks: in-process, a local pool, a Dask LocalCluster.

What the Dask backend must survive: a worker process killed in the middle of a training run, and a
task that fails on every worker. Grading a whole class on Dask, and killing its coordinator, are in
test_grade_cli.py.
"""

import json
import os
import shutil
import signal
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from harness.engine.spec import PROFILES
from harness.grading import contract, sandbox
from harness.grading.evaluate import Evaluator
from harness.grading.executors import (
    DaskCluster,
    Executor,
    InProcess,
    LocalPool,
    each_job,
)
from harness.grading.jobs import Task, WorkerUnfit, run_task
from harness.grading.plan import CIFAR_TRAIN_STATS, Settings
from harness.grading.sandbox import Limits
from harness.store.database import Store

EXAMPLES = Path(__file__).resolve().parents[2] / "submissions"
LAYER = sandbox.available_layers()[0]
pytestmark = pytest.mark.sandbox


def smoke_task(key: str, layer: str = LAYER) -> Task:
    mean, std = CIFAR_TRAIN_STATS
    job = {"job": "smoke", "mean": list(mean), "std": list(std), "dropout_rate": 0.5}
    files = contract.read_files(EXAMPLES / "correct")
    return Task(key=key, jobs=(job,), files=files, layer=layer, limits=Limits(wall_s=60))


@pytest.fixture(scope="module")
def dask_cluster():
    with DaskCluster(None, workers=2) as cluster:
        yield cluster


def run_all(executor, tasks):
    for task in tasks:
        executor.submit(task)
    results = {}
    for task, index, result in executor.completed():
        if isinstance(result, BaseException):
            results[task.key] = result
        else:
            results.setdefault(task.key, []).insert(index, result)
    return results


@pytest.mark.parametrize("backend", ["in-process", "local", "dask"])
def test_every_backend_runs_the_sandboxed_task_and_hands_back_its_outcome(backend, request):
    tasks = [smoke_task("a"), smoke_task("b")]
    if backend == "dask":
        results = run_all(request.getfixturevalue("dask_cluster"), tasks)
    else:
        with InProcess() if backend == "in-process" else LocalPool(2) as executor:
            results = run_all(executor, tasks)
    assert set(results) == {"a", "b"}
    for (ran,) in results.values():
        assert ran.outcome.ok and ran.outcome.result == {"ok": True}, ran.outcome.log_tail
        assert ran.environment["isolation"] == LAYER and ran.environment["torch_threads"] == 1
        assert ran.started_at.endswith("+00:00")


def test_an_existing_cluster_is_used_through_its_scheduler_address(dask_cluster):
    address = dask_cluster.client.scheduler.address
    with DaskCluster(address, workers=1) as remote:
        assert remote.description == f"Dask cluster at {address}, 2 worker thread(s) now"
        [[ran]] = run_all(remote, [smoke_task("remote")]).values()
    assert ran.outcome.ok, ran.outcome.log_tail
    assert dask_cluster.client.status == "running"  # leaving does not shut the cluster down


def test_a_task_that_fails_on_every_worker_is_given_up_after_the_retries(dask_cluster):
    started = time.perf_counter()
    [result] = run_all(dask_cluster, [smoke_task("unfit", layer="no-such-layer")]).values()
    assert isinstance(result, WorkerUnfit) and "cannot isolate with no-such-layer" in str(result)
    assert time.perf_counter() - started < 30


def test_the_local_pool_reports_a_harness_error_instead_of_raising():
    with LocalPool(2) as pool:
        [result] = run_all(pool, [smoke_task("unfit", layer="no-such-layer")]).values()
    assert isinstance(result, WorkerUnfit)


def test_the_local_pool_hands_back_each_job_as_it_ends_while_its_child_goes_on():
    """Runs sharing a child are stored, and shown, one by one: here the second job hangs (its child
    imports the submission again, and this model.py then sleeps), yet the first is back at once."""
    task = smoke_task("two")
    sleepy = b"import sys, time\nif getattr(sys, 'imported_before', False):\n    time.sleep(60)\nsys.imported_before = True\n"
    task = replace(task, jobs=task.jobs * 2, files={**task.files, "model.py": sleepy + task.files["model.py"]},
                   limits=Limits(wall_s=40))
    started = time.perf_counter()
    with LocalPool(1) as pool:
        pool.submit(task)
        key, index, ran = next((t.key, i, r) for t, i, r in pool.completed())
        back_after = time.perf_counter() - started
    assert (key, index) == ("two", 0) and ran.outcome.ok, ran.outcome.log_tail
    assert back_after < 20  # the task itself could only end at the second job's limit, 40 s in
    assert time.perf_counter() - started < 30  # closing the pool killed the hanging child


def test_in_process_raises_a_harness_error_with_its_traceback():
    with InProcess() as executor, pytest.raises(WorkerUnfit):
        run_all(executor, [smoke_task("unfit", layer="no-such-layer")])


def _kill_a_worker_mid_training(cluster: DaskCluster, killed: list, deadline: float) -> None:
    """SIGKILL the first worker process seen running a sandboxed training job, 1 s into it."""
    while time.monotonic() < deadline and not killed:
        for address, pid in cluster.client.run(os.getpid).items():
            for child in _children(pid):
                jobs = _jobs_of(child)
                if jobs and jobs[0].get("job") == "train":
                    time.sleep(1)
                    os.kill(pid, signal.SIGKILL)
                    killed.append((address, pid, [job["experiment"] for job in jobs]))
                    return
        time.sleep(0.2)


def _children(pid: int) -> list[int]:
    found = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for thread in threads:  # the sandbox is started from one of the worker's threads
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{thread}/children").read_text().split()]
        except OSError:
            continue
    return found


def _jobs_of(pid: int) -> list[dict] | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        job_file = next(a.decode() for a in argv if a.endswith(b"job.json"))
        return json.loads(Path(job_file).read_text())["jobs"]
    except (OSError, StopIteration, ValueError, KeyError):
        return None


def test_a_worker_killed_mid_run_has_its_run_redone_elsewhere_and_stored_once(dask_cluster, tmp_path, synth_root,
                                                                              sandbox_uids):
    runs = ("cw_baseline", "cw_aug1", "cw_dropout")
    settings = Settings(profile=PROFILES["check"], data_root=synth_root, layer=LAYER, runs=runs)
    folder = shutil.copytree(EXAMPLES / "correct", tmp_path / "correct")
    killed: list = []
    killer = threading.Thread(target=_kill_a_worker_mid_training, args=(dask_cluster, killed, time.monotonic() + 120))
    killer.start()
    with Store(tmp_path / "store.sqlite") as store:
        evaluator = Evaluator(settings, store, dask_cluster)
        evaluation = evaluator.evaluate(folder)
        killer.join()
        records = list(store.runs())
    assert killed, "no worker was seen running a training job"
    [(_, pid, experiments)] = killed
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]
    assert evaluator.not_run == {}
    assert evaluation.status == "complete" and all(evaluation.runs[e].status == "ok" for e in experiments)
    assert all(r.status == "ok" for r in evaluation.runs.values())
    keys = [(r.subject, r.experiment) for r in records]
    assert len(keys) == len(set(keys)) == 2 + len(runs)  # smoke, checks, each run: once
    if os.geteuid() == 0:  # the killed worker's sandboxed child died with it (exiting takes a moment on a busy machine)
        deadline = time.monotonic() + 15
        while sandbox_uids() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sandbox_uids() == []


class GivesUpOnTraining(Executor):
    """Runs smoke and checks jobs; reports every training job as lost, as Dask does after its retries."""

    def __init__(self) -> None:
        self.queue: list[Task] = []

    def submit(self, task: Task) -> None:
        self.queue.append(task)

    def completed(self):
        while self.queue:
            task = self.queue.pop(0)
            lost = RuntimeError("Attempted to run task on 3 different workers, but all those workers died")
            yield from each_job(task, lost if task.jobs[0]["job"] == "train" else run_task(task))


def test_a_job_given_up_is_not_stored_and_the_next_run_does_only_it(tmp_path, synth_root):
    settings = Settings(profile=PROFILES["check"], data_root=synth_root, layer=LAYER, runs=("cw_baseline",))
    folder = shutil.copytree(EXAMPLES / "correct", tmp_path / "correct")
    with Store(tmp_path / "store.sqlite") as store:
        evaluator = Evaluator(settings, store, GivesUpOnTraining())
        first = evaluator.evaluate(folder)
        assert first.status == "incomplete" and first.checks.status == "ok"
        assert first.runs["cw_baseline"].status == "skipped"
        assert "all those workers died" in first.runs["cw_baseline"].error
        assert list(evaluator.not_run.values()) == [
            ("correct-example: cw_baseline", "RuntimeError: Attempted to run task on 3 different workers, "
                                             "but all those workers died")]
        assert sorted(r.experiment for r in store.runs()) == ["behaviour_checks", "smoke"]
        with LocalPool(1) as pool:
            again = Evaluator(settings, store, pool).evaluate(folder)
        assert again.status == "complete" and again.runs["cw_baseline"].status == "ok"
        assert sorted(r.experiment for r in store.runs()) == ["behaviour_checks", "cw_baseline", "smoke"]


def test_runs_sharing_a_child_give_what_they_give_in_children_of_their_own(tmp_path, synth_root):
    """Dropout and augmentation draw random numbers at every step: a run must not draw from the one before."""
    runs = ("cw_dropout", "cw_aug2")
    metrics = {}
    for children in (1, None):
        settings = Settings(profile=PROFILES["check"], data_root=synth_root, layer=LAYER, runs=runs, children=children)
        if children is None:  # the first store less its runs: the smoke test and checks are not done twice
            shutil.copyfile(tmp_path / "1.sqlite", tmp_path / "None.sqlite")
            with sqlite3.connect(tmp_path / "None.sqlite") as db:
                db.execute("PRAGMA foreign_keys = ON")
                db.execute("DELETE FROM runs WHERE experiment LIKE 'cw_%'")
        with Store(tmp_path / f"{children}.sqlite") as store, LocalPool(2) as pool:
            evaluation = Evaluator(settings, store, pool).evaluate(EXAMPLES / "correct")
        assert evaluation.status == "complete"
        metrics[children] = {run: {k: v for k, v in evaluation.runs[run].metrics.items() if not k.endswith(("_s", "per_s"))}
                             for run in runs}
        assert all(("jobs_in_child" in evaluation.runs[run].environment) == (children == 1) for run in runs)
    assert metrics[1] == metrics[None] and metrics[1]["cw_dropout"]["best_val_accuracy"] > 0
