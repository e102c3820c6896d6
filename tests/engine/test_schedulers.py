"""LR schedules against their closed forms; the history holds the LR in effect during each epoch."""

import pytest
import torch
from torch import nn

from harness.engine.callbacks import LRSchedule
from harness.engine.run import run_spec
from harness.engine.spec import Profile, Scheduler
from harness.engine.trainer import FitState
from reference.experiments import EXPERIMENTS

FULL_EPOCHS = Profile("test-full", "generated data, the notebook's epochs")
PLATEAU = EXPERIMENTS["lr_plateau"].scheduler.params


def step_closed_form(epochs, lr0=1e-3, step_size=3, gamma=0.1):
    return [lr0 * gamma ** ((epoch - 1) // step_size) for epoch in range(1, epochs + 1)]


def plateau_closed_form(losses, lr0=1e-3, factor=0.2, patience=1, threshold=0.01, min_lr=1e-5):
    """ReduceLROnPlateau(mode=min, threshold_mode=rel, cooldown=0), written out."""
    lrs, lr, best, bad = [], lr0, float("inf"), 0
    for loss in losses:
        lrs.append(lr)
        if loss < best * (1 - threshold):
            best, bad = loss, 0
        else:
            bad += 1
        if bad > patience:
            lr, bad = max(lr * factor, min_lr), 0
    return lrs


def test_steplr_experiment_follows_the_closed_form(synth_root):
    record = run_spec(EXPERIMENTS["lr_step"], profile=FULL_EPOCHS, data_root=synth_root, download=False)
    lrs = [row["lr"] for row in record.history]
    assert len(lrs) == 10
    assert lrs == pytest.approx(step_closed_form(10), rel=1e-12)


def test_plateau_experiment_follows_the_closed_form_of_its_own_val_losses(synth_root):
    record = run_spec(EXPERIMENTS["lr_plateau"], profile=FULL_EPOCHS, data_root=synth_root, download=False)
    losses = [row["val_loss"] for row in record.history]
    lrs = [row["lr"] for row in record.history]
    assert lrs == pytest.approx(plateau_closed_form(losses, **{k: PLATEAU[k] for k in
                                                                ("factor", "patience", "threshold", "min_lr")}))


def _drive(spec: Scheduler, losses):
    model = nn.Linear(1, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    state, callback = FitState(model, optimizer), LRSchedule(spec)
    callback.on_fit_start(state)
    seen = []
    for loss in losses:
        seen.append(optimizer.param_groups[0]["lr"])
        callback.on_epoch_end(state, {"val_loss": loss})
    return seen


def test_plateau_reduces_after_patience_and_stops_at_min_lr():
    losses = [1.0, 0.995, 0.994, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    seen = _drive(Scheduler("plateau", dict(PLATEAU), monitor="val_loss"), losses)
    assert seen == pytest.approx(plateau_closed_form(losses))
    assert seen[3] == pytest.approx(2e-4)  # two epochs without a 1% improvement
    assert seen[-1] == pytest.approx(1e-5)  # floored at min_lr


def test_scheduler_declaration_errors_are_clear():
    with pytest.raises(ValueError, match="unknown scheduler"):
        LRSchedule(Scheduler("cosine"))
    with pytest.raises(ValueError, match="needs `monitor`"):
        LRSchedule(Scheduler("plateau", {}))
