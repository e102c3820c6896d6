"""The strategy check on photographs. In grading it draws generated block images; 96 patches cut from
scikit-learn's two sample photographs (a temple and a flower, 64 to 200 pixels scaled to 32x32) reach the
same verdict on every pair the check was measured on, stronger or not (docs/checks.md lists them)."""

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_sample_images
from torchvision import transforms as T
from torchvision.transforms import v2

from harness.grading.checks import test_augmentations as checks
from harness.grading.checks.support import CheckFailed, measurements
from harness.grading.plan import CIFAR_TRAIN_STATS

MEAN, STD = (list(values) for values in CIFAR_TRAIN_STATS)
FLIP_AND_CROP = [T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4)]
TAIL = [T.ToTensor(), T.Normalize(MEAN, STD)]
STRATEGY_2 = {  # against flip and a 4-pixel crop: is it stronger?
    "erasing after Normalize": (T.Compose(FLIP_AND_CROP + TAIL + [T.RandomErasing()]), True),
    "a zoom and a flip": (T.Compose([T.RandomResizedCrop(32), T.RandomHorizontalFlip()] + TAIL), True),
    "RandAugment, v2": (v2.Compose([v2.RandomHorizontalFlip(), v2.RandAugment(), v2.ToImage(),
                                    v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)]), True),
    "the flip and crop reordered": (T.Compose(FLIP_AND_CROP[::-1] + TAIL), False),
    "a mild zoom and a flip": (T.Compose([T.RandomResizedCrop(32, scale=(0.9, 1)), T.RandomHorizontalFlip()] + TAIL),
                               False),
}


@pytest.fixture(scope="module")
def photographs():
    rng, photos = np.random.default_rng(0), load_sample_images().images
    patches = []
    for k in range(checks.SAMPLES):
        photo = photos[k % 2]
        size = int(rng.integers(64, 200))
        y, x = rng.integers(0, photo.shape[0] - size), rng.integers(0, photo.shape[1] - size)
        patch = Image.fromarray(photo[y:y + size, x:x + size]).resize((32, 32), Image.BILINEAR)
        patches.append(torch.from_numpy(np.array(patch)).permute(2, 0, 1))
    return torch.stack(patches), torch.zeros(len(patches), dtype=torch.long)


@pytest.mark.parametrize("strategy", list(STRATEGY_2))
def test_on_photographs_the_strategy_check_finds_what_it_finds_on_generated_images(photographs, strategy):
    second, stronger = STRATEGY_2[strategy]
    pipelines = {"train_transform_1": T.Compose(FLIP_AND_CROP + TAIL), "train_transform_2": second}
    try:
        checks.test_strategy_2_is_stronger_than_strategy_1(pipelines.get, photographs, {"mean": MEAN, "std": STD})
        passed = True
    except CheckFailed:
        passed = False
    [measured] = measurements()
    assert passed == stronger, measured
