"""Grade a set of submission folders end to end: sandboxed evaluation, reference spread, grades.

Both front doors use it: `harness check` with one folder and `harness grade` with a class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from harness.engine import data, devices
from harness.engine.spec import Profile
from harness.grading import band, spread
from harness.grading.contract import (
    CLAIMED_RUNS,
    MANIFEST_FILE,
    SubmissionError,
    not_a_folder,
)
from harness.grading.coursework import RUNS, SEEDS
from harness.grading.evaluate import Evaluation, Evaluator, stored_evaluations
from harness.grading.executors import Executor
from harness.grading.grade import Grade, grade
from harness.grading.plan import Settings
from harness.grading.rubric import Rubric
from harness.progress import Progress
from harness.store.database import Store


def submission_paths(parent: Path) -> list[Path]:
    """Every folder and notebook directly under `parent`, except hidden ones: each is one student's
    submission."""
    if parent.suffix == ".ipynb" and parent.is_file():
        raise SubmissionError(f"{parent} is one notebook; check it with `harness check {parent}`, or grade the "
                              "folder that holds one notebook or folder per student")
    if not parent.is_dir():
        raise SubmissionError(f"{not_a_folder(parent)}; pass the folder that holds one folder per submission")
    if (parent / MANIFEST_FILE).is_file():
        raise SubmissionError(f"{parent} is one submission (it holds {MANIFEST_FILE}); grade the folder above it, "
                         f"or check this one with `harness check {parent}`")
    return sorted(p for p in parent.iterdir()
                  if (p.is_dir() or p.suffix == ".ipynb") and not p.name.startswith((".", "_")))


def reference_bands(store: Store, settings: Settings, rubric: Rubric, evaluations: list[Evaluation],
                    progress: Callable[[str], None]) -> dict[str, band.Band]:
    """The reference band of every coursework run in this profile, measured once and stored."""
    from reference.experiments import EXPERIMENTS

    if all(e.failure for e in evaluations):
        return {}
    device = devices.resolve_device(settings.device)
    return {run: band.from_records(spread.measure(store, EXPERIMENTS[run], profile=settings.profile,
                                                  seeds=rubric.claims.seeds, data_root=settings.data_root,
                                                  device=device, progress=progress))
            for run in settings.runs}


def same_data(store: Store, settings: Settings) -> None:
    """Refuses to grade when the store's reference band was measured on other data than the data at
    `settings.data_root`: the store keys runs by experiment, seed and code, not by data set, so this is
    asked before anything runs (and before any stored run of a student is reused)."""
    profile = settings.profile
    here: dict | None = None
    for record in store.runs(subject="reference", profile=profile.name):
        stored = record.environment.get("data")
        if record.experiment not in RUNS or not stored:
            continue
        if "fingerprint" in stored:
            here = here or data.load("cifar10", settings.data_root, download=False).provenance(
                profile.train_limit.get("cifar10"), profile.test_limit.get("cifar10"))
            same = stored["fingerprint"] == here["fingerprint"]
        else:  # stored before runs carried a fingerprint: only the kind of data can be told apart
            same = stored.get("synthetic") == data.cifar10_is_synthetic(settings.data_root)
        if not same:
            now = here or {"synthetic": data.cifar10_is_synthetic(settings.data_root)}
            raise band.OtherData(
                f"the store holds the {profile.name} profile's reference band measured on {_described(stored)}, "
                f"and the data at {settings.data_root} is {_described(now, where=False)}: grade it with another --store "
                "(a store holds one data set)")


def _described(provenance: dict, where: bool = True) -> str:
    kind = "generated data (harness data synth)" if provenance.get("synthetic") else "real data"
    if "train_samples" not in provenance:
        return kind
    images = f"{kind}, {provenance['train_samples']} training and {provenance['test_samples']} test images"
    return f"{images} in {provenance.get('folder')}" if where else f"other {images}"


def stored_bands(store: Store, rubric: Rubric, profile: Profile) -> dict[str, band.Band]:
    """The bands already in the store (rendering never runs anything)."""
    from reference.experiments import EXPERIMENTS

    found = {run: spread.stored(store, EXPERIMENTS[run], profile=profile, seeds=rubric.claims.seeds) for run in RUNS}
    return {run: band.from_records(records) for run, records in found.items() if records is not None}


def stored_grades(store: Store, rubric: Rubric, profile: Profile) -> list[tuple[Evaluation, Grade]]:
    """Every submission graded under `profile`, graded again from the store alone."""
    bands = stored_bands(store, rubric, profile)
    return [(e, grade(e, rubric, bands)) for e in stored_evaluations(store, profile=profile.name)]


def grade_folders(folders: list[Path], *, settings: Settings, rubric: Rubric, store: Store, executor: Executor,
                  progress: Progress, retry_failed: bool = False,
                  ) -> tuple[list[tuple[Evaluation, Grade]], list[tuple[str, str]]]:
    """The grades, and the jobs the executor gave up on as (label, why): not stored, so a re-run retries them.
    `retry_failed`: run again the jobs whose stored result is a failure."""
    same_data(store, settings)
    evaluator = Evaluator(settings, store, executor, progress=progress, retry_failed=retry_failed)
    evaluations = evaluator.evaluate_all(folders)
    bands = reference_bands(store, settings, rubric, evaluations, progress.note)
    graded = [(e, grade(e, rubric, bands)) for e in evaluations]
    for _ in range(settings.max_extra_seeds):  # each round buys every inconclusive claim one more seed
        wanted = _extra_seeds(graded, settings.max_extra_seeds)
        if not wanted:
            break
        progress.note(f"{len(wanted)} inconclusive claim(s): reproducing each under its next seed")
        again = evaluator.reproduce(wanted)
        graded = [(again[e.content_hash], grade(again[e.content_hash], rubric, bands)) if e.content_hash in again
                  else (e, g) for e, g in graded]
    return graded, list(evaluator.not_run.values())


def _extra_seeds(graded: list[tuple[Evaluation, Grade]], most: int) -> list[tuple[Evaluation, str, int]]:
    """(evaluation, run, k) for each inconclusive claim that another seed may decide: its run under the
    k-th seed past its own, k at most `most`."""
    wanted = [(e, CLAIMED_RUNS[item.id], item.evidence["next_seed"] - SEEDS[CLAIMED_RUNS[item.id]])
              for e, g in graded for item in g.items if item.section == "claim" and "next_seed" in item.evidence]
    return [(e, run, k) for e, run, k in wanted if k <= most]
