"""A grade as Gradescope's autograder reads it (`/autograder/results/results.json`), so that a course
can run `harness check` as its autograder: one test per rubric item, with its points and the sentence
that explains it, and the terminal summary on top."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.grading.grade import FAIL, INCONCLUSIVE, NOT_ASSESSED, PASS, Grade, Item
from harness.grading.spread import METRIC
from harness.report.grade_pages import measurement_lines
from harness.report.gradebook import summary, write_whole

STATUS = {PASS: "passed", FAIL: "failed", INCONCLUSIVE: "failed"}  # Gradescope has no third state; it earns nothing


def _measured(item: Item) -> list[str]:
    """What the item rests on: a check's measurements, a run's accuracy, a claim against its reproduction."""
    evidence = item.evidence
    if item.section == "run" and evidence.get(METRIC) is not None:
        return [f"best validation accuracy {evidence[METRIC]:.4f} after {evidence['epochs']} epoch(s)"]
    if item.section == "outcome" and "verdict" in evidence:
        return [f"{evidence['verdict']}: best validation accuracy {evidence['reproduced']:.4f}, reference "
                f"{evidence['reference_mean']:.4f} ± {evidence['reference_scale']:.4f} over {evidence['reference_seeds']} "
                f"seeds ({evidence['reference_data']}); gap {evidence['gap']:+.1f} spreads, within up to {evidence['limit']:.1f}"]
    if item.section == "claim" and "reproduced" in evidence:
        over = f" (mean over seeds {', '.join(map(str, evidence['seeds']))})" if len(evidence["seeds"]) > 1 else ""
        return [f"{item.status}: claimed {evidence['claimed']:.4f}, reproduced {evidence['reproduced']:.4f}{over}, "
                f"allowed difference {evidence['tolerance']:.4f}, clear miss beyond {evidence['clear_miss']:.4f}"]
    return [f"{line['what']}: {line['measured']}" + (f" ({line['bound']})" if line["bound"] else "")
            for line in measurement_lines(item)]


def _output(item: Item, failure: str) -> str:
    """Why it failed or was not assessed, then what was measured."""
    if item.status == FAIL and failure:
        return f"not run: {failure}"
    reason = f"not assessed: {item.reason}" if item.status == NOT_ASSESSED else item.reason
    return "\n".join(line for line in [reason, item.where, *_measured(item)] if line)


def _test(number: int, item: Item, failure: str) -> dict[str, Any]:
    test = {"number": str(number), "name": f"{item.key}: {item.title}", "visibility": "visible",
            "score": item.points, "max_score": item.max_points, "output": _output(item, failure)}
    if item.status == NOT_ASSESSED:  # counts neither way: no points to win or lose here
        test["max_score"] = 0.0
    else:
        test["status"] = STATUS[item.status]
    return test


def results(grade: Grade) -> dict[str, Any]:
    """Gradescope's results.json for one submission's grade."""
    return {"score": grade.points, "output": summary(grade), "visibility": "visible", "stdout_visibility": "visible",
            "tests": [_test(n, item, grade.failure) for n, item in enumerate(grade.items, start=1)]}


def write(grade: Grade, path: Path) -> Path:
    """Written whole or not at all: Gradescope reads whatever the file holds when the script ends."""
    return write_whole(path, lambda partial: partial.write_text(json.dumps(results(grade), indent=2)))
