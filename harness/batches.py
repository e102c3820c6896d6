"""Mini-batches drawn by index from tensors that stay resident on the training device."""

from __future__ import annotations

from typing import Callable, Iterator

import torch

from harness.data import Split

Prepare = Callable[[torch.Tensor], torch.Tensor]


class Batches:
    """One split on `device`; each pass draws a fresh seeded permutation when `shuffle_seed` is set.

    `prepare` turns stored samples (uint8 images, float features) into model inputs, batch by batch.
    """

    def __init__(
        self,
        split: Split,
        *,
        batch_size: int,
        prepare: Prepare,
        device: torch.device,
        shuffle_seed: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.x = split.x.to(device)
        self.y = split.y.to(device)
        self.batch_size = batch_size
        self.prepare = prepare
        self._generator = None
        if shuffle_seed is not None:
            self._generator = torch.Generator().manual_seed(shuffle_seed)

    def __len__(self) -> int:
        return len(self.y)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        order = None
        if self._generator is not None:
            order = torch.randperm(n, generator=self._generator).to(self.x.device)
        for start in range(0, n, self.batch_size):
            index = slice(start, start + self.batch_size) if order is None else order[start : start + self.batch_size]
            yield self.prepare(self.x[index]), self.y[index]
