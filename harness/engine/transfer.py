"""Small host tensors (augmentation parameters, normalization constants) sent to the training device
without making the host wait for it.

A blocking copy to a GPU synchronizes its stream: the host would wait for every step already queued
before it could prepare the next batch, and the GPU would then wait for the host. A copy from pinned
(page-locked) memory is queued instead; torch's pinned allocator keeps the block until the copy has run.
"""

from __future__ import annotations

import functools

import torch


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """`t` on `device`, queued behind the work already there rather than waiting for it."""
    if device.type != "cuda" or t.device == device:
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)


@functools.cache
def constant(values: tuple[float, ...], device: torch.device) -> torch.Tensor:
    """`torch.tensor(values)` on `device`, sent once per device rather than at every batch (callers
    share it: never change it in place)."""
    return to_device(torch.tensor(values), device)
