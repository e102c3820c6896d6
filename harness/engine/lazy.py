"""Lazy layers (nn.LazyLinear, nn.LazyConv2d and the like) take their shapes from the first batch they see.
A student's own loop gives them one before anything else touches them; the trainer converts the model to
channels-last first, and torch.export traces it first, and neither can handle a parameter without a shape."""

from __future__ import annotations

import torch
from torch import nn


def shape_lazy_layers(model: nn.Module, example: torch.Tensor) -> None:
    """Give `model`'s lazy layers their shapes with one pass over `example`, in eval mode without gradients,
    so that nothing else changes (batch norm statistics, dropout); a model without lazy layers is left alone."""
    if not any(nn.parameter.is_lazy(t) for t in (*model.parameters(), *model.buffers())):
        return
    training = model.training
    model.eval()
    with torch.no_grad():
        model(example)
    model.train(training)
