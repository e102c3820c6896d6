"""`harness check` and `harness grade`: the setup they share, then grading, then what is written and printed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.engine import data, devices
from harness.engine.spec import PROFILES
from harness.store.database import Store


def _grading_setup(args: argparse.Namespace):
    """Everything check and grade share: data present, isolation available, rubric valid."""
    from harness.grading import rubric, sandbox
    from harness.grading.jobs import check_gpu
    from harness.grading.plan import Settings

    device = devices.resolve_device(args.device)  # a GPU that is not there: said before anything is loaded
    root = data.resolve_root(args.data_root)
    data.load("cifar10", root, download=args.download)  # fetch once here, not in every child
    layer = sandbox.choose_layer(allow_weak=args.allow_weak_isolation)
    if device.type == "cuda":
        print(f"{args.device}: {check_gpu(layer, str(device))}, reachable from the sandbox", file=sys.stderr)
    settings = Settings(profile=PROFILES[args.profile], data_root=root, layer=layer, device=str(device),
                        max_extra_seeds=args.max_extra_seeds)
    return settings, rubric.load(args.rubric)


def _graded(args: argparse.Namespace, folders: list[Path], settings, rubric) -> tuple[list, list[tuple[str, str]]]:
    """Evaluate and grade `folders` on the backend the options name; says what did not run."""
    from harness.engine import pool
    from harness.grading.executors import make_executor
    from harness.grading.pipeline import grade_folders
    from harness.grading.plan import sharing
    from harness.progress import Progress

    progress = Progress(sys.stderr)
    jobs = args.jobs or pool.default_jobs(devices.resolve_device(settings.device))
    settings = sharing(settings, jobs)
    try:
        with make_executor(in_process=args.in_process, dask=args.dask, scheduler=args.scheduler,
                           jobs=jobs) as executor, Store(args.store) as store:
            progress.note(f"profile {settings.profile.name}, isolation {settings.layer}, {executor.description}, "
                          f"store {args.store}")
            if executor.dashboard:
                progress.note(f"Dask dashboard: {executor.dashboard}")
            results, not_run = grade_folders(folders, settings=settings, rubric=rubric, store=store,
                                             executor=executor, progress=progress, retry_failed=args.retry_failed)
    finally:
        progress.close()
    if not_run:
        print(f"{len(not_run)} job(s) could not be run and were not stored (run the same command again to retry them):",
              file=sys.stderr)
        for label, why in not_run:
            print(f"  {label}: {why[:300]}", file=sys.stderr)
    return results, not_run


def check(args: argparse.Namespace) -> int:
    import time

    from harness.report import grade_pages, gradebook, gradescope

    started = time.perf_counter()
    settings, rubric = _grading_setup(args)
    print(f"checking {args.submission}", file=sys.stderr)
    [(evaluation, grade)], not_run = _graded(args, [Path(args.submission)], settings, rubric)
    if taken := grade_pages.taken_from(evaluation):
        print(taken)
    print(gradebook.summary(grade))
    if evaluation.content_hash:
        page = grade_pages.write_submission_page(evaluation, grade, Path(args.html_dir))
        print(f"report: {page}")
    if args.gradescope:
        print(f"gradescope results: {gradescope.write(grade, Path(args.gradescope))}")
    print(f"took {time.perf_counter() - started:.0f} s")
    return 0 if grade.status == "complete" and not grade.failed and not not_run else 1


def grade(args: argparse.Namespace) -> int:
    import time

    from harness.grading import similarity
    from harness.grading.pipeline import submission_paths
    from harness.report import grade_pages, gradebook

    started = time.perf_counter()
    folders = submission_paths(Path(args.submissions))
    settings, rubric = _grading_setup(args)
    print(f"grading {len(folders)} submissions in {args.submissions}", file=sys.stderr)
    results, not_run = _graded(args, folders, settings, rubric)
    grades = [g for _, g in results]
    pairs = similarity.compare(similarity.loadable(folders))
    index = grade_pages.write_class_reports(results, Path(args.reports), profile=settings.profile.name, rubric=rubric.name,
                                            similar=pairs)
    print(f"gradebook: {gradebook.write_csv(grades, args.gradebook)}\nreports: {index}")
    print(f"similarity: {similarity.write_csv(pairs, args.similarity or Path(args.gradebook).with_name('similarity.csv'))} "
          f"({sum(p.similarity >= similarity.SIMILAR for p in pairs)} of {len(pairs)} pairs alike)")
    print(gradebook.class_summary(grades))
    print(f"took {time.perf_counter() - started:.0f} s")
    return 1 if not_run else 0
