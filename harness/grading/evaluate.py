"""Evaluate one submission: contract, then behaviour checks and coursework runs in the sandbox.

Everything a submission produces is stored under its content hash, so a re-run (after a crash or
Ctrl-C) skips what is done and records nothing twice. A student's crash, hang or bad output is a
stored, failed item with a sentence saying what happened; it never stops the batch.
"""

from __future__ import annotations

import functools
import hashlib
import math
import signal
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import harness
from harness.engine import data
from harness.engine.run import best_metrics
from harness.engine.spec import Profile, TrainSpec, dict_hash, to_dict
from harness.grading import contract, coursework, sandbox
from harness.grading.checks.verdicts import GRADER, SUBMISSION
from harness.grading.executors import Executor
from harness.grading.jobs import DataSlice, Ran, Task
from harness.progress import Progress
from harness.store.database import Store
from harness.store.records import RunRecord

SMOKE = "smoke"  # import, build, one forward pass, the transforms: the gate before everything else
CHECKS = "behaviour_checks"  # the experiment name the check results are stored under
VALIDATION = "scored by the grader on test labels the sandbox never saw"
CHILD_METRICS = ("epochs_run", "train_s", "train_samples_per_s")  # the only summary numbers taken from the child
# CIFAR-10 training-set statistics, used for the checks when the dataset itself is not at hand
CIFAR_TRAIN_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
CIFAR_SIZES = (50_000, 10_000)  # train and test images, where the profile takes them all
# A training run's time limit, per image and epoch (training and test images alike): about 4-5 times
# what the reference CNN takes with strategy 2's augmentation, on one CPU thread (1.1 ms, measured on
# a 2-core CPU) or on a GPU with eager steps (0.06 ms, H200); plus the child's start-up and the set-up.
SECONDS_PER_IMAGE = {"cpu": 5e-3, "cuda": 3e-4}
RUN_START_S = 120


@dataclass(frozen=True)
class Settings:
    profile: Profile
    data_root: Path
    layer: str
    runs: tuple[str, ...] = coursework.RUNS
    smoke_limits: sandbox.Limits = sandbox.Limits(wall_s=90)
    checks_limits: sandbox.Limits = sandbox.Limits(wall_s=180)
    train_limits: sandbox.Limits | None = None  # None: each run's sized to its epochs and images (`run_limits`)
    device: str = "cpu"  # where the coursework runs train; smoke tests and behaviour checks stay on the CPU
    children: int | None = None  # a submission's training runs share this many sandboxed children; None: one each
    shares: int = 1  # training runs taking turns on one GPU: a run's time limits grow with them


def run_limits(spec: TrainSpec, settings: Settings) -> sandbox.Limits:
    """A training run's limits: the settings' own when given, else wall and CPU seconds sized to the
    run's epochs and images on the settings' device (check: about 2 min; full, on a CPU: 3.4 h)."""
    if settings.train_limits is not None:
        return settings.train_limits
    train = settings.profile.train_limit.get("cifar10", CIFAR_SIZES[0])
    test = settings.profile.test_limit.get("cifar10", CIFAR_SIZES[1])
    per_image = SECONDS_PER_IMAGE["cpu" if settings.device == "cpu" else "cuda"]
    wall_s = (RUN_START_S + spec.epochs * (train + test) * per_image) * settings.shares
    return sandbox.Limits(wall_s=wall_s, cpu_s=math.ceil(2 * wall_s))


def sharing(settings: Settings, jobs: int) -> Settings:
    """`settings` for `jobs` jobs at once.

    A run of a capped profile (check, quick) trains for seconds, about as long as a child takes to start
    (torch's import: 3 s on a 2-core CPU), so a submission's runs are spread over `jobs` - 1 children
    (the behaviour checks take the slot left), each doing its share one run after another. A full-profile
    run keeps a child of its own: an interrupted grading then loses at most the runs under way.

    On a GPU the training runs take it in turns (eight sharing an H200 each took about eight times as
    long as one alone), so a run's time limits grow with them, its CPU seconds too (a process waiting on
    the GPU may spin); on the CPU each job has a core of its own."""
    if settings.profile.max_epochs is not None:
        settings = replace(settings, children=max(1, jobs - 1))
    return settings if settings.device == "cpu" else replace(settings, shares=max(1, jobs))


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
    for path in sorted((Path(harness.__file__).parent / "grading" / "checks").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _source_hash(name: str) -> str:
    return hashlib.sha256((Path(harness.__file__).parent / name).read_bytes()).hexdigest()[:16]


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


@dataclass
class Job:
    """One sandboxed unit of work of one submission: what its child does, and how the coordinator turns
    the child's outcome into the planned record. Jobs of one submission with the same limits, data and
    device can share a child (`_task`)."""

    submission: contract.Submission
    planned: RunRecord
    key: str  # unique within a batch: the planned record's identity
    label: str  # "student: experiment", for progress lines
    child_job: dict[str, Any]
    limits: sandbox.Limits
    interpret: Callable[[RunRecord, Ran], None]
    data: DataSlice | None = None
    device: str = "cpu"


def _task(jobs: list[Job], layer: str) -> Task:
    """One child for `jobs`, done in their order, each within its own wall clock."""
    first = jobs[0]
    limits = max((job.limits for job in jobs), key=lambda limits: limits.wall_s)  # the child's: the largest
    return Task(key=first.key, jobs=tuple(job.child_job for job in jobs), files=first.submission.files,
                layer=layer, limits=limits, data=first.data, device=first.device,
                walls=tuple(job.limits.wall_s for job in jobs))


class Evaluator:
    """Runs the sandboxed jobs of many submissions on an executor and stores each result as soon as
    it comes back; this process alone writes the store. Per submission the smoke job goes first;
    checks and runs only follow when it passed. Jobs already stored are not run again, unless they
    failed and `retry_failed` is set (a failure can be the grading machine's, fixed since)."""

    def __init__(self, settings: Settings, store: Store, executor: Executor, *,
                 progress: Progress | None = None, retry_failed: bool = False) -> None:
        self.settings, self.store, self.executor = settings, store, executor
        self.retry_failed = retry_failed
        self.progress = progress or Progress()
        self.not_run: dict[str, tuple[str, str]] = {}  # task key -> (label, why the executor gave it up); not stored
        self._unusable: set[str] = set()  # submissions whose smoke test failed

    def evaluate(self, folder: Path) -> Evaluation:
        return self.evaluate_all([folder])[0]

    def evaluate_all(self, folders: list[Path]) -> list[Evaluation]:
        loaded = [self._load(Path(folder)) for folder in folders]
        self._execute([item for item in loaded if isinstance(item, contract.Submission)])
        return [self.collect(item) if isinstance(item, contract.Submission) else item for item in loaded]

    def _load(self, folder: Path) -> contract.Submission | Evaluation:
        try:
            return contract.load(folder)
        except contract.SubmissionError as error:
            self.progress.note(f"{folder.name}: not graded: {error}")
            return Evaluation(folder, folder.name, None, self.settings.profile.name, self.settings.layer,
                              problems=[str(error)])

    def _execute(self, subs: list[contract.Submission]) -> None:
        """Each job is stored as soon as it ends, also while its child goes on with the next."""
        submitted: dict[str, list[Job]] = {}
        unstarted: dict[str, list[Job]] = {}
        self._start([job for sub in subs for job in self._first_jobs(sub)], submitted)
        for task, index, result in self.executor.completed():
            jobs = submitted[task.key]
            if isinstance(result, BaseException):
                why = f"{type(result).__name__}: {result}"
                for job in jobs[index:]:
                    self.not_run[job.key] = (job.label, why)
                    self.progress.finish(f"{job.label}: NOT RUN, not stored ({why[:200]})")
            elif result.outcome.status == "not_started":
                unstarted.setdefault(task.key, []).append(jobs[index])
            else:
                record = self._store(jobs[index], result)
                if record.experiment == SMOKE:
                    self._smoke_ended(record, jobs[index].submission, submitted)
            if isinstance(result, BaseException) or index == len(jobs) - 1:  # the task is over
                del submitted[task.key]
                if task.key in unstarted:  # the job before them hung or ended the child: a child of their own
                    self._start(unstarted.pop(task.key), submitted, planned=True)

    def _smoke_ended(self, smoke: RunRecord, sub: contract.Submission, submitted: dict[str, list[Job]]) -> None:
        """A smoke test that passed starts the submission's training runs; one that failed stops the rest."""
        if smoke.status == "ok":
            self._start(self._later_jobs(sub), submitted)
        else:
            self._unusable.add(sub.content_hash)

    def _start(self, jobs: list[Job], submitted: dict[str, list[Job]], *, planned: bool = False) -> None:
        """Submit the jobs the store does not have, except those of a submission whose smoke test failed;
        a stored smoke test counts as one that just ended (it comes before its submission's other jobs)."""
        if not planned:
            self.progress.plan(len(jobs))
        waiting, passed = [], []
        for job in jobs:
            stored = self._kept(job.planned)
            if stored is None and job.submission.content_hash in self._unusable:
                self.progress.finish(f"{job.label}: not run (the submission could not be run)")
            elif stored is None:
                waiting.append(job)
            else:
                failed = "" if stored.status == "ok" else " (failed; --retry-failed runs it again)"
                self.progress.finish(f"{job.label}: already in the store{failed}")
                if job.planned.experiment == SMOKE:
                    self._update_who(stored, job.submission)
                    if stored.status == "ok":
                        passed.append(job.submission)
                    else:
                        self._unusable.add(job.submission.content_hash)
        for group in self._groups(waiting):
            self._submit(group, submitted)
        for sub in passed:
            self._start(self._later_jobs(sub), submitted)

    def _groups(self, jobs: list[Job]) -> list[list[Job]]:
        """One child for a submission's smoke test and checks, which follow it in that child (a failed
        smoke test ends it); training runs (of one submission: `_later_jobs`) share `children` children,
        dealt out in turn so that each child gets runs of every kind."""
        gates: dict[str, list[Job]] = {}
        for job in jobs:
            if job.planned.kind != "train":
                gates.setdefault(job.submission.content_hash, []).append(job)
        training = [job for job in jobs if job.planned.kind == "train"]
        shared = min(self.settings.children or len(training), len(training))
        return list(gates.values()) + [training[k::shared] for k in range(shared)]

    def _submit(self, jobs: list[Job], submitted: dict[str, list[Job]]) -> None:
        task = _task(jobs, self.settings.layer)
        submitted[task.key] = jobs
        self.executor.submit(task)

    def _update_who(self, smoke: RunRecord, sub: contract.Submission) -> None:
        """The claims (or folder) changed since the smoke test ran: nothing runs again, the record learns them."""
        if smoke.arrays.get("submission") != _who(sub):
            smoke.arrays = {**smoke.arrays, "submission": _who(sub)}
            self.store.save(smoke, replace=True)

    def _kept(self, planned: RunRecord) -> RunRecord | None:
        """The stored result of this job, unless there is none or it failed and failures are retried."""
        existing = self.store.find(planned)
        if existing is None:
            return None
        stored = self.store.load(existing)
        return None if self.retry_failed and stored.status != "ok" else stored

    def _store(self, job: Job, ran: Ran) -> RunRecord:
        record = job.planned
        record.started_at, record.environment, record.wall_s = ran.started_at, ran.environment, ran.outcome.wall_s
        job.interpret(record, ran)
        with self.store.lock:  # a record kept meanwhile by another process wins; ours is dropped
            if self._kept(record) is None:
                self.store.save(record, replace=True)  # replaces only a failure being retried
        self.progress.finish(f"{job.label}: {'ok' if record.status == 'ok' else 'FAILED'} ({record.wall_s:.0f}s)")
        return record

    def _jobs(self, sub: contract.Submission) -> list[Job]:
        return [*self._first_jobs(sub), *self._later_jobs(sub)]

    def _first_jobs(self, sub: contract.Submission) -> list[Job]:
        """The smoke test, then the checks' export in the same child."""
        return [self._smoke_job(sub), self._checks_job(sub)]

    def _later_jobs(self, sub: contract.Submission) -> list[Job]:
        """What starts once the smoke test passed."""
        return [self._train_job(sub, e) for e in self.settings.runs]

    def collect(self, sub: contract.Submission) -> Evaluation:
        """What the store holds for `sub`: jobs never run (smoke failed, or interrupted) are 'skipped'."""
        evaluation = Evaluation(sub.path, sub.student, sub.content_hash, self.settings.profile.name,
                                self.settings.layer, claims=dict(sub.manifest.claims))
        for job in self._jobs(sub):
            existing = self.store.find(job.planned)
            record = self.store.load(existing) if existing is not None else job.planned
            if existing is None:
                record.status, record.error = "skipped", self.not_run.get(job.key, ("", "not run"))[1]
            evaluation.add(record)
        return evaluation

    def _job(self, sub: contract.Submission, experiment: str, kind: str, spec: dict, seed: int,
             child_job: dict[str, Any], limits: sandbox.Limits, interpret: Callable[[RunRecord, Ran], None],
             data: DataSlice | None = None, device: str = "cpu") -> Job:
        planned = RunRecord(experiment=experiment, kind=kind, subject=sub.content_hash,
                            profile=self.settings.profile.name, seed=seed, spec=spec, spec_hash=dict_hash(spec),
                            harness_version=harness.__version__)
        return Job(sub, planned, f"{sub.content_hash[:16]}-{experiment}-{planned.spec_hash[:16]}",
                   f"{sub.student}: {experiment}", child_job, limits, interpret, data, device)

    def _smoke_job(self, sub: contract.Submission) -> Job:
        mean, std, _ = _normalization(self.settings.data_root)
        spec = {"job": "smoke", "child": _source_hash("grading/child.py"), "mean": mean, "std": std,
                "dropout_rate": sub.manifest.dropout_rate}
        limits = self.settings.smoke_limits

        def interpret(record: RunRecord, ran: Ran) -> None:
            outcome = ran.outcome
            record.arrays = {"submission": _who(sub)}
            if not outcome.ok or (outcome.result or {}).get("ok") is not True:
                record.status, record.error = "failed", failure_message(outcome, limits)

        return self._job(sub, SMOKE, "smoke", spec, 0, spec, limits, interpret)

    def _checks_job(self, sub: contract.Submission) -> Job:
        mean, std, source = _normalization(self.settings.data_root)
        context = {"mean": mean, "std": std, "dropout_rate": sub.manifest.dropout_rate,
                   "batchnorm_placement": sub.manifest.batchnorm_placement}
        spec = {"checks": _checks_hash(), "context": context}
        limits = self.settings.checks_limits

        def interpret(record: RunRecord, ran: Ran) -> None:
            outcome = ran.outcome
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

        return self._job(sub, CHECKS, "checks", spec, 0, {"job": "checks", "context": context}, limits, interpret)

    def _train_job(self, sub: contract.Submission, experiment: str) -> Job:
        spec = self.settings.profile.apply(coursework.submission_spec(experiment, dropout_rate=sub.manifest.dropout_rate))
        limits = run_limits(spec, self.settings)
        child_job = {"job": "train", "experiment": experiment, "profile": self.settings.profile.name,
                     "dropout_rate": sub.manifest.dropout_rate, "device": self.settings.device,
                     "gpu_memory_bytes": limits.gpu_memory_bytes}

        def interpret(record: RunRecord, ran: Ran) -> None:
            outcome = ran.outcome
            if not outcome.ok or "error" in (outcome.result or {}):
                record.status, record.error = "failed", failure_message(outcome, limits)
                return
            path = (outcome.result.get("arrays") or {}).get("augmentation_path")
            if path in ("batched", "per-sample torchvision"):  # anything else the child says is ignored
                record.environment["augmentation_path"] = path
            record.environment["validation"] = VALIDATION
            try:
                record.history, record.metrics = _scored_run(outcome.result, ran.validation, spec.epochs)
            except ValueError as error:
                record.status, record.error = "failed", f"the run returned malformed results: {error}"
                return
            if why := _non_finite(record.history):
                record.status, record.error = "failed", why

        profile = self.settings.profile
        data = DataSlice(self.settings.data_root, profile.train_limit.get("cifar10"), profile.test_limit.get("cifar10"),
                         spec.task, spec.loss)
        return self._job(sub, experiment, "train", to_dict(spec), spec.seed, child_job, limits, interpret, data,
                         self.settings.device)


def _who(sub: contract.Submission) -> dict[str, Any]:
    """Who and what was claimed, kept with the smoke test so that pages can be rendered from the store alone."""
    return {"student": sub.student, "folder": sub.path.name, "claims": dict(sub.manifest.claims)}


MEASUREMENTS_KEPT = 40  # per check: the given network makes at most 9; more say little and cost room in the store


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float)) or value is None else str(value)[:300]


def _clean_check(raw: Any) -> dict[str, Any]:
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
                              "bound": _plain(m.get("bound")), "passed": m.get("passed") is True}
                             for m in measurements[:MEASUREMENTS_KEPT]]}


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
