"""A graded run's test labels stay with the grader: the sandboxed child predicts, the grader scores.

The child gets the training split whole and the test images without their labels, in an order each
grading process draws afresh from the operating system's randomness (no seed the child could know).
After every epoch the child hands back its eval-mode outputs on those images; the process that ran
it puts them back in the test set's order and scores them against the labels it kept. A submission
that rewrites the harness's evaluation from inside its child therefore changes nothing it is graded
on: nothing the child says about validation is read. (A submission could still carry CIFAR-10's
public test labels and look each image up by its pixels; no grader of a public test set can rule
that out, and it is plain to see in the code.)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from harness.engine import data
from harness.engine.objectives import LOSSES, OBJECTIVES
from harness.engine.trainer import mean_metrics

UNKNOWN_LABEL = -1  # the child's test labels: no loss accepts it, so a run that scores with it fails loudly


@dataclass(frozen=True)
class Handover:
    path: Path  # the .npz the child reads: training split, test images in `order`, no test labels
    order: np.ndarray  # the child's test image i is the test split's image order[i]
    labels: torch.Tensor  # the test labels, in the test split's order
    data: dict  # the provenance of the part handed over (`Dataset.provenance`), for the runs' records


def write(dataset: data.Dataset, path: Path, *, train_limit: int | None, test_limit: int | None) -> Handover:
    """The part of `dataset` a run uses, as a plain .npz (read back with allow_pickle=False)."""
    train, test = dataset.train.head(train_limit), dataset.test.head(test_limit)
    order = np.random.default_rng(secrets.randbits(128)).permutation(len(test))
    mean, std = dataset.normalization()
    np.savez(path, train_x=train.x.numpy(), train_y=train.y.numpy(), test_x=test.x.numpy()[order],
             mean=np.array(mean), std=np.array(std), synthetic=np.array(dataset.synthetic))
    return Handover(path, order, test.y.clone(), dataset.provenance(train_limit, test_limit))


def read(name: str, path: Path) -> data.Dataset:
    """What the child trains on: its test split's labels are all UNKNOWN_LABEL."""
    with np.load(path, allow_pickle=False) as arrays:
        train = data.Split(torch.from_numpy(arrays["train_x"]), torch.from_numpy(arrays["train_y"]))
        test_x = torch.from_numpy(arrays["test_x"])
        test = data.Split(test_x, torch.full((len(test_x),), UNKNOWN_LABEL, dtype=torch.long))
        stats = (tuple(arrays["mean"].tolist()), tuple(arrays["std"].tolist()))
        return data.Dataset(name, train, test, path, bool(arrays["synthetic"]), stats)


def score(outputs: np.ndarray | None, handover: Handover, *, task: str, loss: str) -> list[dict[str, float]]:
    """Each epoch's val_loss and val metrics of the child's outputs (epochs, test images, classes),
    scored in the test split's order. ValueError when the outputs are not such an array."""
    n = len(handover.order)
    if outputs is None or outputs.dtype != np.float32 or outputs.ndim != 3 or outputs.shape[1] != n:
        shape = "none" if outputs is None else f"{outputs.dtype} {outputs.shape}"
        raise ValueError(f"the run's test outputs are {shape}, not float32 (epochs, {n}, classes)")
    restored = torch.empty(outputs.shape, dtype=torch.float32)
    restored[:, torch.from_numpy(handover.order)] = torch.from_numpy(outputs)
    rule, criterion = OBJECTIVES[task], LOSSES[loss]()
    try:
        return [{f"val_{k}": v for k, v in mean_metrics(rule, criterion, epoch, handover.labels).items()}
                for epoch in restored]
    except (RuntimeError, IndexError) as error:  # outputs of another width than the task's classes
        raise ValueError(f"the run's test outputs cannot be scored: {str(error).splitlines()[0]}") from None
