"""A run against the reference band: the verdict and its gap, and the diagnosis read from constructed
curves, one per failure this coursework produces."""

import math

import pytest

from harness.grading import band
from harness.store.records import RunRecord

VAL_SAMPLES = 10_000  # the binomial floor stays below the seeds' spread


def run(history, status="ok", error="", experiment="cw_baseline", subject="h", spec=None):
    """A run from (loss, accuracy, val_loss, val_accuracy) per epoch."""
    rows = [{"epoch": n, **dict(zip(band.CURVES, epoch))} for n, epoch in enumerate(history, start=1)]
    best = max((row["val_accuracy"] for row in rows if row["val_accuracy"] is not None), default=0.0)
    return RunRecord(experiment=experiment, kind="train", subject=subject, profile="quick", seed=42, spec=spec or {},
                     spec_hash="x", harness_version="0", history=rows, metrics={"best_val_accuracy": best},
                     environment={"data": {"dataset": "cifar10", "folder": "/data", "synthetic": True,
                                           "test_samples": VAL_SAMPLES}}, status=status, error=error)


def learning(shift=0.0, train_shift=0.0, epochs=3):
    """A reference-like run that learns: loss falls, accuracies rise, a small train/val gap."""
    return [(2.0 - 0.4 * e, 0.42 + 0.1 * e + shift + train_shift, 2.1 - 0.35 * e, 0.40 + 0.1 * e + shift)
            for e in range(epochs)]


BAND = band.from_records([run(learning(shift)) for shift in (-0.01, 0.0, 0.01)])
CHANCE_BAND = band.from_records([run([(2.3026, 0.1, 2.3026, 0.1)] * 3, experiment="cw_zeros_init")] * 3)


def test_the_band_holds_each_metrics_mean_and_spread_per_epoch_and_says_what_data_it_came_from():
    assert BAND.seeds == 3 and BAND.mean("val_accuracy") == pytest.approx([0.40, 0.50, 0.60])
    assert BAND.std("val_accuracy") == pytest.approx([0.01] * 3)
    assert BAND.scale == pytest.approx(0.01) and "generated data" in BAND.data
    assert CHANCE_BAND.scale == pytest.approx(math.sqrt(0.1 * 0.9 / VAL_SAMPLES))  # three equal seeds: the binomial floor


def test_the_verdict_gives_the_gap_in_spreads_within_the_limit_and_no_diagnosis():
    inside = band.outcome(run(learning(0.02)), BAND, sigmas=3.0)
    assert inside.verdict == band.WITHIN and inside.diagnosis == ""
    assert inside.gap == pytest.approx(2.0) and inside.limit == pytest.approx(3.0 * math.sqrt(1 + 1 / 3))
    assert band.outcome(run(learning(0.04)), BAND, sigmas=3.0).verdict == band.ABOVE  # 4 spreads > 3.46
    assert band.outcome(run(learning(0.04)), BAND, sigmas=4.0).verdict == band.WITHIN  # 4 spreads < 4.62


def test_a_zero_init_run_that_learns_is_above_a_band_at_chance_and_told_its_init_was_ignored():
    zeros = {"id": "cw_zeros_init", "model_args": {"init_mode": "zeros"}}
    found = band.outcome(run(learning(), experiment="cw_zeros_init", spec=zeros), CHANCE_BAND, sigmas=3.0)
    assert found.verdict == band.ABOVE and found.gap > 100
    assert "initialization was ignored" in found.diagnosis


def test_another_run_that_learns_where_the_reference_is_still_at_chance_is_not_blamed_on_its_init():
    """In a short profile the reference's slowest SGD run is near chance too (cw_sgd_3e-3: 12% after the
    quick profile's 3 epochs); a model that learns there has done something else."""
    sgd = {"id": "cw_sgd_3e-3", "model_args": {}}
    found = band.outcome(run(learning(), experiment="cw_sgd_3e-3", spec=sgd), CHANCE_BAND, sigmas=3.0)
    assert found.verdict == band.ABOVE and "initialization" not in found.diagnosis
    assert "still near chance" in found.diagnosis and "scale its outputs up" in found.diagnosis


def test_a_run_that_learns_where_the_reference_is_still_at_chance_is_told_which_failed_check_starts_it_faster():
    """Conv weights drawn with std 0.1 (TensorFlow's habit) take SGD at 3e-3 to 60% in the quick profile, where the
    reference's xavier_uniform is at 12%."""
    sgd = {"id": "cw_sgd_3e-3", "model_args": {}}
    failed = ["default_init_is_xavier_with_zero_bias", "dropout_inactive_in_eval"]
    found = band.outcome(run(learning(), experiment="cw_sgd_3e-3", spec=sgd), CHANCE_BAND, 3.0, failed)
    assert found.diagnosis.endswith("the model trains faster than the notebook's. The behaviour checks say why: the "
                                    "conv weights do not start as xavier_uniform."), found.diagnosis


def test_a_run_at_chance_is_told_it_does_not_learn():
    found = band.outcome(run([(2.3026, 0.1, 2.3026, 0.1)] * 3), BAND, sigmas=3.0)
    assert found.verdict == band.BELOW and "does not learn" in found.diagnosis
    # a baseline with Dropout2d(0.5) in every block whatever use_dropout says: with batch norm, 12% after one epoch
    named = band.outcome(run([(2.3026, 0.1, 2.3026, 0.1)] * 3), BAND, sigmas=3.0, failed_checks=["baseline_architecture"])
    assert named.diagnosis.endswith("does not learn. The behaviour checks say why: CNNModel() is not the given network.")


def test_a_training_loss_that_rises_is_a_learning_rate_too_high_for_the_model():
    rising = [(2.0, 0.3, 2.0, 0.3), (2.4, 0.25, 2.5, 0.25), (3.1, 0.2, 3.2, 0.2)]
    found = band.outcome(run(rising), BAND, sigmas=3.0)
    assert found.verdict == band.BELOW and found.diagnosis.startswith("The training loss rises from 2 to 3.1")
    assert "rate is too high for this model's scale" in found.diagnosis and "nn.init.normal_" in found.diagnosis
    named = band.outcome(run(rising), BAND, sigmas=3.0, failed_checks=["default_init_is_xavier_with_zero_bias"])
    assert named.diagnosis.endswith("The behaviour checks say why: the conv weights do not start as xavier_uniform.")


def test_a_loss_far_above_guessing_overshoots_even_at_chance_accuracy_and_in_one_epoch():
    """Weights drawn with std 1 (nn.init.normal_'s default): the logits are huge and confidently wrong, so the
    loss is far above the 2.30 of a network that guesses while the accuracy is at chance; it does learn."""
    cases = {"15,166": [(15166.0, 0.07, 8000.0, 0.3)],  # written out, not 1.52e+04
             "121": [(175.0, 0.1, 150.0, 0.09), (121.0, 0.11, 130.0, 0.08)]}
    for last, history in cases.items():
        found = band.outcome(run(history), BAND, sigmas=3.0)
        assert found.verdict == band.BELOW, history
        assert found.diagnosis.startswith(f"The training loss ends at {last}, far above the 2.30 of a network that "
                                          "guesses, while the reference's falls to 1.2")
        assert "does not learn" not in found.diagnosis


def test_a_batch_norm_that_does_not_normalize_explains_an_overshooting_loss_in_a_run_that_has_it():
    """A BatchNorm2d subclass whose shift is 1e7 (tests/zoo/mistakes/batchnorm_batch_statistics_behind_a_large_shift)
    ends cw_batchnorm's quick profile at a loss of 720,841."""
    history, failed = [(3.0e6, 0.1, 2.0e6, 0.2), (7.2e5, 0.2, 9.0e5, 0.2)], ["batchnorm_train_statistics"]
    with_bn = band.outcome(run(history, experiment="cw_batchnorm", spec={"model_args": {"use_batchnorm": True}}),
                           BAND, 3.0, failed)
    assert with_bn.diagnosis.endswith("The behaviour checks say why: batch norm does not normalize each channel in "
                                      "training."), with_bn.diagnosis
    assert "batch norm" not in band.outcome(run(history), BAND, 3.0, failed).diagnosis  # the baseline has none
    nan = run(history[:1], status="failed", error="training stopped: non-finite loss in epoch 2",
              spec={"model_args": {"use_batchnorm": True}})
    assert band.non_finite(nan, failed).endswith("point at: batch norm does not normalize each channel in training.")


def test_a_loss_that_stays_at_guessing_or_barely_moves_is_not_overshooting():
    flat = [(2.3026, 0.1, 2.3026, 0.1), (2.3027, 0.1, 2.3026, 0.1), (2.3029, 0.1, 2.3026, 0.1)]
    assert "does not learn" in band.outcome(run(flat), BAND, sigmas=3.0).diagnosis
    rising = [(2.0, 0.3, 2.0, 0.3), (2.4, 0.25, 2.5, 0.25), (3.1, 0.2, 3.2, 0.2)]
    assert band.overshooting([row[0] for row in rising], CHANCE_BAND) == ""  # the reference's loss does not fall


def test_validation_far_below_while_training_is_normal_points_at_what_changes_in_evaluation_in_this_run():
    history = [(loss, train, val_loss, val - 0.25) for loss, train, val_loss, val in learning()]
    both = {"model_args": {"use_dropout": True, "use_batchnorm": True}}
    found = band.outcome(run(history, experiment="cw_bn_dropout", spec=both), BAND, sigmas=3.0)
    assert found.verdict == band.BELOW and found.diagnosis.endswith(
        "the model behaves otherwise when it is evaluated. Is dropout still active in eval mode or batch norm using "
        "batch statistics there? Does the validation transform augment, or normalize otherwise?"), found.diagnosis
    baseline = band.outcome(run(history), BAND, sigmas=3.0).diagnosis  # it has neither layer
    assert baseline.endswith("evaluated. Does the validation transform augment, or normalize otherwise?"), baseline


def test_a_failed_check_of_a_layer_is_no_suspect_in_a_run_without_that_layer():
    """The baseline has no dropout: the dropout variant's failure in eval mode cannot pull its validation down."""
    history = [(loss, train, val_loss, val - 0.25) for loss, train, val_loss, val in learning()]
    failed = ["dropout_inactive_in_eval"]
    dropout = band.outcome(run(history, experiment="cw_dropout", spec={"model_args": {"use_dropout": True}}), BAND,
                           sigmas=3.0, failed_checks=failed)
    assert dropout.diagnosis.endswith("the behaviour checks say why: dropout is still active in eval mode.")
    baseline = band.outcome(run(history), BAND, sigmas=3.0, failed_checks=failed)
    assert "dropout" not in baseline.diagnosis and baseline.diagnosis.endswith("or normalize otherwise?")
    plain = band.outcome(run(learning(-0.2)), BAND, sigmas=3.0, failed_checks=failed)  # a gap no rule explains
    assert plain.verdict == band.BELOW and plain.diagnosis.endswith("(3 seeds)."), plain.diagnosis


def test_validation_far_below_is_put_down_to_the_failed_behaviour_checks_that_change_evaluation():
    from harness.grading.checks.verdicts import check_ids

    history = [(loss, train, val_loss, val - 0.25) for loss, train, val_loss, val in learning()]
    failed = ["validation_transform_has_no_random_augmentation", "strategy_2_is_stronger_than_strategy_1"]
    found = band.outcome(run(history), BAND, sigmas=3.0, failed_checks=failed)
    assert found.diagnosis.endswith(
        "the behaviour checks say why: your validation transform does more than ToTensor and Normalize(mean, std).")
    assert "dropout" not in found.diagnosis  # a check that passed is not a suspect
    fitter = [(loss, train + 0.2, val_loss, val) for loss, train, val_loss, val in history]  # trains better, still
    diagnosis = band.outcome(run(fitter), BAND, sigmas=3.0, failed_checks=failed).diagnosis
    assert "your validation transform does more than ToTensor" in diagnosis
    assert {*band.EVALUATION_FAULTS, *band.DROPOUT_FAULTS, *band.AUGMENTATION_FAULTS, *band.INIT_FAULTS,
            *band.NORMALIZATION_FAULTS} <= set(check_ids())


def test_a_train_val_gap_far_wider_than_the_references_is_overfitting_and_asked_about_what_the_run_adds():
    overfit = learning(shift=-0.1, train_shift=0.35)
    questions = {"cw_dropout": ({"model_args": {"use_dropout": True}}, "Is the dropout active in training?"),
                 "cw_aug1": ({"inputs": {"pipeline": "train_transform_1"}},
                             "Do your training transforms augment as the strategy says?"),
                 "cw_baseline": ({"inputs": {"pipeline": None}},
                                 "Does the model have more parameters than the given CNN?")}
    for experiment, (spec, question) in questions.items():
        found = band.outcome(run(overfit, experiment=experiment, spec=spec), BAND, sigmas=3.0)
        assert found.verdict == band.BELOW and found.diagnosis.endswith(f"it overfits. {question}"), experiment
    failed = ["dropout_is_active_in_training", "training_transforms_are_random", "strategy_2_is_stronger_than_strategy_1"]
    causes = {"cw_dropout": "dropout is not active in training",
              "cw_aug1": "a training transform gives the same image on every draw"}
    for experiment, cause in causes.items():  # each run is told of the fault in what it adds, not another run's
        named = band.outcome(run(overfit, spec=questions[experiment][0]), BAND, sigmas=3.0, failed_checks=failed)
        assert named.diagnosis.endswith(f"it overfits. The behaviour checks say why: {cause}."), experiment
    baseline = band.outcome(run(overfit, spec=questions["cw_baseline"][0]), BAND, sigmas=3.0, failed_checks=failed)
    assert baseline.diagnosis.endswith("it overfits. Does the model have more parameters than the given CNN?")


def test_a_run_above_the_band_is_not_told_it_overfits_however_well_it_fits_its_training_set():
    """Without its strong augmentation a run trains to 100% and validates above a reference that augments."""
    found = band.outcome(run(learning(shift=0.1, train_shift=0.4)), BAND, sigmas=3.0)
    assert found.verdict == band.ABOVE and found.diagnosis.startswith("Best validation accuracy 70.0% is above")


def test_a_few_points_of_train_val_gap_are_not_overfitting_however_tight_the_band():
    """Batch norm rescues weights drawn with std 1 (quick profile, generated data): 87% training and 84%
    validation accuracy, where all three reference seeds end at 100% and 99.5%. The band is so tight that
    3 points are many spreads, but no network is called overfitting for that."""
    tight = band.from_records([run([(0.5, 0.9, 0.3, 0.98), (0.1, 1.0, 0.05, 0.995)])] * 3)
    found = band.outcome(run([(9.0, 0.4, 3.0, 0.6), (0.6, 0.87, 0.5, 0.84)]), tight, sigmas=3.0)
    assert found.verdict == band.BELOW and found.diagnosis.startswith("Best validation accuracy 84.0% is below")
    failed = ["default_init_is_xavier_with_zero_bias", "strategy_2_is_stronger_than_strategy_1"]
    named = band.outcome(run([(9.0, 0.4, 3.0, 0.6), (0.6, 0.87, 0.5, 0.84)]), tight, sigmas=3.0, failed_checks=failed)
    assert named.diagnosis.endswith("(3 seeds). The behaviour checks that failed may say why: the conv weights do not "
                                    "start as xavier_uniform.")


def test_a_gap_no_rule_explains_is_stated_plainly():
    found = band.outcome(run(learning(0.2)), BAND, sigmas=3.0)
    assert found.verdict == band.ABOVE and found.diagnosis.startswith("Best validation accuracy 80.0% is above")


@pytest.mark.parametrize("shift", [-0.2, 0.2])
def test_a_baseline_that_is_not_the_given_network_is_a_suspect_either_way(shift):
    """Another network (a dropout built whatever use_dropout says, a wider layer) can learn slower or faster."""
    found = band.outcome(run(learning(shift)), BAND, sigmas=3.0, failed_checks=["baseline_architecture"])
    assert found.verdict == (band.BELOW if shift < 0 else band.ABOVE) and found.diagnosis.endswith(
        "(3 seeds). The behaviour checks that failed may say why: CNNModel() is not the given network."), found.diagnosis


def test_above_the_band_only_the_failed_checks_that_let_this_run_fit_more_closely_are_listed():
    """A strategy that does not augment trains faster than the reference's; dropout's faults are no suspect in a
    run without dropout, nor an evaluation fault in a run that validates above the band."""
    failed = ["training_transforms_are_random", "dropout_rate_and_scaling", "dropout_inactive_in_eval"]
    augmented = band.outcome(run(learning(0.2), experiment="cw_aug1", spec={"inputs": {"pipeline": "train_transform_1"}}),
                             BAND, sigmas=3.0, failed_checks=failed)
    assert augmented.verdict == band.ABOVE and augmented.diagnosis.endswith(
        "(3 seeds). The behaviour checks that failed may say why: a training transform gives the same image on every "
        "draw.")
    assert band.outcome(run(learning(0.2)), BAND, sigmas=3.0, failed_checks=failed).diagnosis.endswith("(3 seeds).")


def test_above_a_band_that_learns_slowly_a_failed_init_check_is_listed():
    """The full profile's SGD reference on small data learns slowly (31% ± 15%); weights drawn with std 0.1 take
    the same SGD to 100%: larger weights than xavier_uniform's train faster."""
    failed = ["default_init_is_xavier_with_zero_bias", "dropout_inactive_in_eval"]
    found = band.outcome(run(learning(0.2), experiment="cw_sgd_3e-3"), BAND, sigmas=3.0, failed_checks=failed)
    assert found.verdict == band.ABOVE and found.diagnosis.endswith(
        "(3 seeds). The behaviour checks that failed may say why: the conv weights do not start as xavier_uniform.")


def test_a_plain_gap_in_a_run_with_dropout_says_the_band_measures_the_references_dropout():
    """Students choose their dropout's rate and placement: the band is the reference's (rate 0.3)."""
    dropout_band = band.from_records([run(learning(shift), experiment="cw_dropout",
                                          spec={"model_args": {"use_dropout": True, "dropout_rate": 0.3}})
                                      for shift in (-0.01, 0.0, 0.01)])
    for rate, yours in ((0.4, "; yours is 0.4"), (0.3, "")):
        spec = {"model_args": {"use_dropout": True, "dropout_rate": rate}}
        found = band.outcome(run(learning(0.2), experiment="cw_dropout", spec=spec), dropout_band, sigmas=3.0)
        assert found.verdict == band.ABOVE and found.diagnosis.endswith(
            f"(3 seeds). The band measures the reference's dropout (rate 0.3, in its own places{yours}): a gap here "
            "can be your choice of dropout rather than a fault."), found.diagnosis
    assert "dropout" not in band.outcome(run(learning(0.2)), BAND, sigmas=3.0).diagnosis
    failed = ["dropout_inactive_in_eval", "dropout_rate_and_scaling"]  # only the second can lift a run
    above = band.outcome(run(learning(0.2), experiment="cw_dropout", spec=spec), dropout_band, 3.0, failed)
    assert above.diagnosis.endswith("may say why: dropout does not drop at the rate asked for.")


def test_a_loss_that_became_nan_says_from_which_epoch():
    failed = run(learning(epochs=2), status="failed", error="training stopped: non-finite loss in epoch 3")
    assert "in epoch 3" in band.non_finite(failed) and band.non_finite(run(learning())) == ""
    stored = run([*learning(epochs=1), (None, None, None, None)], status="failed",  # NaN comes back as null
                 error="training produced a non-finite loss (nan) in epoch 2")
    assert "in epoch 2" in band.non_finite(stored)
    assert "division or log of zero" in band.non_finite(failed) and "checks" not in band.non_finite(failed)
    named = band.non_finite(failed, ["default_init_is_xavier_with_zero_bias", "dropout_rate_and_scaling"])
    assert named.endswith("The behaviour checks point at: the conv weights do not start as xavier_uniform.")


def test_a_band_from_generated_data_never_judges_real_data(tmp_path):
    """A band stored before runs carried a fingerprint: the kind of data is still told apart."""
    from harness.engine.spec import PROFILES
    from harness.grading.pipeline import same_data
    from harness.grading.plan import Settings
    from harness.store.database import Store

    generated = run(learning(), subject="reference")
    generated.profile = "check"
    settings = Settings(profile=PROFILES["check"], data_root=tmp_path / "real", layer="bwrap")
    with Store(tmp_path / "s.sqlite") as store:
        store.save(generated)
        with pytest.raises(band.OtherData, match="measured on generated .* is real data: grade it with another --store"):
            same_data(store, settings)


def test_a_band_judges_only_runs_on_the_very_data_it_was_measured_on(tmp_path):
    """Two generated data sets of the same size: the fingerprint of the samples a profile uses tells them
    apart, and the same files in another folder are the same data."""
    import shutil

    from harness.engine import data, synthetic
    from harness.engine.spec import PROFILES
    from harness.grading.pipeline import same_data
    from harness.grading.plan import Settings
    from harness.store.database import Store

    check = PROFILES["check"]
    for name, seed in (("a", 1), ("b", 2)):
        synthetic.write_cifar10(tmp_path / name, 40, 20, seed=seed)
    shutil.copytree(tmp_path / "a", tmp_path / "moved")
    measured = run(learning(), subject="reference")
    measured.profile = "check"
    measured.environment["data"] = data.load("cifar10", tmp_path / "a", download=False).provenance(
        check.train_limit["cifar10"], check.test_limit["cifar10"])
    with Store(tmp_path / "s.sqlite") as store:
        store.save(measured)
        for same in ("a", "moved"):
            same_data(store, Settings(profile=check, data_root=tmp_path / same, layer="bwrap"))
        with pytest.raises(band.OtherData, match=r"measured on generated data \(harness data synth\), 40 training and "
                                                 r"20 test images in .*/a/cifar-10-batches-py, and the data at .*/b is other generated data"):
            same_data(store, Settings(profile=check, data_root=tmp_path / "b", layer="bwrap"))
        other = Settings(profile=PROFILES["quick"], data_root=tmp_path / "b", layer="bwrap")
        same_data(store, other)  # the quick profile has no band in this store yet