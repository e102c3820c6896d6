"""Every reference experiment runs in the quick profile on generated data and behaves as it should."""

import math

import pytest
import torch

from harness.engine import data
from harness.engine.run import run_spec
from harness.engine.spec import TrainSpec
from reference.experiments import EXPERIMENTS

CHANCE = {"multiclass": 0.1, "binary": 0.5}
TRAIN_IDS = [i for i in EXPERIMENTS if isinstance(EXPERIMENTS[i], TrainSpec)]
DEMO_IDS = [i for i in EXPERIMENTS if not isinstance(EXPERIMENTS[i], TrainSpec)]
# Plain SGD without momentum at these rates moves slowly: in 3 quick epochs it lowers the loss
# but cannot yet be expected to beat chance. Zeros init must stay at chance (the point of that run).
SLOW_LEARNERS = {i for i in TRAIN_IDS if EXPERIMENTS[i].optimizer.name == "sgd" and not EXPERIMENTS[i].optimizer.momentum}


@pytest.fixture(scope="module")
def records(synth_root, quick):
    return {}


def _run(records, experiment, synth_root, quick):
    if experiment not in records:
        records[experiment] = run_spec(EXPERIMENTS[experiment], profile=quick, data_root=synth_root, download=False)
    return records[experiment]


@pytest.mark.parametrize("experiment", TRAIN_IDS)
def test_training_experiment_learns(experiment, records, synth_root, quick):
    spec = EXPERIMENTS[experiment]
    record = _run(records, experiment, synth_root, quick)
    history = record.history
    assert len(history) == min(spec.epochs, quick.max_epochs)
    assert all(math.isfinite(row["loss"]) for row in history)
    if spec.task == "regression":
        test_y = data.load("california", synth_root, download=False).test.y
        assert record.metrics["final_val_mse"] < test_y.var(unbiased=False).item()  # beats predicting the mean
    elif experiment == "cw_zeros_init":
        assert record.metrics["best_val_accuracy"] <= CHANCE["multiclass"] + 0.05
        assert history[-1]["loss"] == pytest.approx(math.log(10), abs=0.05)
    elif experiment in SLOW_LEARNERS:
        assert history[-1]["loss"] < history[0]["loss"]
    else:
        assert record.metrics["best_val_accuracy"] > CHANCE[spec.task] + 0.15


def test_zeros_init_is_at_chance_while_xavier_learns(records, synth_root, quick):
    zeros = _run(records, "cw_zeros_init", synth_root, quick).metrics["best_val_accuracy"]
    xavier = _run(records, "cw_baseline", synth_root, quick).metrics["best_val_accuracy"]
    assert xavier > zeros + 0.3


def test_weight_decay_runs_report_final_train_and_test_accuracy(records, synth_root, quick):
    for experiment in ("weight_decay_1e-3", "weight_decay_0"):
        metrics = _run(records, experiment, synth_root, quick).metrics
        assert 0.0 <= metrics["final_train_accuracy"] <= 1.0 and "final_val_accuracy" in metrics


def test_coursework_runs_normalize_with_train_set_statistics(records, synth_root, quick):
    record = _run(records, "cw_baseline", synth_root, quick)
    mean, std = data.train_statistics(data.load("cifar10", synth_root, download=False).train)
    assert record.arrays["normalization"] == {"mean": list(mean), "std": list(std)}
    assert record.environment["data"]["synthetic"] is True


def _demo(records, experiment, synth_root, quick):
    return _run(records, experiment, synth_root, quick)


def test_initializer_statistics(records, synth_root, quick):
    normal = _demo(records, "init_normal", synth_root, quick).metrics
    assert normal["weight_mean"] == pytest.approx(0.0, abs=5e-4)
    assert normal["weight_std"] == pytest.approx(0.05, abs=5e-4)
    assert normal["bias_abs_max"] == 0.0
    default = _demo(records, "init_default", synth_root, quick).metrics
    assert -default["bound"] <= default["weight_min"] < default["weight_max"] <= default["bound"]
    assert default["weight_std"] == pytest.approx(default["expected_std"], rel=0.01)


def test_dropout_demo_fraction_and_scaling(records, synth_root, quick):
    m = _demo(records, "dropout_layer", synth_root, quick).metrics
    assert abs(m["drop_fraction"] - m["p"]) < 4 * m["drop_fraction_sd"]  # binomial bound
    assert m["scaling"] == pytest.approx(1 / (1 - m["p"]), rel=1e-5)
    assert m["eval_max_abs_change"] == 0.0


def test_batchnorm_demo_train_and_eval_statistics(records, synth_root, quick):
    m = _demo(records, "batchnorm_stats", synth_root, quick).metrics
    assert m["input_mean"] == pytest.approx(0.5, abs=0.01) and m["input_var"] == pytest.approx(1 / 12, abs=0.002)
    assert m["train_output_mean"] == pytest.approx(0.0, abs=1e-5)
    assert m["train_output_var"] == pytest.approx(1.0, abs=1e-3)
    assert m["running_mean"] == pytest.approx(m["expected_running_mean"], rel=1e-5)
    assert m["running_var"] == pytest.approx(m["expected_running_var"], rel=1e-5)
    assert m["eval_max_error_vs_running_stats"] < 1e-5
    assert m["eval_output_var"] < 0.5  # eval mode does not re-standardize with batch statistics


def test_instancenorm_demo_normalizes_every_sample(records, synth_root, quick):
    record = _demo(records, "instancenorm_stats", synth_root, quick)
    assert record.metrics["output_max_abs_mean"] < 1e-5
    assert 0.99 < record.metrics["output_min_var"] <= record.metrics["output_max_var"] < 1.0 + 1e-4
    assert sum(record.arrays["output_means"]["counts"]) == 2048


def test_augmentation_gallery_shows_the_first_five_images(records, synth_root, quick):
    record = _demo(records, "augmentation_gallery", synth_root, quick)
    first_five = data.load("mnist", synth_root, download=False).train.x[:5].squeeze(1)
    assert torch.equal(torch.tensor(record.arrays["original"], dtype=torch.uint8), first_five)
    for name in ("rotation_45", "shift_0.2", "zoom_0.8_1.2"):
        assert torch.tensor(record.arrays[name]).shape == (5, 28, 28)
        assert record.metrics[f"{name}_changed_pixel_fraction"] > 0


def test_normalization_statistics_come_from_the_train_set(records, synth_root, quick):
    m = _demo(records, "normalization_stats", synth_root, quick).metrics
    assert m["train_raw_mean"] == pytest.approx(m["train_mean"], abs=1e-6)
    assert m["train_normalized_mean"] == pytest.approx(0.0, abs=1e-4)
    assert m["train_normalized_std"] == pytest.approx(1.0, abs=1e-3)
    # test split: its own raw statistics, normalized with the train values
    assert m["test_normalized_mean"] == pytest.approx((m["test_raw_mean"] - m["train_mean"]) / m["train_std"], abs=1e-4)
    assert m["test_raw_mean"] != pytest.approx(m["train_raw_mean"], abs=1e-6)


def test_every_demo_was_exercised(records, synth_root, quick):
    for experiment in DEMO_IDS:
        assert _run(records, experiment, synth_root, quick).metrics
