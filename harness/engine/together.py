"""Several training runs in one process, taking turns step by step, each on a CUDA stream of its own.

Processes sharing a GPU take it in time slices, so one run's small kernels never run beside
another's; runs in one process can, on separate streams. Each run keeps its own random state
(Python's, NumPy's, torch's on the CPU and on the GPU), swapped in for its turns, so it draws what it
would draw alone: a run gives the same result trained alone or together (bit for bit on the CPU).
Its times (train_s, val_s) are wall-clock, the other runs' turns included.

On an H100 it was slower than processes (README, Speed: one host thread launches every run's
kernels), so only `harness reference run --together K` asks for it; nothing uses it by default.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from typing import Any, Generator, Sequence, TypeVar

import numpy as np
import torch

from harness.engine.steps import cuda_generator

T = TypeVar("T")


def _random_state(device: torch.device) -> tuple[Any, ...]:
    """The host's random states as values; the GPU's as the generator state object itself, since a
    captured graph reads the state it was captured with (its seed and offset tensors) when it runs,
    not when it was launched: runs sharing one state would race for it across their streams."""
    cuda = cuda_generator(device).graphsafe_get_state() if device.type == "cuda" else None
    return random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda


def _restore(state: tuple[Any, ...], device: torch.device) -> None:
    python, numpy, cpu, cuda = state
    random.setstate(python)
    np.random.set_state(numpy)
    torch.set_rng_state(cpu)
    if cuda is not None:
        cuda_generator(device).graphsafe_set_state(cuda)


def _own_copy(state: tuple[Any, ...]) -> tuple[Any, ...]:
    python, numpy, cpu, cuda = state
    return python, numpy, cpu, cuda.clone_state() if cuda is not None else None


@dataclass
class _Run:
    steps: Generator[None, None, Any]
    stream: torch.cuda.Stream | None
    state: tuple[Any, ...]
    outcome: Any = None
    done: bool = False

    def turn(self, device: torch.device) -> None:
        """One step of this run, with its own random state and on its own stream."""
        _restore(self.state, device)
        with torch.cuda.stream(self.stream) if self.stream is not None else contextlib.nullcontext():
            try:
                next(self.steps)
            except StopIteration as finished:
                self.outcome, self.done = finished.value, True
            except Exception as error:  # noqa: BLE001 - one run's failure is its own outcome
                self.outcome, self.done = error, True
        self.state = _random_state(device)


def together(runs: Sequence[Generator[None, None, T]], device: torch.device) -> list[T | Exception]:
    """Drive stepwise runs (`runner.train_run_steps`) in turns until each has finished; each one's
    return value, or the exception it raised, in order. Every run starts from the random state the
    caller had, as it would if it ran first and alone; the caller's state is left as it was."""
    outside = _random_state(device)
    streams = [torch.cuda.Stream(device) if device.type == "cuda" else None for _ in runs]
    for stream in filter(None, streams):
        stream.wait_stream(torch.cuda.current_stream(device))
    pending = [_Run(steps, stream, _own_copy(outside)) for steps, stream in zip(runs, streams)]
    try:
        while any(not run.done for run in pending):
            for run in pending:
                if not run.done:
                    run.turn(device)
    finally:
        _restore(outside, device)
    for stream in filter(None, streams):  # what the runs computed is ready for the caller's stream
        torch.cuda.current_stream(device).wait_stream(stream)
    return [run.outcome for run in pending]
