"""One optimisation step on a batch: run op by op, or replayed from a CUDA graph.

A coursework CNN's step on a GPU is many small kernels, each launched from Python; the
launches, not the arithmetic, set its pace. Captured once in a CUDA graph and replayed, the same
kernels run from one launch (H200, batch 64, no augmentation: 0.61 ms a step against 2.46 ms,
`benchmarks/gpu_step.py`). Replay runs the captured kernels on the same parameters and optimizer
state, so the update rule is the trainer's own; the step's metric sums stay on the device as before.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.engine.objectives import Objective, Sums

PRECISIONS = ("fp32", "bf16")
WARMUP_STEPS = 3  # eager steps on a side stream before capture: cuDNN's autotuning and the optimizer's state happen there


def cuda_generator(device: torch.device) -> torch.Generator:
    """The default random generator of a CUDA device, the one dropout and captured graphs draw from."""
    return torch.cuda.default_generators[device.index if device.index is not None else torch.cuda.current_device()]


def autocast(precision: str, device_type: str):
    """bf16 autocast for the forward pass and loss, or nothing (fp32)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=precision == "bf16")


class Step:
    """Forward, loss, backward and optimizer step, op by op; returns the batch's metric sums."""

    kind = "eager"

    def __init__(self, model: nn.Module, task: Objective, criterion: nn.Module, optimizer: torch.optim.Optimizer,
                 precision: str = "fp32") -> None:
        autocast(precision, "cpu")  # an unknown precision fails here, before any training
        self.model, self.task, self.criterion, self.optimizer, self.precision = model, task, criterion, optimizer, precision

    def __call__(self, inputs: torch.Tensor, targets: torch.Tensor) -> Sums:
        with autocast(self.precision, inputs.device.type):
            outputs, targets = self.task.align(self.model(inputs), targets)
        outputs = outputs.float()
        loss = self.criterion(outputs, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.detach() * targets.shape[0], **self.task.sums(outputs.detach(), targets)}


class GraphedStep:
    """`Step` captured in a CUDA graph at the first batch after warm-up, then replayed for every
    batch of that shape. A batch of another shape (an epoch's last, smaller one) runs eagerly. Capture
    bakes the learning rate in, so a schedule's change of it captures the step again. A model that
    cannot be captured (it reads a value back to the host in its forward, say) trains eagerly, and
    `kind` says why."""

    def __init__(self, step: Step) -> None:
        if not all(group.get("capturable", True) for group in step.optimizer.param_groups):
            raise ValueError("a CUDA graph needs an optimizer built with capturable=True")
        self.step, self.model = step, step.model
        self.warmed = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static: tuple[torch.Tensor, torch.Tensor] | None = None
        self.sums: Sums = {}
        self.captured_lrs: list[float] = []
        self.failure: str | None = None

    @property
    def kind(self) -> str:
        return f"eager (CUDA graph capture failed: {self.failure})" if self.failure else "cuda graph"

    def __call__(self, inputs: torch.Tensor, targets: torch.Tensor) -> Sums:
        if self.failure:
            return self.step(inputs, targets)
        if self.warmed < WARMUP_STEPS:
            self.warmed += 1
            return self._on_side_stream(inputs, targets)
        if self.graph is not None and not self._fits(inputs, targets):
            return self.step(inputs, targets)
        if self.graph is None or self._lrs() != self.captured_lrs:
            self._capture(inputs, targets)
            if self.failure:
                return self.step(inputs, targets)
        static_inputs, static_targets = self.static
        static_inputs.copy_(inputs)
        static_targets.copy_(targets)
        self.graph.replay()
        return self.sums  # overwritten by the next replay: the caller adds them up before it

    def _on_side_stream(self, inputs: torch.Tensor, targets: torch.Tensor) -> Sums:
        side, main = torch.cuda.Stream(inputs.device), torch.cuda.current_stream(inputs.device)
        side.wait_stream(main)
        with torch.cuda.stream(side):
            sums = self.step(inputs, targets)
        main.wait_stream(side)
        return sums

    def _fits(self, inputs: torch.Tensor, targets: torch.Tensor) -> bool:
        static_inputs, static_targets = self.static
        return (inputs.shape == static_inputs.shape and inputs.stride() == static_inputs.stride()
                and targets.shape == static_targets.shape)

    def _lrs(self) -> list[float]:
        return [float(group["lr"]) for group in self.step.optimizer.param_groups]

    def _capture(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.graph = None
        self.static = (inputs.clone(), targets.clone())
        graph = torch.cuda.CUDAGraph()
        generator = cuda_generator(inputs.device)
        before = generator.clone_state()
        try:
            with torch.cuda.graph(graph):
                self.sums = self.step(*self.static)
        except RuntimeError as error:  # capture forbids host syncs; the step then stays eager
            self.failure = str(error).strip().splitlines()[0][:200]
            # a capture that fails leaves the generator's state in capture mode, and every random op
            # outside a graph (the eager step's dropout) would then fail: the state from before goes back
            generator.graphsafe_set_state(before)
            return
        self.graph, self.captured_lrs = graph, self._lrs()


def make_step(model: nn.Module, task: Objective, criterion: nn.Module, optimizer: torch.optim.Optimizer, *,
              precision: str = "fp32", cuda_graph: bool = False) -> Step | GraphedStep:
    step = Step(model, task, criterion, optimizer, precision)
    return GraphedStep(step) if cuda_graph else step
