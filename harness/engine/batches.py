"""Mini-batches drawn by index from tensors that stay resident on the training device.

Batches are prepared in the training process, except where `workers` is set: then DataLoader worker
processes prepare them ahead from a host copy (for per-sample torchvision augmentation, which the GPU
cannot help with). The order and each worker's random seed follow the seeded generators, so a run
is as reproducible either way.
"""

from __future__ import annotations

from typing import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from harness.engine.data import Split
from harness.engine.transfer import to_device

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
        workers: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.workers = workers
        self._host_x = split.x.cpu() if workers else None
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
            order = to_device(torch.randperm(n, generator=self._generator), self.x.device)
        chunks = [slice(start, start + self.batch_size) if order is None else order[start : start + self.batch_size]
                  for start in range(0, n, self.batch_size)]
        if not self.workers:
            for index in chunks:
                yield self.prepare(self.x[index]), self.y[index]
            return
        prepared = DataLoader(_Prepared(self._host_x, [c if isinstance(c, slice) else c.cpu() for c in chunks], self.prepare),
                              batch_size=None, num_workers=self.workers, pin_memory=self.x.is_cuda,
                              multiprocessing_context="fork")  # the prepare closure is inherited, not pickled
        for index, inputs in zip(chunks, prepared):
            yield inputs.to(self.x.device, non_blocking=True), self.y[index]


class _Prepared(Dataset):
    """Batch k of one pass, prepared on the host (in a DataLoader worker)."""

    def __init__(self, x: torch.Tensor, chunks: list, prepare: Prepare) -> None:
        self.x, self.chunks, self.prepare = x, chunks, prepare

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, k: int) -> torch.Tensor:
        return self.prepare(self.x[self.chunks[k]])
