"""What the behaviour checks run: the CNNModel variants and the transforms, exported or live.

`Exported` is what the grader's child checks: the programs and pipeline descriptions the submission's
child handed back, rebuilt there without any of the submission's code. `Live` is the submission's own
modules, used in the submission's own process for a part that could not be handed back (its
verdicts then say so). The checks see both through the same two calls, `variant(name)` and
`transform(name)`, and observe what a variant computes with `harness.grading.checks.trace`.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, Callable, Protocol

import torch
from torch import nn

from harness.grading.checks import pipelines, program
from harness.grading.checks.support import student
from harness.grading.checks.verdicts import GRADER, SUBMISSION

BATCH = 64  # images in every forward pass of the checks: the exported programs' fixed input shape
MODES = ("train", "eval")
TRANSFORMS = ("train_transform_1", "train_transform_2", "val_transform")


def variant_arguments(dropout_rate: float) -> dict[str, dict[str, Any]]:
    """The CNNModel variants the checks run, by name: the constructor arguments of each."""
    return {"base": {}, "batchnorm": {"use_batchnorm": True},
            "dropout": {"use_dropout": True, "dropout_rate": dropout_rate},
            "both": {"use_batchnorm": True, "use_dropout": True, "dropout_rate": dropout_rate},
            "zeros": {"init_mode": "zeros"}}


def label(arguments: dict[str, Any]) -> str:
    return "CNNModel(" + ", ".join(f"{k}={v!r}" for k, v in arguments.items()) + ")"


class Variant(Protocol):
    label: str

    def run(self, x: torch.Tensor, mode: str) -> torch.Tensor: ...

    def parameters(self) -> dict[str, torch.Tensor]: ...


@dataclasses.dataclass
class ExportedVariant:
    label: str
    programs: dict[str, program.Program]  # by mode, sharing one state
    named_parameters: dict[str, torch.Tensor]

    def run(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        return self.programs[mode](x)

    def parameters(self) -> dict[str, torch.Tensor]:
        return self.named_parameters


@dataclasses.dataclass
class LiveVariant:
    label: str
    model: nn.Module

    def run(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        getattr(self.model, mode)()
        return self.model(x)

    def parameters(self) -> dict[str, torch.Tensor]:
        return dict(self.model.named_parameters())


class Exported:
    """The handed-back programs and pipelines. Each `variant()` is a fresh copy of its weights, so
    that no check sees what another one trained or updated."""

    where = GRADER

    def __init__(self, exported: program.Exported, descriptions: dict[str, Any], dropout_rate: float) -> None:
        self.exported, self.descriptions = exported, descriptions
        self.arguments = variant_arguments(dropout_rate)

    def variant(self, name: str) -> ExportedVariant:
        state = {key: tensor.clone() for key, tensor in self.exported.states[name].items()}
        parameters = {key: state[key].requires_grad_() for key in sorted(self.exported.parameters[name])
                      if state[key].is_floating_point()}
        programs = {mode: dataclasses.replace(p, state=state) for mode, p in self.exported.programs[name].items()}
        return ExportedVariant(label(self.arguments[name]), programs, parameters)

    def transform(self, name: str) -> Callable:
        return pipelines.rebuild(self.descriptions[name])


class Live:
    """The submission's own modules, in its own process."""

    where = SUBMISSION

    def __init__(self, model_module: ModuleType, augment_module: ModuleType, context: dict[str, Any]) -> None:
        self.model_module, self.augment_module, self.context = model_module, augment_module, context
        self.arguments = variant_arguments(context["dropout_rate"])

    def variant(self, name: str) -> LiveVariant:
        arguments = self.arguments[name]
        torch.manual_seed(0)
        with student(f"building {label(arguments)}"):
            return LiveVariant(label(arguments), self.model_module.CNNModel(**arguments))

    def transform(self, name: str) -> Callable:
        with student(f"building {name}(mean, std)"):
            return getattr(self.augment_module, name)(list(self.context["mean"]), list(self.context["std"]))


Subject = Exported | Live
