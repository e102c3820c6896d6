"""A run off the reference band is diagnosed from its curves, end to end: submissions with a defect are
graded through the sandbox against the band the reference measures on the same data (quick profile,
generated data), and the sentence reaches the gradebook.

tests/zoo/off_the_band holds the defects a short run shows. On cw_baseline: a network that never learns
(every run's convolutions start at zero), a validation transform that augments, and conv weights drawn
with std 1, whose loss stays far above guessing (at one epoch it sits on the edge of the check profile's
wide band, hence quick). On cw_sgd_3e-3, where the reference is still at chance: conv weights drawn with
std 0.1, which learn faster than xavier_uniform's, and the std 1 ones, whose loss goes NaN. On cw_aug1: a
strategy 1 whose flip and crop were left out of its Compose, which overfits data built so that only
augmentation generalises (the usual generated data does not overfit, even in 40 epochs with half its labels
drawn at random)."""

from pathlib import Path

import numpy as np
import pytest

from harness.engine import data, synthetic
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


SGD = "cw_sgd_3e-3"  # the fastest of the SGD runs, still at chance after the quick profile's 3 epochs
ON_THE_BASELINE = ("never_learns", "validation_recoloured", "weights_drawn_with_std_1")
ON_SGD = ("weights_drawn_tensorflow_style", "weights_drawn_with_std_1")
ON_STRATEGY_1 = ("augmentation_left_out",)


def _grade(names, run, data_root, store_folder):
    settings = Settings(profile=PROFILES["quick"], data_root=data_root, layer=sandbox.available_layers()[0],
                        runs=(run,))
    with Store(store_folder / "store.sqlite") as store, LocalPool(2) as pool:
        grades, not_run = pipeline.grade_folders([OFF_THE_BAND / name for name in names], settings=settings,
                                                 rubric=load_rubric(), store=store, executor=pool, progress=Progress())
    assert not_run == []
    table = rows([g for _, g in grades]).set_index("folder")
    return {e.folder.name: (e, g, table.loc[e.folder.name]) for e, g in grades}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, synth_root):
    return _grade(ON_THE_BASELINE, "cw_baseline", synth_root, tmp_path_factory.mktemp("diagnoses"))


@pytest.fixture(scope="module")
def under_sgd(tmp_path_factory, synth_root):
    return _grade(ON_SGD, SGD, synth_root, tmp_path_factory.mktemp("sgd"))


def mirrored_shortcut(n: int, *, mirrored: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ten classes in five colours: the two classes of a colour differ faintly in their stripes (horizontal or
    vertical) and strongly in which half of the image is brighter. Mirrored, the brighter half swaps sides
    and the colour and stripes stay: a network that never saw a flip reads the half and takes each image for
    its twin, one trained on flips learns the colour (and, given time, the stripes)."""
    rng = np.random.default_rng(seed)
    colours = np.array([(190, 70, 70), (70, 190, 70), (70, 70, 190), (190, 190, 70), (70, 190, 190)],
                       dtype=np.float32)[..., None, None]
    y, x = np.mgrid[0:32, 0:32]
    horizontal = np.where(y // 2 % 2 == 0, 1.0, -1.0)
    left_brighter = np.where(x < 16, 1.0, -1.0)
    twins = [(20 * horizontal + 60 * left_brighter), (20 * horizontal.T - 60 * left_brighter)]
    prototypes = np.stack([colours[label // 2] + twins[label % 2] for label in range(10)])
    labels = rng.permutation(np.arange(n) % 10)
    images = prototypes[labels][..., ::-1] if mirrored else prototypes[labels]
    images = images + rng.normal(0.0, 30.0, size=images.shape)
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.uint8)


@pytest.fixture(scope="module")
def overfitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirrored")
    synthetic.write_cifar10_batches(root, mirrored_shortcut(600, mirrored=False, seed=1),
                                    mirrored_shortcut(200, mirrored=True, seed=2), seed=1)
    return _grade(ON_STRATEGY_1, "cw_aug1", root, root)


def _outcome(grade, run="cw_baseline"):
    return next(item for item in grade.items if item.key == f"outcome:{run}")


def _failed_checks(grade):
    return [i.id for i in grade.items if i.section == "check" and i.status != "pass"]


def test_the_folder_holds_the_defects_this_test_names():
    assert sorted(p.name for p in OFF_THE_BAND.iterdir()) == sorted({*ON_THE_BASELINE, *ON_SGD, *ON_STRATEGY_1})


def test_a_network_that_never_learns_is_below_the_band_and_said_to_stay_at_chance(graded):
    evaluation, grade, row = graded["never_learns"]
    run = evaluation.runs["cw_baseline"]
    assert run.status == "ok" and run.history[-1]["accuracy"] <= band.AT_CHANCE
    item = _outcome(grade)
    assert item.evidence["verdict"] == band.BELOW and item.evidence["reference_mean"] > 0.5
    assert item.reason.startswith("Training accuracy stays at chance")
    assert item.reason.endswith("The behaviour checks say why: the conv weights do not start as xavier_uniform.")
    assert row["outcome:cw_baseline"] == "below" and row["diagnosis:cw_baseline"] == item.reason
    # its dropouts are applied: the check that finds them not random says they only ever saw zeros
    [dropout] = [c for c in evaluation.checks.arrays["checks"] if c["id"] == "dropout_is_active_in_training"]
    assert not dropout["passed"] and "every input they got was zero" in dropout["message"], dropout["message"]


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
    assert "far below the reference's" in item.reason
    assert "your validation transform does more than ToTensor" in item.reason
    assert _failed_checks(grade) == [
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
    assert _failed_checks(grade) == [
        "default_init_is_xavier_with_zero_bias"]
    assert item.reason.endswith("The behaviour checks say why: the conv weights do not start as xavier_uniform.")
    assert row["diagnosis:cw_baseline"] == item.reason


def test_weights_drawn_with_std_0_1_learn_where_the_sgd_reference_is_still_at_chance_and_are_told_why(under_sgd):
    evaluation, grade, row = under_sgd["weights_drawn_tensorflow_style"]
    item = _outcome(grade, SGD)
    assert item.evidence["verdict"] == band.ABOVE and item.evidence["reference_mean"] <= band.AT_CHANCE, item.evidence
    assert evaluation.runs[SGD].metrics["best_val_accuracy"] > 0.3  # the reference's xavier_uniform is at chance
    assert item.reason.startswith("It learns") and "the model trains faster than the notebook's" in item.reason
    assert item.reason.endswith("The behaviour checks say why: the conv weights do not start as xavier_uniform.")
    assert _failed_checks(grade) == ["default_init_is_xavier_with_zero_bias"]  # the rest of its model is correct
    assert row[f"outcome:{SGD}"] == "above" and row[f"diagnosis:{SGD}"] == item.reason


def test_weights_drawn_with_std_1_go_nan_under_sgd_and_are_told_from_which_epoch_and_why(under_sgd):
    evaluation, grade, row = under_sgd["weights_drawn_with_std_1"]
    run = evaluation.runs[SGD]
    assert run.status == "failed" and "non-finite" in run.error, run.error
    item = _outcome(grade, SGD)
    assert item.reason.startswith("The loss became NaN or infinite in epoch 1")
    assert item.reason.endswith("The behaviour checks point at: the conv weights do not start as xavier_uniform.")
    assert row[f"outcome:{SGD}"] == "" and row[f"diagnosis:{SGD}"] == item.reason  # not judged: it did not finish


def test_a_strategy_whose_augmentation_was_left_out_overfits_and_is_told_its_transform_does_not_augment(overfitted):
    evaluation, grade, row = overfitted["augmentation_left_out"]
    last = evaluation.runs["cw_aug1"].history[-1]
    item = _outcome(grade, "cw_aug1")
    assert item.evidence["verdict"] == band.BELOW, item.evidence
    assert last["accuracy"] - last["val_accuracy"] > 0.5, last  # it fits its training set, and not the mirror images
    reference_gap = np.subtract(item.evidence["band"]["accuracy"]["mean"], item.evidence["band"]["val_accuracy"]["mean"])
    assert reference_gap[-1] < 0.1, item.evidence["band"]  # the reference's flips carry it over
    assert "it overfits" in item.reason, item.reason
    assert item.reason.endswith("The behaviour checks say why: a training transform gives the same image on every draw.")
    assert _failed_checks(grade) == [
        "training_transforms_are_random"]  # its model is a correct one
    [random] = [c for c in evaluation.checks.arrays["checks"] if c["id"] == "training_transforms_are_random"]
    assert [(m["subject"], m["passed"]) for m in random["measurements"]] == [("train_transform_1", False),
                                                                             ("train_transform_2", True)]
    assert row["outcome:cw_aug1"] == "below" and row["diagnosis:cw_aug1"] == item.reason
