"""Epoch throughput: the harness's trainer beside the notebook's own loop, same machine, same run.

The notebook's loop is reproduced as the notebook writes it: a torchvision dataset decoding one PIL
image per sample through its transforms, a shuffling DataLoader, and `.item()` after every step.
Both sides train the same model class on the same images with the same optimizer and batch size;
the ratio of their epoch times is the figure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torchvision import datasets
from torchvision import transforms as T

from harness import data
from harness.batches import Batches
from harness.inputs import make_prepare
from harness.runner import build_optimizer
from harness.spec import Optimizer
from harness.tasks import TASKS
from harness.trainer import train_one_epoch


@dataclass(frozen=True)
class Case:
    name: str
    dataset: str  # mnist | cifar10
    model: Callable[[], nn.Module]
    batch_size: int
    lr: float
    augment: Callable[[], T.Compose] | None  # on PIL images for the notebook, batched for the harness
    flatten: bool


def _mnist_mlp() -> nn.Module:
    from reference.models import SimpleMLP

    return SimpleMLP()


def _cifar_cnn() -> nn.Module:
    from reference.models import CNNModel

    return CNNModel()


def _strategy_2() -> T.Compose:
    from reference.augmentations import cifar_strategy_2

    return cifar_strategy_2()


CASES = {
    "mnist_mlp": Case("mnist_mlp", "mnist", _mnist_mlp, 100, 1e-3, None, True),
    "cifar_cnn": Case("cifar_cnn", "cifar10", _cifar_cnn, 64, 3e-4, None, False),
    "cifar_cnn_aug": Case("cifar_cnn_aug", "cifar10", _cifar_cnn, 64, 3e-4, _strategy_2, False),
}


class _Subset(torch.utils.data.Dataset):
    def __init__(self, dataset, n: int) -> None:
        self.dataset, self.n = dataset, min(n, len(dataset))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        return self.dataset[index]


def notebook_loader(case: Case, root: Path, n: int) -> torch.utils.data.DataLoader:
    """The notebook's input pipeline: torchvision's dataset class, PIL transforms, a DataLoader."""
    stats = data.train_statistics(data.load(case.dataset, root, download=False).train)
    steps = ([case.augment()] if case.augment else []) + [T.ToTensor(), T.Normalize(*stats)]
    if case.flatten:
        steps.append(T.Lambda(lambda x: x.view(-1)))
    kind = datasets.MNIST if case.dataset == "mnist" else data._GeneratedCIFAR10 if data.load(
        case.dataset, root, download=False).synthetic else datasets.CIFAR10
    dataset = kind(str(root), train=True, download=False, transform=T.Compose(steps))
    return torch.utils.data.DataLoader(_Subset(dataset, n), batch_size=case.batch_size, shuffle=True)


def notebook_epoch(model: nn.Module, loader, lr: float) -> None:
    """The notebook's `train` loop body for one epoch, `.item()` per step included."""
    criterion, optimizer = nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    running_loss, correct, total = 0.0, 0, 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * inputs.size(0)
        correct += (torch.argmax(outputs, dim=1) == targets).sum().item()
        total += targets.size(0)


def harness_batches(case: Case, root: Path, n: int, device: torch.device) -> Batches:
    dataset = data.load(case.dataset, root, download=False)
    mean, std = dataset.normalization()
    prepare = make_prepare(augment=case.augment() if case.augment else None, mean=mean, std=std, flatten=case.flatten,
                           channels_last=not case.flatten)
    return Batches(dataset.train.head(n), batch_size=case.batch_size, prepare=prepare, device=device, shuffle_seed=0)


def prepared_model(case: Case, device: torch.device) -> nn.Module:
    """The model as the runner trains it: channels-last when it is convolutional."""
    model = case.model().to(device)
    return model if case.flatten else model.to(memory_format=torch.channels_last)


def harness_epoch(model: nn.Module, batches: Batches, lr: float, precision: str = "fp32") -> None:
    optimizer = build_optimizer(Optimizer("adam", lr), model.parameters())
    train_one_epoch(model, TASKS["multiclass"], nn.CrossEntropyLoss(), optimizer, batches, precision=precision)


def timed(run: Callable[[], None], repeats: int) -> float:
    """Best of `repeats` wall-clock seconds (the first call warms up and is not counted)."""
    run()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def measure(case: Case, root: Path, n: int, *, repeats: int = 2, device: torch.device = torch.device("cpu"),
            precisions: tuple[str, ...] = ("fp32", "bf16")) -> list[dict[str, float | str]]:
    """Rows of (loop, precision, seconds per epoch, images/s, steps/s, speed-up over the notebook)."""
    torch.manual_seed(0)
    loader = notebook_loader(case, root, n)
    model = case.model()
    rows = [{"case": case.name, "loop": "notebook", "precision": "fp32",
             "epoch_s": timed(lambda: notebook_epoch(model, loader, case.lr), repeats)}]
    batches = harness_batches(case, root, n, device)
    for precision in precisions:
        model = prepared_model(case, device)
        rows.append({"case": case.name, "loop": "harness", "precision": precision,
                     "epoch_s": timed(lambda: harness_epoch(model, batches, case.lr, precision), repeats)})
    images = min(n, len(batches))
    for row in rows:
        row["images_per_s"] = images / row["epoch_s"]
        row["steps_per_s"] = -(-images // case.batch_size) / row["epoch_s"]
        row["speedup"] = rows[0]["epoch_s"] / row["epoch_s"]
    return rows
