"""What the checks share: failing with a sentence, guarding student calls, watching modules run."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
from torch import nn


class CheckFailed(AssertionError):
    """A check's verdict: a sentence for the student, with what was measured against which bound."""

    def __init__(self, message: str, *, measured: Any = None, bound: Any = None) -> None:
        super().__init__(message)
        self.message, self.measured, self.bound = message, measured, bound


# What the running check's expect() calls measured, in order: shown for passing checks too, so a
# report says how close a pass was (a drop fraction of 0.31 against 0.3 ± 0.02), not only "pass".
_measured: list[dict[str, Any]] = []


def expect(condition: bool, message: str, *, what: str, measured: Any = None, bound: Any = None) -> None:
    """Fail the check with `message` unless `condition`; either way `what` was `measured` against `bound`."""
    _measured.append({"what": what, "measured": measured, "bound": bound, "passed": bool(condition)})
    if not condition:
        raise CheckFailed(message, measured=measured, bound=bound)


def measurements() -> list[dict[str, Any]]:
    """What expect() recorded since the last call: the runner takes them once per check."""
    taken = list(_measured)
    _measured.clear()
    return taken


@contextlib.contextmanager
def student(doing: str) -> Iterator[None]:
    """Any exception from the student's code becomes a failed check that says what was being done."""
    try:
        yield
    except CheckFailed:
        raise
    except Exception as error:  # noqa: BLE001
        raise CheckFailed(f"Your code raised {type(error).__name__} while {doing}: {error}") from None


@dataclass
class Call:
    module: nn.Module
    inputs: torch.Tensor
    output: torch.Tensor


@dataclass
class Recorder:
    """Every leaf module call in forward order (what really ran, not what the repr says)."""

    calls: list[Call] = field(default_factory=list)

    def of(self, *types: type) -> list[Call]:
        return [c for c in self.calls if isinstance(c.module, types)]


@contextlib.contextmanager
def recording(model: nn.Module) -> Iterator[Recorder]:
    recorder = Recorder()

    def hook(module, inputs, output):
        if inputs and isinstance(inputs[0], torch.Tensor) and isinstance(output, torch.Tensor):
            recorder.calls.append(Call(module, inputs[0].detach().clone(), output.detach().clone()))

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        yield recorder
    finally:
        for handle in handles:
            handle.remove()


def binomial_bound(p: float, n: int, sigmas: float = 4.0) -> float:
    """How far an observed fraction of n Bernoulli(p) draws may stray from p (sigmas standard errors)."""
    return sigmas * math.sqrt(p * (1 - p) / max(n, 1))
