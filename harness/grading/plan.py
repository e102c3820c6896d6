"""What grading a submission runs: its jobs (the smoke test, the checks, the coursework runs), each
with its child's instructions, its limits and how its outcome becomes a record (`validate`).
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import harness
from harness.engine import data
from harness.engine.spec import Profile, TrainSpec, dict_hash, seeded, to_dict
from harness.grading import contract, coursework, sandbox, validate
from harness.grading.jobs import DataSlice, Ran, Task
from harness.store.records import RunRecord

SMOKE = "smoke"  # import, build, one forward pass, the transforms: the gate before everything else
CHECKS = "behaviour_checks"  # the experiment name the check results are stored under
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
    max_extra_seeds: int = 2  # reproductions under the next seeds an inconclusive claim may buy (`sequential`)

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

def who(sub: contract.Submission) -> dict[str, Any]:
    """Who and what was claimed (and, for a notebook, which cell each part came from), kept with the
    smoke test so that pages can be rendered from the store alone."""
    found = {"student": sub.student, "folder": sub.path.name, "claims": dict(sub.manifest.claims)}
    if contract.SOURCE_FILE in sub.files:
        found["source"] = contract.notebook_source(sub.files[contract.SOURCE_FILE])
    return found


@dataclass
class Job:
    """One sandboxed unit of work of one submission: what its child does, and how the coordinator turns
    the child's outcome into the planned record. Jobs of one submission with the same limits, data and
    device can share a child (`task_for`)."""

    submission: contract.Submission
    planned: RunRecord
    key: str  # unique within a batch: the planned record's identity
    label: str  # "student: experiment", for progress lines
    child_job: dict[str, Any]
    limits: sandbox.Limits
    interpret: Callable[[RunRecord, Ran], None]
    data: DataSlice | None = None
    device: str = "cpu"

def task_for(jobs: list[Job], layer: str) -> Task:
    """One child for `jobs`, done in their order, each within its own wall clock."""
    first = jobs[0]
    limits = max((job.limits for job in jobs), key=lambda limits: limits.wall_s)  # the child's: the largest
    return Task(key=first.key, jobs=tuple(job.child_job for job in jobs), files=first.submission.files,
                layer=layer, limits=limits, data=first.data, device=first.device,
                walls=tuple(job.limits.wall_s for job in jobs))


def first_jobs(sub: contract.Submission, settings: Settings) -> list[Job]:
    """The smoke test, then the checks' export in the same child."""
    return [smoke_job(sub, settings), checks_job(sub, settings)]


def later_jobs(sub: contract.Submission, settings: Settings) -> list[Job]:
    """What starts once the smoke test passed."""
    return [train_job(sub, settings, experiment) for experiment in settings.runs]


def _job(sub: contract.Submission, settings: Settings, experiment: str, kind: str, spec: dict, seed: int,
         child_job: dict[str, Any], limits: sandbox.Limits, interpret: Callable[[RunRecord, Ran], None],
         data: DataSlice | None = None, device: str = "cpu") -> Job:
    planned = RunRecord(experiment=experiment, kind=kind, subject=sub.content_hash,
                        profile=settings.profile.name, seed=seed, spec=spec, spec_hash=dict_hash(spec),
                        harness_version=harness.__version__)
    return Job(sub, planned, f"{sub.content_hash[:16]}-{experiment}-{planned.spec_hash[:16]}",
               f"{sub.student}: {experiment}", child_job, limits, interpret, data, device)


def smoke_job(sub: contract.Submission, settings: Settings) -> Job:
    mean, std, _ = _normalization(settings.data_root)
    spec = {"job": "smoke", "child": _source_hash("grading/child.py"), "mean": mean, "std": std,
            "dropout_rate": sub.manifest.dropout_rate}
    limits = settings.smoke_limits
    interpret = functools.partial(validate.smoke_result, who=who(sub), limits=limits)
    return _job(sub, settings, SMOKE, "smoke", spec, 0, spec, limits, interpret)


def checks_job(sub: contract.Submission, settings: Settings) -> Job:
    mean, std, source = _normalization(settings.data_root)
    context = {"mean": mean, "std": std, "dropout_rate": sub.manifest.dropout_rate,
               "batchnorm_placement": sub.manifest.batchnorm_placement}
    spec = {"checks": _checks_hash(), "context": context}
    limits = settings.checks_limits
    interpret = functools.partial(validate.checks_result, normalization=source, limits=limits)
    return _job(sub, settings, CHECKS, "checks", spec, 0, {"job": "checks", "context": context}, limits, interpret)


def train_job(sub: contract.Submission, settings: Settings, experiment: str, extra_seed: int = 0) -> Job:
    """A coursework run under its declared seed, or under the `extra_seed`-th next one (a claim's extra
    reproduction)."""
    spec = seeded(settings.profile.apply(coursework.submission_spec(experiment, dropout_rate=sub.manifest.dropout_rate)),
                  extra_seed)
    limits = run_limits(spec, settings)
    child_job = {"job": "train", "experiment": experiment, "profile": settings.profile.name, "seed": spec.seed,
                 "dropout_rate": sub.manifest.dropout_rate, "device": settings.device,
                 "gpu_memory_bytes": limits.gpu_memory_bytes}
    interpret = functools.partial(validate.run_result, epochs=spec.epochs, limits=limits)
    profile = settings.profile
    data = DataSlice(settings.data_root, profile.train_limit.get("cifar10"), profile.test_limit.get("cifar10"),
                     spec.task, spec.loss)
    job = _job(sub, settings, experiment, "train", to_dict(spec), spec.seed, child_job, limits, interpret, data,
               settings.device)
    if extra_seed:
        job.label += f" (seed {spec.seed}, for its claim)"
    return job
