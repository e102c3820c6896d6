"""What a prediction is scored against: the loss input and the metric sums of one batch.

Sums, not means, so the trainer adds them on the device and divides once per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

LOSSES: dict[str, Callable[[], nn.Module]] = {
    "cross_entropy": nn.CrossEntropyLoss,
    "bce_with_logits": nn.BCEWithLogitsLoss,
    "l1": nn.L1Loss,
    "mse": nn.MSELoss,
}

Sums = dict[str, torch.Tensor]


def _multiclass_sums(outputs: torch.Tensor, targets: torch.Tensor) -> Sums:
    return {"accuracy": (outputs.argmax(dim=1) == targets).sum()}


def _binary_sums(outputs: torch.Tensor, targets: torch.Tensor) -> Sums:
    # sigmoid(z) > 0.5 exactly when z > 0
    return {"accuracy": ((outputs > 0) == (targets > 0.5)).sum()}


def _regression_sums(outputs: torch.Tensor, targets: torch.Tensor) -> Sums:
    error = outputs - targets
    return {"mae": error.abs().sum(), "mse": error.square().sum()}


@dataclass(frozen=True)
class Objective:
    name: str
    metrics: tuple[str, ...]  # besides 'loss'
    sums: Callable[[torch.Tensor, torch.Tensor], Sums]
    squeeze_outputs: bool = False  # (N, 1) logits -> (N,) for BCEWithLogits
    float_targets: bool = False

    def align(self, outputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Outputs and targets in the shapes and dtypes the loss expects."""
        if self.squeeze_outputs:
            outputs = outputs.squeeze(1)
        if self.float_targets:
            targets = targets.float()
        return outputs, targets


OBJECTIVES: dict[str, Objective] = {
    "multiclass": Objective("multiclass", ("accuracy",), _multiclass_sums),
    "binary": Objective("binary", ("accuracy",), _binary_sums, squeeze_outputs=True, float_targets=True),
    "regression": Objective("regression", ("mae", "mse"), _regression_sums),
}
