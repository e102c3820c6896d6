"""Hostile and broken submissions in one batch: each becomes a clear failed item within its time
limit, nothing escapes the sandbox, and the correct submission beside them is graded in full."""

import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from harness.engine import data
from harness.engine.spec import PROFILES
from harness.grading import band, contract, sandbox
from harness.grading.evaluate import Evaluator
from harness.grading.executors import LocalPool
from harness.grading.grade import NOT_ASSESSED, grade
from harness.grading.plan import Settings
from harness.grading.rubric import load as load_rubric
from harness.grading.sandbox import Limits
from harness.store.database import Store

EXAMPLES = Path(__file__).resolve().parents[2] / "submissions"
LAYER = sandbox.available_layers()[0]
SMOKE_WALL_S = 15
pytestmark = pytest.mark.sandbox

PREFIX = {  # code run when model.py is imported
    "import_loop": "while True:\n    pass\n",
    "allocates_10gb": "hog = bytearray(10 * 1024 ** 3)\n",
    "fork_loop": "import os\nwhile True:\n    os.fork()\n",
    "network": "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=5)\n",
    "read_outside": "print(open(SECRET).read())\n",
    "aborts": "import os\nos.abort()\n",
    "exits": "import sys\nsys.exit(0)\n",
}
SUFFIX = {  # code appended to a working model.py
    "wrong_signature": "class CNNModel(CNNModel):\n    def __init__(self):\n        super().__init__()\n",
    "wrong_output_shape": "_forward = CNNModel.forward\nCNNModel.forward = lambda self, x: _forward(self, x)[:, :5]\n",
    "nan_in_training": "_forward = CNNModel.forward\nCNNModel.forward = lambda self, x: _forward(self, x) * "
                       "(float('nan') if self.training and x.shape[0] == 64 else 1.0)\n",
    # rewrites the harness's evaluation in its own process, and looks for the test labels in what it was handed
    "cheats": """
import hashlib as _hashlib, pathlib as _pathlib
import numpy as _np
import harness.engine.callbacks as _callbacks, harness.engine.run as _runner, harness.engine.trainer as _trainer
_trainer.evaluate = _runner.evaluate = lambda *args, **kwargs: {"loss": 0.0, "accuracy": 1.0}
_logged = _callbacks.History.on_epoch_end
_callbacks.History.on_epoch_end = lambda self, state, logs: _logged(self, state, {**logs, "val_accuracy": 1.0, "val_loss": 0.0})
_handed = _pathlib.Path(__file__).resolve().parent.parent / "data"
if _handed.exists():
    with _np.load(_handed) as _arrays:
        if "test_y" in _arrays.files or _hashlib.sha256(_arrays["test_x"].tobytes()).hexdigest() == ORDERED:
            raise RuntimeError("the test labels, or the test images in their order, reached the sandbox")
""",
}
EXPECTED = {
    "import_loop": f"did not finish within {SMOKE_WALL_S} s",
    "allocates_10gb": "model.py raised MemoryError while being imported",
    "fork_loop": ("model.py raised BlockingIOError while being imported", f"did not finish within {SMOKE_WALL_S} s"),
    "network": "model.py raised OSError while being imported",
    "read_outside": "model.py raised FileNotFoundError while being imported",
    "aborts": "the Python process died",
    "exits": "model.py raised SystemExit while being imported",
    "wrong_signature": "building CNNModel(use_dropout=True, use_batchnorm=True) raised TypeError",
    "wrong_output_shape": "returned (4, 5) for a batch of 4 images",
    "syntax_error": "model.py, line 1: syntax error",
    "missing_class": "model.py does not define `CNNModel`",
    "empty": "manifest.toml is missing",
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory, synth_root):
    root = tmp_path_factory.mktemp("batch")
    secret = root / "secret.txt"
    secret.write_text("the answer key")
    model = (EXAMPLES / "correct" / "model.py").read_text()
    test_images = data.load("cifar10", synth_root, download=False).test.head(PROFILES["check"].test_limit["cifar10"]).x
    ordered = hashlib.sha256(test_images.numpy().tobytes()).hexdigest()
    for name in ["correct", *PREFIX, *SUFFIX, "syntax_error", "missing_class"]:
        shutil.copytree(EXAMPLES / "correct", root / name)
        source = f"SECRET = {str(secret)!r}\nORDERED = {ordered!r}\n" + PREFIX.get(name, "") + model + SUFFIX.get(name, "")
        (root / name / "model.py").write_text(source)
    (root / "syntax_error" / "model.py").write_text("def CNNModel(:\n")
    (root / "missing_class" / "model.py").write_text("import torch\n")
    (root / "empty").mkdir()
    settings = Settings(profile=PROFILES["check"], data_root=synth_root, layer=LAYER, runs=("cw_baseline",),
                        smoke_limits=Limits(wall_s=SMOKE_WALL_S), checks_limits=Limits(wall_s=120),
                        train_limits=Limits(wall_s=120))
    store = Store(root / "store.sqlite")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    started = time.perf_counter()
    with LocalPool(2) as pool:
        evaluations = Evaluator(settings, store, pool).evaluate_all(folders)
    elapsed = time.perf_counter() - started
    yield {e.folder.name: e for e in evaluations}, elapsed, store
    store.close()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_broken_submission_fails_with_a_clear_reason_within_its_limit(batch, name):
    if name == "read_outside" and LAYER != "bwrap":
        pytest.skip("only bubblewrap hides the rest of the file system; this machine has only " + LAYER)
    evaluations, _, _ = batch
    e = evaluations[name]
    expected = EXPECTED[name] if isinstance(EXPECTED[name], tuple) else (EXPECTED[name],)
    assert any(text in e.failure for text in expected), e.failure
    assert e.status in ("invalid", "failed to run")
    if e.smoke is not None:
        assert e.smoke.wall_s <= SMOKE_WALL_S + 5
        assert e.checks.status == "skipped" and e.runs["cw_baseline"].status == "skipped"


def test_the_network_is_unreachable_and_the_secret_unread(batch):
    evaluations, _, _ = batch
    assert "Network is unreachable" in evaluations["network"].failure or "Errno" in evaluations["network"].failure
    assert "the answer key" not in str(evaluations["read_outside"].smoke)


def test_nan_during_training_fails_that_run_only(batch):
    evaluations, _, _ = batch
    e = evaluations["nan_in_training"]
    assert e.smoke.status == "ok" and e.checks.status == "ok"
    run = e.runs["cw_baseline"]
    assert run.status == "failed" and "non-finite" in run.error and "epoch 1" in run.error
    # any band will do: a run that went NaN is not judged against it, and the diagnosis says when it went
    bands = {"cw_baseline": band.from_records([evaluations["correct"].runs["cw_baseline"]] * 2)}
    outcome = next(i for i in grade(e, load_rubric(), bands).items if i.key == "outcome:cw_baseline")
    assert outcome.status == NOT_ASSESSED
    assert outcome.reason.startswith("The loss became NaN or infinite in epoch 1: look for a division or log of zero")


def test_a_submission_neither_sees_the_test_labels_nor_fakes_its_validation(batch):
    evaluations, _, _ = batch
    cheat, honest = evaluations["cheats"].runs["cw_baseline"], evaluations["correct"].runs["cw_baseline"]
    assert cheat.status == "ok", cheat.error
    assert cheat.metrics["best_val_accuracy"] == honest.metrics["best_val_accuracy"] < 1.0
    assert [row["val_accuracy"] for row in cheat.history] == [row["val_accuracy"] for row in honest.history]
    assert cheat.environment["validation"] == "scored by the grader on test labels the sandbox never saw"


def test_the_correct_submission_beside_them_is_graded_in_full(batch):
    evaluations, elapsed, _ = batch
    e = evaluations["correct"]
    assert e.status == "complete" and e.runs["cw_baseline"].metrics["best_val_accuracy"] > 0.3
    g = grade(e, load_rubric(), {})
    assert not g.failure and [i for i in g.items if i.section == "check" and i.status != "pass"] == []
    assert next(i for i in g.items if i.key == "run:cw_baseline").status == "pass"


def test_no_child_process_outlives_the_batch(batch):
    if os.geteuid() != 0:
        pytest.skip("child uids are only separate when grading as root")
    assert _leftovers() == []


def _leftovers() -> list[str]:
    """Processes under a sandbox uid whose slot no job holds. A slot held elsewhere (another test
    process grading at the same time) is passed over; holding a free one while looking means no job
    can start under its uid meanwhile."""
    leftovers = []
    for uid in sorted({_uid(pid) for pid in os.listdir("/proc") if pid.isdigit()}):
        if uid < sandbox.SANDBOX_UID_BASE:
            continue
        with open(Path(tempfile.gettempdir()) / "harness-slots" / f"{uid - sandbox.SANDBOX_UID_BASE}.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            leftovers += [pid for pid in os.listdir("/proc") if pid.isdigit() and _uid(pid) == uid]
    return leftovers


def _uid(pid: str) -> int:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return -1


def test_the_store_holds_each_job_once_and_nothing_for_jobs_not_run(batch):
    _, _, store = batch
    records = list(store.runs())
    keys = [(r.subject, r.experiment) for r in records]
    assert len(keys) == len(set(keys))
    assert all(r.status in ("ok", "failed") for r in records)


def test_a_second_evaluation_reuses_the_store(batch, synth_root):
    evaluations, _, store = batch
    settings = Settings(profile=PROFILES["check"], data_root=synth_root, layer=LAYER, runs=("cw_baseline",))
    before = len(list(store.runs()))
    started = time.perf_counter()
    with LocalPool(2) as pool:
        again = Evaluator(settings, store, pool).evaluate(evaluations["correct"].folder)
    assert time.perf_counter() - started < 5 and len(list(store.runs())) == before
    assert again.runs["cw_baseline"].metrics == evaluations["correct"].runs["cw_baseline"].metrics


@pytest.mark.parametrize("name", ["allocates_10gb", "nan_in_training", "empty"])
def test_the_page_of_a_broken_submission_renders_what_failed_and_why(batch, browser, tmp_path, name):
    from harness.report.grade_pages import write_submission_page

    evaluations, _, _ = batch
    e = evaluations[name]
    page = browser(write_submission_page(e, grade(e, load_rubric(), {}), tmp_path))
    assert page["errors"] == [] and page["broken_images"] == 0
    words = " ".join(page["text"].split())
    if name == "nan_in_training":
        assert "non-finite" in words and "cw_baseline" in words
    else:
        assert "Your submission could not be run." in words and " ".join(e.failure.split()) in words


def test_the_sandbox_sees_no_folder_from_the_graders_path_but_its_packages(monkeypatch, tmp_path):
    """A Dask worker puts the grader's working folder (submissions, the store) on sys.path."""
    monkeypatch.syspath_prepend(str(tmp_path))
    visible = sandbox._readonly_paths()
    assert tmp_path not in visible and Path.cwd() not in visible
    import torch

    torch_home = Path(torch.__file__).resolve().parent
    assert any(folder in torch_home.parents for folder in visible)  # the packages still are


def test_probing_the_layers_holds_a_slot_of_its_own(monkeypatch):
    """A job ending in a slot kills everything under that slot's uid: a probe run under a slot another job
    holds (a second grader starting, a Dask worker restarted mid-class) could be killed, and the machine
    then taken for one without bubblewrap."""
    used = []
    wrap = sandbox._wrap
    monkeypatch.setattr(sandbox, "_wrap", lambda *args, slot, **kwargs: used.append(slot) or wrap(*args, slot=slot, **kwargs))
    with sandbox.claimed_slot() as held:
        sandbox.available_layers.cache_clear()
        try:
            assert sandbox.available_layers()[-1] == "limits"
        finally:
            sandbox.available_layers.cache_clear()
    assert used and held not in used


def test_a_child_starts_while_other_processes_of_its_uid_come_and_go(monkeypatch):
    """Without a uid of its own (no bubblewrap, or not root), a child's process limit counts the grader's
    own tasks; that count, taken between fork and exec, changes as another grader's children end."""
    import subprocess

    counts = iter([40, 12])  # a grader beside this one ends 28 of its threads between two counts
    monkeypatch.setattr(sandbox, "_own_tasks", lambda: next(counts))
    done = subprocess.run(["true"], preexec_fn=lambda: sandbox._limit_child(Limits(), None))
    assert done.returncode == 0


def _smoke(tmp_path: Path, prefix: str, devices: tuple[Path, ...] = ()) -> dict:
    """The smoke job's result for the correct submission with `prefix` run when its model.py is imported."""
    folder = tmp_path / "submission"
    if not folder.exists():
        shutil.copytree(EXAMPLES / "correct", folder)
    (folder / "model.py").write_text(prefix + (EXAMPLES / "correct" / "model.py").read_text())
    job = {"job": "smoke", "mean": [0.5] * 3, "std": [0.25] * 3, "dropout_rate": 0.3}
    return sandbox.run_child(job, files=contract.load(folder).files, layer=LAYER, limits=Limits(wall_s=60),
                             devices=devices).result


@pytest.mark.bwrap
@pytest.mark.skipif(not Path("/dev/fuse").exists(), reason="needs /dev/fuse as the stand-in GPU node")
def test_a_job_can_open_the_device_nodes_it_is_given_and_no_others(tmp_path):
    """How a GPU job gets its /dev/nvidia* nodes, shown with a device node most machines have."""
    opens = "open('/dev/fuse', 'rb').close()\n"
    assert _smoke(tmp_path, opens, devices=(Path("/dev/fuse"),)) == {"ok": True}
    assert "model.py raised FileNotFoundError" in _smoke(tmp_path, opens)["error"]


@pytest.mark.parametrize("graders, devices, child", [
    (None, (Path("/dev/fuse"),), None),  # unset: every GPU the machine has (an empty value would hide them all)
    ("1", (Path("/dev/fuse"),), "1"),
    ("1", (), ""),  # a CPU job sees no GPU
])
def test_a_gpu_job_sees_the_graders_gpus_and_a_cpu_job_none(tmp_path, monkeypatch, graders, devices, child):
    if graders is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", graders)
    if devices and not devices[0].exists():
        pytest.skip("needs /dev/fuse as the stand-in GPU node")
    sees = f"import os\nassert os.environ.get('CUDA_VISIBLE_DEVICES') == {child!r}, os.environ.get('CUDA_VISIBLE_DEVICES')\n"
    assert _smoke(tmp_path, sees, devices) == {"ok": True}


def test_code_that_asks_for_the_user_name_runs(tmp_path):
    """The sandbox's uid has no passwd entry; Triton (imported with torchvision on GPU machines) asks getpass."""
    assert _smoke(tmp_path, "import getpass\nassert getpass.getuser()\n") == {"ok": True}


@pytest.mark.bwrap
def test_the_sandbox_starts_from_the_graders_path_not_the_childs(tmp_path, monkeypatch):
    """bubblewrap in /usr/local/bin (a GPU machine's) is found though the child's PATH is /usr/bin:/bin."""
    local_bin, started = tmp_path / "local-bin", tmp_path / "started"
    local_bin.mkdir()
    (local_bin / "bwrap").write_text(f"#!/bin/sh\ntouch {started}\nexec {shutil.which('bwrap')} \"$@\"\n")
    (local_bin / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", f"{local_bin}:{os.environ['PATH']}")
    assert _smoke(tmp_path, "") == {"ok": True}
    assert started.exists()


def test_grading_on_cuda_needs_a_sandboxed_child_that_computes_there():
    """Checked once before grading with --device cuda. On a GPU machine this is the sandbox's GPU test."""
    import torch

    from harness.grading.jobs import check_gpu

    if torch.cuda.is_available():
        assert check_gpu(LAYER, "cuda") == torch.cuda.get_device_name(0)
        return
    with pytest.raises(sandbox.IsolationUnavailable, match=r"cannot compute on the GPU \(.*Error.*\); grade with --device cpu"):
        check_gpu(LAYER, "cuda")


ACTS_BY_DROPOUT_RATE = """
import os as _os, time as _time
_init = CNNModel.__init__
def _acting(self, *args, dropout_rate=0.5, **kwargs):
    if dropout_rate == 0.2:
        _time.sleep(6)
    if dropout_rate == 0.3:
        while True:
            pass
    if dropout_rate == 0.4:
        _os._exit(3)
    _init(self, *args, dropout_rate=dropout_rate, **kwargs)
CNNModel.__init__ = _acting
"""


def _smoke_jobs(tmp_path: Path, rates: list[float], wall_s: float) -> list[sandbox.Outcome]:
    """Smoke jobs for the correct submission, one per dropout rate, in one child; its model sleeps 6 s
    at rate 0.2, loops at 0.3 and ends the process at 0.4."""
    folder = shutil.copytree(EXAMPLES / "correct", tmp_path / "submission")
    (folder / "model.py").write_text((EXAMPLES / "correct" / "model.py").read_text() + ACTS_BY_DROPOUT_RATE)
    jobs = [{"job": "smoke", "mean": [0.5] * 3, "std": [0.25] * 3, "dropout_rate": rate} for rate in rates]
    return sandbox.run_children(jobs, files=contract.load(folder).files, layer=LAYER, limits=Limits(wall_s=wall_s))


def test_jobs_sharing_a_child_each_get_the_whole_limit_and_one_that_hangs_fails_alone(tmp_path):
    first, slow, slow_again, hangs, after = _smoke_jobs(tmp_path, [0.5, 0.2, 0.2, 0.3, 0.5], wall_s=10)
    assert [(o.status, o.result) for o in (first, slow, slow_again)] == [("ok", {"ok": True})] * 3
    assert 6 <= slow.wall_s < 10 and 6 <= slow_again.wall_s < 10
    assert slow.wall_s + slow_again.wall_s > 10  # together longer than one limit: each job has its own
    assert hangs.status == "timeout" and 10 <= hangs.wall_s < 12
    assert (after.status, after.result) == ("not_started", None)


def test_a_job_that_ends_the_shared_child_fails_alone_and_the_next_one_is_not_started(tmp_path):
    done, exits, after = _smoke_jobs(tmp_path, [0.5, 0.4, 0.5], wall_s=30)
    assert (done.status, done.result) == ("ok", {"ok": True})
    assert (exits.status, exits.exit_code) == ("crashed", 3)
    assert after.status == "not_started"
