"""The notebook's non-training demonstrations, as measurements for the store.

Each function takes a `DemoContext` (plus its declared parameters) and returns a `Measurement`;
the global RNG is already seeded by the runner.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torchvision import transforms as T

from harness.engine.data import train_statistics
from harness.engine.spec import DemoContext
from harness.store.records import Measurement


def _histogram(values: torch.Tensor, edges: np.ndarray) -> dict[str, list[float]]:
    counts, _ = np.histogram(values.detach().cpu().numpy().ravel(), bins=edges)
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def initializer_normal(ctx: DemoContext, *, std: float = 0.05) -> Measurement:
    """Linear(784, 512) with weights ~ N(0, std) and zero bias."""
    layer = nn.Linear(784, 512)
    nn.init.normal_(layer.weight, mean=0.0, std=std)
    nn.init.zeros_(layer.bias)
    w = layer.weight.detach()
    return Measurement(
        metrics={
            "weight_mean": w.mean().item(),
            "weight_std": w.std().item(),
            "expected_std": std,
            "bias_abs_max": layer.bias.detach().abs().max().item(),
        },
        arrays={"weight_histogram": _histogram(w, np.linspace(-5 * std, 5 * std, 51))},
    )


def initializer_default(ctx: DemoContext) -> Measurement:
    """PyTorch's default Linear init: weights and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    layer = nn.Linear(784, 512)
    bound = 1 / math.sqrt(784)
    w, b = layer.weight.detach(), layer.bias.detach()
    return Measurement(
        metrics={
            "bound": bound,
            "weight_min": w.min().item(),
            "weight_max": w.max().item(),
            "weight_std": w.std().item(),
            "expected_std": bound / math.sqrt(3),  # std of U(-a, a) is a / sqrt(3)
            "bias_min": b.min().item(),
            "bias_max": b.max().item(),
        },
        arrays={"weight_histogram": _histogram(w, np.linspace(-1.25 * bound, 1.25 * bound, 51))},
    )


def dropout_layer(ctx: DemoContext, *, p: float = 0.3, features: int = 512) -> Measurement:
    """Dropout(p) on a U[0,1) (1, features) input: fraction zeroed, survivors scaled by 1/(1-p)."""
    x = torch.rand(1, features)
    layer = nn.Dropout(p)
    y = layer.train()(x)
    kept = y != 0
    eval_change = (layer.eval()(x) - x).abs().max().item()
    return Measurement(
        metrics={
            "p": p,
            "drop_fraction": 1.0 - kept.float().mean().item(),
            "drop_fraction_sd": math.sqrt(p * (1 - p) / features),  # binomial sd of the fraction
            "scaling": (y[kept].sum() / x[kept].sum()).item(),
            "expected_scaling": 1 / (1 - p),
            "eval_max_abs_change": eval_change,
        }
    )


def batchnorm_stats(ctx: DemoContext, *, batch: int = 512, size: int = 10) -> Measurement:
    """BatchNorm2d(1) on U[0,1) input of shape (batch, 1, size, size): train mode gives mean 0 /
    var 1 and updates the running statistics; eval mode normalizes with those running statistics."""
    x = torch.rand(batch, 1, size, size)
    bn = nn.BatchNorm2d(1)
    train_out = bn.train()(x)
    eval_out = bn.eval()(x)
    expected_eval = (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
    return Measurement(
        metrics={
            "input_mean": x.mean().item(),
            "input_var": x.var().item(),
            "train_output_mean": train_out.mean().item(),
            "train_output_var": train_out.var().item(),
            # one update with momentum 0.1 from (0, 1): 0.1 * batch mean, 0.9 + 0.1 * unbiased var
            "running_mean": bn.running_mean.item(),
            "expected_running_mean": 0.1 * x.mean().item(),
            "running_var": bn.running_var.item(),
            "expected_running_var": 0.9 + 0.1 * x.var().item(),
            "eval_output_mean": eval_out.mean().item(),
            "eval_output_var": eval_out.var().item(),
            "eval_max_error_vs_running_stats": (eval_out - expected_eval).abs().max().item(),
        }
    )


def instancenorm_stats(ctx: DemoContext, *, shape: tuple[int, ...] = (2048, 1, 32, 32)) -> Measurement:
    """InstanceNorm2d(affine=False): every sample's own mean 0 and variance 1."""
    x = torch.rand(shape)
    y = nn.InstanceNorm2d(shape[1], affine=False).train()(x)

    def per_sample(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return t.mean(dim=(2, 3)).flatten(), t.var(dim=(2, 3), unbiased=False).flatten()

    in_mean, in_var = per_sample(x)
    out_mean, out_var = per_sample(y)
    mean_edges = np.arange(-0.01, 0.55 + 0.01, 0.01)  # the notebook's bins
    var_edges = np.arange(0.05, 1.05 + 0.015, 0.015)
    return Measurement(
        metrics={
            "input_mean_of_means": in_mean.mean().item(),
            "input_mean_of_vars": in_var.mean().item(),
            "output_max_abs_mean": out_mean.abs().max().item(),
            "output_min_var": out_var.min().item(),
            "output_max_var": out_var.max().item(),
        },
        arrays={
            "input_means": _histogram(in_mean, mean_edges),
            "output_means": _histogram(out_mean, mean_edges),
            "input_vars": _histogram(in_var, var_edges),
            "output_vars": _histogram(out_var, var_edges),
        },
    )


GALLERY = {
    "original": None,
    "rotation_45": lambda: T.RandomRotation(degrees=45),
    "shift_0.2": lambda: T.RandomAffine(degrees=0, translate=(0.2, 0.2)),
    "zoom_0.8_1.2": lambda: T.RandomAffine(degrees=0, scale=(0.8, 1.2)),
    "flips": lambda: T.Compose([T.RandomHorizontalFlip(p=0.5), T.RandomVerticalFlip(p=0.5)]),
}


def augmentation_gallery(ctx: DemoContext, *, count: int = 5) -> Measurement:
    """The notebook's augmentations on the first `count` MNIST training images."""
    images = ctx.load("mnist").train.x[:count]
    metrics, arrays = {}, {}
    for name, make in GALLERY.items():
        out = images if make is None else torch.stack([make()(img) for img in images])
        arrays[name] = out.squeeze(1).tolist()
        metrics[f"{name}_changed_pixel_fraction"] = (out != images).float().mean().item()
    return Measurement(metrics=metrics, arrays=arrays)


def _moments(x: torch.Tensor) -> tuple[float, float]:
    x = x.double()
    return x.mean().item(), x.std(unbiased=False).item()


def normalization_stats(ctx: DemoContext) -> Measurement:
    """MNIST mean/std from the training set, and both splits normalized with those values.

    The notebook's test-statistics cell loads the training set by mistake; here the test
    statistics are the test set's own.
    """
    dataset = ctx.load("mnist")
    (mean,), (std,) = train_statistics(dataset.train)
    metrics = {"train_mean": mean, "train_std": std}
    for split_name, split in (("train", dataset.train), ("test", dataset.test)):
        scaled = split.x.float() / 255.0
        raw_mean, raw_std = _moments(scaled)
        norm_mean, norm_std = _moments((scaled - mean) / std)
        metrics |= {
            f"{split_name}_raw_mean": raw_mean,
            f"{split_name}_raw_std": raw_std,
            f"{split_name}_normalized_mean": norm_mean,
            f"{split_name}_normalized_std": norm_std,
        }
    note = "test statistics are computed on the test set (the notebook's cell reads the train set)"
    return Measurement(metrics=metrics, arrays={"note": note})


def channel_stats(ctx: DemoContext) -> Measurement:
    """CIFAR-10 per-channel mean/std of the training set, used to normalize both splits."""
    mean, std = train_statistics(ctx.load("cifar10").train)
    metrics = {f"mean_{c}": v for c, v in zip("rgb", mean)}
    metrics |= {f"std_{c}": v for c, v in zip("rgb", std)}
    return Measurement(metrics=metrics)
