"""Stored samples -> model inputs: per-sample augmentation, scaling to [0, 1], normalization, flattening.

The order is the notebook's (augment the image, ToTensor, Normalize, flatten). Every sample draws its
own augmentation parameters. When each step of a pipeline has a batched twin
(`harness.engine.batched_augment`) the whole batch is augmented at once; otherwise torchvision runs per
sample, exactly as its datasets would (PIL images for a student's pipeline). `augmentation_path`
says which, for the run's record.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torchvision.transforms.functional import to_pil_image

from harness.engine.batched_augment import compile_pipeline, floats, normalize
from harness.engine.batches import Prepare

Augment = Callable[[torch.Tensor], torch.Tensor]
Pipeline = Callable[[Any], torch.Tensor]  # PIL image -> normalized float tensor (a student's transform)


def make_prepare(
    *,
    augment: Augment | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    flatten: bool = False,
    pipeline: Pipeline | None = None,
    channels_last: bool = False,
) -> Prepare:
    """A batch function for image splits; float (tabular) batches pass through unchanged.

    With `pipeline`, each image goes through it as a PIL image, exactly as torchvision's dataset
    would hand it over; the pipeline does its own normalization.
    """
    if (mean is None) != (std is None):
        raise ValueError("normalization needs both mean and std")
    batched = compile_pipeline(pipeline or augment) if (pipeline or augment) else None
    if mean is not None:
        mean, std = floats(mean), floats(std)

    def prepare(x: torch.Tensor) -> torch.Tensor:
        out = _prepare(x)
        return out.contiguous(memory_format=torch.channels_last) if channels_last and out.dim() == 4 else out

    def _prepare(x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.uint8:
            return x
        if pipeline is not None:
            out = batched(x) if batched else torch.stack([pipeline(to_pil_image(i)) for i in x.cpu()]).to(x.device)
            return out.flatten(1) if flatten else out
        if augment is not None:
            x = batched(x) if batched else torch.stack([augment(image) for image in x])
        x = x.float().div_(255.0)
        if mean is not None:
            x = normalize(x, mean, std)
        return x.flatten(1) if flatten else x

    return prepare


def augmentation_path(augment: Augment | None, pipeline: Pipeline | None) -> str | None:
    """'batched' or 'per-sample torchvision' for the run's record; None without augmentation."""
    if augment is None and pipeline is None:
        return None
    return "batched" if compile_pipeline(pipeline or augment) else "per-sample torchvision"
