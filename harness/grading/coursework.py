"""A submission's coursework runs: the reference's declarations with the student's parts swapped in.

Same data, optimizer, batch size, epochs and seed as the reference; the model is the student's
CNNModel (dropout at the rate their manifest declares) and the augmentation runs use the student's
own transforms; every run's validation goes through the student's val_transform.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType

from harness.engine.run import Components
from harness.engine.spec import Inputs, TrainSpec
from reference.experiments import EXPERIMENTS, GRADED

RUNS = tuple(spec.id for spec in GRADED)
PIPELINES = {spec.id: spec.graded.pipeline for spec in GRADED if spec.graded.pipeline}
VALIDATION = "val_transform"  # every run validates through the student's own, as the notebook's test loader does
SEEDS = {spec.id: spec.seed for spec in GRADED}  # each run's declared seed; extra reproductions take the next ones


def submission_spec(experiment: str, *, dropout_rate: float) -> TrainSpec:
    if experiment not in RUNS:
        raise ValueError(f"{experiment!r} is not a coursework run; the runs are {', '.join(RUNS)}")
    reference = EXPERIMENTS[experiment]
    model_args = dict(reference.model_args)
    if model_args.get("use_dropout"):
        model_args["dropout_rate"] = dropout_rate
    inputs = Inputs(pipeline=PIPELINES.get(experiment), val_pipeline=VALIDATION, normalize="train")
    return dataclasses.replace(reference, model="student_cnn", model_args=model_args, inputs=inputs)


def submission_components(model_module: ModuleType, augment_module: ModuleType) -> Components:
    return Components(
        models={"student_cnn": model_module.CNNModel},
        augmentations={},
        pipelines={name: getattr(augment_module, name) for name in (*PIPELINES.values(), VALIDATION)},
    )
