"""The "training transforms are random" check measures the same whatever ran before it in the process: v1's
RandomChoice draws from Python's generator, which the check seeds along with torch's."""

import random

import torch
from torchvision import transforms as T

from harness.engine.synthetic import cifar_like
from harness.grading.checks import test_augmentations as checks
from harness.grading.checks.support import measurements
from harness.grading.plan import CIFAR_TRAIN_STATS

MEAN, STD = CIFAR_TRAIN_STATS
PIPELINES = {  # strategy 1 changes few images, and which ones depends on the Python generator
    "train_transform_1": T.Compose([T.RandomChoice([T.RandomGrayscale(0.1), T.RandomHorizontalFlip(0.05)]),
                                    T.ToTensor(), T.Normalize(MEAN, STD)]),
    "train_transform_2": T.Compose([T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)]),
}


def _shares(python_seed: int) -> list[float]:
    x, y = cifar_like(32, seed=123)
    random.seed(python_seed)
    checks.test_training_transforms_are_random(PIPELINES.get, (torch.from_numpy(x), torch.from_numpy(y)))
    return [m["measured"] for m in measurements()]


def test_the_share_of_images_that_vary_does_not_depend_on_what_drew_before():
    shares = [_shares(seed) for seed in range(3)]
    assert shares[0] == shares[1] == shares[2] and 0.1 <= shares[0][0] < 1 and shares[0][1] > 0.5, shares
