"""Stored samples -> model inputs: per-sample augmentation, scaling to [0, 1], normalization, flattening.

The order is the notebook's (augment the image, ToTensor, Normalize, flatten); augmentations are
torchvision transforms applied to each uint8 image tensor, so every sample draws its own parameters.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from torchvision.transforms.functional import to_pil_image

import torch

from harness.batches import Prepare

Augment = Callable[[torch.Tensor], torch.Tensor]
Pipeline = Callable[[Any], torch.Tensor]  # PIL image -> normalized float tensor (a student's transform)


def make_prepare(
    *,
    augment: Augment | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    flatten: bool = False,
    pipeline: Pipeline | None = None,
) -> Prepare:
    """A batch function for image splits; float (tabular) batches pass through unchanged.

    With `pipeline`, each image goes through it as a PIL image, exactly as torchvision's dataset
    would hand it over; the pipeline does its own normalization.
    """
    if (mean is None) != (std is None):
        raise ValueError("normalization needs both mean and std")

    def prepare(x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.uint8:
            return x
        if pipeline is not None:
            out = torch.stack([pipeline(to_pil_image(image)) for image in x.cpu()]).to(x.device)
            return out.flatten(1) if flatten else out
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
