"""Run the checks with pytest on a subject and return one plain dict per check."""

from __future__ import annotations

from typing import Any

import pytest

from harness.grading.checks.subjects import Subject
from harness.grading.checks.support import CheckFailed, measurements
from harness.grading.checks.verdicts import CHECKS_DIR, PARTS


class Collector:
    """A pytest plugin: hands the subject and context to the fixtures and records each check's verdict."""

    def __init__(self, subject: Subject, context: dict[str, Any]) -> None:
        self.subject, self.context = subject, context
        self.results: list[dict[str, Any]] = []

    def pytest_configure(self, config) -> None:
        config.harness_subject = self.subject
        config.harness_context = self.context

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        measured = measurements()
        if report.when == "call" or (report.when == "setup" and report.failed):
            self.results.append(self._result(item, call, report, measured))

    @staticmethod
    def _result(item, call, report, measured: list[dict[str, Any]]) -> dict[str, Any]:
        doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
        result = {"id": item.name.removeprefix("test_"), "title": doc, "passed": report.passed,
                  "message": "", "measured": None, "bound": None, "measurements": measured}
        if report.failed and call.excinfo is not None:
            error = call.excinfo.value
            if isinstance(error, CheckFailed):
                result.update(message=error.message, measured=error.measured, bound=error.bound)
            else:
                result["message"] = f"The check itself could not run: {type(error).__name__}: {error}"
        return result


def run_checks(subject: Subject, context: dict[str, Any], parts: tuple[str, ...] = tuple(PARTS)) -> list[dict[str, Any]]:
    """Each check of `parts` on `subject`, in file order."""
    collector = Collector(subject, context)
    files = [str(CHECKS_DIR / name) for part in parts for name in PARTS[part]]
    pytest.main([*files, "-q", "-p", "no:cacheprovider", "--rootdir", str(CHECKS_DIR),
                 "-c", str(CHECKS_DIR / "pytest.ini"), "-W", "ignore"], plugins=[collector])
    return collector.results
