"""Every experiment of the notebook, with its hyperparameters, registered by id.

Where the notebook differs from run to run only by accident, the declarations are uniform and
say so: every run is seeded with 42 (the notebook's weight-decay loop seeds once for both runs and
its ReduceLROnPlateau cell not at all), and the LR history records the rate in effect during each
epoch (the notebook appends it after stepping the scheduler).
"""

from __future__ import annotations

import dataclasses

from harness.engine.spec import (
    DemoSpec,
    EarlyStopping,
    Graded,
    Inputs,
    Optimizer,
    Scheduler,
    Shown,
    Spec,
    TrainSpec,
)
from harness.registry import Registry
from reference import demos

MNIST_FLAT = Inputs(flatten=True)  # ToTensor + flatten, the notebook's default transform
MNIST_MEAN, MNIST_STD = 0.13066, 0.30811  # the constants of the notebook's combined-augmentation cell
# the notebook's comparisons, each drawn on the reference page with its runs on shared axes
OPTIMIZERS = "Optimizers: Adam at two learning rates"
LOSSES = "Losses: binary cross-entropy against multiclass cross-entropy"
SCHEDULES = "Learning-rate schedules: StepLR against ReduceLROnPlateau"
COURSEWORK_RUNS = "Coursework: the given CNN with augmentation, dropout, batch norm and zero init"
SGD = "Coursework: SGD at three learning rates"


def mnist_mlp(id: str, title: str, **overrides) -> TrainSpec:
    """The notebook's `get_data_model` setting: SimpleMLP, CrossEntropy, Adam 1e-3, batch 100, 10 epochs."""
    base = TrainSpec(
        id=id, title=title, group="tutorial", dataset="mnist", task="multiclass",
        model="simple_mlp", loss="cross_entropy", optimizer=Optimizer("adam", lr=1e-3),
        epochs=10, batch_size=100, inputs=MNIST_FLAT,
    )
    return dataclasses.replace(base, **overrides)


def regression(id: str, title: str, loss: str, label: str) -> TrainSpec:
    """The notebook's California-housing regressor; `label` names it in the page's MAE/MSE cross table."""
    return TrainSpec(
        id=id, title=title, group="tutorial", dataset="california", task="regression",
        model="regressor", loss=loss, optimizer=Optimizer("adam", lr=3e-4), epochs=100, batch_size=32,
        shown=Shown(table="regression", label=label, compare="Regression: MAE-trained against MSE-trained"),
    )


def norm_comparison(id: str, title: str, norm: str | None, label: str) -> TrainSpec:
    return mnist_mlp(id, title, model="norm_mlp", model_args={"norm": norm}, batch_size=128,
                     shown=Shown(compare="Normalization: a sigmoid MLP without, with BatchNorm, with LayerNorm", label=label))


TUTORIAL: list[Spec] = [
    mnist_mlp("optim_adam_1e-3", "Optimizers: Adam lr 1e-3", shown=Shown(compare=OPTIMIZERS, label="Adam lr 1e-3")),
    mnist_mlp("optim_adam_3e-4", "Optimizers: Adam lr 3e-4", optimizer=Optimizer("adam", lr=3e-4),
              shown=Shown(compare=OPTIMIZERS, label="Adam lr 3e-4")),
    DemoSpec("init_normal", "Initializers: Linear(784,512) weights N(0, 0.05), zero bias",
             "tutorial", demos.initializer_normal, {"std": 0.05}, shown=Shown(figure="histogram")),
    DemoSpec("init_default", "Initializers: PyTorch default U(-1/sqrt(fan_in), +1/sqrt(fan_in))",
             "tutorial", demos.initializer_default, shown=Shown(figure="histogram")),
    mnist_mlp("loss_binary", "Loss: binary digit>=5, BCEWithLogits, batch 32, 3 epochs",
              task="binary", loss="bce_with_logits", model_args={"outputs": 1}, positive_from=5,
              batch_size=32, epochs=3, shown=Shown(compare=LOSSES, label="binary (digit >= 5), BCEWithLogits")),
    mnist_mlp("loss_multiclass", "Loss: multiclass CrossEntropy, 3 epochs", epochs=3,
              shown=Shown(compare=LOSSES, label="multiclass, CrossEntropy")),
    regression("regression_l1", "Regression: California housing, trained with L1 (MAE)", "l1", "MAE-trained (L1)"),
    regression("regression_mse", "Regression: California housing, trained with MSE", "mse", "MSE-trained"),
    mnist_mlp("weight_decay_1e-3", "Weight decay 0.001", evaluate_train=True,
              shown=Shown(table="weight_decay", compare="Weight decay: 0.001 against none", label="weight decay 0.001"),
              optimizer=Optimizer("adam", lr=1e-3, weight_decay=1e-3)),
    mnist_mlp("weight_decay_0", "Weight decay 0.0", evaluate_train=True,
              shown=Shown(table="weight_decay", compare="Weight decay: 0.001 against none", label="no weight decay")),
    DemoSpec("dropout_layer", "Dropout(0.3) on a random (1,512) input: drop fraction and scaling",
             "tutorial", demos.dropout_layer, {"p": 0.3, "features": 512}),
    mnist_mlp("dropout_none", "Dropout comparison: plain MLP, Adam default",
              shown=Shown(compare="Dropout: Dropout(0.3) against none", label="no dropout")),
    mnist_mlp("dropout_0.3", "Dropout comparison: Dropout(0.3) after each hidden ReLU",
              model="mlp_dropout", model_args={"p": 0.3}, shown=Shown(compare="Dropout: Dropout(0.3) against none", label="Dropout(0.3)")),
    DemoSpec("batchnorm_stats", "BatchNorm2d on U[0,1) (512,1,10,10): train and eval statistics",
             "tutorial", demos.batchnorm_stats),
    DemoSpec("instancenorm_stats", "InstanceNorm2d on U[0,1) (2048,1,32,32): per-sample statistics",
             "tutorial", demos.instancenorm_stats, shown=Shown(figure="moments")),
    norm_comparison("norm_none", "Normalization: sigmoid MLP, no normalization", None, "none"),
    norm_comparison("norm_batch", "Normalization: sigmoid MLP with BatchNorm1d", "batch", "BatchNorm1d"),
    norm_comparison("norm_layer", "Normalization: sigmoid MLP with LayerNorm (notebook: 'instance')", "layer", "LayerNorm"),
    mnist_mlp("early_stopping", "Early stopping: patience 4 on val accuracy, best weights restored",
              epochs=20, early_stopping=EarlyStopping("val_accuracy", patience=4),
              shown=Shown(compare="Early stopping: patience 4 on validation accuracy", label="early stopping")),
    mnist_mlp("lr_step", "LR schedule: StepLR(step_size 3, gamma 0.1)",
              scheduler=Scheduler("step", {"step_size": 3, "gamma": 0.1}),
              shown=Shown(compare=SCHEDULES, label="StepLR")),
    mnist_mlp("lr_plateau", "LR schedule: ReduceLROnPlateau on val loss",
              scheduler=Scheduler("plateau", {"mode": "min", "factor": 0.2, "patience": 1,
                                              "threshold": 0.01, "min_lr": 1e-5}, monitor="val_loss"),
              shown=Shown(compare=SCHEDULES, label="ReduceLROnPlateau")),
    DemoSpec("augmentation_gallery", "Augmentations on the first five MNIST training images",
             "tutorial", demos.augmentation_gallery, dataset="mnist", shown=Shown(figure="gallery")),
    DemoSpec("normalization_stats", "MNIST mean/std from the train set; normalized train and test",
             "tutorial", demos.normalization_stats, dataset="mnist"),
    mnist_mlp("aug_combined", "Combined augmentation: rotation 15, shift 0.1, h-flip, normalized",
              inputs=Inputs(augment="mnist_combined", normalize=((MNIST_MEAN,), (MNIST_STD,)), flatten=True),
              shown=Shown(compare="Data augmentation: rotation, shift and flip", label="augmented")),
]


def coursework(id: str, title: str, *, model_args=None, augment=None, optimizer=None, graded=None,
               compare: str = COURSEWORK_RUNS) -> TrainSpec:
    """The coursework default: the given CNN, Adam 3e-4, batch 64, 40 epochs, train-set normalization.
    `graded`: its role when every submission reproduces it."""
    return TrainSpec(
        id=id, title=title, group="coursework", dataset="cifar10", task="multiclass", model="cnn",
        loss="cross_entropy", optimizer=optimizer or Optimizer("adam", lr=3e-4), epochs=40,
        batch_size=64, model_args=model_args or {}, inputs=Inputs(augment=augment, normalize="train"),
        graded=graded, shown=Shown(compare=compare, label=id.removeprefix("cw_")),
    )


REFERENCE_DROPOUT = {"use_dropout": True, "dropout_rate": 0.3}  # the given placement, rate 0.3

COURSEWORK: list[Spec] = [
    DemoSpec("cw_channel_stats", "CIFAR-10 per-channel mean/std of the training set",
             "coursework", demos.channel_stats, dataset="cifar10"),
    coursework("cw_baseline", "Baseline: given CNN, no augmentation",
               graded=Graded(claim="baseline", figure="curves")),
    coursework("cw_aug1", "Augmentation strategy 1 (flip + padded crop)", augment="cifar_strategy_1",
               graded=Graded(claim="aug1", pipeline="train_transform_1", figure="curves")),
    coursework("cw_aug2", "Augmentation strategy 2 (adds affine + colour jitter)", augment="cifar_strategy_2",
               graded=Graded(claim="aug2", pipeline="train_transform_2", figure="curves")),
    coursework("cw_dropout", "Baseline + Dropout2d(0.3) after each block, Dropout before Linear",
               model_args=REFERENCE_DROPOUT, graded=Graded(claim="dropout")),
    coursework("cw_batchnorm", "Baseline + BatchNorm2d after each conv", model_args={"use_batchnorm": True},
               graded=Graded(claim="batchnorm")),
    coursework("cw_bn_dropout", "Baseline + BatchNorm + Dropout", model_args={"use_batchnorm": True, **REFERENCE_DROPOUT},
               graded=Graded(claim="bn_dropout")),
    coursework("cw_zeros_init", "Zeros initialization of the conv layers", model_args={"init_mode": "zeros"},
               graded=Graded(claim="zeros_init")),
    coursework("cw_sgd_3e-3", "SGD lr 3e-3", optimizer=Optimizer("sgd", lr=3e-3), graded=Graded(figure="sgd"),
               compare=SGD),
    coursework("cw_sgd_1e-3", "SGD lr 1e-3", optimizer=Optimizer("sgd", lr=1e-3), graded=Graded(figure="sgd"),
               compare=SGD),
    coursework("cw_sgd_3e-4", "SGD lr 3e-4", optimizer=Optimizer("sgd", lr=3e-4), graded=Graded(figure="sgd"),
               compare=SGD),
]
# The coursework runs every submission reproduces, in the order the gradebook and the pages list them
GRADED: tuple[TrainSpec, ...] = tuple(spec for spec in COURSEWORK if isinstance(spec, TrainSpec) and spec.graded)

EXPERIMENTS: Registry[Spec] = Registry(
    "experiment",
    [(spec.id, spec) for spec in TUTORIAL + COURSEWORK],
    hint=" `harness reference --list` shows every experiment.",
)
