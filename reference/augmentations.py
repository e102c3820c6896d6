"""Named augmentation pipelines (torchvision transforms on uint8 image tensors, train split only).

Normalization and flattening are not here: `harness.engine.spec.Inputs` declares them, as they also
apply to the validation split.
"""

from __future__ import annotations

from torchvision import transforms as T

from harness.registry import Registry


def mnist_combined() -> T.Compose:
    """The notebook's 'Combining transformations' cell, before ToTensor/Normalize."""
    return T.Compose(
        [T.RandomRotation(15), T.RandomAffine(degrees=0, translate=(0.1, 0.1)), T.RandomHorizontalFlip()]
    )


def cifar_strategy_1() -> T.Compose:
    """Reference strategy 1 (mild): horizontal flip and 4-pixel padded random crop."""
    return T.Compose([T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4)])


def cifar_strategy_2() -> T.Compose:
    """Reference strategy 2 (aggressive): strategy 1 plus rotation, scale/shift and colour jitter."""
    return T.Compose(
        [
            T.RandomHorizontalFlip(),
            T.RandomCrop(32, padding=4),
            T.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
            T.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3),
        ]
    )


AUGMENTATIONS = Registry(
    "augmentation",
    [
        ("mnist_combined", mnist_combined),
        ("cifar_strategy_1", cifar_strategy_1),
        ("cifar_strategy_2", cifar_strategy_2),
    ],
)
