"""A run off the reference band is diagnosed from its curves, end to end: submissions with a defect are
graded through the sandbox against the band the reference measures on the same data (quick profile,
generated data, cw_baseline only), and the sentence reaches the gradebook.

tests/zoo/off_the_band holds the defects a short run shows: a network that never learns (every run's
convolutions start at zero), a validation transform that augments, and conv weights drawn with std 1,
whose loss stays far above guessing (at one epoch it sits on the edge of the check profile's wide
band, hence quick). A run that goes NaN is the isolation batch's `nan_in_training`
(test_isolation.py). Overfitting is tested on constructed curves only (tests/grading/test_band.py):
generated data does not overfit, even in 40 epochs with half its labels drawn at random.
"""

from pathlib import Path

import pytest

from harness.engine import data
from harness.engine.spec import PROFILES
from harness.grading import band, pipeline, sandbox
from harness.grading.executors import LocalPool
from harness.grading.plan import Settings
from harness.grading.rubric import load as load_rubric
from harness.progress import Progress
from harness.report.gradebook import rows
from harness.store.database import Store

OFF_THE_BAND = Path(__file__).resolve().parents[1] / "zoo" / "off_the_band"
pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def graded(tmp_path_factory, synth_root):
    settings = Settings(profile=PROFILES["quick"], data_root=synth_root, layer=sandbox.available_layers()[0],
                        runs=("cw_baseline",))
    folders = sorted(OFF_THE_BAND.iterdir())
    with Store(tmp_path_factory.mktemp("diagnoses") / "store.sqlite") as store, LocalPool(2) as pool:
        grades, not_run = pipeline.grade_folders(folders, settings=settings, rubric=load_rubric(), store=store,
                                                 executor=pool, progress=Progress())
    assert not_run == []
    table = rows([g for _, g in grades]).set_index("folder")
    return {e.folder.name: (e, g, table.loc[e.folder.name]) for e, g in grades}


def _outcome(grade):
    return next(item for item in grade.items if item.key == "outcome:cw_baseline")


def test_the_folder_holds_the_defects_this_test_names():
    assert sorted(p.name for p in OFF_THE_BAND.iterdir()) == ["never_learns", "validation_recoloured", "weights_drawn_with_std_1"]


def test_a_network_that_never_learns_is_below_the_band_and_said_to_stay_at_chance(graded):
    evaluation, grade, row = graded["never_learns"]
    run = evaluation.runs["cw_baseline"]
    assert run.status == "ok" and run.history[-1]["accuracy"] <= band.AT_CHANCE
    item = _outcome(grade)
    assert item.evidence["verdict"] == band.BELOW and item.evidence["reference_mean"] > 0.5
    assert item.reason.startswith("Training accuracy stays at chance")
    assert item.reason.endswith("The behaviour checks say why: the conv weights do not start as xavier_uniform.")
    assert row["outcome:cw_baseline"] == "below" and row["diagnosis:cw_baseline"] == item.reason


def test_a_students_run_records_the_data_it_saw_as_the_reference_runs_do(graded, synth_root):
    check = PROFILES["check"]
    handed = data.load("cifar10", synth_root, download=False).provenance(check.train_limit["cifar10"],
                                                                         check.test_limit["cifar10"])
    for evaluation, _, _ in graded.values():
        assert evaluation.runs["cw_baseline"].environment["data"] == handed


def test_a_validation_transform_that_augments_is_read_on_the_validation_curve_and_named(graded):
    evaluation, grade, row = graded["validation_recoloured"]
    run = evaluation.runs["cw_baseline"]
    item = _outcome(grade)
    assert item.evidence["verdict"] == band.BELOW, item.evidence
    reference_train = item.evidence["band"]["accuracy"]["mean"][-1]
    assert run.history[-1]["accuracy"] > 0.5 * reference_train  # it trains; only its evaluation is off
    assert "far below the reference's" in item.reason and "your validation transform augments" in item.reason
    assert [i.id for i in grade.items if i.section == "check" and i.status != "pass"] == [
        "validation_transform_has_no_random_augmentation"]  # its model is a correct one
    assert row["check:validation_transform_has_no_random_augmentation"] == 0.0
    assert row["diagnosis:cw_baseline"] == item.reason


def test_weights_drawn_with_std_1_are_told_their_loss_is_far_above_guessing(graded):
    evaluation, grade, row = graded["weights_drawn_with_std_1"]
    losses = [epoch["loss"] for epoch in evaluation.runs["cw_baseline"].history]
    item = _outcome(grade)
    assert item.evidence["verdict"] == band.BELOW and losses[-1] > 10 * band.GUESSING_LOSS, losses
    assert item.reason.startswith("The training loss ends at")
    # its batch norm is nn.BatchNorm2d: outputs in the thousands differ from the formula by rounding alone
    assert [i.id for i in grade.items if i.section == "check" and i.status != "pass"] == [
        "default_init_is_xavier_with_zero_bias"]
    assert item.reason.endswith("The behaviour checks say why: the conv weights do not start as xavier_uniform.")
    assert row["diagnosis:cw_baseline"] == item.reason
