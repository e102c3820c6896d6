"""A transform pipeline as data: torchvision classes (v1 or v2) and their arguments.

The submission's child describes the pipelines its factories return (`describe`) and makes sure the
description rebuilds into a pipeline that gives the same images (`round_trip`); the grader's child
rebuilds them (`rebuild`) from an allowlist of torchvision classes, with plain values only (numbers,
strings, and small numeric tensors such as a Normalize's statistics). A pipeline
holding anything else (a `Lambda`, a class of the student's own) cannot be described, and its checks
run in the submission's own process instead.
"""

from __future__ import annotations

import inspect
import random
from typing import Any

import numpy as np
import torch
from torchvision import transforms as v1
from torchvision.transforms import AutoAugmentPolicy, InterpolationMode, v2

FAMILIES = {"v1": v1, "v2": v2}
CLASSES = frozenset("""
    Compose RandomApply RandomChoice RandomOrder ToTensor PILToTensor ConvertImageDtype ToImage ToDtype ToPureTensor
    Normalize Resize CenterCrop RandomCrop RandomResizedCrop RandomHorizontalFlip RandomVerticalFlip RandomRotation
    RandomAffine RandomPerspective ColorJitter RandomGrayscale Grayscale GaussianBlur GaussianNoise RandomErasing
    Pad RandomInvert RandomPosterize RandomSolarize RandomAdjustSharpness RandomAutocontrast RandomEqualize
    AutoAugment RandAugment TrivialAugmentWide AugMix ElasticTransform RandomChannelPermutation RandomPhotometricDistort
""".split())
# attributes stored otherwise than the constructor takes them: ColorJitter keeps a factor that does
# nothing as None, and its constructor reads 0 for that
NONE_MEANS = {"ColorJitter": {"brightness": 0, "contrast": 0, "saturation": 0, "hue": 0}}
MAX_DEPTH = 6
# a tensor argument (Normalize(torch.tensor(mean), ...)) is described by its values: small and numeric only
TENSOR_DTYPES = ("float32", "float64", "int64", "uint8")
MAX_TENSOR = 1024


class NotDescribable(ValueError):
    """The pipeline is not made of torchvision classes alone; the message names what is not."""


class BadPipeline(ValueError):
    """A described pipeline the grader refuses to rebuild."""


def _family(cls: type) -> str | None:
    for family, module in FAMILIES.items():
        if cls.__name__ in CLASSES and getattr(module, cls.__name__, None) is cls:
            return family
    return None


def describe(transform: Any, depth: int = 0) -> dict[str, Any]:
    cls = type(transform)
    family = _family(cls)
    if family is None or depth > MAX_DEPTH:
        raise NotDescribable(f"it uses {cls.__module__}.{cls.__qualname__}, which the grader does not rebuild "
                             "from a description")
    arguments = {}
    for name, parameter in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if not hasattr(transform, name):
            raise NotDescribable(f"its {cls.__name__} does not keep its argument {name}")
        value = getattr(transform, name)
        if value is None and name in NONE_MEANS.get(cls.__name__, {}):
            value = NONE_MEANS[cls.__name__][name]
        arguments[name] = _encode(value, depth)
    return {"class": f"{family}.{cls.__name__}", "args": arguments}


def _encode(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, InterpolationMode):
        return {"interpolation": value.value}
    if isinstance(value, AutoAugmentPolicy):
        return {"policy": value.value}
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).removeprefix("torch.")}
    if isinstance(value, np.generic):
        return _encode(value.item(), depth)
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return _encode_tensor(torch.as_tensor(value))
    if isinstance(value, (list, tuple, torch.nn.ModuleList)):
        return [_encode(v, depth + 1) for v in value]
    if callable(value):  # a nested transform: described if it is torchvision's, named if not
        return describe(value, depth + 1)
    raise NotDescribable(f"an argument is a {type(value).__name__}, which a description cannot hold")


def _encode_tensor(tensor: torch.Tensor) -> dict[str, Any]:
    dtype = str(tensor.dtype).removeprefix("torch.")
    if dtype not in TENSOR_DTYPES or tensor.numel() > MAX_TENSOR:
        raise NotDescribable(f"an argument is a {dtype} tensor of {tensor.numel()} values, which a description "
                             f"holds only up to {MAX_TENSOR} numbers of {', '.join(TENSOR_DTYPES)}")
    return {"tensor": tensor.detach().cpu().tolist(), "dtype": dtype}


def rebuild(data: Any, depth: int = 0) -> Any:
    """A torchvision pipeline from its description; BadPipeline for anything else."""
    if not isinstance(data, dict) or set(data) != {"class", "args"} or not isinstance(data["args"], dict):
        raise BadPipeline("a transform description is malformed")
    family, _, name = str(data["class"]).partition(".")
    if family not in FAMILIES or name not in CLASSES or depth > MAX_DEPTH:
        raise BadPipeline(f"{str(data['class'])[:80]} is not a torchvision transform the grader rebuilds")
    arguments = {str(k): _decode(v, depth) for k, v in data["args"].items()}
    try:
        return getattr(FAMILIES[family], name)(**arguments)
    except Exception as error:  # noqa: BLE001 - torchvision's own validation of the arguments
        raise BadPipeline(f"{family}.{name} cannot be built from its arguments: {error}") from None


def _decode(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:100]
    if isinstance(value, list):
        return [_decode(v, depth + 1) for v in value]
    if isinstance(value, dict) and set(value) == {"interpolation"}:
        modes = {mode.value: mode for mode in InterpolationMode}
        if value["interpolation"] in modes:
            return modes[value["interpolation"]]
    if isinstance(value, dict) and set(value) == {"policy"}:
        policies = {policy.value: policy for policy in AutoAugmentPolicy}
        if value["policy"] in policies:
            return policies[value["policy"]]
    if isinstance(value, dict) and set(value) == {"dtype"} and value["dtype"] in ("float32", "float64", "uint8"):
        return getattr(torch, value["dtype"])
    if isinstance(value, dict) and set(value) == {"tensor", "dtype"} and value["dtype"] in TENSOR_DTYPES:
        return _decode_tensor(value)
    if isinstance(value, dict) and "class" in value:
        return rebuild(value, depth + 1)
    raise BadPipeline(f"a transform argument cannot be read: {str(value)[:80]}")


def _decode_tensor(value: dict[str, Any]) -> torch.Tensor:
    try:
        tensor = torch.tensor(value["tensor"], dtype=getattr(torch, value["dtype"]))
    except (TypeError, ValueError, RuntimeError):
        raise BadPipeline("a tensor argument holds other than numbers") from None
    if tensor.numel() > MAX_TENSOR:
        raise BadPipeline(f"a tensor argument holds more than {MAX_TENSOR} numbers")
    return tensor


def round_trip(transform: Any, images: list, seed: int = 0) -> dict[str, Any]:
    """The description of `transform`, once its rebuild gives the same outputs under the same seed."""
    data = describe(transform)
    try:
        copy = rebuild(data)
    except BadPipeline as error:
        raise NotDescribable(str(error)) from None
    for image in images:
        seed_draws(seed)
        original = transform(image)
        seed_draws(seed)
        again = copy(image)
        if not (isinstance(original, torch.Tensor) and isinstance(again, torch.Tensor) and torch.equal(original, again)):
            raise NotDescribable("its pipeline, rebuilt from its description, gives other images")
    return data


def seed_draws(seed: int) -> None:
    """Seed every generator a transform draws from: v1's RandomChoice and RandomOrder draw from Python's,
    the rest from torch's."""
    random.seed(seed)
    torch.manual_seed(seed)
