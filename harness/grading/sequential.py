"""A claimed result against the student's own reproductions of it, decided sequentially: pass, fail,
or inconclusive, which asks for one more reproduction under the next seed.

A claim is one run of the student's code; each reproduction is another run of the same code. When the
claim is honest, its gap to the mean of k reproductions is a difference of draws with standard error
s * sqrt(1 + 1/k) (s: the reference's seed-to-seed spread, never below the binomial error of one
accuracy on the validation set). Measured in those units, the gap z passes at most `sigmas` and fails
above `fail_sigmas`; in between, the data do not decide it yet. Another reproduction shrinks the
reproductions' share of the error: an unlucky reproduction is outvoted, and a claim that is truly
off keeps its gap while the error shrinks, so it moves out of the grey zone. The first of the k
looks that crosses a boundary decides, as in a group-sequential test, so adding reproductions
never reopens a claim they already decided.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass(frozen=True)
class Decision:
    verdict: str  # PASS | FAIL | INCONCLUSIVE
    reproductions: tuple[float, ...]  # the ones that decided it, in seed order
    reproduced: float  # their mean
    tolerance: float  # the largest gap that passes, at this many reproductions
    clear_miss: float  # gaps above this fail

    @property
    def looks(self) -> int:
        return len(self.reproductions)


def standard_error(scale: float, reproductions: int) -> float:
    """Of the gap between one claimed run and the mean of `reproductions` runs."""
    return scale * math.sqrt(1 + 1 / reproductions)


def decide(claim: float, reproductions: Sequence[float], *, scale: float, sigmas: float,
           fail_sigmas: float) -> Decision:
    """The verdict at the first look (1, 2, ... reproductions) that crosses a boundary; inconclusive
    when none does. `reproductions` must hold at least one run."""
    if not reproductions:
        raise ValueError("a claim is decided on at least one reproduction")
    for k in range(1, len(reproductions) + 1):
        used = tuple(reproductions[:k])
        error = standard_error(scale, k)
        mean = statistics.fmean(used)
        gap = abs(claim - mean)
        verdict = PASS if gap <= sigmas * error else FAIL if gap > fail_sigmas * error else INCONCLUSIVE
        decision = Decision(verdict, used, mean, sigmas * error, fail_sigmas * error)
        if verdict != INCONCLUSIVE:
            return decision
    return decision
