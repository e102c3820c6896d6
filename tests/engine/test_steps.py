"""The training step replayed from a CUDA graph trains as the eager step does.

The equivalence tests need a GPU and are skipped without one; the checks on what may be captured
run anywhere.
"""

import pytest
import torch
from torch import nn

from harness.engine.batches import Batches
from harness.engine.callbacks import History
from harness.engine.data import Split
from harness.engine.objectives import OBJECTIVES
from harness.engine.run import build_optimizer
from harness.engine.spec import Optimizer
from harness.engine.steps import GraphedStep, Step
from harness.engine.trainer import Callback, fit

cuda = pytest.mark.gpu


def _cnn(read_back: bool = False, dropout: float = 0.0) -> nn.Module:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                          nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                                          nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(16, 10))

        def forward(self, x):
            features = self.features(x)
            if read_back and features.abs().max().item() > 1e9:  # a host read: a CUDA graph cannot hold it
                features = features / 1e9
            return self.head(features)

    return Net()


class HalveLR(Callback):
    def on_epoch_end(self, state, logs) -> None:
        for group in state.optimizer.param_groups:
            group["lr"] *= 0.5


def _train(cuda_graph: bool, *, optimizer: Optimizer, read_back: bool = False, dropout: float = 0.0, callbacks=()):
    """3 epochs on 340 images (5 batches of 64 and one of 20), deterministic kernels."""
    device = torch.device("cuda")
    generator = torch.Generator().manual_seed(0)
    split = Split(torch.randint(0, 256, (340, 3, 16, 16), dtype=torch.uint8, generator=generator),
                  torch.randint(0, 10, (340,), generator=generator))
    prepare = lambda x: x.float().div(255).contiguous(memory_format=torch.channels_last)  # noqa: E731
    batches = Batches(split, batch_size=64, prepare=prepare, device=device, shuffle_seed=0)
    torch.manual_seed(0)
    model = _cnn(read_back, dropout).to(device).to(memory_format=torch.channels_last)
    state = fit(model, task=OBJECTIVES["multiclass"], criterion=nn.CrossEntropyLoss(),
                optimizer=build_optimizer(optimizer, model.parameters()), train=batches, val=None, epochs=3,
                callbacks=[history := History(), *callbacks], cuda_graph=cuda_graph)
    return state, history.epochs, [p.detach().cpu() for p in model.parameters()]


@pytest.fixture
def deterministic():
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    yield
    torch.backends.cudnn.deterministic = False


def _same_training(graphed, eager) -> None:
    (_, graphed_rows, graphed_params), (_, eager_rows, eager_params) = graphed, eager
    for ours, theirs in zip(graphed_rows, eager_rows, strict=True):
        assert ours["accuracy"] == theirs["accuracy"] and ours["lr"] == theirs["lr"]
        assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-5)
    for ours, theirs in zip(graphed_params, eager_params, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


@cuda
@pytest.mark.parametrize("optimizer", [Optimizer("adam", lr=1e-3), Optimizer("sgd", lr=0.05, momentum=0.9)],
                         ids=["adam", "sgd-momentum"])
def test_a_replayed_step_trains_as_the_eager_step(deterministic, optimizer):
    graphed = _train(True, optimizer=optimizer)
    assert graphed[0].step_kind == "cuda graph"
    _same_training(graphed, _train(False, optimizer=optimizer))


@cuda
def test_a_changed_learning_rate_is_captured_again(deterministic):
    graphed = _train(True, optimizer=Optimizer("adam", lr=1e-2), callbacks=[HalveLR()])
    assert [row["lr"] for row in graphed[1]] == [1e-2, 5e-3, 2.5e-3]
    _same_training(graphed, _train(False, optimizer=Optimizer("adam", lr=1e-2), callbacks=[HalveLR()]))


@cuda
def test_a_model_that_cannot_be_captured_trains_eagerly_and_says_why(deterministic):
    """With dropout: the failed capture must leave the GPU's generator as it was, or the eager steps
    that follow could not draw (torch leaves it in capture mode) or would draw other masks."""
    graphed = _train(True, optimizer=Optimizer("adam", lr=1e-3), read_back=True, dropout=0.3)
    assert graphed[0].step_kind.startswith("eager (CUDA graph capture failed: ")
    _same_training(graphed, _train(False, optimizer=Optimizer("adam", lr=1e-3), read_back=True, dropout=0.3))
    assert torch.rand(2, device="cuda").shape == (2,)  # nor for whatever this process runs next


def test_a_graph_needs_an_optimizer_that_keeps_its_state_on_the_device():
    model = nn.Linear(2, 2)
    step = Step(model, OBJECTIVES["multiclass"], nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters()))
    with pytest.raises(ValueError, match="capturable=True"):
        GraphedStep(step)


def test_an_unknown_precision_is_refused_before_training():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="unknown precision 'fp16'"):
        Step(model, OBJECTIVES["multiclass"], nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), "fp16")
