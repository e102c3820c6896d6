"""Checks observe what a model computes, not how its source is arranged.

tests/zoo/correct holds correct submissions written the ways students write this network (modules or
functional ops, Sequential or ModuleList loops, nn.Identity placeholders, helper block classes,
functional batch norm, dropout masks drawn by hand, transforms v1 or v2, pipelines from helpers): every check passes on every one.
tests/zoo/mistakes holds the typical mistakes written in other idioms than submissions/: each fails
exactly its own checks. Both children's work is done in this process (`checked`).
"""

from pathlib import Path

import pytest

from harness.grading.checks.verdicts import GRADER, SUBMISSION, check_ids

ZOO = Path(__file__).resolve().parents[1] / "zoo"
CORRECT = sorted(p.name for p in (ZOO / "correct").iterdir())
# submissions whose parts cannot be handed to the grader: checked in their own process, and marked so
CHECKED_THERE = {"transforms_with_lambda": {"transforms": "Lambda"}}
MISTAKES = {
    "dropout_rate_ignored_functional": {"dropout_rate_and_scaling": "but the manifest declares rate 0.2"},
    # a dropout module of the student's own whose p is the probability of keeping a unit, as in CS231n
    "dropout_module_keeps_p": {"dropout_rate_and_scaling": "that is 1 - 0.3: your dropout keeps a unit with probability p"},
    "dropout_active_in_eval_modulelist": {"dropout_inactive_in_eval": "dropout is still active"},
    # F.dropout2d(x, p, False): the False meant as inplace is `training`
    "dropout_off_in_training_positional": {
        "dropout_rate_and_scaling": "applied no dropout with p > 0 in training mode",
        "dropout_is_active_in_training": "5 dropout call(s) ran with training=False"},
    "batchnorm_not_applied_identity": {"batchnorm_train_statistics": "applied no batch norm in training mode",
                                       "batchnorm_uses_running_statistics_in_eval": "applied no batch norm in eval",
                                       "batchnorm_placement_matches_manifest": "no batch norm ran"},
    "batchnorm_batch_statistics_in_eval": {
        "batchnorm_uses_running_statistics_in_eval": "did not normalize with its running statistics"},
    # hostile: a shift of 1e7 dwarfs the difference, which the check's rounding tolerance must not swallow
    "batchnorm_batch_statistics_behind_a_large_shift": {
        "batchnorm_train_statistics": "per-channel mean up to 1000000",
        "batchnorm_uses_running_statistics_in_eval": "did not normalize with its running statistics"},
    # nn.InstanceNorm2d where BatchNorm2d belongs: each check that needs a batch norm says what ran instead
    "instance_norm_for_batch_norm": {
        "variants_only_add_batchnorm_and_dropout": "it adds instance_norm x4",
        "batchnorm_train_statistics": "It normalizes with instance_norm instead",
        "batchnorm_uses_running_statistics_in_eval": "It normalizes with instance_norm instead",
        "batchnorm_placement_matches_manifest": "It normalizes with instance_norm instead"},
    # a BatchNorm1d on the pooled features: normalizes with its running statistics in eval (which the eval check
    # once failed, laying them out for a 4-d input), but is not where the manifest says batch norm goes
    "batchnorm1d_on_the_head": {"batchnorm_placement_matches_manifest": "conv, conv, conv, conv, mean"},
    "placement_not_as_declared": {"batchnorm_placement_matches_manifest": "applied right after: relu, relu, relu, relu"},
    # use_batchnorm and use_dropout never read: CNNModel() is not the given network, which the baseline check says;
    # each variant adds nothing to it, which is all the variants check asks
    "flags_never_read": {"baseline_architecture": "applies batch norm x4 and dropout x5 (p = 0.5) in training mode"},
    # dropouts built whatever use_dropout says: CNNModel() learns too slowly for the zero-init check's control, which
    # leaves the failure to the baseline check
    "dropout_without_its_flag": {"baseline_architecture": "applies dropout x5 (p = 0.5) in training mode"},
    # the right layers and parameters computing something else: found by running the given network on its weights
    "softmax_before_the_loss": {"baseline_architecture": "it runs softmax, which the given network does not"},
    "global_max_pool": {"baseline_architecture": "it runs adaptive_max_pool2d, which the given network does not"},
    "wrong_architecture_helper_block": {"baseline_architecture": "'32->48 3x3 pad 1'"},
    # bias=not use_batchnorm, as torchvision's Conv2dNormActivation does (a correct style), but with the ReLU
    # between conv and batch norm the bias is not cancelled
    "conv_bias_dropped_before_relu": {"variants_only_add_batchnorm_and_dropout": "only right before a batch norm"},
    "zeros_init_ignored": {"zeros_init_cannot_learn_unlike_xavier": "starts with 387936 non-zero conv weights"},
    # nn.init.zeros_ on the weights only: the biases keep PyTorch's default, and a network that can learn
    "zeros_init_keeps_default_bias": {"zeros_init_cannot_learn_unlike_xavier": "0 non-zero conv weights and 480 non-zero"},
    "validation_augmented_v2": {"validation_transform_has_no_random_augmentation": "it contains a random augmentation"},
    # v2.ToDtype(torch.float32) without scale=True: every transform is told the cause, and strategy 2's strength is
    # still measured (on the normalized scale), not failed for the scale
    "pixels_left_unscaled_v2": {
        "transforms_return_normalized_tensors": "never scaled from 0..255 to [0, 1]",
        "validation_transform_has_no_random_augmentation": "without scale=True it only changes the type"},
    # no Normalize, and strategy 2 is strategy 1 reordered: bringing the outputs onto the normalized scale must not
    # hide that strategy 2 is no stronger
    "normalize_left_out_strategies_alike": {
        "transforms_return_normalized_tensors": "as images do before Normalize(mean, std)",
        "validation_transform_has_no_random_augmentation": "as images do before Normalize(mean, std)",
        "strategy_2_is_stronger_than_strategy_1": "brought onto the normalized scale first"},
}


def test_the_zoo_has_a_case_for_every_idiom_the_issue_names():
    assert len(CORRECT) >= 12 and len(MISTAKES) >= 3
    assert sorted(p.name for p in (ZOO / "mistakes").iterdir()) == sorted(MISTAKES)


# dropout2d_everywhere applies nn.Dropout2d to flat features, which torch warns is deprecated (it drops single
# units there, as nn.Dropout does)
@pytest.mark.filterwarnings("ignore:dropout2d. Received a 2-D input:UserWarning")
@pytest.mark.parametrize("style", CORRECT)
def test_a_correct_model_passes_every_check_whatever_its_style(style, checked):
    results = checked(ZOO / "correct" / style)
    failed = {check: r["message"] for check, r in results.items() if not r["passed"]}
    assert not failed, failed
    there = CHECKED_THERE.get(style, {})
    for part in ("model", "transforms"):
        for check in check_ids(part):
            assert results[check]["computed_in"] == (SUBMISSION if part in there else GRADER), check
            if part in there:
                assert there[part] in results[check]["note"], results[check]["note"]


@pytest.mark.parametrize("name", list(MISTAKES))
def test_a_mistake_fails_exactly_its_own_checks_whatever_its_style(name, checked):
    results = checked(ZOO / "mistakes" / name)
    failed = {check: r["message"] for check, r in results.items() if not r["passed"]}
    assert set(failed) == set(MISTAKES[name]), failed
    for check, phrase in MISTAKES[name].items():
        assert phrase in failed[check], failed[check]
    assert {r["computed_in"] for r in results.values()} == {GRADER}


def test_a_model_torch_export_cannot_trace_is_checked_in_its_own_process_and_marked(tmp_path, checked):
    import shutil

    folder = shutil.copytree(ZOO / "correct" / "identity_placeholders", tmp_path / "data_dependent")
    source = (folder / "model.py").read_text().replace(
        "        x = self.drop(x)\n",
        "        if float(x.abs().mean()) > 0:  # Python branching on a tensor's value: torch.export cannot trace it\n"
        "            x = self.drop(x)\n")
    (folder / "model.py").write_text(source)
    results = checked(folder)
    assert all(r["passed"] for r in results.values()), {c: r["message"] for c, r in results.items() if not r["passed"]}
    for check in check_ids("model"):
        assert results[check]["computed_in"] == SUBMISSION and "torch.export could not trace" in results[check]["note"]
    assert {results[check]["computed_in"] for check in check_ids("transforms")} == {GRADER}


# strategy 2 as students write it, v1 and v2 alike, mostly against strategy 1's flip and 4-pixel crop, and the
# checks the pair fails (none for a stronger one). Built on strategy 1, each adds a little to the same flips and crops, so only
# drawing those the same for both finds it stronger; written apart from it, a zoom or RandAugment moves pixels less
# than a padded crop's black border, so only a distance beyond a shift finds it stronger
WEAKER = {"strategy_2_is_stronger_than_strategy_1": "make it more aggressive"}
STRATEGIES = {
    "adds_erasing_after_normalize": ("T", "[T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4)]",
                                     "base + [T.ToTensor(), T.Normalize(mean, std), T.RandomErasing()]", {}),
    "adds_rotation": ("v2", "[v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4)]",
                      "base + [v2.RandomRotation(10)] + to_tensor", {}),
    "adds_colour_jitter": ("T", "[T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4)]",
                           "base + [T.ColorJitter(0.3, 0.3, 0.3)] + to_tensor", {}),
    "adds_grayscale": ("v2", "[v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()]",
                       "base + [v2.RandomGrayscale(0.2)] + to_tensor", {}),
    # noise in the erased patches, where a normalized image has none: still a normalized image
    "adds_erasing_with_noise": ("T", "[T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4)]",
                                "base + to_tensor + [T.RandomErasing(p=1.0, value='random')]", {}),
    "zooms_and_recolours_instead": ("T", "[T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4)]",
                                    "[T.RandomResizedCrop(32), T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4)]"
                                    " + to_tensor", {}),
    "randaugments_instead": ("v2", "[v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4)]",
                             "[v2.RandomHorizontalFlip(), v2.RandAugment()] + to_tensor", {}),
    # a strategy 1 that changes few images is random all the same, one that changes hardly any is not
    "after_a_rare_grayscale": ("v2", "[v2.RandomGrayscale(0.1)]",
                               "[v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4)] + to_tensor", {}),
    "after_a_flip_that_hardly_happens": ("T", "[T.RandomHorizontalFlip(0.02)]",
                                         "[T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4)] + to_tensor",
                                         {"training_transforms_are_random": "same output on all 4 draws for 94%"}),
    # no stronger: the same transforms in another order, or a smaller crop
    "reorders_strategy_1": ("T", "[T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4)]",
                            "base[::-1] + to_tensor", WEAKER),
    "crops_less": ("v2", "[v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4)]",
                   "[v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=2)] + to_tensor", WEAKER),
    # statistics copied from an ImageNet recipe instead of the mean and std given: 7% to 20% of values off [0, 1]
    "normalizes_with_imagenet_statistics": ("T", "[T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4)]",
                                            "base + [T.RandomRotation(10), T.ToTensor(), T.Normalize("
                                            "(0.485, 0.456, 0.406), (0.229, 0.224, 0.225))]",
                                            {"transforms_return_normalized_tensors": "other statistics than the mean"}),
    # RandomErasing's N(0, 1) noise is meant for normalized images: before Normalize, a few values land far off
    "erases_with_noise_before_normalize": ("T", "[T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4)]",
                                           "base + [T.ToTensor(), T.RandomErasing(value='random'), T.Normalize(mean, "
                                           "std)]", {"transforms_return_normalized_tensors": "put it after Normalize"}),
    # v2.GaussianNoise clips to [0, 1] unless told not to: after Normalize it undoes it
    "adds_noise_after_normalize": ("v2", "[v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4)]",
                                   "base + to_tensor + [v2.GaussianNoise(sigma=0.1)]",
                                   {"transforms_return_normalized_tensors": "v2.GaussianNoise does unless clip=False"}),
}
HEADER = {"T": "import torchvision.transforms as T\n\n\ndef tail(mean, std):\n"
               "    return [T.ToTensor(), T.Normalize(mean, std)]\n",
          "v2": "import torch\nfrom torchvision.transforms import v2\n\n\ndef tail(mean, std):\n"
                "    return [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]\n"}


@pytest.mark.parametrize("strategies", list(STRATEGIES))
def test_a_pair_of_strategies_as_students_write_them_fails_exactly_its_own_checks(strategies):
    family, base, second, expected = STRATEGIES[strategies]
    compose = "T.Compose" if family == "T" else "v2.Compose"
    results = _transform_verdicts(
        HEADER[family] + f"\n\ndef strategy_1():\n    return {base}\n\n\n"
        f"def train_transform_1(mean, std):\n    return {compose}(strategy_1() + tail(mean, std))\n\n\n"
        f"def train_transform_2(mean, std):\n    base, to_tensor = strategy_1(), tail(mean, std)\n"
        f"    return {compose}({second})\n\n\n"
        f"def val_transform(mean, std):\n    return {compose}(tail(mean, std))\n")
    failed = {check: r["message"] for check, r in results.items() if not r["passed"]}
    assert set(failed) == set(expected), failed
    for check, phrase in expected.items():
        assert phrase in failed[check], failed[check]


def _transform_verdicts(source: str) -> dict[str, dict]:
    """The transform checks' verdicts on augmentations.py `source`, as the grader's child computes them from the
    pipelines' descriptions (the model's checks, and its export, play no part)."""
    import json
    import types

    from harness.grading.checks import export, verdicts
    from harness.grading.plan import CIFAR_TRAIN_STATS

    module = types.ModuleType("augmentations")
    exec(compile(source, "augmentations.py", "exec"), module.__dict__)  # the test's own code, written above
    mean, std = (list(values) for values in CIFAR_TRAIN_STATS)
    job = {"parts": ["transforms"], "context": {"mean": mean, "std": std, "dropout_rate": 0.5},
           "pipelines": export.describe_transforms(module, mean, std)}
    return {result["id"]: result for result in verdicts.compute(json.loads(json.dumps(job)))}
