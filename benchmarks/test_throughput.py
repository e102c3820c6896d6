"""Epoch throughput against the notebook's loop (run: `pytest benchmarks/ --benchmark-json out.json`).

Not part of the test suite: these time things. Each case times the notebook's loop and the
harness's trainer on the same generated images in the same process; `harness bench` prints the
same comparison as a table.
"""

import pytest
import torch

from harness.bench import epochs
from harness.engine import synthetic
from harness.engine.trainer import train_one_epoch

IMAGES = 3000
ROUNDS = 5  # the best of 5 epochs: an MNIST epoch here is 0.1 s, and its best of 2 moved by half between runs


@pytest.fixture(scope="session")
def root(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    synthetic.write_mnist(folder, IMAGES, 500)
    synthetic.write_cifar10(folder, IMAGES, 500)
    return folder


@pytest.mark.parametrize("name, workers", [(name, workers) for name, case in epochs.CASES.items()
                                           for workers in sorted({case.notebook_workers, 0}, reverse=True)])
def test_notebook_loop(benchmark, root, name, workers):
    """The notebook's loop with its own DataLoader workers, and without where it has some."""
    case = epochs.CASES[name]
    loader, model = epochs.notebook_loader(case, root, IMAGES, workers=workers), case.model()
    optimizer = torch.optim.Adam(model.parameters(), lr=case.lr)
    benchmark.extra_info.update(case=name, loop="notebook", workers=workers, images=IMAGES,
                                as_written=workers == case.notebook_workers)
    benchmark.pedantic(epochs.notebook_epoch, args=(model, loader, optimizer), rounds=ROUNDS, warmup_rounds=1)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("name", list(epochs.CASES))
def test_harness_trainer(benchmark, root, name, precision):
    case = epochs.CASES[name]
    batches = epochs.harness_batches(case, root, IMAGES, torch.device("cpu"))
    _, step = epochs.harness_trainee(case, torch.device("cpu"), precision)
    benchmark.extra_info.update(case=name, loop="harness", precision=precision, images=IMAGES)
    benchmark.pedantic(train_one_epoch, args=(step, batches), rounds=ROUNDS, warmup_rounds=1)
