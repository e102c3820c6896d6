"""What the checks share: failing with a sentence, guarding student calls, watching a forward pass."""

from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator

import torch

from harness.grading.checks.trace import Recorder, Trace


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


def traced(variant, x: torch.Tensor, mode: str, doing: str) -> tuple[torch.Tensor, Trace]:
    """Run `variant` on `x` in `mode` and see what it computed; its exceptions become a failed check."""
    with student(doing), Recorder(x) as trace:
        out = variant.run(x, mode)
    return out, trace


def binomial_bound(p: float, n: int, sigmas: float = 4.0) -> float:
    """How far an observed fraction of n Bernoulli(p) draws may stray from p (sigmas standard errors)."""
    return sigmas * math.sqrt(p * (1 - p) / max(n, 1))
