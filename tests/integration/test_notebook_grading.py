"""A notebook in the course notebook's shape is graded like the same code handed in as a folder,
through the sandbox, and its training cell (an endless loop) is never run."""

import shutil

import pytest
from seed_notebook import CORRECT, seed_shaped, write

from harness.engine.spec import PROFILES
from harness.grading import sandbox
from harness.grading.evaluate import Evaluator
from harness.grading.executors import LocalPool
from harness.grading.grade import grade
from harness.grading.plan import Settings
from harness.grading.rubric import load as load_rubric
from harness.report.grade_pages import taken_from
from harness.store.database import Store

pytestmark = pytest.mark.sandbox
RUNS = ("cw_aug2",)  # the student's model with the student's strongest transform


def test_a_notebook_gets_the_grade_of_the_same_code_in_a_folder(tmp_path, synth_root):
    folder = shutil.copytree(CORRECT, tmp_path / "folder")
    notebook = write(tmp_path, seed_shaped())
    settings = Settings(profile=PROFILES["check"], data_root=synth_root, layer=sandbox.available_layers()[0],
                        runs=RUNS, smoke_limits=sandbox.Limits(wall_s=60))
    with Store(tmp_path / "store.sqlite") as store, LocalPool(2) as pool:
        as_folder, as_notebook = Evaluator(settings, store, pool).evaluate_all([folder, notebook])
    assert as_notebook.status == as_folder.status == "complete", (as_notebook.failure, as_folder.failure)
    assert as_notebook.checks.metrics == as_folder.checks.metrics and all(as_folder.checks.metrics.values())
    for run in RUNS:  # the same code, seed and data: the same numbers (times aside), scored by the grader
        same = [{k: v for k, v in e.runs[run].metrics.items() if not k.endswith("_s")} for e in (as_notebook, as_folder)]
        assert same[0] == same[1] and same[0]["best_val_accuracy"] > 0, run
    rubric = load_rubric(None)
    by_item = {item.id: item.points for item in grade(as_notebook, rubric, {}).items}
    assert by_item == {item.id: item.points for item in grade(as_folder, rubric, {}).items}
    assert as_notebook.folder.name == "work.ipynb" and as_notebook.student == "correct-example"
    assert taken_from(as_notebook).startswith("Taken from the notebook work.ipynb: train_transform_1 from cell 4")
