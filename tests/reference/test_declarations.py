"""The reference declares SPEC.md's experiments with the notebook's hyperparameters."""

from pathlib import Path

import pytest

from harness.engine.spec import TrainSpec
from harness.registry import UnknownName
from reference.experiments import EXPERIMENTS
from reference.models import CNNModel

# id: (dataset, model, loss, optimizer, lr, weight decay, batch size, epochs)
NOTEBOOK = {
    "optim_adam_1e-3": ("mnist", "simple_mlp", "cross_entropy", "adam", 1e-3, 0.0, 100, 10),
    "optim_adam_3e-4": ("mnist", "simple_mlp", "cross_entropy", "adam", 3e-4, 0.0, 100, 10),
    "loss_binary": ("mnist", "simple_mlp", "bce_with_logits", "adam", 1e-3, 0.0, 32, 3),
    "loss_multiclass": ("mnist", "simple_mlp", "cross_entropy", "adam", 1e-3, 0.0, 100, 3),
    "regression_l1": ("california", "regressor", "l1", "adam", 3e-4, 0.0, 32, 100),
    "regression_mse": ("california", "regressor", "mse", "adam", 3e-4, 0.0, 32, 100),
    "weight_decay_1e-3": ("mnist", "simple_mlp", "cross_entropy", "adam", 1e-3, 1e-3, 100, 10),
    "weight_decay_0": ("mnist", "simple_mlp", "cross_entropy", "adam", 1e-3, 0.0, 100, 10),
    "dropout_none": ("mnist", "simple_mlp", "cross_entropy", "adam", 1e-3, 0.0, 100, 10),
    "dropout_0.3": ("mnist", "mlp_dropout", "cross_entropy", "adam", 1e-3, 0.0, 100, 10),
    "norm_none": ("mnist", "norm_mlp", "cross_entropy", "adam", 1e-3, 0.0, 128, 10),
    "norm_batch": ("mnist", "norm_mlp", "cross_entropy", "adam", 1e-3, 0.0, 128, 10),
    "norm_layer": ("mnist", "norm_mlp", "cross_entropy", "adam", 1e-3, 0.0, 128, 10),
    "early_stopping": ("mnist", "simple_mlp", "cross_entropy", "adam", 1e-3, 0.0, 100, 20),
    "lr_step": ("mnist", "simple_mlp", "cross_entropy", "adam", 1e-3, 0.0, 100, 10),
    "lr_plateau": ("mnist", "simple_mlp", "cross_entropy", "adam", 1e-3, 0.0, 100, 10),
    "aug_combined": ("mnist", "simple_mlp", "cross_entropy", "adam", 1e-3, 0.0, 100, 10),
    **{f"cw_{name}": ("cifar10", "cnn", "cross_entropy", "adam", 3e-4, 0.0, 64, 40)
       for name in ("baseline", "aug1", "aug2", "dropout", "batchnorm", "bn_dropout", "zeros_init")},
    "cw_sgd_3e-3": ("cifar10", "cnn", "cross_entropy", "sgd", 3e-3, 0.0, 64, 40),
    "cw_sgd_1e-3": ("cifar10", "cnn", "cross_entropy", "sgd", 1e-3, 0.0, 64, 40),
    "cw_sgd_3e-4": ("cifar10", "cnn", "cross_entropy", "sgd", 3e-4, 0.0, 64, 40),
}
DEMOS = {"init_normal", "init_default", "dropout_layer", "batchnorm_stats", "instancenorm_stats",
         "augmentation_gallery", "normalization_stats", "cw_channel_stats"}


@pytest.mark.parametrize("experiment", sorted(NOTEBOOK))
def test_hyperparameters_are_the_notebooks(experiment):
    s = EXPERIMENTS[experiment]
    assert isinstance(s, TrainSpec) and s.seed == 42
    declared = (s.dataset, s.model, s.loss, s.optimizer.name, s.optimizer.lr, s.optimizer.weight_decay,
                s.batch_size, s.epochs)
    assert declared == NOTEBOOK[experiment]


def test_registry_holds_exactly_the_spec_experiments():
    assert set(EXPERIMENTS) == set(NOTEBOOK) | DEMOS


def test_special_settings():
    assert EXPERIMENTS["early_stopping"].early_stopping.patience == 4
    assert EXPERIMENTS["early_stopping"].early_stopping.monitor == "val_accuracy"
    assert dict(EXPERIMENTS["lr_step"].scheduler.params) == {"step_size": 3, "gamma": 0.1}
    assert dict(EXPERIMENTS["lr_plateau"].scheduler.params) == {
        "mode": "min", "factor": 0.2, "patience": 1, "threshold": 0.01, "min_lr": 1e-5}
    assert EXPERIMENTS["lr_plateau"].scheduler.monitor == "val_loss"
    assert EXPERIMENTS["loss_binary"].positive_from == 5
    assert EXPERIMENTS["aug_combined"].inputs.normalize == ((0.13066,), (0.30811,))
    assert all(EXPERIMENTS[i].inputs.normalize == "train" for i in NOTEBOOK if i.startswith("cw_"))


def test_given_cnn_has_the_coursework_parameter_count():
    assert sum(p.numel() for p in CNNModel().parameters()) == 390_986


def test_unknown_experiment_suggests_the_closest_names():
    with pytest.raises(UnknownName, match="Did you mean 'early_stopping'"):
        EXPERIMENTS["early_stoping"]


def test_a_graded_runs_role_is_left_out_of_its_stored_spec_and_hash():
    import dataclasses

    from harness.engine.spec import spec_hash, to_dict

    spec = EXPERIMENTS["cw_aug1"]
    bare = dataclasses.replace(spec, graded=None)
    assert spec.graded is not None and "graded" not in to_dict(spec)
    assert spec_hash(spec) == spec_hash(bare)
    assert spec_hash(spec) != spec_hash(dataclasses.replace(spec, epochs=39))


def test_a_field_added_later_is_stored_only_when_set_so_runs_stored_before_keep_their_hash():
    from harness.engine.spec import spec_hash, to_dict
    from harness.grading.coursework import submission_spec

    reference = EXPERIMENTS["cw_baseline"]
    assert "val_pipeline" not in to_dict(reference)["inputs"]
    assert spec_hash(reference) == "972ca7fb10d30f33"  # as stored before val_pipeline existed
    student = submission_spec("cw_baseline", dropout_rate=0.5)
    assert to_dict(student)["inputs"]["val_pipeline"] == "val_transform"  # validated as the notebook's test loader


def test_the_graded_runs_their_claims_and_the_student_parts_they_take_come_from_the_declarations():
    from harness.grading.contract import AUGMENT_FILE, CLAIMED_RUNS, REQUIRED_NAMES
    from harness.grading.coursework import PIPELINES, RUNS
    from harness.report.grade_pages import CURVE_RUNS, SGD_RUNS
    from reference.experiments import GRADED

    graded = [i for i in EXPERIMENTS if getattr(EXPERIMENTS[i], "graded", None)]
    assert list(RUNS) == graded == [s.id for s in GRADED] and len(graded) == 10
    assert list(CLAIMED_RUNS.values()) == [i for i in graded if EXPERIMENTS[i].graded.claim]
    assert len(set(CLAIMED_RUNS)) == len(CLAIMED_RUNS) == 7
    assert set(PIPELINES.values()) <= set(REQUIRED_NAMES[AUGMENT_FILE])
    assert PIPELINES == {"cw_aug1": "train_transform_1", "cw_aug2": "train_transform_2"}
    assert set(SGD_RUNS) | set(CURVE_RUNS) <= set(RUNS) and len(SGD_RUNS) == 3 and len(CURVE_RUNS) == 3


def test_where_the_reference_page_shows_a_run_is_declared_with_it_and_left_out_of_its_hash():
    import dataclasses

    from harness.engine.spec import spec_hash

    tables = {i: EXPERIMENTS[i].shown.table for i in EXPERIMENTS if getattr(EXPERIMENTS[i], "shown", None)}
    assert {i for i, table in tables.items() if table == "regression"} == {"regression_l1", "regression_mse"}
    assert {i for i, table in tables.items() if table == "weight_decay"} == {"weight_decay_1e-3", "weight_decay_0"}
    for experiment in ("regression_l1", "instancenorm_stats"):
        spec = EXPERIMENTS[experiment]
        assert spec_hash(spec) == spec_hash(dataclasses.replace(spec, shown=None))
    page = (Path(__file__).resolve().parents[2] / "harness" / "report" / "reference_page.py").read_text()
    assert not [i for i in EXPERIMENTS if f'"{i}"' in page]  # the page reads roles, never ids
