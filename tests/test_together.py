"""Runs taking turns in one process (`harness.engine.together`) train exactly as each does alone."""

import dataclasses
import random

import numpy as np
import pytest
import torch

from harness.engine import data
from harness.engine.run import reference_components, train_run, train_run_steps
from harness.engine.together import together
from reference.experiments import EXPERIMENTS

CPU = torch.device("cpu")
# dropout draws from torch's generator at every step, strategy 2 draws each image's augmentation
RUNS = ("cw_dropout", "cw_aug2", "cw_baseline")


@pytest.fixture(scope="module")
def cifar(synth_root):
    full = data.load("cifar10", synth_root, download=False)
    return data.Dataset("cifar10", full.train.head(256), full.test.head(128), synth_root, True, full.normalization())


def _spec(name, quick):
    return dataclasses.replace(quick.apply(EXPERIMENTS[name]), epochs=2)


def _steps(name, cifar, quick, device=CPU):
    return train_run_steps(_spec(name, quick), cifar, profile=quick, components=reference_components(), device=device)


def _alone(name, cifar, quick, device=CPU):
    return train_run(_spec(name, quick), cifar, profile=quick, components=reference_components(), device=device)


def _without_times(trained):
    history, metrics, arrays = trained
    timeless = lambda row: {k: v for k, v in row.items() if not k.endswith(("_s", "_per_s"))}  # noqa: E731
    return [timeless(row) for row in history], timeless(metrics), arrays


def test_runs_taking_turns_give_what_each_gives_alone(cifar, quick):
    alone = [_alone(name, cifar, quick) for name in RUNS]
    turns = together([_steps(name, cifar, quick) for name in RUNS], CPU)
    assert [_without_times(t) for t in turns] == [_without_times(a) for a in alone]
    assert len({str(_without_times(t)[0]) for t in turns}) == len(RUNS)  # three different runs, not one thrice


def _seed(seed):
    torch.manual_seed(seed), random.seed(seed), np.random.seed(seed)


def _draws():
    return torch.rand(3).tolist(), random.random(), np.random.rand()


def test_a_run_that_fails_is_its_own_outcome_and_the_callers_random_state_is_kept(cifar, quick):
    def fails_at_its_second_turn():
        yield
        raise RuntimeError("the student's model broke")

    _seed(7)
    failed, trained = together([fails_at_its_second_turn(), _steps("cw_dropout", cifar, quick)], CPU)
    after = _draws()
    _seed(7)
    assert after == _draws()  # as if nothing had run
    assert isinstance(failed, RuntimeError) and "broke" in str(failed)
    assert _without_times(trained) == _without_times(_alone("cw_dropout", cifar, quick))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_on_a_gpu_each_run_replays_its_own_graph_on_its_own_stream_as_it_would_alone(cifar, quick):
    """Dropout inside a replayed graph draws from the generator state swapped in for the run's turn.
    cuDNN may pick other kernels for the same run (float rounding); other dropout masks would move the
    loss far more than the tolerance."""
    cuda = torch.device("cuda")
    alone = [_alone(name, cifar, quick, cuda) for name in RUNS]
    turns = together([_steps(name, cifar, quick, cuda) for name in RUNS], cuda)
    for (history, _, arrays), (expected, _, _) in zip(turns, alone):
        assert arrays["train_step"] == "cuda graph"
        assert [row["loss"] for row in history] == pytest.approx([row["loss"] for row in expected], rel=2e-3)
        assert [row["val_accuracy"] for row in history] == pytest.approx(
            [row["val_accuracy"] for row in expected], abs=2 / 128)
