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
import math
import queue
import shutil
import tempfile
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import harness
from harness import coursework, data, env, sandbox, submission
from harness.results import RunRecord
from harness.spec import Profile, dict_hash, to_dict
from harness.store import Store

SMOKE = "smoke"  # import, build, one forward pass, the transforms: the gate before everything else
CHECKS = "behaviour_checks"  # the experiment name the check results are stored under
# CIFAR-10 training-set statistics, used for the checks when the dataset itself is not at hand
CIFAR_TRAIN_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))


@dataclass(frozen=True)
class Settings:
    profile: Profile
    data_root: Path
    layer: str
    runs: tuple[str, ...] = coursework.RUNS
    smoke_limits: sandbox.Limits = sandbox.Limits(wall_s=90)
    checks_limits: sandbox.Limits = sandbox.Limits(wall_s=180)
    train_limits: sandbox.Limits = sandbox.Limits(wall_s=900)
    device: str = "cpu"


@dataclass
class Evaluation:
    """Everything known about one submission, as stored: the grade is computed from this alone."""

    folder: Path
    student: str
    content_hash: str | None
    profile: str
    layer: str
    problems: list[str] = field(default_factory=list)  # contract errors: nothing could run
    smoke: RunRecord | None = None
    checks: RunRecord | None = None
    runs: dict[str, RunRecord] = field(default_factory=dict)
    claims: dict[str, float] = field(default_factory=dict)

    def add(self, record: RunRecord) -> None:
        if record.experiment == SMOKE:
            self.smoke = record
        elif record.experiment == CHECKS:
            self.checks = record
        else:
            self.runs[record.experiment] = record

    @property
    def failure(self) -> str:
        """Why nothing could be assessed ('' when the submission ran)."""
        if self.problems:
            return self.problems[0]
        if self.smoke is not None and self.smoke.status != "ok":
            return self.smoke.error
        return ""

    @property
    def status(self) -> str:
        """complete: every job ran (whatever it found); errors: some job failed; failed to run: the smoke
        job failed; invalid: the folder breaks the contract; incomplete: interrupted."""
        if self.problems:
            return "invalid"
        if self.smoke is None or self.smoke.status == "skipped":
            return "incomplete"
        if self.smoke.status != "ok":
            return "failed to run"
        records = [self.checks, *self.runs.values()]
        if any(r is None or r.status == "skipped" for r in records):
            return "incomplete"
        return "errors" if any(r.status != "ok" for r in records) else "complete"


@functools.cache  # asked for by every submission's jobs; the training set's statistics do not change
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


def _source_hash(name: str) -> str:
    return hashlib.sha256((Path(harness.__file__).parent / name).read_bytes()).hexdigest()[:16]


_arrays_lock = threading.Lock()


@functools.cache
def _cached_arrays(root: Path, train_limit: int | None, test_limit: int | None) -> Path:
    dataset = data.load("cifar10", root, download=False)
    folder = Path(tempfile.mkdtemp(prefix="harness-data-"))
    atexit.register(shutil.rmtree, folder, True)
    return data.save_arrays(dataset, folder / "cifar10.npz", train_limit=train_limit, test_limit=test_limit)


def _profile_arrays(root: Path, train_limit: int | None, test_limit: int | None) -> Path:
    with _arrays_lock:  # parallel jobs ask at once; write the file once
        return _cached_arrays(root, train_limit, test_limit)


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


@dataclass
class Job:
    """One sandboxed unit of work of one submission; `run` fills the planned record in a slot."""

    submission: submission.Submission
    planned: RunRecord
    run: Callable[[RunRecord, int], None]


class Evaluator:
    """Runs the sandboxed jobs of many submissions, `jobs` at a time, storing each result as soon
    as it exists. Per submission the smoke job goes first; checks and runs only follow when it passed."""

    def __init__(self, settings: Settings, store: Store, *, jobs: int = 1,
                 progress: Callable[[str], None] = lambda line: None) -> None:
        self.settings, self.store, self.jobs, self.progress = settings, store, max(1, jobs), progress
        self.cancel = threading.Event()

    def evaluate(self, folder: Path) -> Evaluation:
        return self.evaluate_all([folder])[0]

    def evaluate_all(self, folders: list[Path]) -> list[Evaluation]:
        loaded = [self._load(Path(folder)) for folder in folders]
        self._execute([item for item in loaded if isinstance(item, submission.Submission)])
        return [self.collect(item) if isinstance(item, submission.Submission) else item for item in loaded]

    def _load(self, folder: Path) -> submission.Submission | Evaluation:
        try:
            return submission.load(folder)
        except submission.SubmissionError as error:
            self.progress(f"{folder.name}: not graded: {error}")
            return Evaluation(folder, folder.name, None, self.settings.profile.name, self.settings.layer,
                              problems=[str(error)])

    def _execute(self, subs: list[submission.Submission]) -> None:
        slots: queue.Queue[int] = queue.Queue()
        for slot in range(self.jobs):
            slots.put(slot)
        with ThreadPoolExecutor(self.jobs) as pool:
            pending = {pool.submit(self._do, self._smoke_job(sub), slots): sub for sub in subs}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        sub, record = pending.pop(future), future.result()
                        if record.experiment == SMOKE and record.status == "ok":
                            for job in self._later_jobs(sub):
                                pending[pool.submit(self._do, job, slots)] = sub
            except BaseException:  # Ctrl-C or a bug: kill running children; nothing half-done is stored
                self.cancel.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def _do(self, job: Job, slots: "queue.Queue[int]") -> RunRecord:
        label = f"{job.submission.student}: {job.planned.experiment}"
        existing = self.store.find(job.planned)
        if existing is not None:
            self.progress(f"{label}: already in the store")
            return self.store.load(existing)
        slot = slots.get()
        try:
            record = job.planned
            record.started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            record.environment = {**env.environment(env.resolve_device(self.settings.device)),
                                  "isolation": self.settings.layer}
            job.run(record, slot)
        finally:
            slots.put(slot)
        with self.store.lock:  # a record stored meanwhile by another process wins; ours is dropped
            if self.store.find(record) is None:
                self.store.save(record)
        self.progress(f"{label}: {'ok' if record.status == 'ok' else 'FAILED'} ({record.wall_s:.0f}s)")
        return record

    def _jobs(self, sub: submission.Submission) -> list[Job]:
        return [self._smoke_job(sub), *self._later_jobs(sub)]

    def _later_jobs(self, sub: submission.Submission) -> list[Job]:
        return [self._checks_job(sub), *(self._train_job(sub, e) for e in self.settings.runs)]

    def collect(self, sub: submission.Submission) -> Evaluation:
        """What the store holds for `sub`: jobs never run (smoke failed, or interrupted) are 'skipped'."""
        evaluation = Evaluation(sub.path, sub.student, sub.content_hash, self.settings.profile.name,
                                self.settings.layer, claims=dict(sub.manifest.claims))
        for job in self._jobs(sub):
            existing = self.store.find(job.planned)
            record = self.store.load(existing) if existing is not None else job.planned
            if existing is None:
                record.status, record.error = "skipped", "not run"
            evaluation.add(record)
        return evaluation

    def _planned(self, sub: submission.Submission, experiment: str, kind: str, spec: dict, seed: int) -> RunRecord:
        return RunRecord(experiment=experiment, kind=kind, subject=sub.content_hash,
                         profile=self.settings.profile.name, seed=seed, spec=spec, spec_hash=dict_hash(spec),
                         harness_version=harness.__version__)

    def _sandboxed(self, sub: submission.Submission, job: dict[str, Any], limits: sandbox.Limits, slot: int,
                   inputs: dict[str, Path] | None = None) -> sandbox.Outcome:
        return sandbox.run_child(job, submission=sub.path, layer=self.settings.layer, limits=limits,
                                 inputs=inputs, slot=slot, cancel=self.cancel)

    def _smoke_job(self, sub: submission.Submission) -> Job:
        mean, std, _ = _normalization(self.settings.data_root)
        spec = {"job": "smoke", "child": _source_hash("child.py"), "mean": mean, "std": std,
                "dropout_rate": sub.manifest.dropout_rate}

        def run(record: RunRecord, slot: int) -> None:
            limits = self.settings.smoke_limits
            outcome = self._sandboxed(sub, spec, limits, slot)
            record.wall_s = outcome.wall_s
            # who and what was claimed, so that pages can be rendered from the store alone
            record.arrays = {"submission": {"student": sub.student, "folder": sub.path.name,
                                            "claims": dict(sub.manifest.claims)}}
            if not outcome.ok or (outcome.result or {}).get("ok") is not True:
                record.status, record.error = "failed", failure_message(outcome, limits)

        return Job(sub, self._planned(sub, SMOKE, "smoke", spec, seed=0), run)

    def _checks_job(self, sub: submission.Submission) -> Job:
        mean, std, source = _normalization(self.settings.data_root)
        context = {"mean": mean, "std": std, "dropout_rate": sub.manifest.dropout_rate,
                   "batchnorm_placement": sub.manifest.batchnorm_placement}
        spec = {"checks": _checks_hash(), "context": context}

        def run(record: RunRecord, slot: int) -> None:
            limits = self.settings.checks_limits
            outcome = self._sandboxed(sub, {"job": "checks", "context": context}, limits, slot)
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

        return Job(sub, self._planned(sub, CHECKS, "checks", spec, seed=0), run)

    def _train_job(self, sub: submission.Submission, experiment: str) -> Job:
        spec = self.settings.profile.apply(coursework.submission_spec(experiment, dropout_rate=sub.manifest.dropout_rate))
        planned = self._planned(sub, experiment, "train", to_dict(spec), seed=spec.seed)

        def run(record: RunRecord, slot: int) -> None:
            limits = self.settings.train_limits
            job = {"job": "train", "experiment": experiment, "profile": self.settings.profile.name,
                   "dropout_rate": sub.manifest.dropout_rate, "device": self.settings.device}
            outcome = self._sandboxed(sub, job, limits, slot, inputs={"data": self._data()})
            record.wall_s = outcome.wall_s
            if not outcome.ok or "error" in (outcome.result or {}):
                record.status, record.error = "failed", failure_message(outcome, limits)
                return
            path = (outcome.result.get("arrays") or {}).get("augmentation_path")
            if path in ("batched", "per-sample torchvision"):  # anything else the child says is ignored
                record.environment["augmentation_path"] = path
            try:
                record.history = _valid_history(outcome.result.get("history"), spec.epochs)
                record.metrics = _valid_metrics(outcome.result.get("metrics"))
            except ValueError as error:
                record.status, record.error = "failed", f"the run returned malformed results: {error}"

        return Job(sub, planned, run)

    def _data(self) -> Path:
        """The CIFAR-10 arrays this profile's runs use, written once per process for every job to copy."""
        profile = self.settings.profile
        return _profile_arrays(self.settings.data_root, profile.train_limit.get("cifar10"),
                               profile.test_limit.get("cifar10"))


def _clean_check(raw: Any) -> dict[str, Any]:
    """Only the fields we expect, as plain values: the child's output is data, never trusted further."""
    if not isinstance(raw, dict):
        raise ValueError("a check result is not an object")
    plain = lambda v: v if isinstance(v, (int, float, str)) or v is None else str(v)  # noqa: E731
    return {"id": str(raw.get("id", "?"))[:100], "title": str(raw.get("title", ""))[:300],
            "passed": raw.get("passed") is True, "message": str(raw.get("message", ""))[:2000],
            "measured": plain(raw.get("measured")), "bound": plain(raw.get("bound"))}


def stored_evaluations(store: Store, *, profile: str) -> list[Evaluation]:
    """Every submission graded under `profile`, rebuilt from the store alone (newest record of each job)."""
    by_subject: dict[str, Evaluation] = {}
    for record in store.runs(profile=profile):
        if record.experiment == SMOKE and "submission" in record.arrays:
            who = record.arrays["submission"]
            by_subject[record.subject] = Evaluation(Path(who["folder"]), who["student"], record.subject, profile,
                                                    record.environment.get("isolation", "?"), claims=who["claims"])
    for record in store.runs(profile=profile):
        if record.subject in by_subject:
            by_subject[record.subject].add(record)
    return sorted(by_subject.values(), key=lambda e: e.folder.name)
