"""What a sandboxed child hands back, checked field by field and turned into its record.

A child is the submission's process: every value it returns is validated (types, sizes, finite
numbers) and only the fields expected are kept; what the grader can compute itself (validation
scores, where a check's verdict was computed) is never taken from it.
"""

from __future__ import annotations

import math
import signal
from typing import Any

from harness.engine.run import best_metrics
from harness.grading import sandbox
from harness.grading.checks.verdicts import GRADER, SUBMISSION
from harness.grading.jobs import Ran
from harness.store.records import RunRecord

VALIDATION = "scored by the grader on test labels the sandbox never saw"
CHILD_METRICS = ("epochs_run", "train_s", "train_samples_per_s")  # the only summary numbers taken from the child
MEASUREMENTS_KEPT = 40  # per check: the given network makes at most 9; more say little and cost room in the store


def smoke_result(record: RunRecord, ran: Ran, *, who: dict[str, Any], limits: sandbox.Limits) -> None:
    outcome = ran.outcome
    record.arrays = {"submission": who}
    if not outcome.ok or (outcome.result or {}).get("ok") is not True:
        record.status, record.error = "failed", failure_message(outcome, limits)


def checks_result(record: RunRecord, ran: Ran, *, normalization: str, limits: sandbox.Limits) -> None:
    outcome = ran.outcome
    record.environment["normalization"] = normalization
    results = (outcome.result or {}).get("checks") if outcome.ok else None
    if not isinstance(results, list) or not results:
        record.status, record.error = "failed", failure_message(outcome, limits)
        return
    try:
        record.arrays = {"checks": [clean_check(c) for c in results]}
    except ValueError as error:
        record.status, record.error = "failed", f"the checks returned malformed results: {error}"
        return
    record.metrics = {c["id"]: float(c["passed"]) for c in record.arrays["checks"]}


def run_result(record: RunRecord, ran: Ran, *, epochs: int, limits: sandbox.Limits) -> None:
    outcome = ran.outcome
    if not outcome.ok or "error" in (outcome.result or {}):
        record.status, record.error = "failed", failure_message(outcome, limits)
        return
    path = (outcome.result.get("arrays") or {}).get("augmentation_path")
    if path in ("batched", "per-sample torchvision"):  # anything else the child says is ignored
        record.environment["augmentation_path"] = path
    record.environment["validation"] = VALIDATION
    try:
        record.history, record.metrics = _scored_run(outcome.result, ran.validation, epochs)
    except ValueError as error:
        record.status, record.error = "failed", f"the run returned malformed results: {error}"
        return
    if why := _non_finite(record.history):
        record.status, record.error = "failed", why


def failure_message(outcome: sandbox.Outcome, limits: sandbox.Limits) -> str:
    """Why a sandboxed job produced no usable result, for the student."""
    last = outcome.log_tail.strip().splitlines()[-1][:300] if outcome.log_tail.strip() else "nothing"
    if outcome.status == "timeout":
        return (f"did not finish within {limits.wall_s:.0f} s: an endless loop, a hang, or code far too slow "
                f"(the last output was: {last})")
    if outcome.result and "error" in outcome.result:
        return str(outcome.result["error"])[:2000]
    if outcome.status == "crashed":
        return _crash_message(outcome, limits, last)
    if outcome.status == "no_result":
        return f"the process exited before reporting a result (exit() or os._exit in the code?). Last output: {last}"
    return f"the process returned a malformed result ({outcome.status}); last output: {last}"

def _crash_message(outcome: sandbox.Outcome, limits: sandbox.Limits, last: str) -> str:
    """A dead child, named by what its output shows. The student's own import errors come back as a
    result; an import error here is the child's (the grading machine's install), not a limit's."""
    imports = [line.strip() for line in outcome.log_tail.splitlines()
               if line.startswith(("ModuleNotFoundError:", "ImportError:"))]
    if imports:
        return (f"the Python process could not start its job: {imports[-1][:300]}. The grading machine's "
                f"install lacks a package the harness needs: ask the instructor (this is not your code)")
    # RLIMIT_DATA makes an allocation fail (MemoryError); the kernel's OOM killer sends SIGKILL
    if "MemoryError" in outcome.log_tail or outcome.exit_code == -signal.SIGKILL:
        return (f"the Python process ran out of memory (the limit is {limits.memory_bytes / 1024**3:.0f} GiB, "
                f"exit code {outcome.exit_code}). The last output was: {last}")
    return f"the Python process died (exit code {outcome.exit_code}). The last output was: {last}"

def _valid_history(value: Any, epochs: int) -> list[dict[str, float]]:
    if not isinstance(value, list) or not 0 < len(value) <= epochs:
        raise ValueError("history is not a list of epochs")
    rows = []
    for row in value:
        if not isinstance(row, dict) or not all(isinstance(v, (int, float)) for v in row.values()):
            raise ValueError("history holds a non-numeric value")
        rows.append({str(k): float(v) for k, v in row.items()})
    return rows

def _scored_run(result: dict[str, Any], validation: list[dict[str, float]] | None,
                epochs: int) -> tuple[list[dict[str, float]], dict[str, float]]:
    """The child's epochs and summary with the grader's validation scores in place of anything the child
    said of validation. final_val_* is the last epoch's: a coursework run has no early stopping."""
    history, validation = _valid_history(result.get("history"), epochs), validation or []
    if len(validation) != len(history):
        raise ValueError(f"{len(history)} epochs trained but {len(validation)} scored")
    history = [{k: v for k, v in row.items() if not k.startswith("val_") or k == "val_s"} | scores
               for row, scores in zip(history, validation)]
    metrics = {k: v for k, v in _valid_metrics(result.get("metrics")).items() if k in CHILD_METRICS}
    final = {f"final_{k}": v for k, v in validation[-1].items()}
    return history, metrics | best_metrics(history) | final

def _non_finite(history: list[dict[str, float]]) -> str | None:
    """What a student reads when training, or the grader's scoring of the model's outputs, gave NaN or inf."""
    for row in history:
        for key, value in row.items():
            if not math.isfinite(value):
                what = "the model's outputs on the validation images gave" if key.startswith("val_") else "training produced"
                return (f"{what} a non-finite {key} ({value}) in epoch {int(row['epoch'])}; "
                        f"check the model's forward pass and initialization.")
    return None

def _valid_metrics(value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or not all(isinstance(v, (int, float)) for v in value.values()):
        raise ValueError("metrics are not numbers")
    return {str(k): float(v) for k, v in value.items()}

def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float)) or value is None else str(value)[:300]

def clean_check(raw: Any) -> dict[str, Any]:
    """Only the fields we expect, as plain values. Where the verdict was computed was set by the worker
    (harness.grading.checks.verdicts.decided), never by a submission's child; a result without it counts as the
    submission's own."""
    if not isinstance(raw, dict):
        raise ValueError("a check result is not an object")
    measurements = raw.get("measurements", [])
    if not isinstance(measurements, list) or not all(isinstance(m, dict) for m in measurements):
        raise ValueError("a check's measurements are not a list of objects")
    return {"id": str(raw.get("id", "?"))[:100], "title": str(raw.get("title", ""))[:300],
            "passed": raw.get("passed") is True, "message": str(raw.get("message", ""))[:2000],
            "computed_in": GRADER if raw.get("computed_in") == GRADER else SUBMISSION,
            "note": str(raw.get("note", ""))[:500],
            "measured": _plain(raw.get("measured")), "bound": _plain(raw.get("bound")),
            "measurements": [{"what": str(m.get("what", ""))[:100], "measured": _plain(m.get("measured")),
                              "bound": _plain(m.get("bound")), "passed": m.get("passed") is True,
                              "subject": None if m.get("subject") is None else str(m["subject"])[:100]}
                             for m in measurements[:MEASUREMENTS_KEPT]]}
