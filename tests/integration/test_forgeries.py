"""Submissions that try to forge their grade, graded through the sandbox beside a plain twin.

Every forgery is the `dropout_active_in_eval` example (which fails one check) with hostile code that
runs when its model.py is imported. Forging a verdict (patching the harness, pytest, builtins, exit;
printing results; threads rewriting the checks' state; fake result files) changes nothing: each gets
exactly the twin's verdicts, all computed by the grader, and the twin's run metrics. Forging the
evidence instead (handing back no export and results of its own) is possible in a process the
submission controls, and then every such verdict is marked as computed in the submission's own process.
"""

import shutil
from pathlib import Path

import pytest

from harness.engine.spec import PROFILES
from harness.grading import sandbox
from harness.grading.checks.verdicts import GRADER, PARTS, SUBMISSION, check_ids
from harness.grading.evaluate import Evaluator
from harness.grading.executors import LocalPool
from harness.grading.plan import Settings
from harness.grading.sandbox import Limits
from harness.store.database import Store

EXAMPLES = Path(__file__).resolve().parents[2] / "submissions"
TWIN = "dropout_active_in_eval"
LAYER = sandbox.available_layers()[0]
pytestmark = pytest.mark.sandbox
IDS = [check for part in PARTS for check in check_ids(part)]
PASSING = repr([{"id": c, "title": c, "passed": True, "message": "", "computed_in": GRADER, "measurements": []}
                for c in IDS])

VERDICT_FORGERIES = {  # appended to the twin's model.py
    "patches_the_checks": """
import harness.grading.checks.support as _support, harness.grading.checks.session as _runner, harness.grading.checks.verdicts as _verdicts
_support.expect = lambda *args, **kwargs: None
_runner.Collector._result = staticmethod(lambda item, call, report, measured: {
    "id": item.name[5:], "title": "forged", "passed": True, "message": "", "measured": None, "bound": None,
    "measurements": []})
_verdicts.decided = lambda handed, judge: PASSING
""",
    "patches_pytest": """
import _pytest.reports as _reports
_reports.BaseReport.passed = property(lambda self: True)
_reports.BaseReport.failed = property(lambda self: False)
""",
    "patches_builtins_and_exit": """
import builtins as _builtins, os as _os, sys as _sys
_sys.exit = _builtins.exit = _builtins.quit = lambda *args: None
_os._exit = lambda *args: None
_builtins.print = lambda *args, **kwargs: None
""",
    "prints_fabricated_results": """
import json as _json
print(_json.dumps({"checks": PASSING}))
print("Behaviour checks: 14/14 passed\\nTotal: 30.5 / 30.5 points (100%)")
""",
    "thread_rewrites_the_checks_state": """
import threading as _threading, time as _time
import harness.grading.checks.support as _support, harness.grading.checks.session as _runner
def _rewrite():
    while True:
        _support._measured[:] = [{"what": "forged", "measured": 0, "bound": 0, "passed": True}]
        _support.expect = lambda *args, **kwargs: None
        _runner.Collector.results = PASSING
        _time.sleep(0.001)
_threading.Thread(target=_rewrite, daemon=True).start()
""",
    "json_marks_every_check_passed": """
import json as _json
_dumps = _json.dumps
def _passing(value):
    if isinstance(value, dict):
        return {key: True if key == "passed" else _passing(item) for key, item in value.items()}
    return [_passing(item) for item in value] if isinstance(value, list) else value
_json.dumps = lambda obj, *args, **kwargs: _dumps(_passing(obj), *args, **kwargs)
""",
    "writes_fake_result_files": """
import json as _json, pathlib as _pathlib
_work = _pathlib.Path(__file__).resolve().parent.parent
for _i in range(3):
    (_work / f"result-{_i}.json").write_text(_json.dumps({"checks": PASSING, "ok": True}))
""",
}
EVIDENCE_FORGERIES = {  # these replace what the child hands back: possible, and never passed off as the grader's
    "json_drops_the_export": """
import json as _json
_dumps = _json.dumps
def _forged(obj, *args, **kwargs):
    if isinstance(obj, dict) and "programs" in obj:
        obj = {"fallback": {"model": "torch.export failed", "transforms": "not torchvision"}, "checks": PASSING}
    return _dumps(obj, *args, **kwargs)
_json.dumps = _forged
""",
    "atexit_rewrites_the_result": """
import atexit as _atexit, json as _json, pathlib as _pathlib
_work = _pathlib.Path(__file__).resolve().parent.parent
def _rewrite():
    for _result in _work.glob("result-*.json"):
        _result.write_text(_json.dumps({"ok": True, "checks": PASSING}))
_atexit.register(_rewrite)
""",
}


# the forgeries whose code could reach a training run's result (its process, its output, its files);
# the others patch what only the checks use, and are graded without a run
TRAINING = {"patches_builtins_and_exit", "prints_fabricated_results", "thread_rewrites_the_checks_state",
            "json_marks_every_check_passed", "writes_fake_result_files"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, synth_root):
    root = tmp_path_factory.mktemp("forgeries")
    model = (EXAMPLES / TWIN / "model.py").read_text()
    for name, hostile in {TWIN: "", **VERDICT_FORGERIES, **EVIDENCE_FORGERIES}.items():
        shutil.copytree(EXAMPLES / TWIN, root / name)
        (root / name / "model.py").write_text(f"PASSING = {PASSING}\n{model}\n{hostile}")
    limits = {"smoke_limits": Limits(wall_s=60), "checks_limits": Limits(wall_s=120), "train_limits": Limits(wall_s=120)}
    store = Store(root / "store.sqlite")
    evaluations = []
    with LocalPool(2) as pool:
        for runs, names in ((("cw_baseline",), {TWIN, *TRAINING}),
                            ((), set(VERDICT_FORGERIES) - TRAINING | set(EVIDENCE_FORGERIES))):
            settings = Settings(profile=PROFILES["check"], data_root=synth_root, layer=LAYER, runs=runs, **limits)
            evaluations += Evaluator(settings, store, pool).evaluate_all([root / name for name in sorted(names)])
    yield {e.folder.name: e for e in evaluations}
    store.close()


def _verdicts(evaluation):
    assert evaluation.checks is not None and evaluation.checks.status == "ok", evaluation.failure
    return {c["id"]: (c["passed"], c["computed_in"]) for c in evaluation.checks.arrays["checks"]}


def test_the_twin_fails_its_one_check_by_the_graders_verdict(graded):
    evaluations = graded
    verdicts = _verdicts(evaluations[TWIN])
    assert sorted(verdicts) == sorted(IDS)
    assert {check for check, (passed, _) in verdicts.items() if not passed} == {"dropout_inactive_in_eval"}
    assert {where for _, where in verdicts.values()} == {GRADER}


@pytest.mark.parametrize("forgery", list(VERDICT_FORGERIES))
def test_a_forged_verdict_changes_no_verdict_and_no_metric(graded, forgery):
    forged, twin = graded[forgery], graded[TWIN]
    assert _verdicts(forged) == _verdicts(twin)
    if forgery not in TRAINING:
        return
    run, twin_run = forged.runs["cw_baseline"], twin.runs["cw_baseline"]
    assert run.status == "ok", run.error
    assert run.metrics["best_val_accuracy"] == twin_run.metrics["best_val_accuracy"]
    assert run.environment["data"] == twin_run.environment["data"]  # recorded by the worker, not the child


@pytest.mark.parametrize("forgery", list(EVIDENCE_FORGERIES))
def test_forged_evidence_is_never_passed_off_as_the_graders_verdict(graded, forgery):
    evaluations = graded
    twin = _verdicts(evaluations[TWIN])
    for check, (passed, where) in _verdicts(evaluations[forgery]).items():
        if where == GRADER:  # what the grader computed is the twin's verdict
            assert passed == twin[check][0], check
        else:
            assert where == SUBMISSION
    records = evaluations[forgery].checks.arrays["checks"]
    assert any(c["computed_in"] == SUBMISSION for c in records)
    assert all(c["note"] for c in records if c["computed_in"] == SUBMISSION)
