"""In the submission's child: what it hands back for the grader's child to check (harness.grading.checks.verdicts).

Each CNNModel variant is exported with `torch.export` in training and in eval mode and turned into a
program (`harness.grading.checks.program`); each transform pipeline is described as torchvision classes and
arguments (`harness.grading.checks.pipelines`). A part that cannot be handed back (a model torch.export cannot
trace, a `Lambda` among the transforms) is checked here instead, and its results say so.
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn
from torchvision.transforms.functional import to_pil_image

from harness.engine.lazy import shape_lazy_layers
from harness.engine.synthetic import cifar_like
from harness.grading.checks import pipelines, program
from harness.grading.checks.session import run_checks
from harness.grading.checks.subjects import (
    BATCH,
    MODES,
    TRANSFORMS,
    Live,
    label,
    variant_arguments,
)

ROUND_TRIP_IMAGES = 4  # images a rebuilt pipeline must reproduce exactly, under the same seed


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300]}" if text else type(error).__name__


def export_models(model_class: type, dropout_rate: float) -> tuple[dict[str, Any], np.ndarray]:
    """Every variant's programs and the weights they read; NotExportable says why not."""
    programs, states, parameters = {}, {}, {}
    example = torch.zeros(BATCH, 3, 32, 32)
    for name, arguments in variant_arguments(dropout_rate).items():
        torch.manual_seed(0)  # the same weights the checks of a live model would see
        try:
            model = model_class(**arguments)
        except Exception as error:  # noqa: BLE001 - the student's constructor, reported by the check that needs it
            raise program.NotExportable(f"building {label(arguments)} raised {_first_line(error)}") from None
        try:
            shape_lazy_layers(model, example)
        except Exception as error:  # noqa: BLE001 - the student's forward
            raise program.NotExportable(f"a first pass to shape the lazy layers of {label(arguments)} raised "
                                        f"{_first_line(error)}") from None
        for mode in MODES:
            getattr(model, mode)()
            try:
                with _cumulative_averages_as_numbers(model):
                    ep = torch.export.export(model, (example,), strict=False)
            except Exception as error:  # noqa: BLE001 - whatever torch.export could not trace
                raise program.NotExportable(f"torch.export could not trace {label(arguments)} in {mode} mode "
                                            f"({_first_line(error)})") from None
            programs[f"{name}/{mode}"] = program.graph_data(ep, name)
            states.setdefault(name, {}).update(program.state_of(ep))
            parameters.setdefault(name, set()).update(ep.graph_signature.parameters)
    index, flat = program.pack(states, parameters)
    data = {"format": program.FORMAT, "programs": programs, "state": index}
    try:
        program.load(data, flat)  # what the grader's child will accept
    except program.BadProgram as error:
        raise program.NotExportable(str(error)) from None
    return data, flat


@contextlib.contextmanager
def _cumulative_averages_as_numbers(model: nn.Module):
    """A batch norm built with momentum=None keeps a cumulative average, whose factor (1 / batches seen) it reads
    from a tensor as a Python number, which torch.export cannot trace. While the model is exported the factor is
    the number its next training pass would use (1.0 for a new model): the programs compute what the model does
    on that pass, the only training pass the batch norm checks run."""
    cumulative = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
                  and m.momentum is None and m.training and m.num_batches_tracked is not None]
    for module in cumulative:
        module.momentum = 1.0 / (float(module.num_batches_tracked) + 1)
    try:
        yield
    finally:
        for module in cumulative:
            module.momentum = None


def describe_transforms(augment_module: ModuleType, mean: list[float], std: list[float]) -> dict[str, Any]:
    """Every pipeline as data; NotDescribable names the first that is not torchvision's alone."""
    x, _ = cifar_like(ROUND_TRIP_IMAGES, seed=7)
    images = [to_pil_image(torch.from_numpy(image)) for image in x]
    described = {}
    for name in TRANSFORMS:
        try:
            described[name] = pipelines.round_trip(getattr(augment_module, name)(list(mean), list(std)), images)
        except pipelines.NotDescribable as error:
            raise pipelines.NotDescribable(f"{name}: {error}") from None
        except Exception as error:  # noqa: BLE001 - the student's factory or pipeline raised: checked live
            raise pipelines.NotDescribable(f"{name} raised {_first_line(error)}") from None
    return described


def hand_back(model_module: ModuleType, augment_module: ModuleType, context: dict[str, Any],
              weights_path: str) -> dict[str, Any]:
    """The child's result for the checks job: programs and descriptions for the grader's child, and
    the results of the checks of any part that could only be checked here."""
    result: dict[str, Any] = {"fallback": {}}
    try:
        result["programs"], flat = export_models(model_module.CNNModel, context["dropout_rate"])
        np.save(weights_path, flat)
    except program.NotExportable as error:
        result["fallback"]["model"] = f"CNNModel could not be handed to the grader: {error}"
    try:
        result["pipelines"] = describe_transforms(augment_module, context["mean"], context["std"])
    except pipelines.NotDescribable as error:
        result["fallback"]["transforms"] = f"the transforms could not be handed to the grader: {error}"
    if result["fallback"]:
        subject = Live(model_module, augment_module, context)
        result["checks"] = run_checks(subject, context, tuple(result["fallback"]))
    return result
