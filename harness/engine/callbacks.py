"""Callbacks for the trainer: history, predictions, LR schedules, early stopping, progress."""

from __future__ import annotations

import copy
import sys
import time
from typing import Iterable, TextIO

import torch

from harness.engine.spec import EarlyStopping
from harness.engine.spec import Scheduler as SchedulerSpec
from harness.engine.trainer import Callback, FitState, predict

SCHEDULERS = {
    "step": torch.optim.lr_scheduler.StepLR,
    "plateau": torch.optim.lr_scheduler.ReduceLROnPlateau,
}


class History(Callback):
    """Keeps every epoch's logs, in order."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        self.epochs.append(dict(logs))


class Predictions(Callback):
    """Eval-mode outputs on a split whose labels the run does not have, after every epoch, for
    whoever holds the labels to score (`held_out`). Goes before History, which then logs `val_s`."""

    def __init__(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], precision: str = "fp32") -> None:
        self.batches, self.precision = batches, precision
        self.epochs: list[torch.Tensor] = []

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        started = time.perf_counter()
        self.epochs.append(predict(state.model, self.batches, self.precision)[0].cpu())
        logs["val_s"] = time.perf_counter() - started


class LRSchedule(Callback):
    """Steps a torch scheduler once per epoch, after validation (the plateau one with its metric)."""

    def __init__(self, spec: SchedulerSpec) -> None:
        if spec.name not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {spec.name!r}; known: {', '.join(SCHEDULERS)}")
        if spec.name == "plateau" and not spec.monitor:
            raise ValueError("a plateau scheduler needs `monitor`, e.g. 'val_loss'")
        self.spec = spec
        self.scheduler = None

    def on_fit_start(self, state: FitState) -> None:
        self.scheduler = SCHEDULERS[self.spec.name](state.optimizer, **self.spec.params)

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        if self.spec.monitor:
            if self.spec.monitor not in logs:
                raise KeyError(f"scheduler monitors {self.spec.monitor!r}, absent from {sorted(logs)}")
            self.scheduler.step(logs[self.spec.monitor])
        else:
            self.scheduler.step()


class EarlyStopper(Callback):
    """Stops after `patience` epochs without strict improvement; restores the best weights at the end."""

    def __init__(self, spec: EarlyStopping) -> None:
        self.spec = spec
        self.best: float | None = None
        self.best_epoch = 0
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.waited = 0

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.spec.mode == "max" else value < self.best

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        value = logs[self.spec.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.waited = value, state.epoch, 0
            if self.spec.restore_best:
                self.best_weights = copy.deepcopy(state.model.state_dict())
        else:
            self.waited += 1
            if self.waited >= self.spec.patience:
                state.stop = True

    def on_fit_end(self, state: FitState) -> None:
        state.notes["best_epoch"] = self.best_epoch
        state.notes["stopped_epoch"] = state.epoch
        state.notes["stopped_early"] = float(state.stop)
        if self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)


class RunLog(Callback):
    """About ten lines per run (first, every tenth of the way, last), for people watching a terminal."""

    def __init__(self, label: str, epochs: int, stream: TextIO = sys.stderr) -> None:
        self.label, self.epochs, self.stream = label, epochs, stream
        self.every = max(1, epochs // 10)

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        if not (state.epoch == 1 or state.epoch % self.every == 0 or state.epoch == self.epochs or state.stop):
            return
        shown = [
            f"{key} {logs[key]:.4f}"
            for key in ("loss", "accuracy", "mae", "val_loss", "val_accuracy", "val_mae")
            if key in logs
        ]
        print(
            f"  {self.label} epoch {state.epoch}/{self.epochs}: {', '.join(shown)}"
            f" ({logs['train_s']:.1f}s)",
            file=self.stream,
            flush=True,
        )
