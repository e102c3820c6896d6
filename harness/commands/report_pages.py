"""`harness report`: the pages drawn again from the store, nothing run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.engine.spec import PROFILES
from harness.store.database import Store


def render(args: argparse.Namespace) -> int:
    from harness.grading import rubric
    from harness.grading.pipeline import stored_grades
    from harness.report.grade_pages import write_class_reports
    from harness.report.reference_page import latest_runs, write_reference_report

    if not Path(args.store).is_file():
        print(f"error: no results store at {args.store}; run `harness reference run` or `harness grade` first",
              file=sys.stderr)
        return 2
    loaded = rubric.load(args.rubric)
    with Store(args.store) as store:
        reference = latest_runs(store, profile=args.profile)
        if reference:
            print(f"reference report: {write_reference_report(store, args.html, profile=args.profile)}")
        graded = stored_grades(store, loaded, PROFILES[args.profile])
        if graded:
            index = write_class_reports(graded, Path(args.reports), profile=args.profile, rubric=loaded.name)
            print(f"grade reports ({len(graded)} submissions): {index}")
        if not graded and not reference:
            print(f"error: nothing stored under the {args.profile} profile in {args.store}", file=sys.stderr)
            return 2
    return 0
