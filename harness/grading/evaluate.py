"""Evaluate submissions: run their planned jobs (`plan`) in the sandbox on an executor, store each
validated result (`validate`) as it comes back, and collect what the store holds for each.

Everything a submission produces is stored under its content hash, so a re-run (after a crash or
Ctrl-C) skips what is done and records nothing twice. A student's crash, hang or bad output is a
stored, failed item with a sentence saying what happened; it never stops the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.grading import contract, coursework
from harness.grading.contract import CLAIMED_RUNS
from harness.grading.executors import Executor
from harness.grading.jobs import Ran
from harness.grading.plan import CHECKS, SMOKE, Job, Settings, first_jobs, later_jobs, task_for, train_job, who
from harness.progress import Progress
from harness.store.database import Store
from harness.store.records import RunRecord


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
    runs: dict[str, RunRecord] = field(default_factory=dict)  # each under its declared seed
    extra: dict[str, dict[int, RunRecord]] = field(default_factory=dict)  # run -> seed -> a claim's extra reproduction
    claims: dict[str, float] = field(default_factory=dict)
    source: dict | None = None  # a notebook's: its name and the cell each part came from

    def add(self, record: RunRecord) -> None:
        if record.experiment == SMOKE:
            self.smoke = record
        elif record.experiment == CHECKS:
            self.checks = record
        elif record.seed != coursework.SEEDS.get(record.experiment, record.seed):
            self.extra.setdefault(record.experiment, {})[record.seed] = record
        else:
            self.runs[record.experiment] = record

    def reproductions(self, run: str) -> list[RunRecord]:
        """`run` under its declared seed, then under each next seed stored, up to the first one missing."""
        found = [self.runs[run]] if run in self.runs else []
        extra = self.extra.get(run, {})
        while found and found[-1].seed + 1 in extra:
            found.append(extra[found[-1].seed + 1])
        return found

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
        self._loaded: dict[str, contract.Submission] = {}  # content hash -> submission, for its extra seeds

    def evaluate(self, folder: Path) -> Evaluation:
        return self.evaluate_all([folder])[0]

    def evaluate_all(self, folders: list[Path]) -> list[Evaluation]:
        loaded = [self._load(Path(folder)) for folder in folders]
        subs = [item for item in loaded if isinstance(item, contract.Submission)]
        self._loaded |= {sub.content_hash: sub for sub in subs}
        self._execute([job for sub in subs for job in first_jobs(sub, self.settings)])
        return [self.collect(item) if isinstance(item, contract.Submission) else item for item in loaded]

    def reproduce(self, wanted: list[tuple[Evaluation, str, int]]) -> dict[str, Evaluation]:
        """Run each (evaluation, run, k) wanted: a claim's extra reproduction under the k-th seed past the
        run's own; the evaluations they change, collected again, by content hash."""
        subs = {e.content_hash: self._loaded[e.content_hash] for e, _, _ in wanted}
        self._execute([train_job(subs[e.content_hash], self.settings, run, k) for e, run, k in wanted])
        return {key: self.collect(sub) for key, sub in subs.items()}

    def _load(self, folder: Path) -> contract.Submission | Evaluation:
        try:
            return contract.load(folder)
        except contract.SubmissionError as error:
            self.progress.note(f"{folder.name}: not graded: {error}")
            return Evaluation(folder, folder.name, None, self.settings.profile.name, self.settings.layer,
                              problems=[str(error)])

    def _execute(self, jobs: list[Job]) -> None:
        """Each job is stored as soon as it ends, also while its child goes on with the next; a smoke
        test that passed starts its submission's runs."""
        submitted: dict[str, list[Job]] = {}
        unstarted: dict[str, list[Job]] = {}
        self._start(jobs, submitted)
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
            self._start(later_jobs(sub, self.settings), submitted)
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
            self._start(later_jobs(sub, self.settings), submitted)

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
        task = task_for(jobs, self.settings.layer)
        submitted[task.key] = jobs
        self.executor.submit(task)

    def _update_who(self, smoke: RunRecord, sub: contract.Submission) -> None:
        """The claims (or folder) changed since the smoke test ran: nothing runs again, the record learns them."""
        if smoke.arrays.get("submission") != who(sub):
            smoke.arrays = {**smoke.arrays, "submission": who(sub)}
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
        return [*first_jobs(sub, self.settings), *later_jobs(sub, self.settings)]

    def _extra_jobs(self, sub: contract.Submission) -> list[Job]:
        """The extra reproductions its claims may have bought."""
        runs = [run for run in CLAIMED_RUNS.values() if run in self.settings.runs]
        return [train_job(sub, self.settings, run, k) for run in runs for k in range(1, self.settings.max_extra_seeds + 1)]

    def collect(self, sub: contract.Submission) -> Evaluation:
        """What the store holds for `sub`: jobs never run (smoke failed, or interrupted) are 'skipped';
        extra reproductions are there when they were bought."""
        evaluation = Evaluation(sub.path, sub.student, sub.content_hash, self.settings.profile.name,
                                self.settings.layer, claims=dict(sub.manifest.claims), source=who(sub).get("source"))
        for job in self._jobs(sub):
            existing = self.store.find(job.planned)
            record = self.store.load(existing) if existing is not None else job.planned
            if existing is None:
                record.status, record.error = "skipped", self.not_run.get(job.key, ("", "not run"))[1]
            evaluation.add(record)
        for job in self._extra_jobs(sub):
            existing = self.store.find(job.planned)
            if existing is not None:
                evaluation.add(self.store.load(existing))
        return evaluation


def stored_evaluations(store: Store, *, profile: str) -> list[Evaluation]:
    """Every submission graded under `profile`, rebuilt from the store alone (newest record of each job)."""
    by_subject: dict[str, Evaluation] = {}
    for record in store.runs(profile=profile):
        if record.experiment == SMOKE and "submission" in record.arrays:
            known = record.arrays["submission"]
            by_subject[record.subject] = Evaluation(Path(known["folder"]), known["student"], record.subject, profile,
                                                    record.environment.get("isolation", "?"), claims=known["claims"],
                                                    source=known.get("source"))
    for record in store.runs(profile=profile):
        if record.subject in by_subject:
            by_subject[record.subject].add(record)
    return sorted(by_subject.values(), key=lambda e: e.folder.name)
