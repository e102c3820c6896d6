"""The one training engine: `fit` runs any experiment; callbacks add history, schedules, stopping.

The hot path (`train_one_epoch`) keeps metric sums on the device and reads them once per epoch,
so a step never waits for the host. On a GPU the step is replayed from a CUDA graph (`steps`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import torch
from torch import nn

from harness.engine.objectives import Objective, Sums
from harness.engine.steps import GraphedStep, Step, autocast, make_step


@dataclass
class FitState:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    epoch: int = 0  # epochs finished
    stop: bool = False  # set by a callback to end training after this epoch
    notes: dict[str, float] = field(default_factory=dict)  # facts callbacks report (best epoch, ...)
    step_kind: str = "eager"  # how the training step ran: eager, cuda graph, or why not


class Callback:
    """No-op hooks; subclasses override what they need."""

    def on_fit_start(self, state: FitState) -> None:
        pass

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        pass

    def on_fit_end(self, state: FitState) -> None:
        pass


def _add(total: Sums | None, batch: Sums) -> Sums:
    if total is None:  # a copy: a replayed step writes its next sums over these
        return {k: v.clone() for k, v in batch.items()}
    return {k: total[k] + batch[k] for k in total}


def _means(total: Sums | None, count: int) -> dict[str, float]:
    if total is None or count == 0:
        return {}
    names = list(total)
    values = torch.stack([total[k].double() for k in names]).div(count).tolist()  # the one sync
    return dict(zip(names, values))


def train_one_epoch(step: Step | GraphedStep, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
    """One pass in train mode; returns per-sample mean loss and metrics of the batches seen."""
    step.model.train()
    total, count = None, 0
    for inputs, targets in batches:
        total = _add(total, step(inputs, targets))
        count += targets.shape[0]
    return _means(total, count)


@torch.no_grad()
def predict(
    model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], precision: str = "fp32"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode outputs (float32) of every sample of `batches`, in their order, and their targets."""
    model.eval()
    outputs, targets = [], []
    for inputs, batch_targets in batches:
        with autocast(precision, inputs.device.type):
            outputs.append(model(inputs).float())
        targets.append(batch_targets)
    return torch.cat(outputs), torch.cat(targets)


def mean_metrics(task: Objective, criterion: nn.Module, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Per-sample mean loss and metrics of `outputs` against `targets`."""
    outputs, targets = task.align(outputs, targets)
    n = targets.shape[0]
    return _means({"loss": criterion(outputs, targets) * n, **task.sums(outputs, targets)}, n)


def evaluate(
    model: nn.Module,
    task: Objective,
    criterion: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    precision: str = "fp32",
) -> dict[str, float]:
    """Per-sample mean loss and metrics in eval mode."""
    return mean_metrics(task, criterion, *predict(model, batches, precision))


def fit(
    model: nn.Module,
    *,
    task: Objective,
    criterion: nn.Module,
    optimizer: torch.optim.Optimizer,
    train: Iterable[tuple[torch.Tensor, torch.Tensor]],
    val: Iterable[tuple[torch.Tensor, torch.Tensor]] | None,
    epochs: int,
    callbacks: Sequence[Callback] = (),
    precision: str = "fp32",
    cuda_graph: bool = False,
) -> FitState:
    """Train for up to `epochs`. Each epoch's logs: epoch, lr (in effect during the epoch), train
    metrics, val_* metrics, train_s and val_s (seconds). `cuda_graph` replays the step from a CUDA
    graph (a GPU, and an optimizer built capturable)."""
    step = make_step(model, task, criterion, optimizer, precision=precision, cuda_graph=cuda_graph)
    state = FitState(model, optimizer)
    for callback in callbacks:
        callback.on_fit_start(state)
    for epoch in range(1, epochs + 1):
        logs: dict[str, float] = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"]}
        started = time.perf_counter()
        logs.update(train_one_epoch(step, train))
        logs["train_s"] = time.perf_counter() - started
        if val is not None:
            started = time.perf_counter()
            logs.update({f"val_{k}": v for k, v in evaluate(model, task, criterion, val, precision).items()})
            logs["val_s"] = time.perf_counter() - started
        state.epoch = epoch
        for callback in callbacks:
            callback.on_epoch_end(state, logs)
        if state.stop:
            break
    state.step_kind = step.kind
    for callback in callbacks:
        callback.on_fit_end(state)
    return state
