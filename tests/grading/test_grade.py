"""From stored results to a grade: points per item, claims against the measured reference spread."""

import csv
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

from harness.engine.spec import PROFILES, to_dict
from harness.grading import band, coursework, pipeline, rubric, sequential
from harness.grading.checks.verdicts import check_ids
from harness.grading.contract import CLAIMED_RUNS
from harness.grading.contract import load as load_submission
from harness.grading.coursework import RUNS
from harness.grading.evaluate import Evaluation
from harness.grading.grade import FAIL, INCONCLUSIVE, NOT_ASSESSED, PASS, grade
from harness.grading.plan import CHECKS, RUN_START_S, SMOKE, Settings, run_limits, sharing
from harness.grading.sandbox import Limits, Outcome
from harness.grading.validate import failure_message
from harness.report import gradebook, gradescope
from harness.store.records import RunRecord

RUBRIC = rubric.load()
CLAIMS = {"baseline": 0.80, "aug1": 0.84, "aug2": 0.83, "dropout": 0.78, "batchnorm": 0.85,
          "bn_dropout": 0.84, "zeros_init": 0.10}


def record(experiment, status="ok", error="", **metrics):
    return RunRecord(experiment=experiment, kind="train", subject="h", profile="full", seed=42, spec={},
                     spec_hash="x", harness_version="0", metrics=metrics, status=status, error=error)


def evaluation(profile="full", failing_check=None, failed_run=None, claims=CLAIMS, reproduced=None, checked_there=()):
    reproduced = reproduced or dict(CLAIMS)
    checks = record(CHECKS)
    checks.arrays = {"checks": [{"id": c, "title": c, "passed": c != failing_check, "measured": 0.4, "bound": 0.3,
                                 "message": "" if c != failing_check else "dropout is still active in eval mode",
                                 "measurements": [{"what": "difference", "measured": 0.4, "bound": 0.3,
                                                   "passed": c != failing_check}],
                                 "computed_in": "submission" if c in checked_there else "grader",
                                 "note": "CNNModel could not be handed to the grader: torch.export failed"
                                 if c in checked_there else ""}
                                for c in check_ids()]}
    e = Evaluation(Path("alice"), "alice", "abc123", profile, "bwrap", smoke=record(SMOKE), checks=checks,
                   claims=dict(claims))
    by_run = {run: name for name, run in CLAIMED_RUNS.items()}
    for run in RUNS:
        e.runs[run] = (record(run, "failed", "training cw_dropout failed: RuntimeError: shapes") if run == failed_run
                       else record(run, best_val_accuracy=reproduced.get(by_run.get(run), 0.5)))
    return e


def bands(std=0.004):
    """A reference band around each claim, over three seeds."""
    return {run: banded(run, CLAIMS[name], std) for name, run in CLAIMED_RUNS.items()}


def test_the_full_profile_compares_every_claim_and_catches_an_inflated_one():
    g = grade(evaluation(claims={**CLAIMS, "baseline": 0.97}), RUBRIC, bands())
    [item] = g.failed
    assert item.key == "claim:baseline" and "you claim 97.0% for baseline, but your code reproduces 80.0%" in item.reason


def test_a_clean_submission_earns_every_point():
    g = grade(evaluation(), RUBRIC, bands())
    assert g.failed == [] and g.points == g.max_points == sum(RUBRIC.checks.values()) + sum(RUBRIC.runs.values()) + 7
    assert g.percent == 100.0 and g.status == "complete"


def test_a_failed_check_loses_its_points_and_keeps_its_sentence():
    g = grade(evaluation(failing_check="dropout_inactive_in_eval"), RUBRIC, bands())
    [item] = g.failed
    assert item.key == "check:dropout_inactive_in_eval" and item.points == 0 and item.max_points == 2
    assert item.reason == "dropout is still active in eval mode"
    assert item.evidence == {"measured": 0.4, "bound": 0.3, "note": "", "measurements": [
        {"what": "difference", "measured": 0.4, "bound": 0.3, "passed": False}]}
    assert item.computed_in == "grader" and not item.untrusted and item.where == ""
    assert g.max_points - g.points == 2


def test_a_run_that_crashed_fails_its_item_with_the_error_and_its_claim_cannot_be_compared():
    g = grade(evaluation(failed_run="cw_dropout"), RUBRIC, bands())
    failed = {i.key: i for i in g.failed}
    assert set(failed) == {"run:cw_dropout", "claim:dropout"}
    assert "RuntimeError: shapes" in failed["run:cw_dropout"].reason
    assert "did not complete" in failed["claim:dropout"].reason


def claim(g, name="baseline"):
    return next(i for i in g.items if i.key == f"claim:{name}")


def test_a_claim_passes_within_its_tolerance_fails_beyond_a_clear_miss_and_is_inconclusive_between():
    tolerance, clear_miss = 3.0 * math.sqrt(2) * 0.004, 5.0 * math.sqrt(2) * 0.004  # scale 0.004: std = binomial here
    def reproducing(value):
        return claim(grade(evaluation(reproduced={**CLAIMS, "baseline": value}), RUBRIC, bands()))
    near, grey, far = reproducing(0.80 - 0.95 * tolerance), reproducing(0.80 - 1.1 * tolerance), reproducing(0.80 - 1.05 * clear_miss)
    assert near.status == PASS and near.points == 1 and near.evidence["tolerance"] == pytest.approx(tolerance)
    assert far.status == FAIL and "you claim 80.0% for baseline, but your code reproduces 77.0%;" in far.reason
    assert far.evidence["clear_miss"] == pytest.approx(clear_miss) and far.evidence["seeds"] == [42]
    assert grey.status == INCONCLUSIVE and grey.points == 0 and grey.evidence["next_seed"] == 43
    assert "another seed may decide it" in grey.reason and "further apart than 1.7%" in grey.reason
    assert "next_seed" not in near.evidence and "next_seed" not in far.evidence


def with_reproductions(*values, claimed=0.80):
    """An evaluation of the full profile whose baseline reproduces `values` under seeds 42, 43, ...; the
    band's scale is 0.004, so a standard error of 0.004 * sqrt(1 + 1/k) at k reproductions."""
    e = evaluation(claims={**CLAIMS, "baseline": claimed}, reproduced={**CLAIMS, "baseline": values[0]})
    for k, value in enumerate(values[1:], start=1):
        e.add(replace(record("cw_baseline", best_val_accuracy=value), seed=42 + k))
    return e


def test_an_inconclusive_claim_is_decided_on_all_its_reproductions_together():
    grey = 0.80 - 4.0 * 0.004 * math.sqrt(2)  # a gap of 4 standard errors: between 3 and 5
    lucky = claim(grade(with_reproductions(grey, 0.80), RUBRIC, bands()))  # the first reproduction was the unlucky one
    assert lucky.status == PASS and lucky.evidence["seeds"] == [42, 43]
    assert lucky.evidence["reproduced"] == pytest.approx((grey + 0.80) / 2)
    off = claim(grade(with_reproductions(0.80 - 4.5 * 0.004 * math.sqrt(2), 0.80 - 4.5 * 0.004 * math.sqrt(2)), RUBRIC, bands()))
    assert off.status == FAIL and "on average over 2 seeds (42, 43)" in off.reason  # its error shrank, its gap did not
    still = claim(grade(with_reproductions(grey, grey, grey), RUBRIC, bands()))
    assert still.status == INCONCLUSIVE and still.evidence["seeds"] == [42, 43, 44] and still.evidence["next_seed"] == 45


def test_the_first_look_that_decides_a_claim_is_its_verdict_later_reproductions_do_not_reopen_it():
    grey = 0.80 - 4.0 * 0.004 * math.sqrt(2)
    decided = claim(grade(with_reproductions(grey, 0.80, 0.60), RUBRIC, bands()))
    assert decided.status == PASS and decided.evidence["seeds"] == [42, 43]
    gap = with_reproductions(grey, 0.80)
    gap.extra["cw_baseline"][45] = gap.extra["cw_baseline"].pop(43)  # seed 43 missing: only consecutive seeds count
    assert claim(grade(gap, RUBRIC, bands())).evidence["seeds"] == [42]


def test_a_failed_reproduction_leaves_the_claim_inconclusive_and_says_why():
    e = with_reproductions(0.80 - 4.0 * 0.004 * math.sqrt(2))
    e.add(replace(record("cw_baseline", "failed", "training cw_baseline failed: CUDA error"), seed=43))
    item = claim(grade(e, RUBRIC, bands()))
    assert item.status == INCONCLUSIVE and "next_seed" not in item.evidence  # no seed is bought past a failure
    assert "its reproduction under seed 43 failed: training cw_baseline failed: CUDA error" in item.reason


def test_a_claims_standard_error_shrinks_with_reproductions_to_the_claims_own_and_never_below_the_binomial_error():
    assert sequential.standard_error(0.01, 1) == pytest.approx(0.01 * math.sqrt(2))  # two draws
    assert sequential.standard_error(0.01, 1000) == pytest.approx(0.01, rel=1e-3)  # the claim's own remains
    identical = band.from_records([
        RunRecord(experiment="cw_zeros_init", kind="train", subject="reference", profile="check", seed=42 + k, spec={},
                  spec_hash="x", harness_version="0", environment={"data": {"test_samples": 500}},
                  history=[dict.fromkeys(band.CURVES, 0.1)], metrics={"best_val_accuracy": 0.1}) for k in range(3)])
    assert identical.spread.std == 0 and identical.scale == pytest.approx(math.sqrt(0.1 * 0.9 / 500))
    with pytest.raises(ValueError, match="at least one reproduction"):
        sequential.decide(0.5, [], scale=0.01, sigmas=3, fail_sigmas=5)


def test_an_inconclusive_claim_reads_so_in_the_gradebook_the_summary_gradescope_and_the_page(tmp_path):
    from harness.report import grade_pages

    grey = 0.80 - 4.0 * 0.004 * math.sqrt(2)
    e = with_reproductions(grey, grey)
    g = grade(e, RUBRIC, bands())
    path = gradebook.write_csv([g], tmp_path / "gradebook.csv")
    [row] = csv.DictReader(path.open())
    assert row["verdict:claim:baseline"] == "inconclusive" and row["claim:baseline"] == "0.0"
    assert row["verdict:claim:aug1"] == "pass" and row["failed_items"] == "1"
    assert "  ?   claimed best validation accuracy of baseline" in gradebook.summary(g)
    assert "claim:baseline (inconclusive)" in gradebook.class_summary([g])
    test = next(t for t in gradescope.results(g)["tests"] if t["name"].startswith("claim:baseline"))
    assert test["status"] == "failed" and test["score"] == 0
    assert "inconclusive: claimed 0.8000, reproduced 0.7774 (mean over seeds 42, 43)" in test["output"]
    row = next(r for r in grade_pages.coursework_rows(e, g) if r["run"] == "baseline")
    assert row["decided on"] == "2 seeds (42, 43): mean 0.7774" and row["claim"] == "inconclusive"


def test_grading_buys_extra_seeds_only_for_claims_another_seed_can_decide_and_within_the_limit():
    grey = 0.80 - 4.0 * 0.004 * math.sqrt(2)
    evaluations = [with_reproductions(grey), with_reproductions(grey, grey), with_reproductions(0.80),
                   with_reproductions(grey, grey, grey)]  # 45 would be a third extra seed
    for n, e in enumerate(evaluations):
        e.content_hash = f"student{n}"
    graded = [(e, grade(e, RUBRIC, bands())) for e in evaluations]
    wanted = pipeline._extra_seeds(graded, 2)
    assert [(e.content_hash, run, k) for e, run, k in wanted] == [("student0", "cw_baseline", 1),  # seed 43
                                                                ("student1", "cw_baseline", 2)]  # seed 44
    assert pipeline._extra_seeds(graded, 0) == []


def test_claims_are_not_assessed_outside_their_profiles_except_run_length_independent_ones():
    claims = load_submission(Path(__file__).resolve().parents[2] / "submissions" / "claims_do_not_match").manifest.claims
    e = evaluation(profile="quick", claims=claims)
    g = grade(e, RUBRIC, {"cw_zeros_init": bands()["cw_zeros_init"]})
    claims = {i.id: i for i in g.items if i.section == "claim"}
    assert all(claims[n].status == NOT_ASSESSED for n in CLAIMED_RUNS if n != "zeros_init")
    assert claims["zeros_init"].status == FAIL and "you claim 65.0% for zeros_init" in claims["zeros_init"].reason
    assert g.max_points == sum(RUBRIC.checks.values()) + sum(RUBRIC.runs.values()) + 1  # not assessed counts neither way


def test_a_submission_that_could_not_run_scores_zero_with_one_reason():
    e = evaluation()
    e.smoke = record(SMOKE, "failed", "model.py raised MemoryError while being imported")
    e.checks, e.runs = None, {}
    g = grade(e, RUBRIC, bands())
    assert g.points == 0 and g.status == "failed to run" and g.failure.startswith("model.py raised MemoryError")
    assert all(i.status == FAIL for i in g.items)
    text = gradebook.summary(g)
    assert "Could not be run: model.py raised MemoryError" in text and text.count("MemoryError") == 1


def test_the_gradebook_has_one_row_per_student_with_every_item(tmp_path):
    grades = [grade(evaluation(), RUBRIC, bands()),
              grade(evaluation(failing_check="baseline_architecture"), RUBRIC, bands())]
    path = gradebook.write_csv(grades, tmp_path / "out" / "gradebook.csv")
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 2 and not (tmp_path / "out" / "gradebook.csv.partial").exists()
    assert rows[0]["percent"] == "100.0" and rows[1]["check:baseline_architecture"] == "0.0"
    assert float(rows[1]["points"]) == float(rows[0]["points"]) - 2
    assert {f"run:{r}" for r in RUNS} | {f"claim:{c}" for c in CLAIMED_RUNS} <= set(rows[0])


def test_the_terminal_summary_lists_failures_with_their_reason():
    text = gradebook.summary(grade(evaluation(profile="quick", failing_check="dropout_inactive_in_eval"),
                                   RUBRIC, {"cw_zeros_init": bands()["cw_zeros_init"]}))
    assert "FAIL  dropout_inactive_in_eval" in text and "dropout is still active in eval mode" in text
    assert "Not assessed (baseline, aug1, aug2, dropout, batchnorm, bn_dropout)" in text
    assert "Behaviour checks: 13/14 passed" in text


def test_training_runs_sharing_a_gpu_are_given_time_in_proportion_and_cpu_jobs_are_not(tmp_path):
    """Eight runs sharing an H200 each took about eight times as long as one alone: the limit must not
    turn the grader's own sharing into a student's timeout."""
    spec = coursework.submission_spec("cw_baseline", dropout_rate=0.5)
    on_cpu = Settings(profile=PROFILES["full"], data_root=tmp_path, layer="bwrap")
    assert run_limits(spec, sharing(on_cpu, 8)) == run_limits(spec, on_cpu)  # a core each
    on_gpu = replace(on_cpu, device="cuda")
    alone, shared = run_limits(spec, on_gpu), run_limits(spec, sharing(on_gpu, 8))
    assert (shared.wall_s, shared.cpu_s) == pytest.approx((8 * alone.wall_s, 8 * alone.cpu_s), abs=1)
    assert shared.memory_bytes == alone.memory_bytes
    assert run_limits(spec, sharing(on_gpu, 1)) == alone


def test_a_runs_time_limit_follows_its_epochs_and_images_and_the_device(tmp_path):
    """A full run on one CPU thread takes the reference about 40 minutes (1.1 ms an image and epoch): a
    fixed 15-minute limit failed every one of them; a student's self-check must not wait that long on a hang."""
    spec = coursework.submission_spec("cw_aug2", dropout_rate=0.5)
    limit = {(name, device): run_limits(PROFILES[name].apply(spec), Settings(
        profile=PROFILES[name], data_root=tmp_path, layer="bwrap", device=device)).wall_s
        for name in ("check", "quick", "full") for device in ("cpu", "cuda")}
    assert 40 * 60_000 * 1.1e-3 * 4 < limit["full", "cpu"] < 4 * 3600
    assert limit["check", "cpu"] < 180 and limit["quick", "cpu"] < 180
    assert limit["check", "cpu"] < limit["quick", "cpu"] < limit["full", "cpu"]
    assert limit["full", "cuda"] == pytest.approx(RUN_START_S + 40 * 60_000 * 3e-4)  # 15 min, as before
    given = Limits(wall_s=30)
    assert run_limits(spec, Settings(profile=PROFILES["full"], data_root=tmp_path, layer="bwrap", train_limits=given)) is given


def test_short_runs_share_the_job_slots_the_checks_leave_and_full_runs_keep_a_child_each(tmp_path):
    """A check-profile run trains in about a second; its child takes 3 s to import torch."""
    for name in ("check", "quick"):
        settings = Settings(profile=PROFILES[name], data_root=tmp_path, layer="bwrap")
        assert [sharing(settings, jobs).children for jobs in (1, 2, 8)] == [1, 1, 7]
    assert sharing(Settings(profile=PROFILES["full"], data_root=tmp_path, layer="bwrap"), 2).children is None


def test_the_class_page_names_what_each_student_failed_with_the_reason_on_hover(tmp_path):
    from harness.report.grade_pages import write_class_page

    broken = evaluation()
    broken.smoke = record(SMOKE, "failed", 'model.py raised "MemoryError" while being imported')
    broken.checks, broken.runs = None, {}
    grades = [grade(evaluation(), RUBRIC, bands()),
              grade(evaluation(failing_check="dropout_inactive_in_eval", claims={**CLAIMS, "aug1": 0.99}), RUBRIC, bands()),
              grade(broken, RUBRIC, bands())]
    page = write_class_page(grades, tmp_path, profile="full", rubric="test").read_text()
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")[:3]
    clean, failing, unrunnable = (row.split('<td class="failed">')[1] for row in rows)
    assert clean.startswith("</td>")
    assert failing.startswith('<span title="dropout is still active in eval mode">check:dropout_inactive_in_eval</span>, '
                              '<span title="you claim 99.0% for aug1')
    assert "claim:aug1</span></td>" in failing
    assert unrunnable.startswith('<span title="model.py raised &#34;MemoryError&#34; while being imported">could not be run')


def test_the_class_summary_gives_each_student_their_failed_items_or_why_nothing_ran():
    broken = evaluation()
    broken.smoke = record(SMOKE, "failed", "model.py raised MemoryError while being imported")
    broken.checks, broken.runs = None, {}
    grades = [grade(evaluation(), RUBRIC, bands()),
              grade(evaluation(failing_check="dropout_inactive_in_eval", failed_run="cw_dropout"), RUBRIC, bands()),
              grade(broken, RUBRIC, bands())]
    clean, failing, unrunnable = gradebook.class_summary(grades).splitlines()
    assert clean.split() == ["alice", "100.0%", "complete"]
    assert failing.endswith("errors  failed: check:dropout_inactive_in_eval, run:cw_dropout, claim:dropout")
    assert unrunnable.endswith("failed to run: model.py raised MemoryError while being imported")


def _check_item(status, measurements, **evidence):
    from harness.grading.grade import Item

    return Item("check", "c", "c", 1.0, 1.0, status, "", {**evidence, "measurements": measurements})


def test_a_checks_measurements_read_one_line_per_quantity_the_bound_left_out_where_it_was_met_exactly():
    from harness.grading.grade import PASS
    from harness.report.grade_pages import measurement_lines

    per_layer = [{"what": "largest weight / bound", "measured": v, "bound": "(0.5, 1]", "passed": True}
                 for v in (0.98, 0.99)]
    exact = [{"what": "parameters", "measured": 390986, "bound": 390986, "passed": True}]
    zeros = [{"what": "bias", "measured": 0.0, "bound": 0.0, "passed": True}] * 4
    lines = measurement_lines(_check_item(PASS, per_layer + exact + zeros))
    assert [(line["what"], line["measured"], line["bound"]) for line in lines] == [
        ("largest weight / bound", "0.98 | 0.99", "(0.5, 1]"), ("parameters", "390,986", ""), ("bias", "0", "")]
    failing = [{"what": "layers run", "measured": 5, "bound": "at least 1", "passed": True},
               {"what": "fraction dropped", "measured": 0.5007, "bound": "0.3 ± 0.0098", "passed": False}]
    assert [line["passed"] for line in measurement_lines(_check_item(FAIL, failing))] == [True, False]


def test_results_stored_before_every_measurement_was_kept_show_the_failing_one_only():
    from harness.grading.grade import PASS
    from harness.report.grade_pages import measurement_lines

    assert measurement_lines(_check_item(PASS, [], measured=None, bound=None)) == []
    [line] = measurement_lines(_check_item(FAIL, [], measured=0.4, bound=0.3))
    assert (line["measured"], line["bound"], line["passed"]) == ("0.4", "0.3", False)


def test_a_childs_check_measurements_are_kept_as_plain_bounded_values_and_malformed_ones_refused():
    from harness.grading.validate import MEASUREMENTS_KEPT, clean_check

    raw = {"id": "c", "passed": True, "measurements": [
        {"what": "w" * 500, "measured": "x" * 5000, "bound": [1, 2], "passed": "yes", "subject": ["s"] * 100}
    ] * (MEASUREMENTS_KEPT + 10)}
    kept = clean_check(raw)["measurements"]
    assert len(kept) == MEASUREMENTS_KEPT
    assert kept[0] == {"what": "w" * 100, "measured": "x" * 300, "bound": "[1, 2]", "passed": False,
                       "subject": str(["s"] * 100)[:100]}
    assert clean_check({"id": "c", "measurements": [{"what": "x"}]})["measurements"][0]["subject"] is None
    assert clean_check({"id": "c"})["measurements"] == []
    for malformed in ("a lot", [1, 2], {"what": "x"}):
        with pytest.raises(ValueError, match="measurements"):
            clean_check({"id": "c", "measurements": malformed})


def test_a_verdict_computed_in_the_submissions_process_is_said_so_in_the_csv_the_summary_and_gradescope(tmp_path):
    from harness.report import gradescope

    g = grade(evaluation(profile="check", checked_there=("dropout_rate_and_scaling", "baseline_architecture")),
              RUBRIC, bands())
    marked = [i for i in g.items if i.untrusted]
    assert sorted(i.id for i in marked) == ["baseline_architecture", "dropout_rate_and_scaling"]
    assert all(i.status == "pass" for i in marked)  # counted as it was found, but never silently
    assert marked[0].where == ("verdict computed in the submission's own process (CNNModel could not be handed "
                               "to the grader: torch.export failed)")
    row = gradebook.rows([g]).iloc[0]
    assert row["checked_in_submission"] == "baseline_architecture;dropout_rate_and_scaling"
    assert gradebook.summary(g).count("verdict computed in the submission's own process") == 2
    tests = {t["name"].split(":")[1]: t for t in gradescope.results(g)["tests"]}
    assert "verdict computed in the submission's own process" in tests["dropout_rate_and_scaling"]["output"]
    assert "own process" not in tests["dropout_inactive_in_eval"]["output"]


def test_a_check_stored_without_where_it_was_computed_counts_as_the_submissions():
    from harness.grading.validate import clean_check

    assert clean_check({"id": "c", "computed_in": "grader"})["computed_in"] == "grader"
    for said in (None, "GRADER", "grader ", 1):
        assert clean_check({"id": "c", "computed_in": said})["computed_in"] == "submission"
    old = evaluation()
    for check in old.checks.arrays["checks"]:
        del check["computed_in"], check["note"]
    item = grade(old, RUBRIC, bands()).items[0]
    assert item.untrusted and "earlier version" in item.where


def test_the_gradescope_results_give_every_rubric_item_its_points_and_its_reason(tmp_path):
    import json

    from harness.report import gradescope

    g = grade(evaluation(profile="check", failing_check="dropout_inactive_in_eval"), RUBRIC, bands())
    path = gradescope.write(g, tmp_path / "results" / "results.json")
    results = json.loads(path.read_text())
    tests = {t["name"].split(": ")[0]: t for t in results["tests"]}
    assert results["score"] == g.points == sum(t["score"] for t in results["tests"])
    assert sum(t["max_score"] for t in results["tests"]) == sum(i.max_points for i in g.items if i.status != NOT_ASSESSED)
    failing = tests["check:dropout_inactive_in_eval"]
    assert failing["status"] == "failed" and failing["score"] == 0 and failing["max_score"] == 2
    assert failing["output"] == "dropout is still active in eval mode\ndifference: 0.4 (0.3)"
    assert tests["run:cw_baseline"]["status"] == "passed"
    assert tests["run:cw_baseline"]["output"].startswith("best validation accuracy 0.8000")
    assert "status" not in tests["claim:baseline"] and tests["claim:baseline"]["output"].startswith("not assessed: ")
    assert tests["claim:zeros_init"]["output"].startswith("pass: claimed 0.1000, reproduced 0.1000, allowed difference ")
    assert "Total:" in results["output"] and list(tmp_path.joinpath("results").iterdir()) == [path]


def test_the_gradescope_results_of_a_submission_that_could_not_run_say_why_on_every_item(tmp_path):
    import json

    from harness.report import gradescope

    broken = evaluation()
    broken.smoke = record(SMOKE, "failed", "model.py raised MemoryError while being imported")
    broken.checks, broken.runs = None, {}
    results = gradescope.results(grade(broken, RUBRIC, bands()))
    assert results["score"] == 0 and "Could not be run: model.py raised MemoryError" in results["output"]
    assert all(t["output"] == "not run: model.py raised MemoryError while being imported" for t in results["tests"])
    json.dumps(results)


TRACEBACK = 'Traceback (most recent call last):\n  File "/usr/lib/python3/runpy.py", line 198, in _run_module_as_main\n'


@pytest.mark.parametrize("tail, exit_code, says, never", [
    (TRACEBACK + "ModuleNotFoundError: No module named 'pytest'\n", 1,
     "could not start its job: ModuleNotFoundError: No module named 'pytest'", "memory"),
    (TRACEBACK + "MemoryError\n", 1, "ran out of memory (the limit is 6 GiB", "install"),
    ("epoch 1\n", -9, "ran out of memory (the limit is 6 GiB, exit code -9)", "install"),
    ("Fatal Python error: Aborted\n", -6, "the Python process died (exit code -6). The last output was: Fatal", "memory"),
])
def test_a_dead_child_is_named_by_what_its_output_shows_and_no_limit_it_did_not_hit(tail, exit_code, says, never):
    outcome = Outcome("crashed", None, tail, 1.0, "bwrap", exit_code=exit_code)
    message = failure_message(outcome, Limits())
    assert says in message and never not in message, message


def banded(run, mean, std=0.004):
    """A reference band of one epoch around `mean`, over three seeds."""
    return band.from_records([
        RunRecord(experiment=run, kind="train", subject="reference", profile="full", seed=42 + k, spec={}, spec_hash="x",
                  harness_version="0", history=[{"loss": 1.0, "accuracy": v, "val_loss": 1.0, "val_accuracy": v}],
                  metrics={"best_val_accuracy": v}, environment={"data": {"test_samples": 10_000, "synthetic": True}})
        for k, v in enumerate((mean - std, mean, mean + std))])


def with_bands():
    """Every run within its band but cw_baseline, which reproduces 0.80 against a band at 0.50."""
    e = evaluation()
    e.runs["cw_baseline"].history = [{"loss": 1.0, "accuracy": 0.8, "val_loss": 1.0, "val_accuracy": 0.8}]
    around = {run: banded(run, record.metrics["best_val_accuracy"]) for run, record in e.runs.items()}
    return e, around | {"cw_baseline": banded("cw_baseline", 0.5)}


def test_outcomes_are_reported_against_the_band_and_cost_nothing_the_rubric_does_not_give(tmp_path):
    e, reference = with_bands()
    g, without = grade(e, RUBRIC, reference), grade(evaluation(), RUBRIC, {})
    outcomes = {i.id: i for i in g.items if i.section == "outcome"}
    assert [i.status for i in outcomes.values()].count(PASS) == 9 and outcomes["cw_baseline"].status == FAIL
    assert outcomes["cw_baseline"].evidence["verdict"] == "above" and outcomes["cw_baseline"].evidence["gap"] > 50
    assert outcomes["cw_baseline"].reason.startswith("Best validation accuracy 80.0% is above the reference's 50.0%")
    others = [i for i in g.items if i.section != "outcome"]  # the default rubric: outcomes are worth 0 points
    assert (g.points, g.max_points, g.failed) == (sum(i.points for i in others), sum(i.max_points for i in others if i.status != NOT_ASSESSED), [])
    assert {i.status for i in without.items if i.section == "outcome"} == {NOT_ASSESSED}
    row = next(csv.DictReader(gradebook.write_csv([g], tmp_path / "g.csv").open()))
    assert row["outcome:cw_baseline"] == "above" and row["outcome:cw_aug1"] == "within"
    assert row["diagnosis:cw_baseline"] == outcomes["cw_baseline"].reason and row["diagnosis:cw_aug1"] == ""
    assert row["verdict:claim:baseline"] == "pass" and row["claim:baseline"] == "1.0"
    assert "points:outcome:cw_baseline" not in row
    text = gradebook.summary(g)
    assert "Outcomes against the reference band: 9/10 within (worth no points: reported, not failed)" in text
    assert "   OFF  cw_baseline behaves like the reference: above" in text and "FAIL  cw_baseline" not in text
    assert "cw_aug1 behaves" not in text  # within: not listed
    tests = {t["name"].split(": ")[0]: t for t in gradescope.results(g)["tests"]}
    assert tests["outcome:cw_baseline"]["status"] == "failed" and tests["outcome:cw_baseline"]["max_score"] == 0
    assert outcomes["cw_baseline"].reason in tests["outcome:cw_baseline"]["output"]
    assert "reference 0.5000 ± 0.0050 over 3 seeds (generated data (harness data synth))" in tests["outcome:cw_baseline"]["output"]


def _failed_through(check, transform, what):
    """`check`'s result when it measured every transform and failed only through `transform`."""
    return {"id": check, "title": check, "passed": False, "message": f"{transform} fails", "measured": None,
            "bound": None, "computed_in": "grader", "note": "",
            "measurements": [{"what": what, "measured": name, "bound": "", "passed": name != transform, "subject": name}
                             for name in ("train_transform_1", "train_transform_2", "val_transform")]}


def test_a_check_that_failed_through_one_transform_is_named_only_in_the_runs_that_use_it():
    """Strategy 2 neither augments nor normalizes; strategy 1 and val_transform are right. Both strategies' runs
    train above their bands and the baseline validates below its own: only cw_aug2 is told the check explains
    it (cw_aug1 trains through strategy 1, the baseline validates through val_transform)."""
    e = evaluation()
    failing = [_failed_through("training_transforms_are_random", "train_transform_2", "share varied"),
               _failed_through("transforms_return_normalized_tensors", "train_transform_2", "Normalize undone")]
    e.checks.arrays["checks"] = [r for r in e.checks.arrays["checks"] if r["id"] not in {f["id"] for f in failing}]
    e.checks.arrays["checks"] += failing
    for run, train, val in (("cw_aug1", 0.8, 0.8), ("cw_aug2", 0.8, 0.8), ("cw_baseline", 0.5, 0.2)):
        e.runs[run] = replace(e.runs[run], spec=to_dict(coursework.submission_spec(run, dropout_rate=0.3)),
                              metrics={"best_val_accuracy": val},
                              history=[{"loss": 1.0, "accuracy": train, "val_loss": 1.0, "val_accuracy": val}])
    reference = {run: banded(run, 0.5) for run in e.runs}
    reasons = {i.id: i.reason for i in grade(e, RUBRIC, reference).items if i.section == "outcome"}
    assert reasons["cw_aug2"].endswith("may say why: a training transform gives the same image on every draw."), reasons
    assert reasons["cw_aug1"].endswith("(3 seeds).") and "the same image" not in reasons["cw_aug1"]
    assert "behaves otherwise when it is evaluated" in reasons["cw_baseline"]
    assert "does not normalize" not in reasons["cw_baseline"]
    assert reasons["cw_baseline"].endswith("Does the validation transform augment, or normalize otherwise?")


def test_outcomes_earn_the_points_the_rubric_gives_them(tmp_path):
    e, reference = with_bands()
    graded_rubric = replace(RUBRIC, outcomes=rubric.OutcomeRule({**RUBRIC.outcomes.points, "cw_baseline": 2.0,
                                                                  "cw_aug1": 1.0}, 3.0))
    g, plain = grade(e, graded_rubric, reference), grade(e, RUBRIC, reference)
    assert (g.points - plain.points, g.max_points - plain.max_points) == (1.0, 3.0)
    assert [i.key for i in g.failed] == ["outcome:cw_baseline"]
    text = gradebook.summary(g)
    assert "FAIL  cw_baseline behaves like the reference: above" in text and "9/10 within\n" in text
    row = next(csv.DictReader(gradebook.write_csv([g], tmp_path / "g.csv").open()))
    assert row["points:outcome:cw_baseline"] == "0.0" and row["points:outcome:cw_aug1"] == "1.0"


def test_the_pages_draw_each_run_over_its_band_with_the_diagnosis_and_count_the_class_per_run(tmp_path):
    from harness.report.grade_pages import write_class_page, write_submission_page

    e, reference = with_bands()
    for record in e.runs.values():
        record.history = record.history or [{"loss": 1.0, "accuracy": 0.5, "val_loss": 1.0, "val_accuracy": 0.5}]
    g = grade(e, RUBRIC, reference)
    page = write_submission_page(e, g, tmp_path).read_text()
    drawn = page.split("Your runs against the reference band")[1].split("<h2>")[0]
    assert drawn.count("<svg") == 7  # the SGD runs are drawn together, over their bands, further down
    assert "cw_baseline: <span class=\"fail\">above</span>" in drawn and "initialization" not in drawn
    assert "Best validation accuracy 80.0% is above the reference&#39;s 50.0%" in drawn
    assert "Training curves: baseline and augmentation runs" not in page  # every run was drawn over its band
    assert "10^{" not in drawn  # losses near the band's: linear axes
    e.runs["cw_aug1"].history = [{"loss": 12000.0, "accuracy": 0.1, "val_loss": 4000.0, "val_accuracy": 0.3},
                                 {"loss": 1800.0, "accuracy": 0.3, "val_loss": 500.0, "val_accuracy": 0.4}]
    page = write_submission_page(e, grade(e, RUBRIC, reference), tmp_path).read_text()
    aug1 = page.split("cw_aug1: <span")[1].split("<h3>")[0]
    assert aug1.count("10^{") >= 4  # both loss panels on log axes, the band near 1 and the run in the thousands
    other = grade(evaluation(reproduced={**CLAIMS, "baseline": 0.5}), RUBRIC, reference)
    overview = write_class_page([g, other], tmp_path, profile="full", rubric="test").read_text()
    table = overview.split("Runs against the reference band")[1].split("</table>")[0]
    counts = {run: list(n) for run, *n in re.findall(r"<tr>\s*<td>(.+?)</td>" + r"\s*<td>(\d+)</td>" * 4, table)}
    assert counts["cw_baseline"] == ["1", "0", "1", "0"] and counts["cw_aug1"] == ["2", "0", "0", "0"] and len(counts) == 10
