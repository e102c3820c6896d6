"""Lazy layers, as a student may write the head (nn.LazyLinear(10)): shaped from a first batch, as the student's
own loop would shape them, before the trainer converts the model or torch.export traces it."""

import dataclasses
import math

import torch
import torchvision.transforms as T
from torch import nn

from harness.engine import data
from harness.engine.lazy import shape_lazy_layers
from harness.engine.run import Components, train_run
from harness.engine.spec import PROFILES
from harness.grading import coursework
from reference.models import CNNModel

VALIDATION = lambda mean, std: T.Compose([T.ToTensor(), T.Normalize(mean, std)])  # noqa: E731


class LazyHead(CNNModel):
    def __init__(self, **arguments):
        super().__init__(**arguments)
        self.classifier[-1] = nn.LazyLinear(10)


def test_shaping_gives_the_lazy_layers_their_shapes_and_changes_nothing_else():
    model = LazyHead(use_batchnorm=True, use_dropout=True)
    shape_lazy_layers(model, torch.randn(2, 3, 32, 32))
    assert model.classifier[-1].weight.shape == (10, 256) and model.training
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(int(m.num_batches_tracked) == 0 and not m.running_mean.any() for m in norms)


def test_a_model_with_a_lazy_head_trains(synth_root):
    spec = dataclasses.replace(PROFILES["quick"].apply(coursework.submission_spec("cw_batchnorm", dropout_rate=0.3)),
                               epochs=1)
    dataset = data.load("cifar10", synth_root, download=False)
    dataset = data.Dataset("cifar10", dataset.train.head(200), dataset.test.head(100), synth_root, True,
                           dataset.normalization())
    history, metrics, _ = train_run(spec, dataset, profile=PROFILES["quick"], device=torch.device("cpu"),
                                    components=Components(models={"student_cnn": LazyHead}, augmentations={},
                                                          pipelines={"val_transform": VALIDATION}))
    assert len(history) == 1 and math.isfinite(history[0]["loss"]) and 0 <= metrics["best_val_accuracy"] <= 1
