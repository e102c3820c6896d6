"""`harness check` and `harness grade` as users type them, in child processes, on generated CIFAR-10."""

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "submissions"
ZERO_INIT_IGNORED = Path(__file__).resolve().parents[1] / "zoo" / "mistakes" / "zeros_init_ignored"
pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, synth_root):
    root = tmp_path_factory.mktemp("grading")
    shutil.copytree(EXAMPLES / "correct", root / "class" / "correct")
    shutil.copytree(ZERO_INIT_IGNORED, root / "class" / "zeros_init_ignored")
    return root, synth_root


def harness(workspace, *args, store="store.sqlite", **popen):
    root, data = workspace
    command = [sys.executable, "-m", "harness", *map(str, args), "--data-root", str(data),
               "--store", str(root / store), "--jobs", "2"]
    if popen:
        return subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)


def stored(root: Path, store: str = "store.sqlite") -> list[tuple]:
    if not (root / store).exists():
        return []
    with sqlite3.connect(root / store) as db:
        return db.execute("SELECT id, subject, experiment, status FROM runs WHERE subject != 'reference'").fetchall()


def descendants(pid: int) -> set[int]:
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            continue
        children.setdefault(parent, set()).add(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.add(child)
            todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()
            and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"}


def kill_midway_and_resume(workspace, name: str, store: str, *backend: str, until=lambda new: bool(new)) -> dict:
    """`harness grade` SIGKILLed once `until(the jobs it stored)` holds (by default, once it stored one),
    then the same command again. The first job stored is a smoke test, and the submission's checks and
    runs start only then, so the kill always finds work under way (on Dask, waiting for more raced: a
    submission's check-profile runs come back together when their child ends, and with the checks'
    result they could complete the class at once)."""
    root, _ = workspace
    gradebook = root / f"{name}.csv"
    before = stored(root, store)
    grade = ("grade", root / "class", "--profile", "check", "--gradebook", gradebook, "--reports", root / f"{name}-reports",
             *backend)
    process = harness(workspace, *grade, store=store, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not until(set(stored(root, store)) - set(before)) and time.monotonic() < deadline:
        time.sleep(0.5)
    helpers = descendants(process.pid)  # worker processes and sandboxed children
    process.send_signal(signal.SIGKILL)  # a crash: no clean-up code runs in the grader
    process.wait()
    interrupted = stored(root, store)
    deadline = time.monotonic() + 60
    while alive(helpers) and time.monotonic() < deadline:
        time.sleep(0.5)
    orphans = alive(helpers)
    result = harness(workspace, *grade, store=store)
    return {"before": before, "interrupted": interrupted, "final": stored(root, store), "result": result, "orphans": orphans,
            "gradebook": gradebook, "rows": {r["folder"]: r for r in csv.DictReader(gradebook.open())}
            if gradebook.exists() else {}}


@pytest.fixture(scope="module")
def graded_locally(workspace):
    root, _ = workspace
    shutil.copytree(EXAMPLES / "validation_augmented", root / "class" / "validation_augmented")
    # shares the check tests' stored jobs; killed once a run is back from a child that still has others to do
    return kill_midway_and_resume(workspace, "local", "store.sqlite",
                                  until=lambda new: any(experiment.startswith("cw_") for _, _, experiment, _ in new))


@pytest.fixture(scope="module")
def graded_on_dask(workspace, graded_locally):
    """The local grader's store less one submission's smoke test, checks and first three runs: Dask does
    those (killed midway and resumed), takes the rest from the store, and must write the same gradebook."""
    root, _ = workspace
    shutil.copyfile(root / "store.sqlite", root / "dask.sqlite")
    with sqlite3.connect(root / "dask.sqlite") as db:
        db.execute("PRAGMA foreign_keys = ON")  # a run's history, metrics and arrays go with it
        db.execute("DELETE FROM runs WHERE substr(subject, 1, 12) = ? AND experiment IN "  # the gradebook shows 12 characters
                   "('smoke', 'behaviour_checks', 'cw_baseline', 'cw_aug1', 'cw_aug2')",
                   (graded_locally["rows"]["validation_augmented"]["submission_hash"],))
    return kill_midway_and_resume(workspace, "dask", "dask.sqlite", "--dask", "local")


def test_check_passes_the_correct_example_and_writes_a_preview(workspace):
    root, _ = workspace
    result = harness(workspace, "check", root / "class" / "correct", "--html-dir", root / "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Behaviour checks: 14/14 passed" in result.stdout and "Coursework runs: 10/10 passed" in result.stdout
    assert "Outcomes against the reference band: 10/10 within" in result.stdout
    assert "(100%) - 0 item(s) failed" in result.stdout
    assert result.stderr.count("reference band: cw_") == 10 * 3  # measured once, in the first grading of the profile
    page = (root / "check" / "correct.html").read_text()
    assert "correct-example" in page and page.count("<svg") >= 8  # seven runs over their bands, the SGD figure


def test_check_fails_a_wrong_example_with_the_reason_and_diagnoses_its_run(workspace):
    root, _ = workspace
    result = harness(workspace, "check", root / "class" / "zeros_init_ignored", "--html-dir", root / "check",
                     "--gradescope", root / "autograder" / "results.json")
    assert result.returncode == 1
    assert "FAIL  init_mode='zeros' really zeroes the convolutions" in result.stdout
    words = " ".join(result.stdout.split())  # the summary wraps long reasons
    assert "every conv weight and bias should be set to 0" in words
    assert "Behaviour checks: 13/14 passed" in result.stdout and "reference band: cw_" not in result.stderr  # stored
    assert " OFF  cw_zeros_init behaves like the reference: above" in result.stdout  # the rubric gives it no points
    assert "the initialization was ignored" in words
    results = json.loads((root / "autograder" / "results.json").read_text())
    failed = {t["name"].split(": ")[0]: t for t in results["tests"] if t.get("status") == "failed"}
    # its own dropout (0.25, after each pooling) may leave cw_dropout's band too: a true outcome, worth nothing
    assert {"check:zeros_init_cannot_learn_unlike_xavier", "outcome:cw_zeros_init", "claim:zeros_init"} <= set(failed)
    assert all(name.startswith("outcome:") for name in set(failed) - {"check:zeros_init_cannot_learn_unlike_xavier",
                                                                       "claim:zeros_init"})
    assert "the initialization was ignored" in failed["outcome:cw_zeros_init"]["output"]
    assert failed["outcome:cw_zeros_init"]["max_score"] == 0  # the default rubric reports outcomes, grades none
    assert results["output"].strip() in result.stdout


def test_an_inconclusive_claim_buys_extra_seeds_up_to_the_limit_and_a_regrade_reuses_them(workspace):
    """The correct example with its zero-init claim moved four standard errors from what its code reproduces:
    between the tolerance (3) and a clear miss (5), so grading runs cw_zeros_init again under the next seed,
    once with --max-extra-seeds 1, and a regrade allowing 2 adds the third seed only. Graded on a copy of
    the check tests' store (the class's stores keep one record per run)."""
    from harness.engine.spec import PROFILES
    from harness.grading import contract, pipeline, rubric, sequential
    from harness.store.database import Store

    root, _ = workspace
    if (root / "store.sqlite").exists():
        shutil.copyfile(root / "store.sqlite", root / "grey.sqlite")
    shutil.copytree(EXAMPLES / "correct", root / "grey" / "correct")
    manifest = root / "grey" / "correct" / "manifest.toml"

    def graded(*options):
        gradebook = root / "grey.csv"
        result = harness(workspace, "grade", root / "grey", "--profile", "check", "--gradebook", gradebook,
                         "--reports", root / "grey-reports", *options, store="grey.sqlite")
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stderr, next(csv.DictReader(gradebook.open()))

    subject = contract.load(root / "grey" / "correct").content_hash

    def zeros_init_runs():
        with Store(root / "grey.sqlite") as store:
            runs = [r for r in store.runs(subject=subject, profile="check") if r.experiment == "cw_zeros_init"]
            return runs, pipeline.stored_bands(store, rubric.load(), PROFILES["check"]).get("cw_zeros_init")

    if not all(zeros_init_runs()):  # this test alone: the runs and band the other check tests store
        graded()
    [first], reference = zeros_init_runs()
    claim = first.metrics["best_val_accuracy"] + 4 * sequential.standard_error(reference.scale, 1)
    manifest.write_text(manifest.read_text().replace("zeros_init = 0.10", f"zeros_init = {claim:.6f}"))
    log, row = graded("--max-extra-seeds", "1")  # claims are not in the content hash: nothing else runs again
    runs, _ = zeros_init_runs()
    assert [r.seed for r in runs] == [42, 43] and "1 inconclusive claim(s)" in log
    assert "cw_zeros_init (seed 43, for its claim): ok" in log and log.count(": ok (") == 1
    assert row["verdict:claim:zeros_init"] == "inconclusive" and row["claim:zeros_init"] == "0.0"
    page = (root / "grey-reports" / "correct.html").read_text()
    assert "2 seeds (42, 43): mean" in page
    log, row = graded()  # the default allows two: the seeds already run are reused, the third is bought
    runs, _ = zeros_init_runs()
    assert [r.seed for r in runs] == [42, 43, 44] and log.count(": ok (") == 1
    decision = sequential.decide(claim, [r.metrics["best_val_accuracy"] for r in runs], scale=reference.scale,
                                 sigmas=3.0, fail_sigmas=5.0)
    assert row["verdict:claim:zeros_init"] == decision.verdict != "pass"


def test_check_refuses_a_folder_that_is_not_a_submission(workspace, tmp_path):
    result = harness(workspace, "check", tmp_path)
    assert result.returncode == 1 and "manifest.toml is missing" in result.stdout


@pytest.mark.parametrize("backend", ["graded_locally", "graded_on_dask"])
def test_grade_killed_midway_resumes_without_redoing_or_duplicating(backend, request):
    graded = request.getfixturevalue(backend)
    interrupted, final, result = graded["interrupted"], graded["final"], graded["result"]
    assert len(graded["before"]) + 1 <= len(interrupted) < 3 * 12
    assert not graded["orphans"], "the killed grader left worker or sandbox processes running"
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(interrupted) <= set(final)  # finished work kept as it was, never redone
    assert result.stderr.count("already in the store") == len(interrupted)
    if backend == "graded_locally":  # a shared child's finished runs were stored while it went on
        runs = [sum(experiment.startswith("cw_") for _, who, experiment, _ in interrupted if who == subject)
                for subject in {who for _, who, _, _ in interrupted}]
        assert any(0 < count < 10 for count in runs), interrupted
    keys = [(subject, experiment) for _, subject, experiment, _ in final]
    assert len(keys) == len(set(keys)) == 3 * 12  # smoke + checks + 10 runs per submission, once each
    rows = graded["rows"]
    assert set(rows) == {"correct", "zeros_init_ignored", "validation_augmented"}
    assert rows["zeros_init_ignored"]["outcome:cw_zeros_init"] == "above" and rows["correct"]["outcome:cw_zeros_init"] == "within"
    assert "the initialization was ignored" in rows["zeros_init_ignored"]["diagnosis:cw_zeros_init"]
    assert rows["correct"]["verdict:claim:zeros_init"] == "pass" and rows["correct"]["verdict:claim:baseline"] == ""
    assert float(rows["correct"]["percent"]) > float(rows["validation_augmented"]["percent"])
    assert rows["validation_augmented"]["check:validation_transform_has_no_random_augmentation"] == "0.0"
    overview = (graded["gradebook"].parent / f"{graded['gradebook'].stem}-reports" / "index.html").read_text()
    assert 'href="validation_augmented.html"' in overview
    pairs = list(csv.DictReader(graded["gradebook"].with_name("similarity.csv").open()))
    assert len(pairs) == 3 and list(pairs[0]) == ["student_a", "student_b", "similarity"]
    assert [float(p["similarity"]) for p in pairs] == sorted((float(p["similarity"]) for p in pairs), reverse=True)
    assert all(float(p["similarity"]) < 0.6 for p in pairs)  # each example is its own student's code
    assert "Code alike" in overview and "No pair is 60% alike or more." in overview
    assert not (graded["gradebook"].parent / f"{graded['gradebook'].stem}-reports" / "similar").exists()


def test_dask_grades_the_class_exactly_as_the_local_pool(graded_locally, graded_on_dask):
    log = graded_on_dask["result"].stderr
    assert "Dask LocalCluster, 2 worker process(es)" in log and "Dask dashboard: http://" in log
    assert "[36/36]" in log  # every job counted, the stored ones included
    assert graded_on_dask["gradebook"].read_text() == graded_locally["gradebook"].read_text()


def test_grade_leaves_no_sandboxed_process_behind(workspace, sandbox_uids):
    if os.geteuid() != 0:
        pytest.skip("child uids are only separate when grading as root")
    assert sandbox_uids() == []


def test_report_renders_the_grade_pages_from_the_store_with_the_stored_numbers(workspace, graded_locally, browser):
    root, _ = workspace
    result = subprocess.run([sys.executable, "-m", "harness", "report", "--profile", "check", "--store", root / "store.sqlite",
                             "--reports", root / "again", "--html", root / "ref.html"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "grade reports (3 submissions)" in result.stdout
    gradebook = graded_locally["rows"]
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
