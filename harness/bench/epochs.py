"""Epoch throughput: the harness's trainer beside the notebook's own loop, same machine, same run.

The notebook's loop is reproduced as the notebook writes it: a torchvision dataset decoding one PIL
image per sample through its transforms, a shuffling DataLoader (with the notebook's `num_workers`:
none for MNIST, 2 in the CIFAR-10 coursework cell), and `.item()` after every step. Both sides train
the same model class on the same images with the same optimizer and batch size; the ratio of their
epoch times is the figure. Where the notebook's loader has workers, the same loop without them is
timed too, as on a small machine it can be the faster of the two, and the ratio to the faster one
is reported beside the ratio to the notebook as written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torchvision import datasets
from torchvision import transforms as T

from harness.engine import data
from harness.engine.batches import Batches
from harness.engine.inputs import make_prepare
from harness.engine.objectives import OBJECTIVES
from harness.engine.run import build_optimizer
from harness.engine.spec import Optimizer
from harness.engine.steps import GraphedStep, Step, make_step
from harness.engine.trainer import evaluate, train_one_epoch


@dataclass(frozen=True)
class Case:
    name: str
    dataset: str  # mnist | cifar10
    model: Callable[[], nn.Module]
    batch_size: int
    lr: float
    augment: Callable[[], T.Compose] | None  # on PIL images for the notebook, batched for the harness
    flatten: bool
    notebook_workers: int  # the notebook's DataLoader num_workers for this data


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
    "mnist_mlp": Case("mnist_mlp", "mnist", _mnist_mlp, 100, 1e-3, None, True, 0),
    "cifar_cnn": Case("cifar_cnn", "cifar10", _cifar_cnn, 64, 3e-4, None, False, 2),
    "cifar_cnn_aug": Case("cifar_cnn_aug", "cifar10", _cifar_cnn, 64, 3e-4, _strategy_2, False, 2),
}


def notebook_loader(case: Case, root: Path, n: int, *, train: bool = True,
                    workers: int | None = None) -> torch.utils.data.DataLoader:
    """The notebook's input pipeline: torchvision's dataset class, PIL transforms, a DataLoader with
    the notebook's worker count unless `workers` says otherwise."""
    stats = data.train_statistics(data.load(case.dataset, root, download=False).train)
    steps = ([case.augment()] if case.augment and train else []) + [T.ToTensor(), T.Normalize(*stats)]
    if case.flatten:
        steps.append(T.Lambda(lambda x: x.view(-1)))
    kind = datasets.MNIST if case.dataset == "mnist" else data._GeneratedCIFAR10 if data.load(
        case.dataset, root, download=False).synthetic else datasets.CIFAR10
    dataset = kind(str(root), train=train, download=False, transform=T.Compose(steps))
    subset = torch.utils.data.Subset(dataset, range(min(n, len(dataset))))
    workers = case.notebook_workers if workers is None else workers
    return torch.utils.data.DataLoader(subset, batch_size=case.batch_size, shuffle=train, num_workers=workers)


def notebook_epoch(model: nn.Module, loader, optimizer: torch.optim.Optimizer) -> tuple[float, float]:
    """The notebook's `train` loop body for one epoch, `.item()` per step included; returns its
    epoch loss and accuracy. Batches go to the model's device, as the notebook sends them to its GPU."""
    criterion = nn.CrossEntropyLoss()
    model.train()
    device = next(model.parameters()).device
    running_loss, correct, total = 0.0, 0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * inputs.size(0)
        correct += (torch.argmax(outputs, dim=1) == targets).sum().item()
        total += targets.size(0)
    return running_loss / total, correct / total


def harness_batches(case: Case, root: Path, n: int, device: torch.device, *, train: bool = True,
                    seed: int = 0) -> Batches:
    dataset = data.load(case.dataset, root, download=False)
    mean, std = dataset.normalization()
    augment = case.augment() if case.augment and train else None
    prepare = make_prepare(augment=augment, mean=mean, std=std, flatten=case.flatten, channels_last=not case.flatten)
    split = (dataset.train if train else dataset.test).head(n)
    return Batches(split, batch_size=case.batch_size, prepare=prepare, device=device, shuffle_seed=seed if train else None)


def harness_trainee(case: Case, device: torch.device, precision: str = "fp32") -> tuple[nn.Module, Step | GraphedStep]:
    """The model as the runner trains it (channels-last when it is convolutional) and its training
    step as the runner's trainer takes it (fused optimizer; on a GPU, replayed from a CUDA graph)."""
    model = case.model().to(device)
    model = model if case.flatten else model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(Optimizer("adam", case.lr), model.parameters())
    return model, make_step(model, OBJECTIVES["multiclass"], nn.CrossEntropyLoss(), optimizer, precision=precision,
                            cuda_graph=device.type == "cuda")


UNSTEADY = 0.10  # a loop's slowest timed epoch this much longer than its best: the machine's speed changed


def interleaved(runs: dict[str, Callable[[], None]], repeats: int) -> dict[str, list[float]]:
    """The wall-clock seconds of `repeats` timed calls of each run. Each is warmed up once; then the
    runs take turns, round after round, so a machine that speeds up or slows down meanwhile (a shared
    or throttled CPU) weighs on all of them alike rather than on whichever ran last."""
    for run in runs.values():
        run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - started)
    return seconds


def unsteady(rows: list[dict[str, float | str]]) -> str | None:
    """A sentence for the reader when some loop's timed epochs differ by more than UNSTEADY: the
    machine's speed changed during the run (a busy neighbour, a throttled CPU), and the ratios, taken
    between best epochs, may be off by as much."""
    worst = max(rows, key=lambda row: row["spread"])
    if worst["spread"] <= UNSTEADY:
        return None
    return (f"the machine's speed changed during this run (an epoch of {worst['case']} {worst['loop']} "
            f"{worst['precision']} took {worst['spread']:.0%} longer than its best): the ratios, between best "
            "epochs, may be off by as much; run it again to confirm them")


def measure(case: Case, root: Path, n: int, *, repeats: int = 2, device: torch.device = torch.device("cpu"),
            precisions: tuple[str, ...] = ("fp32", "bf16")) -> list[dict[str, float | str]]:
    """Rows of (loop, loader workers, precision, seconds per epoch (the best), how much longer the
    slowest timed epoch took, images/s, steps/s, speed-up over the notebook as written and over the
    faster of its loader settings)."""
    torch.manual_seed(0)
    runs, rows = {}, []
    for workers in sorted({case.notebook_workers, 0}, reverse=True):  # as written first
        loader, model = notebook_loader(case, root, n, workers=workers), case.model().to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=case.lr)  # the notebook's, unfused
        runs[f"notebook {workers}"] = partial(notebook_epoch, model, loader, optimizer)
        rows.append({"case": case.name, "loop": "notebook", "workers": workers, "precision": "fp32"})
    batches = harness_batches(case, root, n, device)
    for precision in precisions:
        _, step = harness_trainee(case, device, precision)
        runs[f"harness {precision}"] = partial(train_one_epoch, step, batches)
        rows.append({"case": case.name, "loop": "harness", "workers": 0, "precision": precision})
    for row, seconds in zip(rows, interleaved(runs, repeats).values()):
        row["epoch_s"], row["spread"] = min(seconds), max(seconds) / min(seconds) - 1
    images = min(n, len(batches))
    fastest_notebook = min(row["epoch_s"] for row in rows if row["loop"] == "notebook")
    for row in rows:
        row["images_per_s"] = images / row["epoch_s"]
        row["steps_per_s"] = -(-images // case.batch_size) / row["epoch_s"]
        row["speedup"] = rows[0]["epoch_s"] / row["epoch_s"]
        row["speedup_vs_fastest"] = fastest_notebook / row["epoch_s"]
    return rows


@torch.no_grad()
def notebook_accuracy(model: nn.Module, loader) -> float:
    model.eval()
    correct = total = 0
    for inputs, targets in loader:
        correct += (model(inputs).argmax(dim=1) == targets).sum().item()
        total += targets.size(0)
    return correct / total


def accuracy_parity(case: Case, root: Path, *, train_images: int, test_images: int, epochs: int, seeds: int,
                    precision: str = "fp32") -> list[dict[str, float | str]]:
    """Final validation accuracy of the notebook's loop and of the harness's trainer, seed by seed:
    the fast path must land where the notebook's does, within seed-to-seed spread."""
    rows = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = case.model()
        optimizer = torch.optim.Adam(model.parameters(), lr=case.lr)
        loader = notebook_loader(case, root, train_images)
        for _ in range(epochs):
            notebook_epoch(model, loader, optimizer)
        accuracy = notebook_accuracy(model, notebook_loader(case, root, test_images, train=False))
        rows.append({"case": case.name, "loop": "notebook", "precision": "fp32", "seed": seed, "val_accuracy": accuracy})
        torch.manual_seed(seed)
        model, step = harness_trainee(case, torch.device("cpu"), precision)
        batches = harness_batches(case, root, train_images, torch.device("cpu"), seed=seed)
        for _ in range(epochs):
            train_one_epoch(step, batches)
        val = harness_batches(case, root, test_images, torch.device("cpu"), train=False)
        accuracy = evaluate(model, OBJECTIVES["multiclass"], nn.CrossEntropyLoss(), val, precision)["accuracy"]
        rows.append({"case": case.name, "loop": "harness", "precision": precision, "seed": seed, "val_accuracy": accuracy})
    return rows
