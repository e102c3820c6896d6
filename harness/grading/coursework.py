"""A submission's coursework runs: the reference's declarations with the student's parts swapped in.

Same data, optimizer, batch size, epochs and seed as the reference; the model is the student's
CNNModel (dropout at the rate their manifest declares) and the augmentation runs use the student's
own transforms.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType

from harness.engine.run import Components
from harness.engine.spec import Inputs, TrainSpec
from harness.grading.contract import CLAIMED_RUNS

PIPELINES = {"cw_aug1": "train_transform_1", "cw_aug2": "train_transform_2"}
RUNS = tuple(CLAIMED_RUNS.values()) + ("cw_sgd_3e-3", "cw_sgd_1e-3", "cw_sgd_3e-4")


def submission_spec(experiment: str, *, dropout_rate: float) -> TrainSpec:
    from reference.experiments import EXPERIMENTS

    if experiment not in RUNS:
        raise ValueError(f"{experiment!r} is not a coursework run; the runs are {', '.join(RUNS)}")
    reference = EXPERIMENTS[experiment]
    model_args = dict(reference.model_args)
    if model_args.get("use_dropout"):
        model_args["dropout_rate"] = dropout_rate
    inputs = Inputs(pipeline=PIPELINES.get(experiment), normalize="train")
    return dataclasses.replace(reference, model="student_cnn", model_args=model_args, inputs=inputs)


def submission_components(model_module: ModuleType, augment_module: ModuleType) -> Components:
    return Components(
        models={"student_cnn": model_module.CNNModel},
        augmentations={},
        pipelines={name: getattr(augment_module, name) for name in PIPELINES.values()},
    )
