"""Each example submission fails exactly the checks it was written to fail, with the intended sentence.

The examples are our own code, so both children's work is done in this process (`checked`; the
sandbox is tested elsewhere)."""

from pathlib import Path

import pytest

from harness.grading.checks.verdicts import GRADER

EXAMPLES = Path(__file__).resolve().parents[2] / "submissions"
INTENDED = {
    "correct": {},
    "dropout_active_in_eval": {"dropout_inactive_in_eval": "dropout is still active"},
    "dropout_rate_ignored": {"dropout_rate_and_scaling": "but the manifest declares rate 0.3"},
    "batchnorm_not_applied": {"batchnorm_train_statistics": "applied no batch norm in training mode",
                              "batchnorm_uses_running_statistics_in_eval": "applied no batch norm in eval mode",
                              "batchnorm_placement_matches_manifest": "no batch norm ran"},
    "validation_augmented": {"validation_transform_has_no_random_augmentation": "it contains a random augmentation"},
    "wrong_architecture": {"baseline_architecture": "should run four convolutions"},
    "claims_do_not_match": {},  # correct code of its own; its claims fail at grading (tests/grading/test_grade.py)
}


@pytest.mark.parametrize("name", list(INTENDED))
def test_example_fails_exactly_its_intended_checks(name, checked):
    results = checked(EXAMPLES / name)
    assert len(results) == 14
    assert {r["computed_in"] for r in results.values()} == {GRADER}
    failed = {check: r["message"] for check, r in results.items() if not r["passed"]}
    assert set(failed) == set(INTENDED[name])
    for check, phrase in INTENDED[name].items():
        assert phrase in failed[check]
    for check, result in results.items():  # what each check measured: labelled, passing or not
        measured = result["measurements"]
        assert measured and all(m["what"] for m in measured), check
        if result["passed"]:
            assert all(m["passed"] for m in measured), check
        else:  # the failing measurement comes last, after those that passed
            assert [m["passed"] for m in measured] == [True] * (len(measured) - 1) + [False], check
            assert (measured[-1]["measured"], measured[-1]["bound"]) == (result["measured"], result["bound"])


def test_a_passing_check_says_how_close_it_came(checked):
    # its fixed rate, 0.5, is now the declared one
    results = checked(EXAMPLES / "dropout_rate_ignored", dropout_rate=0.5, mean=[0.5] * 3, std=[0.25] * 3)
    dropout = {m["what"]: m for m in results["dropout_rate_and_scaling"]["measurements"]}
    assert results["dropout_rate_and_scaling"]["passed"]
    fraction = dropout["fraction dropped"]
    assert abs(fraction["measured"] - 0.5) < 0.05 and fraction["bound"].startswith("0.5 ± ")
    assert dropout["survivors scaled by"]["measured"] == dropout["survivors scaled by"]["bound"] == 2.0
    assert dropout["dropouts applied"]["measured"] >= 1


DISGUISED = (  # appended to the correct model: the layers are built (and show in repr) but do nothing
    "_init = CNNModel.__init__\n"
    "def _disguised(self, *args, **kwargs):\n"
    "    _init(self, *args, **kwargs)\n"
    "    for module in self.modules():\n"
    "        if isinstance(module, {kinds}):\n"
    "            module.forward = lambda x: x\n"
    "CNNModel.__init__ = _disguised\n"
)


@pytest.mark.parametrize("kinds, phrases", [
    ("(nn.Dropout, nn.Dropout2d)", {"dropout_rate_and_scaling": "applied no dropout",
                                    "dropout_is_active_in_training": "built but never applied in forward()"}),
    ("nn.BatchNorm2d", {"batchnorm_train_statistics": "applied no batch norm"}),
])
def test_layers_that_only_look_right_in_the_repr_are_caught(tmp_path, checked, kinds, phrases):
    import shutil

    folder = tmp_path / "disguised"
    shutil.copytree(EXAMPLES / "correct", folder)
    (folder / "model.py").write_text((folder / "model.py").read_text() + DISGUISED.format(kinds=kinds))
    results = checked(folder)
    for check, phrase in phrases.items():
        assert not results[check]["passed"] and phrase in results[check]["message"], results[check]


def test_a_submission_written_with_transforms_v2_trains_on_the_batched_path():
    """Its checks pass like any other idiom's (tests/zoo/correct/transforms_v2, test_style_zoo.py)."""
    from harness.engine.inputs import augmentation_path
    from harness.grading.child import load_submission
    from harness.grading.plan import CIFAR_TRAIN_STATS

    mean, std = CIFAR_TRAIN_STATS
    _, augment_module = load_submission(EXAMPLES.parent / "tests" / "zoo" / "correct" / "transforms_v2")
    for name in ("train_transform_1", "train_transform_2"):
        assert augmentation_path(None, getattr(augment_module, name)(list(mean), list(std))) == "batched"
