"""A graded run's test labels stay with the grader: what the child gets, how its outputs are scored,
and how the file it hands back is read."""

import dataclasses
import io
import json
import os
import pickle
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms as T

from harness.engine import data
from harness.engine.run import Components, train_run
from harness.engine.spec import PROFILES
from harness.grading import coursework, held_out, jobs, sandbox
from harness.grading.evaluate import Evaluator, stored_evaluations
from harness.grading.executors import Executor, each_job
from harness.grading.jobs import DataSlice, Ran
from harness.grading.plan import Settings
from harness.progress import Progress
from harness.store.database import Store
from reference.models import CNNModel

QUICK = PROFILES["quick"]
EXAMPLES = Path(__file__).resolve().parents[2] / "submissions"


def _handover(synth_root, tmp_path, name="cifar10.npz"):
    dataset = data.load("cifar10", synth_root, download=False)
    return dataset, held_out.write(dataset, tmp_path / name, train_limit=300, test_limit=150)


def test_the_child_gets_the_training_split_and_unlabelled_test_images_in_a_fresh_order(synth_root, tmp_path):
    dataset, handover = _handover(synth_root, tmp_path)
    with np.load(handover.path, allow_pickle=False) as arrays:
        assert sorted(arrays.files) == ["mean", "std", "synthetic", "test_x", "train_x", "train_y"]
    child = held_out.read("cifar10", handover.path)
    assert torch.equal(child.train.x, dataset.train.x[:300]) and torch.equal(child.train.y, dataset.train.y[:300])
    assert (child.test.y == held_out.UNKNOWN_LABEL).all()
    assert torch.equal(child.test.x, dataset.test.x[:150][torch.from_numpy(handover.order)])
    assert torch.equal(handover.labels, dataset.test.y[:150])
    assert sorted(handover.order) == list(range(150)) and list(handover.order) != list(range(150))
    _, again = _handover(synth_root, tmp_path, "again.npz")
    assert list(again.order) != list(handover.order)  # drawn per process, not from a seed


def test_outputs_scored_by_the_grader_equal_the_trainers_own_validation(synth_root, tmp_path):
    """The same run trained with its test labels, and without them (outputs scored afterwards)."""
    _, handover = _handover(synth_root, tmp_path)
    spec = QUICK.apply(coursework.submission_spec("cw_batchnorm", dropout_rate=0.3))
    components = Components(models={"student_cnn": CNNModel}, augmentations={},
                            pipelines={"val_transform": lambda mean, std: T.Compose([T.ToTensor(), T.Normalize(mean, std)])})
    labelled = data.load("cifar10", synth_root, download=False)
    labelled = data.Dataset("cifar10", labelled.train.head(300), labelled.test.head(150), tmp_path, True,
                            labelled.normalization())
    run = lambda dataset, **kw: train_run(spec, dataset, profile=QUICK, components=components,  # noqa: E731
                                          device=torch.device("cpu"), **kw)
    history, metrics, _ = run(labelled)
    child = held_out.read("cifar10", handover.path)
    blind_history, blind_metrics, arrays = run(child, held_out=True)
    assert not any(k.startswith("val_") and k != "val_s" for k in blind_history[0])
    assert not any(k.startswith(("best_val", "final_val")) for k in blind_metrics)
    scores = held_out.score(arrays["val_outputs"], handover, task=spec.task, loss=spec.loss)
    assert len(scores) == len(history) == spec.epochs == 3
    for row, scored in zip(history, scores):
        assert scored["val_accuracy"] == pytest.approx(row["val_accuracy"], abs=1e-9)
        assert scored["val_loss"] == pytest.approx(row["val_loss"], rel=1e-5)
    assert metrics["final_val_accuracy"] == pytest.approx(scores[-1]["val_accuracy"], abs=1e-9)


def test_a_graded_run_validates_through_the_students_val_transform(synth_root, tmp_path):
    """As the notebook's test loader does: ToTensor and Normalize with the given statistics score what
    the reference's own normalization scores; a val_transform that leaves out Normalize scores otherwise."""
    _, handover = _handover(synth_root, tmp_path)
    spec = dataclasses.replace(QUICK.apply(coursework.submission_spec("cw_baseline", dropout_rate=0.3)), epochs=1)
    child = held_out.read("cifar10", handover.path)

    def outputs(spec, pipelines):
        components = Components(models={"student_cnn": CNNModel}, augmentations={}, pipelines=pipelines)
        return train_run(spec, child, profile=QUICK, components=components, device=torch.device("cpu"),
                         held_out=True)[2]["val_outputs"]

    plain = outputs(dataclasses.replace(spec, inputs=dataclasses.replace(spec.inputs, val_pipeline=None)), {})
    normalized = outputs(spec, {"val_transform": lambda mean, std: T.Compose([T.ToTensor(), T.Normalize(mean, std)])})
    unnormalized = outputs(spec, {"val_transform": lambda mean, std: T.ToTensor()})
    assert np.allclose(normalized, plain, atol=1e-4) and not np.allclose(unnormalized, plain, atol=1e-2)


@pytest.mark.parametrize("outputs, why", [
    (None, "none"),
    (np.zeros((2, 150, 10), np.float64), "float64"),
    (np.zeros((2, 149, 10), np.float32), "(2, 149, 10)"),
    (np.zeros((150, 10), np.float32), "(150, 10)"),
    (np.zeros((2, 150, 5), np.float32), "cannot be scored"),
])
def test_outputs_of_the_wrong_kind_are_refused_with_what_they_were(synth_root, tmp_path, outputs, why):
    _, handover = _handover(synth_root, tmp_path)
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
        held_out.score(outputs, handover, task="multiclass", loss="cross_entropy")


def test_scores_follow_the_images_back_into_the_test_sets_order(synth_root, tmp_path):
    _, handover = _handover(synth_root, tmp_path)
    right = np.eye(10, dtype=np.float32)[handover.labels.numpy()[handover.order]] * 10  # correct, in the child's order
    wrong = np.eye(10, dtype=np.float32)[handover.labels.numpy()] * 10  # correct only where order[i] == i
    scores = held_out.score(np.stack([right, wrong]), handover, task="multiclass", loss="cross_entropy")
    assert scores[0]["val_accuracy"] == 1.0
    assert scores[1]["val_accuracy"] < 0.5


def _write_child_files(folder, *, result=None, outputs=None):
    (folder / sandbox.RESULT_FILE.format(0)).write_text(json.dumps(result if result is not None else {"ok": True}))
    if outputs is not None:
        (folder / sandbox.OUTPUTS_FILE.format(0)).write_bytes(outputs)


def _outcome(folder):
    return sandbox._outcome(folder, 0, "log", 1.0, "limits", 0, False, sandbox.Limits(outputs_bytes=10_000))


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)  # as a hostile child could
    return buffer.getvalue()


def test_a_plain_array_comes_back(tmp_path):
    array = np.arange(60, dtype=np.float32).reshape(2, 3, 10)
    _write_child_files(tmp_path, outputs=_npy(array))
    outcome = _outcome(tmp_path)
    assert outcome.status == "ok" and np.array_equal(outcome.outputs, array)


@pytest.mark.parametrize("content, why", [
    (lambda: _npy(np.array([{"a": 1}], dtype=object)), "holds objects"),
    (lambda: _npy(np.zeros((4, 10), np.float32))[:-16], "not the float32 (4, 10) array its header says"),
    (lambda: pickle.dumps(np.zeros(3)), "not a plain .npy array"),
    (lambda: _npy(np.zeros(5000, np.float32)), "larger than 10000 bytes"),
])
def test_outputs_that_are_not_a_plain_array_of_their_declared_size_are_never_loaded(tmp_path, content, why):
    _write_child_files(tmp_path, outputs=content())
    outcome = _outcome(tmp_path)
    assert outcome.status == "bad_result" and outcome.outputs is None
    assert why in outcome.log_tail


def test_an_outputs_link_is_refused(tmp_path):
    (tmp_path / "elsewhere.npy").write_bytes(_npy(np.zeros(3, np.float32)))
    _write_child_files(tmp_path)
    (tmp_path / sandbox.OUTPUTS_FILE.format(0)).symlink_to(tmp_path / "elsewhere.npy")
    outcome = _outcome(tmp_path)
    assert outcome.status == "bad_result" and "not a plain file" in outcome.log_tail


class Scripted(Executor):
    """Hands back for each task what a child could have written, and the worker's validation scores."""

    def __init__(self, train_result: dict, validation: list[dict[str, float]] | None) -> None:
        self.train_result, self.validation, self.tasks, self.submitted = train_result, validation, [], []

    def submit(self, task) -> None:
        self.tasks.append(task)
        self.submitted.append(task)

    def completed(self):
        while self.tasks:
            task = self.tasks.pop(0)
            yield from each_job(task, [self._ran(job["job"]) for job in task.jobs])

    def _ran(self, kind: str) -> Ran:
        result = {"smoke": {"ok": True}, "checks": {"checks": [{"id": "x", "passed": True}]},
                  "train": self.train_result}[kind]
        return Ran(sandbox.Outcome("ok", result, "", 0.1, "bwrap"), "2026-11-26T00:00:00+00:00", {},
                   self.validation if kind == "train" else None)


BOASTFUL_CHILD = {  # a child that reports perfect validation of its own
    "history": [{"epoch": 1, "lr": 3e-4, "loss": 2.0, "accuracy": 0.3, "train_s": 1.0, "val_s": 0.1,
                 "val_loss": 0.0, "val_accuracy": 1.0, "val_mae": 0.0}],
    "metrics": {"epochs_run": 1, "train_s": 1.0, "best_val_accuracy": 1.0, "final_val_accuracy": 1.0},
}


def _graded_run(synth_root, tmp_path, validation):
    settings = Settings(profile=PROFILES["check"], data_root=synth_root, layer="bwrap", runs=("cw_baseline",))
    with Store(tmp_path / "store.sqlite") as store:
        evaluation = Evaluator(settings, store, Scripted(BOASTFUL_CHILD, validation)).evaluate(EXAMPLES / "correct")
    return evaluation.runs["cw_baseline"]


def test_what_a_child_says_of_validation_is_replaced_by_the_graders_scores(synth_root, tmp_path):
    run = _graded_run(synth_root, tmp_path, [{"val_loss": 2.1, "val_accuracy": 0.25}])
    assert run.status == "ok"
    assert run.history == [{"epoch": 1, "lr": 3e-4, "loss": 2.0, "accuracy": 0.3, "train_s": 1.0, "val_s": 0.1,
                            "val_loss": 2.1, "val_accuracy": 0.25}]
    assert run.metrics == {"epochs_run": 1, "train_s": 1.0, "best_val_accuracy": 0.25, "best_val_accuracy_epoch": 1,
                           "best_val_loss": 2.1, "best_val_loss_epoch": 1, "final_val_loss": 2.1,
                           "final_val_accuracy": 0.25}


@pytest.mark.parametrize("validation, why", [
    ([{"val_loss": float("nan"), "val_accuracy": 0.1}], "outputs on the validation images gave a non-finite val_loss (nan) in epoch 1"),
    (None, "malformed results: 1 epochs trained but 0 scored"),
    ([{"val_loss": 2.1, "val_accuracy": 0.25}] * 2, "malformed results: 1 epochs trained but 2 scored"),
])
def test_a_run_whose_validation_cannot_be_scored_fails_with_why(synth_root, tmp_path, validation, why):
    run = _graded_run(synth_root, tmp_path, validation)
    assert run.status == "failed" and why in run.error


def test_a_stored_failure_is_kept_unless_failures_are_retried(synth_root, tmp_path):
    """A failure can be the grading machine's (today's first GPU run: a child without a user name), fixed since."""
    settings = Settings(profile=PROFILES["check"], data_root=synth_root, layer="bwrap", runs=("cw_baseline",))
    good = [{"val_loss": 2.1, "val_accuracy": 0.25}]
    with Store(tmp_path / "store.sqlite") as store:
        Evaluator(settings, store, Scripted(BOASTFUL_CHILD, None)).evaluate(EXAMPLES / "correct")
        kept, retried = Scripted(BOASTFUL_CHILD, good), Scripted(BOASTFUL_CHILD, good)
        said = io.StringIO()
        again = Evaluator(settings, store, kept, progress=Progress(said, bar=False)).evaluate(EXAMPLES / "correct")
        assert again.runs["cw_baseline"].status == "failed" and kept.submitted == []
        assert "cw_baseline: already in the store (failed; --retry-failed runs it again)" in said.getvalue()
        fixed = Evaluator(settings, store, retried, retry_failed=True).evaluate(EXAMPLES / "correct")
        assert [job["job"] for task in retried.submitted for job in task.jobs] == ["train"]  # smoke and checks had passed
        assert fixed.runs["cw_baseline"].status == "ok" and fixed.runs["cw_baseline"].metrics["best_val_accuracy"] == 0.25
        assert [r.status for r in store.runs() if r.experiment == "cw_baseline"] == ["ok"]


def test_new_claims_train_nothing_again_and_the_store_learns_them(synth_root, tmp_path):
    settings = Settings(profile=PROFILES["check"], data_root=synth_root, layer="bwrap", runs=("cw_baseline",))
    folder = shutil.copytree(EXAMPLES / "correct", tmp_path / "correct")
    good = [{"val_loss": 2.1, "val_accuracy": 0.25}]
    with Store(tmp_path / "store.sqlite") as store:
        Evaluator(settings, store, Scripted(BOASTFUL_CHILD, good)).evaluate(folder)
        manifest = folder / "manifest.toml"
        manifest.write_text(manifest.read_text().replace("baseline = 0.80", "baseline = 0.25"))
        again = Scripted(BOASTFUL_CHILD, good)
        evaluation = Evaluator(settings, store, again).evaluate(folder)
        assert again.submitted == [] and evaluation.runs["cw_baseline"].status == "ok"
        assert evaluation.claims["baseline"] == 0.25
        (stored,) = stored_evaluations(store, profile="check")  # what `harness report` renders
        assert stored.claims["baseline"] == 0.25 and stored.runs["cw_baseline"].metrics["best_val_accuracy"] == 0.25


def test_a_handover_left_by_a_process_that_died_is_swept_by_the_next(synth_root, tmp_path, monkeypatch):
    """A Dask worker killed with -9 cannot remove its copy of the data; the next process on the machine does."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    stale = tmp_path / f"harness-data-{dead.pid}@{host}-abcd1234"
    stale.mkdir()
    (stale / "cifar10.npz").write_bytes(b"a copy of the data")
    kept = [tmp_path / f"harness-data-{os.getpid()}@{host}-live1234",  # a live process's
            tmp_path / f"harness-data-{dead.pid}@{host}x-abcd1234"]  # another machine's, on a shared /tmp
    for folder in kept:
        folder.mkdir()
    jobs._cached_handover.cache_clear()
    try:
        handover = jobs._handover(DataSlice(synth_root, 100, 50))
    finally:
        jobs._cached_handover.cache_clear()
    assert not stale.exists() and all(folder.exists() for folder in kept)
    assert handover.path.exists() and handover.path.parent.name.startswith(f"harness-data-{os.getpid()}@{host}-")


class HangsOnce(Scripted):
    """In the first child given several training runs, the first trains, the second hangs (its child is
    killed at the limit) and the rest never start; every other job runs as Scripted does."""

    hung = False

    def completed(self):
        while self.tasks:
            task = self.tasks.pop(0)
            if task.jobs[0]["job"] == "train" and len(task.jobs) > 1 and not self.hung:
                self.hung = True
                hang = Ran(sandbox.Outcome("timeout", None, "epoch 1 of 1", 128.0, "bwrap"), "", {})
                unstarted = [Ran(sandbox.Outcome("not_started", None, "", 0.0, "bwrap"), "", {}) for _ in task.jobs[2:]]
                yield from each_job(task, [self._ran("train"), hang, *unstarted])
            else:
                yield from each_job(task, [self._ran(job["job"]) for job in task.jobs])


def test_runs_sharing_a_child_after_one_that_hung_get_a_child_of_their_own(synth_root, tmp_path):
    runs = ("cw_baseline", "cw_aug1", "cw_dropout", "cw_batchnorm")
    settings = Settings(profile=PROFILES["check"], data_root=synth_root, layer="bwrap", runs=runs, children=1)
    executor = HangsOnce(BOASTFUL_CHILD, [{"val_loss": 2.1, "val_accuracy": 0.25}])
    with Store(tmp_path / "store.sqlite") as store:
        evaluation = Evaluator(settings, store, executor).evaluate(EXAMPLES / "correct")
        assert sorted(r.experiment for r in store.runs()) == sorted(["smoke", "behaviour_checks", *runs])
    assert [[job.get("experiment", job["job"]) for job in task.jobs] for task in executor.submitted] == [
        ["smoke", "checks"], list(runs), ["cw_dropout", "cw_batchnorm"]]
    assert evaluation.runs["cw_aug1"].status == "failed" and "did not finish within 128 s" in evaluation.runs["cw_aug1"].error
    assert [evaluation.runs[r].status for r in ("cw_baseline", "cw_dropout", "cw_batchnorm")] == ["ok"] * 3
    assert evaluation.status == "errors"
