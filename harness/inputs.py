"""Stored samples -> model inputs: per-sample augmentation, scaling to [0, 1], normalization, flattening.

The order is the notebook's (augment the image, ToTensor, Normalize, flatten); augmentations are
torchvision transforms applied to each uint8 image tensor, so every sample draws its own parameters.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from harness.batches import Prepare

Augment = Callable[[torch.Tensor], torch.Tensor]


def make_prepare(
    *,
    augment: Augment | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    flatten: bool = False,
) -> Prepare:
    """A batch function for image splits; float (tabular) batches pass through unchanged."""
    if (mean is None) != (std is None):
        raise ValueError("normalization needs both mean and std")

    def prepare(x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.uint8:
            return x
        if augment is not None:
            x = torch.stack([augment(image) for image in x])
        x = x.float().div_(255.0)
        if mean is not None:
            shape = (1, -1, 1, 1)
            x = (x - torch.tensor(mean, device=x.device).view(shape)) / torch.tensor(
                std, device=x.device
            ).view(shape)
        return x.flatten(1) if flatten else x

    return prepare
