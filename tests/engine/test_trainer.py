import dataclasses

import pytest
import torch
from torch import nn

from harness.bench.epochs import notebook_epoch
from harness.engine import data, devices
from harness.engine.batches import Batches
from harness.engine.callbacks import EarlyStopper, History
from harness.engine.inputs import make_prepare
from harness.engine.objectives import OBJECTIVES
from harness.engine.run import run_spec
from harness.engine.spec import EarlyStopping, Profile
from harness.engine.trainer import FitState, fit
from reference.experiments import EXPERIMENTS
from reference.models import SimpleMLP

FULL_EPOCHS = Profile("test-full", "generated data, the notebook's epochs")


def test_same_seed_gives_identical_histories_on_cpu(synth_root, quick):
    first = run_spec(EXPERIMENTS["aug_combined"], profile=quick, data_root=synth_root, download=False)
    second = run_spec(EXPERIMENTS["aug_combined"], profile=quick, data_root=synth_root, download=False)
    strip = lambda h: [{k: v for k, v in row.items() if not k.endswith("_s")} for row in h]  # noqa: E731
    assert strip(first.history) == strip(second.history)
    assert first.metrics["final_val_loss"] == second.metrics["final_val_loss"]


def test_trainer_matches_the_notebooks_loop(synth_root):
    """Same seed, same batch order: our sync-free epoch gives the notebook loop's numbers."""
    split = data.load("mnist", synth_root, download=False).train.head(500)
    inputs = split.x.float().div(255).flatten(1)

    torch.manual_seed(0)
    model = SimpleMLP()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(inputs, split.y), batch_size=100)
    notebook_loss, notebook_accuracy = notebook_epoch(model, loader, optimizer)  # .item() per step

    torch.manual_seed(0)
    ours = SimpleMLP()
    batches = Batches(split, batch_size=100, prepare=make_prepare(flatten=True), device=torch.device("cpu"))
    state = fit(ours, task=OBJECTIVES["multiclass"], criterion=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(ours.parameters(), lr=1e-3), train=batches, val=None,
                epochs=1, callbacks=[history := History()])
    logs = history.epochs[0]
    assert logs["loss"] == pytest.approx(notebook_loss, rel=1e-6)
    assert logs["accuracy"] == pytest.approx(notebook_accuracy)
    assert state.epoch == 1
    for a, b in zip(model.parameters(), ours.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_early_stopping_callback_stops_after_patience_and_restores_best_weights():
    model = nn.Linear(1, 1, bias=False)
    state = FitState(model, torch.optim.SGD(model.parameters(), lr=0.1))
    callback = EarlyStopper(EarlyStopping("val_accuracy", patience=2))
    accuracies = [0.50, 0.70, 0.70, 0.65, 0.90]  # 0.70 again is not an improvement
    for epoch, accuracy in enumerate(accuracies, 1):
        with torch.no_grad():
            model.weight.fill_(epoch)  # the weights say which epoch they come from
        state.epoch = epoch
        callback.on_epoch_end(state, {"val_accuracy": accuracy})
        if state.stop:
            break
    callback.on_fit_end(state)
    assert state.epoch == 4 and state.stop  # epochs 3 and 4 did not improve on epoch 2
    assert model.weight.item() == 2.0
    assert state.notes["best_epoch"] == 2


def test_early_stopping_experiment_restores_the_best_epoch(synth_root):
    record = run_spec(EXPERIMENTS["early_stopping"], profile=FULL_EPOCHS, data_root=synth_root, download=False)
    best = int(record.metrics["best_epoch"])
    accuracies = [row["val_accuracy"] for row in record.history]
    assert record.metrics["stopped_early"] == 1.0
    assert len(record.history) == best + 4 < 20  # patience 4
    assert accuracies[best - 1] == max(accuracies)
    assert all(a <= accuracies[best - 1] for a in accuracies[best:])
    # the restored model, re-evaluated, is the best epoch's model
    assert record.metrics["final_val_accuracy"] == pytest.approx(accuracies[best - 1])
    assert record.metrics["final_val_loss"] == pytest.approx(record.history[best - 1]["val_loss"], rel=1e-5)
    assert record.metrics["final_val_loss"] != pytest.approx(record.history[-1]["val_loss"], rel=1e-5)


def test_batches_cover_every_sample_once_per_epoch_in_a_new_order():
    split = data.Split(torch.arange(10).view(10, 1), torch.arange(10))
    batches = Batches(split, batch_size=3, prepare=lambda x: x, device=torch.device("cpu"), shuffle_seed=1)
    first = torch.cat([y for _, y in batches]).tolist()
    second = torch.cat([y for _, y in batches]).tolist()
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second
    with pytest.raises(ValueError, match="batch_size"):
        Batches(split, batch_size=0, prepare=lambda x: x, device=torch.device("cpu"))


def test_worker_processes_prepare_the_same_batches_in_the_same_order():
    split = data.Split(torch.arange(50).view(50, 1), torch.arange(50))
    make = lambda workers: Batches(split, batch_size=7, prepare=lambda x: x * 2 + 1,  # noqa: E731
                                   device=torch.device("cpu"), shuffle_seed=3, workers=workers)
    alone, pooled = make(0), make(2)
    for _ in range(2):  # two epochs, each a new permutation
        for (xa, ya), (xp, yp) in zip(alone, pooled, strict=True):
            assert torch.equal(xa, xp) and torch.equal(ya, yp) and torch.equal(xp.view(-1), ya * 2 + 1)


def test_per_sample_augmentation_in_workers_is_reproducible_and_random():
    from torchvision import transforms as T

    images = torch.randint(0, 256, (40, 3, 16, 16), dtype=torch.uint8)
    pipeline = T.Compose([T.RandomPerspective(p=1.0), T.ToTensor()])  # no batched twin: per sample
    split = data.Split(images, torch.arange(40))

    def epochs():
        torch.manual_seed(0)  # the DataLoader draws its workers' seeds from here
        batches = Batches(split, batch_size=8, prepare=make_prepare(pipeline=pipeline), device=torch.device("cpu"),
                          shuffle_seed=0, workers=2)
        return [torch.cat([x for x, _ in batches]) for _ in range(2)]

    first, again = epochs(), epochs()
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], first[1])


def test_workers_only_serve_per_sample_augmentation_on_a_gpu():
    from harness.engine.run import loader_workers

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert loader_workers(cpu, "per-sample torchvision") == 0
    assert loader_workers(cuda, "batched") == loader_workers(cuda, None) == 0
    assert loader_workers(cuda, "per-sample torchvision") == min(8, devices.cpus() - 1)


@pytest.mark.parametrize(
    "task, outputs, targets, expected",
    [
        ("multiclass", [[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]], [0, 1, 1], {"accuracy": 2}),
        ("binary", [[2.0], [-1.0], [0.5]], [1, 0, 0], {"accuracy": 2}),
        ("regression", [1.0, 2.0, 4.0], [1.0, 3.0, 2.0], {"mae": 3.0, "mse": 5.0}),
    ],
)
def test_task_metric_sums(task, outputs, targets, expected):
    t = OBJECTIVES[task]
    out, tgt = t.align(torch.tensor(outputs), torch.tensor(targets))
    sums = {k: v.item() for k, v in t.sums(out, tgt).items()}
    assert sums == pytest.approx(expected)


def test_profile_caps_epochs_only_when_lower():
    spec = EXPERIMENTS["optim_adam_1e-3"]
    assert Profile("p", "", max_epochs=3).apply(spec).epochs == 3
    assert Profile("p", "", max_epochs=30).apply(spec) is spec
    assert dataclasses.replace(spec, epochs=2).epochs == 2
