"""`harness check` and `harness grade` as users type them, in child processes, on generated CIFAR-10."""

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import sandbox

EXAMPLES = Path(__file__).resolve().parent.parent / "submissions"
pytestmark = pytest.mark.skipif(sandbox.available_layers()[0] == "limits",
                                reason="no sandbox on this machine: install bubblewrap (apt-get install bubblewrap)")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, synth_root):
    root = tmp_path_factory.mktemp("grading")
    for name in ("correct", "dropout_active_in_eval"):
        shutil.copytree(EXAMPLES / name, root / "class" / name)
    return root, synth_root


def harness(workspace, *args, **popen):
    root, data = workspace
    command = [sys.executable, "-m", "harness", *map(str, args), "--data-root", str(data),
               "--store", str(root / "store.sqlite"), "--jobs", "2"]
    if popen:
        return subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)


def stored(root: Path) -> list[tuple]:
    with sqlite3.connect(root / "store.sqlite") as db:
        return db.execute("SELECT id, subject, experiment, status FROM runs WHERE subject != 'reference'").fetchall()


def test_check_passes_the_correct_example_and_writes_a_preview(workspace):
    root, _ = workspace
    result = harness(workspace, "check", root / "class" / "correct", "--html-dir", root / "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Behaviour checks: 14/14 passed" in result.stdout and "Coursework runs: 10/10 passed" in result.stdout
    assert "(100%) - 0 item(s) failed" in result.stdout
    assert "correct-example" in (root / "check" / "correct.html").read_text()


def test_check_fails_a_wrong_example_with_the_reason(workspace):
    root, _ = workspace
    result = harness(workspace, "check", root / "class" / "dropout_active_in_eval", "--html-dir", root / "check")
    assert result.returncode == 1
    assert "FAIL  In eval mode dropout is off" in result.stdout
    words = " ".join(result.stdout.split())  # the summary wraps long reasons
    assert "a functional F.dropout cannot be checked or switched off by model.eval()" in words


def test_check_refuses_a_folder_that_is_not_a_submission(workspace, tmp_path):
    result = harness(workspace, "check", tmp_path)
    assert result.returncode == 1 and "manifest.toml is missing" in result.stdout


def test_grade_killed_midway_resumes_without_redoing_or_duplicating(workspace):
    root, _ = workspace
    shutil.copytree(EXAMPLES / "validation_augmented", root / "class" / "validation_augmented")
    before = stored(root)
    grade = ("grade", root / "class", "--profile", "check", "--gradebook", root / "gradebook.csv", "--reports", root / "reports")
    process = harness(workspace, *grade, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(stored(root)) < len(before) + 4 and time.monotonic() < deadline:
        time.sleep(0.5)
    process.send_signal(signal.SIGKILL)  # a crash: no clean-up code runs in the grader
    process.wait()
    interrupted = stored(root)
    assert len(before) + 4 <= len(interrupted) < len(before) + 12
    assert not (root / "gradebook.csv").exists()

    result = harness(workspace, *grade)
    assert result.returncode == 0, result.stdout + result.stderr
    final = stored(root)
    assert set(interrupted) <= set(final)  # finished work kept as it was, never redone
    assert result.stderr.count("already in the store") == len(interrupted)
    keys = [(subject, experiment) for _, subject, experiment, _ in final]
    assert len(keys) == len(set(keys)) == 3 * 12  # smoke + checks + 10 runs per submission, once each
    rows = {r["folder"]: r for r in csv.DictReader((root / "gradebook.csv").open())}
    assert set(rows) == {"correct", "dropout_active_in_eval", "validation_augmented"}
    assert float(rows["correct"]["percent"]) > float(rows["validation_augmented"]["percent"])
    assert rows["validation_augmented"]["check:validation_transform_has_no_random_augmentation"] == "0.0"
    overview = (root / "reports" / "index.html").read_text()
    assert 'href="validation_augmented.html"' in overview and (root / "reports" / "validation_augmented.html").is_file()


def test_grade_leaves_no_sandboxed_process_behind(workspace):
    if os.geteuid() != 0:
        pytest.skip("child uids are only separate when grading as root")
    owners = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            owners.append(os.stat(f"/proc/{pid}").st_uid)
        except OSError:
            continue
    assert not [uid for uid in owners if uid >= sandbox.SANDBOX_UID_BASE]


def test_report_renders_the_grade_pages_from_the_store_with_the_stored_numbers(workspace, browser):
    root, _ = workspace
    result = subprocess.run([sys.executable, "-m", "harness", "report", "--profile", "check", "--store", root / "store.sqlite",
                             "--reports", root / "again", "--html", root / "ref.html"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "grade reports (3 submissions)" in result.stdout
    gradebook = {r["folder"]: r for r in csv.DictReader((root / "gradebook.csv").open())}
    with sqlite3.connect(root / "store.sqlite") as db:
        reproduced = dict(db.execute(
            "SELECT runs.subject || ':' || runs.experiment, metrics.value FROM runs JOIN metrics ON metrics.run_id = runs.id"
            " WHERE metrics.name = 'best_val_accuracy' AND runs.profile = 'check'"))
    overview = browser(root / "again" / "index.html")
    assert overview["errors"] == [] and overview["broken_images"] == 0
    students = {row[5]: row for row in overview["tables"][0][1:]}
    for folder, row in gradebook.items():
        assert students[folder][1] == f"{float(row['percent']):.0f}"  # the page's grade is the gradebook's
    page = browser(root / "again" / "correct.html")
    assert page["errors"] == [] and page["broken_images"] == 0 and page["images"] >= 4
    subject = next(r["submission_hash"] for r in gradebook.values() if r["folder"] == "correct")
    coursework = next(t for t in page["tables"] if t[0][:2] == ["run", "reproduced best val accuracy"])
    for run, value, *_ in coursework[1:]:
        [stored] = [v for k, v in reproduced.items() if k.startswith(subject) and k.endswith(f":cw_{run}")]
        assert value == f"{stored:.4f}"
    assert (root / "ref.html").is_file()  # the reference spread runs have their page too
