"""Experiments as frozen declarations, and the profiles that scale them down.

A `TrainSpec` says everything one training run needs (data, inputs, model, loss, optimizer,
schedule, stopping, seed); one trainer runs any of them. A `DemoSpec` names a measurement
function (initializer statistics, dropout scaling, ...) whose numbers go to the same store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Union

TaskName = Literal["multiclass", "binary", "regression"]
LossName = Literal["cross_entropy", "bce_with_logits", "l1", "mse"]


@dataclass(frozen=True)
class Optimizer:
    name: Literal["adam", "sgd"]
    lr: float = 1e-3  # learning rate; torch's Adam default is 1e-3
    weight_decay: float = 0.0  # L2 coefficient passed to the optimizer
    momentum: float = 0.0  # SGD only


@dataclass(frozen=True)
class Scheduler:
    """An epoch-level LR scheduler: 'step' (StepLR) or 'plateau' (ReduceLROnPlateau on `monitor`)."""

    name: Literal["step", "plateau"]
    params: Mapping[str, Any] = field(default_factory=dict)  # torch's keyword arguments
    monitor: str | None = None  # history key the plateau scheduler watches, e.g. 'val_loss'


@dataclass(frozen=True)
class EarlyStopping:
    monitor: str = "val_accuracy"
    patience: int = 4  # epochs without strict improvement before stopping
    mode: Literal["max", "min"] = "max"
    restore_best: bool = True


@dataclass(frozen=True)
class Inputs:
    """How stored samples become model inputs: augment (train only), scale, normalize, flatten."""

    augment: str | None = None  # name in reference.augmentations, applied per sample on uint8
    pipeline: str | None = None  # a submission's full transform (PIL image -> normalized tensor), train split
    # the same for the validation split; added after runs were stored, so stored only when set (their hash stays)
    val_pipeline: str | None = field(default=None, metadata={"stored": "when set"})
    normalize: tuple[tuple[float, ...], tuple[float, ...]] | Literal["train"] | None = None
    flatten: bool = False  # (N, C, H, W) -> (N, C*H*W) for the MLPs


@dataclass(frozen=True)
class Shown:
    """Where the reference page shows a run beyond its own section. Like `Graded`, not part of what
    the run computes: left out of the stored spec and its hash."""

    table: Literal["regression", "weight_decay"] | None = None  # a table comparing the runs declared in it
    label: str = ""  # the run's row there, where the table names its rows
    figure: Literal["histogram", "moments", "gallery"] | None = None  # how a demo's measurement is drawn
    compare: str = ""  # the title of the notebook's comparison the run is drawn in, on shared axes with the others


@dataclass(frozen=True)
class Graded:
    """The role of a coursework run that every submission reproduces with its own CNNModel. A role
    is not part of what the run computes: it is left out of the stored spec and its hash."""

    claim: str | None = None  # its name in a manifest's [claims]; None: not claimed
    pipeline: str | None = None  # the student's transform factory it trains with (augmentations.py)
    figure: Literal["curves", "sgd"] | None = None  # on the student's page: training curves, or the SGD figure


@dataclass(frozen=True)
class TrainSpec:
    id: str
    title: str
    group: Literal["tutorial", "coursework"]
    dataset: Literal["mnist", "cifar10", "california"]
    task: TaskName
    model: str  # name in reference.models.MODELS
    loss: LossName
    optimizer: Optimizer
    epochs: int
    batch_size: int
    model_args: Mapping[str, Any] = field(default_factory=dict)
    inputs: Inputs = Inputs()
    scheduler: Scheduler | None = None
    early_stopping: EarlyStopping | None = None
    evaluate_train: bool = False  # also evaluate the final model on the training set (eval mode)
    positive_from: int | None = None  # binary task: labels >= this are the positive class
    seed: int = 42
    kind: Literal["train"] = "train"
    graded: Graded | None = field(default=None, metadata={"stored": False})
    shown: Shown | None = field(default=None, metadata={"stored": False})


@dataclass(frozen=True)
class DemoSpec:
    id: str
    title: str
    group: Literal["tutorial", "coursework"]
    function: Callable[..., Any]  # (DemoContext, **params) -> Measurement
    params: Mapping[str, Any] = field(default_factory=dict)
    dataset: str | None = None
    seed: int = 42
    kind: Literal["demo"] = "demo"
    shown: Shown | None = field(default=None, metadata={"stored": False})


Spec = Union[TrainSpec, DemoSpec]


@dataclass(frozen=True)
class DemoContext:
    """What a demo function may use: the device and a dataset loader bound to the data root."""

    device: Any  # torch.device
    load: Callable[[str], Any]  # dataset name -> harness.engine.data.Dataset


def seeded(spec: TrainSpec, k: int) -> TrainSpec:
    """The k-th seed of an experiment (k = 0 is the declared seed): the reference's band, a claim's extra
    reproductions."""
    return dataclasses.replace(spec, seed=spec.seed + k)


def _stored(rule: bool | str, value: Any) -> bool:
    """A field's `stored` metadata: True (always), False (a role, not what the run computes), or
    'when set' (a field added later: left out at its default, so earlier runs keep their hash)."""
    return rule is True or (rule == "when set" and value is not None)


def to_dict(spec: Spec) -> dict[str, Any]:
    """A JSON-able view of a spec (functions by qualified name)."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                    if _stored(f.metadata.get("stored", True), getattr(value, f.name))}
        if callable(value):
            return f"{value.__module__}.{value.__qualname__}"
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        return value

    return plain(spec)


def spec_hash(spec: Spec) -> str:
    return dict_hash(to_dict(spec))


def dict_hash(values: dict) -> str:
    """A short, stable hash of a JSON-able declaration: the store's key for 'the same run'."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Profile:
    """How much of an experiment to run. `full` is the notebook; `quick` is a documented subset."""

    name: str
    description: str
    max_epochs: int | None = None  # cap on every run's epochs
    train_limit: Mapping[str, int] = field(default_factory=dict)  # dataset -> first N train samples
    test_limit: Mapping[str, int] = field(default_factory=dict)  # dataset -> first N test samples

    def apply(self, spec: TrainSpec) -> TrainSpec:
        if self.max_epochs is None or spec.epochs <= self.max_epochs:
            return spec
        return dataclasses.replace(spec, epochs=self.max_epochs)


PROFILES: dict[str, Profile] = {
    "full": Profile("full", "the notebook: full datasets and its epochs"),
    "check": Profile(
        "check",
        "a student's self-check: 1 epoch; CIFAR-10 first 1,000 train / 500 test images",
        max_epochs=1,
        train_limit={"mnist": 2_000, "cifar10": 1_000},
        test_limit={"mnist": 500, "cifar10": 500},
    ),
    "quick": Profile(
        "quick",
        "at most 3 epochs; MNIST first 10,000 train / 2,000 test images; "
        "CIFAR-10 first 2,000 train / 500 test images; California housing whole",
        max_epochs=3,
        train_limit={"mnist": 10_000, "cifar10": 2_000},
        test_limit={"mnist": 2_000, "cifar10": 500},
    ),
}
