"""Evaluate one submission: contract, then behaviour checks and coursework runs in the sandbox.

Everything a submission produces is stored under its content hash, so a re-run (after a crash or
Ctrl-C) skips what is done and records nothing twice. A student's crash, hang or bad output is a
stored, failed item with a sentence saying what happened; it never stops the batch.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import hashlib
import json
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import harness
from harness import coursework, data, env, sandbox, submission
from harness.results import RunRecord
from harness.spec import Profile, spec_hash, to_dict
from harness.store import Store

CHECKS = "behaviour_checks"  # the experiment name the check results are stored under
# CIFAR-10 training-set statistics, used for the checks when the dataset itself is not at hand
CIFAR_TRAIN_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))


@dataclass(frozen=True)
class Settings:
    profile: Profile
    data_root: Path
    layer: str
    runs: tuple[str, ...] = coursework.RUNS
    checks_limits: sandbox.Limits = sandbox.Limits(wall_s=180)
    train_limits: sandbox.Limits = sandbox.Limits(wall_s=900)
    device: str = "cpu"


@dataclass
class Evaluation:
    folder: Path
    student: str
    content_hash: str | None
    profile: str
    layer: str
    problems: list[str] = field(default_factory=list)  # contract errors: nothing could run
    checks: list[dict[str, Any]] = field(default_factory=list)
    checks_error: str = ""  # the checks could not run at all
    runs: dict[str, RunRecord] = field(default_factory=dict)
    claims: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.problems:
            return "invalid"
        if self.checks_error or any(r.status != "ok" for r in self.runs.values()):
            return "errors"
        return "ok"


def _normalization(root: Path) -> tuple[list[float], list[float], str]:
    try:
        mean, std = data.train_statistics(data.load("cifar10", root, download=False).train)
        return list(mean), list(std), "computed from the CIFAR-10 training set"
    except data.DataMissingError:
        mean, std = CIFAR_TRAIN_STATS
        return list(mean), list(std), "CIFAR-10 training-set constants (dataset not found)"


def _checks_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted((Path(harness.__file__).parent / "checks").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def _profile_arrays(root: Path, train_limit: int | None, test_limit: int | None) -> Path:
    dataset = data.load("cifar10", root, download=False)
    folder = Path(tempfile.mkdtemp(prefix="harness-data-"))
    atexit.register(shutil.rmtree, folder, True)
    return data.save_arrays(dataset, folder / "cifar10.npz", train_limit=train_limit, test_limit=test_limit)


def failure_message(outcome: sandbox.Outcome, limits: sandbox.Limits) -> str:
    """Why a sandboxed job produced no usable result, for the student."""
    last = outcome.log_tail.strip().splitlines()[-1][:300] if outcome.log_tail.strip() else "nothing"
    if outcome.status == "timeout":
        return (f"did not finish within {limits.wall_s:.0f} s: an endless loop, a hang, or code far too slow "
                f"(the last output was: {last})")
    if outcome.result and "error" in outcome.result:
        return str(outcome.result["error"])[:2000]
    if outcome.status == "crashed":
        return (f"the Python process died (exit code {outcome.exit_code}); the memory limit is "
                f"{limits.memory_bytes / 1024**3:.0f} GiB. The last output was: {last}")
    if outcome.status == "no_result":
        return f"the process exited before reporting a result (exit() or os._exit in the code?). Last output: {last}"
    return f"the process returned a malformed result ({outcome.status}); last output: {last}"


def _valid_history(value: Any, epochs: int) -> list[dict[str, float]]:
    if not isinstance(value, list) or not 0 < len(value) <= epochs:
        raise ValueError("history is not a list of epochs")
    rows = []
    for row in value:
        if not isinstance(row, dict) or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in row.values()):
            raise ValueError("history holds a non-numeric or non-finite value")
        rows.append({str(k): float(v) for k, v in row.items()})
    return rows


def _valid_metrics(value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or not all(isinstance(v, (int, float)) for v in value.values()):
        raise ValueError("metrics are not numbers")
    return {str(k): float(v) for k, v in value.items()}


class Evaluator:
    """Runs the sandboxed jobs of one submission and stores each result as soon as it exists."""

    def __init__(self, settings: Settings, store: Store, *, slot: int = 0,
                 progress: Callable[[str], None] = lambda line: None) -> None:
        self.settings, self.store, self.slot, self.progress = settings, store, slot, progress

    def evaluate(self, folder: Path) -> Evaluation:
        folder = Path(folder)
        try:
            sub = submission.load(folder)
        except submission.SubmissionError as error:
            return Evaluation(folder, folder.name, None, self.settings.profile.name, self.settings.layer,
                              problems=[str(error)])
        evaluation = Evaluation(folder, sub.student, sub.content_hash, self.settings.profile.name,
                                self.settings.layer, claims=dict(sub.manifest.claims))
        checks = self._checks(sub)
        evaluation.checks = checks.arrays.get("checks", [])
        evaluation.checks_error = checks.error
        for experiment in self.settings.runs:
            evaluation.runs[experiment] = self._train(sub, experiment)
        return evaluation

    def _planned(self, sub: submission.Submission, experiment: str, kind: str, spec: dict, digest: str,
                 seed: int) -> RunRecord:
        return RunRecord(experiment=experiment, kind=kind, subject=sub.content_hash,
                         profile=self.settings.profile.name, seed=seed, spec=spec, spec_hash=digest,
                         harness_version=harness.__version__)

    def _stored_or_run(self, planned: RunRecord, run: Callable[[RunRecord], None]) -> RunRecord:
        existing = self.store.find(planned)
        if existing is not None:
            self.progress(f"{planned.experiment}: already in the store")
            return self.store.load(existing)
        planned.started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        planned.environment = {**env.environment(env.resolve_device(self.settings.device)),
                               "isolation": self.settings.layer}
        run(planned)
        self.store.save(planned)
        self.progress(f"{planned.experiment}: {'ok' if planned.status == 'ok' else 'FAILED'} ({planned.wall_s:.0f}s)")
        return planned

    def _data(self) -> Path:
        """The CIFAR-10 arrays this profile's runs use, written once per process for every job to copy."""
        profile = self.settings.profile
        return _profile_arrays(self.settings.data_root, profile.train_limit.get("cifar10"),
                               profile.test_limit.get("cifar10"))

    def _checks(self, sub: submission.Submission) -> RunRecord:
        mean, std, source = _normalization(self.settings.data_root)
        context = {"mean": mean, "std": std, "dropout_rate": sub.manifest.dropout_rate,
                   "batchnorm_placement": sub.manifest.batchnorm_placement}
        spec = {"checks": _checks_hash(), "context": context}
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
        planned = self._planned(sub, CHECKS, "checks", spec, digest, seed=0)

        def run(record: RunRecord) -> None:
            limits = self.settings.checks_limits
            outcome = sandbox.run_child({"job": "checks", "context": context}, submission=sub.path,
                                        layer=self.settings.layer, limits=limits, slot=self.slot)
            record.wall_s = outcome.wall_s
            record.environment["normalization"] = source
            results = (outcome.result or {}).get("checks") if outcome.ok else None
            if not isinstance(results, list) or not results:
                record.status, record.error = "failed", failure_message(outcome, limits)
                return
            try:
                record.arrays = {"checks": [_clean_check(c) for c in results]}
            except ValueError as error:
                record.status, record.error = "failed", f"the checks returned malformed results: {error}"
                return
            record.metrics = {c["id"]: float(c["passed"]) for c in record.arrays["checks"]}

        return self._stored_or_run(planned, run)

    def _train(self, sub: submission.Submission, experiment: str) -> RunRecord:
        spec = self.settings.profile.apply(coursework.submission_spec(experiment, dropout_rate=sub.manifest.dropout_rate))
        planned = self._planned(sub, experiment, "train", to_dict(spec), spec_hash(spec), seed=spec.seed)

        def run(record: RunRecord) -> None:
            limits = self.settings.train_limits
            job = {"job": "train", "experiment": experiment, "profile": self.settings.profile.name,
                   "dropout_rate": sub.manifest.dropout_rate, "device": self.settings.device}
            outcome = sandbox.run_child(job, submission=sub.path, layer=self.settings.layer, limits=limits,
                                        inputs={"data": self._data()}, slot=self.slot)
            record.wall_s = outcome.wall_s
            if not outcome.ok or "error" in (outcome.result or {}):
                record.status, record.error = "failed", failure_message(outcome, limits)
                return
            try:
                record.history = _valid_history(outcome.result.get("history"), spec.epochs)
                record.metrics = _valid_metrics(outcome.result.get("metrics"))
            except ValueError as error:
                record.status, record.error = "failed", f"the run returned malformed results: {error}"

        return self._stored_or_run(planned, run)


def _clean_check(raw: Any) -> dict[str, Any]:
    """Only the fields we expect, as plain values: the child's output is data, never trusted further."""
    if not isinstance(raw, dict):
        raise ValueError("a check result is not an object")
    plain = lambda v: v if isinstance(v, (int, float, str)) or v is None else str(v)  # noqa: E731
    return {"id": str(raw.get("id", "?"))[:100], "title": str(raw.get("title", ""))[:300],
            "passed": raw.get("passed") is True, "message": str(raw.get("message", ""))[:2000],
            "measured": plain(raw.get("measured")), "bound": plain(raw.get("bound"))}
