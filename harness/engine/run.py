"""Run one declared experiment: resolve its data and components, train or measure, return a record.

Two levels, as in lm-eval: `run_spec` resolves names (models, augmentations, datasets) and adds
seeds and provenance; `train_run` takes the resolved objects, so a submission's own model and
augmentations can be passed in the same way as the reference's.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

import harness
from harness.engine import data, devices
from harness.engine.batches import Batches
from harness.engine.callbacks import EarlyStopper, History, LRSchedule, Predictions, RunLog
from harness.engine.inputs import Augment, Pipeline, augmentation_path, make_prepare
from harness.engine.lazy import shape_lazy_layers
from harness.engine.objectives import LOSSES, OBJECTIVES
from harness.engine.spec import (
    DemoContext,
    Optimizer,
    Profile,
    Spec,
    TrainSpec,
    dict_hash,
    spec_hash,
    to_dict,
)
from harness.engine.trainer import Callback, evaluate, fit
from harness.store.records import RunRecord

EVAL_BATCH_SIZE = 1000  # eval mode does not depend on the batch size; larger is faster


@dataclass(frozen=True)
class Components:
    """Where model and augmentation names resolve: the reference's registries, or a submission's."""

    models: Mapping[str, Callable[..., nn.Module]]
    augmentations: Mapping[str, Callable[[], Augment]]
    pipelines: Mapping[str, Callable[..., Pipeline]] = field(default_factory=dict)  # (mean, std) -> transform


def reference_components() -> Components:
    from reference.augmentations import AUGMENTATIONS
    from reference.models import MODELS

    return Components(MODELS, AUGMENTATIONS)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def build_optimizer(spec: Optimizer, params) -> torch.optim.Optimizer:
    """The declared optimizer, in torch's fused implementation where it has one (same update rule,
    one kernel for all parameters: a quarter of an MLP step on CPU). On a GPU Adam keeps its step
    count on the device (capturable), so that its step can be captured in a CUDA graph."""
    params = list(params)
    if spec.name == "adam":
        capturable = {"capturable": True} if params and params[0].is_cuda else {}
        make = lambda **fused: torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay,  # noqa: E731
                                                **capturable, **fused)
    elif spec.name == "sgd":
        make = lambda **fused: torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum,  # noqa: E731
                                               weight_decay=spec.weight_decay, **fused)
    else:
        raise ValueError(f"unknown optimizer {spec.name!r}; known: adam, sgd")
    try:
        return make(fused=True)
    except (RuntimeError, TypeError, ValueError):  # an older torch, or a device without the fused kernel
        return make()


def _split_for(spec: TrainSpec, split: data.Split, limit: int | None) -> data.Split:
    split = split.head(limit)
    if spec.positive_from is not None:
        split = data.Split(split.x, (split.y >= spec.positive_from).long())
    return split


def best_metrics(history: list[dict[str, float]]) -> dict[str, float]:
    """Best validation value and its epoch (1-based): highest accuracy, or lowest MAE/MSE/loss."""
    best: dict[str, float] = {}
    for key, better in (("val_accuracy", max), ("val_mae", min), ("val_mse", min), ("val_loss", min)):
        values = [row[key] for row in history if key in row]
        if values:
            value = better(values)
            best[f"best_{key}"] = value
            best[f"best_{key}_epoch"] = values.index(value) + 1
    return best


def loader_workers(device: torch.device, path: str | None) -> int:
    """DataLoader workers for per-sample torchvision augmentation. On a GPU: the CPUs the training
    process leaves idle, up to 8. On the CPU: none, as they take cores from the model (2-core CPU,
    CNN with a per-sample pipeline: 3.9 s an epoch with 1 thread + 1 worker, 2.5 s with 2 threads)."""
    if path != "per-sample torchvision" or device.type != "cuda":
        return 0
    return max(0, min(8, devices.cpus() - 1))


Trained = tuple[list[dict[str, float]], dict[str, float], dict[str, Any]]  # history, summary metrics, arrays


def train_run(
    spec: TrainSpec,
    dataset: data.Dataset,
    *,
    profile: Profile,
    components: Components,
    device: torch.device,
    extra_callbacks: tuple[Callback, ...] = (),
    precision: str = "fp32",
    held_out: bool = False,
) -> Trained:
    """Train `spec` on `dataset`; returns (history, summary metrics, arrays).

    Convolutional models run channels-last (faster convolutions on CPU and GPU, same numbers up to
    float rounding); `precision="bf16"` autocasts forward passes, a named option that changes numerics.
    `held_out`: the test split's labels are not known here (a graded child), so nothing is scored on
    it; arrays["val_outputs"] holds every epoch's eval-mode outputs on it instead (epochs, N, classes)."""
    train_split = _split_for(spec, dataset.train, profile.train_limit.get(spec.dataset))
    test_split = _split_for(spec, dataset.test, profile.test_limit.get(spec.dataset))
    mean, std = _normalization(spec, dataset)
    augment = components.augmentations[spec.inputs.augment]() if spec.inputs.augment else None
    def made(name: str | None) -> Pipeline | None:  # a submission's transform factory, given the statistics
        return components.pipelines[name](list(mean), list(std)) if name else None

    pipeline, val_pipeline = made(spec.inputs.pipeline), made(spec.inputs.val_pipeline)

    seed_everything(spec.seed)
    first = make_prepare(mean=mean, std=std, flatten=spec.inputs.flatten)(train_split.x[:2])
    model, channels_last = _model(spec, components, device, first)
    plain = make_prepare(mean=mean, std=std, flatten=spec.inputs.flatten, channels_last=channels_last)
    path = augmentation_path(augment, pipeline)
    train = Batches(
        train_split, batch_size=spec.batch_size, device=device, shuffle_seed=spec.seed,
        prepare=make_prepare(augment=augment, mean=mean, std=std, flatten=spec.inputs.flatten, pipeline=pipeline,
                             channels_last=channels_last),
        workers=loader_workers(device, path),
    )
    val_prepare = make_prepare(mean=mean, std=std, flatten=spec.inputs.flatten, pipeline=val_pipeline,
                               channels_last=channels_last)
    val = Batches(test_split, batch_size=EVAL_BATCH_SIZE, prepare=val_prepare, device=device)
    task, criterion = OBJECTIVES[spec.task], LOSSES[spec.loss]()
    optimizer = build_optimizer(spec.optimizer, model.parameters())

    predictions = Predictions(val, precision) if held_out else None
    history = History()
    state = fit(model, task=task, criterion=criterion, optimizer=optimizer, train=train,
                val=None if held_out else val, epochs=spec.epochs,
                callbacks=_callbacks(spec, predictions, history, extra_callbacks),
                precision=precision, cuda_graph=device.type == "cuda")

    metrics = {} if held_out else {f"final_val_{k}": v for k, v in evaluate(model, task, criterion, val, precision).items()}
    if spec.evaluate_train:
        train_eval = Batches(train_split, batch_size=EVAL_BATCH_SIZE, prepare=plain, device=device)
        metrics |= {f"final_train_{k}": v for k, v in evaluate(model, task, criterion, train_eval, precision).items()}
    metrics |= best_metrics(history.epochs) | dict(state.notes)
    metrics |= {"epochs_run": state.epoch, "train_s": sum(row["train_s"] for row in history.epochs)}
    metrics["train_samples_per_s"] = len(train) * state.epoch / max(metrics["train_s"], 1e-9)
    arrays = {"normalization": {"mean": list(mean), "std": list(std)}} if mean is not None else {}
    if path:
        arrays["augmentation_path"] = path
    if train.workers:
        arrays["loader_workers"] = train.workers
    arrays["train_step"] = state.step_kind
    if predictions:
        arrays["val_outputs"] = torch.stack(predictions.epochs).numpy()
    return history.epochs, metrics, arrays


def _normalization(spec: TrainSpec, dataset: data.Dataset) -> tuple[Any, Any]:
    """(mean, std) per channel: the training split's ("train"), the declared values, or (None, None)."""
    if spec.inputs.normalize == "train":
        return dataset.normalization()
    if spec.inputs.normalize is not None:
        return spec.inputs.normalize
    return None, None


def _model(spec: TrainSpec, components: Components, device: torch.device,
           first: torch.Tensor) -> tuple[nn.Module, bool]:
    """The declared model on `device`, its lazy layers shaped by the `first` inputs, channels-last when it has
    convolutions (and whether it has)."""
    model = components.models[spec.model](**spec.model_args)
    shape_lazy_layers(model, first)
    model = model.to(device)
    channels_last = any(isinstance(m, nn.Conv2d) for m in model.modules())
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed input shapes: let cuDNN pick its kernels
    return model, channels_last


def _callbacks(spec: TrainSpec, predictions: Predictions | None, history: History,
               extra: tuple[Callback, ...]) -> list[Callback]:
    """In the order they see each epoch: a held-out run's predictions before the history, which
    then logs their `val_s`; the declared schedule and early stopping; the caller's own."""
    callbacks: list[Callback] = [*filter(None, [predictions]), history]
    if spec.scheduler:
        callbacks.append(LRSchedule(spec.scheduler))
    if spec.early_stopping:
        callbacks.append(EarlyStopper(spec.early_stopping))
    return callbacks + list(extra)


def run_spec(
    spec: Spec,
    *,
    profile: Profile,
    data_root: str | os.PathLike | None = None,
    download: bool = True,
    device: torch.device | None = None,
    components: Components | None = None,
    subject: str = "reference",
    progress: bool = False,
    precision: str = "fp32",
) -> RunRecord:
    """Run one experiment and return its record (not yet stored)."""
    device = device or devices.resolve_device("auto")
    components = components or reference_components()
    record = planned_record(spec, profile=profile, subject=subject, precision=precision)
    record.started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    started = time.perf_counter()
    environment = devices.environment(device) | {"precision": precision}
    if spec.dataset:  # the data the run sees (data.load reads a dataset once per process)
        environment["data"] = data.load(spec.dataset, data_root, download=download).provenance(
            profile.train_limit.get(spec.dataset), profile.test_limit.get(spec.dataset))
    if isinstance(spec, TrainSpec):
        effective = profile.apply(spec)
        dataset = data.load(spec.dataset, data_root, download=download)
        extra = (RunLog(spec.id, effective.epochs),) if progress else ()
        record.history, record.metrics, record.arrays = train_run(
            effective, dataset, profile=profile, components=components, device=device,
            extra_callbacks=extra, precision=precision,
        )
    else:
        seed_everything(spec.seed)
        context = DemoContext(device=device, load=lambda name: data.load(name, data_root, download=download))
        measurement = spec.function(context, **spec.params)
        record.metrics, record.arrays = measurement.metrics, measurement.arrays
    record.environment = environment
    record.wall_s = time.perf_counter() - started
    return record


def planned_record(spec: Spec, *, profile: Profile, subject: str = "reference", precision: str = "fp32") -> RunRecord:
    """A record with only its identity filled: enough for `Store.find` to say whether it is done.
    A bf16 run is a different run: its precision is part of the stored spec and of its hash."""
    effective = profile.apply(spec) if isinstance(spec, TrainSpec) else spec
    record = RunRecord(
        experiment=spec.id, kind=spec.kind, subject=subject, profile=profile.name, seed=spec.seed,
        spec=to_dict(effective), spec_hash=spec_hash(effective), harness_version=harness.__version__,
    )
    if precision != "fp32" and isinstance(spec, TrainSpec):
        record.spec["precision"] = precision
        record.spec_hash = dict_hash(record.spec)
    return record
