"""Run the checks with pytest inside the child and return one plain dict per check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.checks.support import CheckFailed, measurements

CHECKS_DIR = Path(__file__).parent


class Collector:
    """A pytest plugin: hands the context to the fixtures and records each check's verdict."""

    def __init__(self, context: dict[str, Any], modules) -> None:
        self.context, self.modules = context, modules
        self.results: list[dict[str, Any]] = []

    def pytest_configure(self, config) -> None:
        config.harness_context = self.context
        config.harness_modules = self.modules

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


def run_checks(submission: Path, context: dict[str, Any]) -> list[dict[str, Any]]:
    from harness.child import load_submission

    collector = Collector(context, load_submission(submission))
    pytest.main([str(CHECKS_DIR), "-q", "-p", "no:cacheprovider", "--rootdir", str(CHECKS_DIR),
                 "-c", str(CHECKS_DIR / "pytest.ini"), "-W", "ignore"], plugins=[collector])
    return collector.results
