"""What the checks share: failing with a sentence, guarding student calls, watching a forward pass."""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterable, Iterator

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
# The transform the running check is measuring (for_each sets it): a run's diagnosis counts a check that
# failed only through the transforms that run uses.
_subject: list[str] = []


def expect(condition: bool, message: str, *, what: str, measured: Any = None, bound: Any = None) -> None:
    """Fail the check with `message` unless `condition`; either way `what` was `measured` against `bound`."""
    _measured.append({"what": what, "measured": measured, "bound": bound, "passed": bool(condition),
                      "subject": _subject[-1] if _subject else None})
    if not condition:
        raise CheckFailed(message, measured=measured, bound=bound)


def for_each(subjects: Iterable[str], check: Callable[[str], None]) -> None:
    """`check(subject)` for every subject, each measured even after another failed; the check fails with the
    sentence of every subject that failed."""
    failures = []
    for subject in subjects:
        _subject.append(subject)
        try:
            check(subject)
        except CheckFailed as failed:
            if not any(m["subject"] == subject and not m["passed"] for m in _measured):  # raised by the student's code
                _measured.append({"what": f"{subject}: checked", "measured": None, "bound": None, "passed": False,
                                  "subject": subject})
            failures.append(failed)
        finally:
            _subject.pop()
    if failures:
        raise CheckFailed(" ".join(f.message for f in failures), measured=failures[0].measured, bound=failures[0].bound)


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
