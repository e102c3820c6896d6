"""From an evaluation (what the store holds for one submission) and a rubric to a grade with evidence.

Every item says what was assessed, what was measured and why it earned or lost its points; an item
that cannot be assessed under the grading profile counts neither way and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.grading import band, sequential
from harness.grading.band import Band
from harness.grading.checks.verdicts import SUBMISSION
from harness.grading.contract import CLAIMED_RUNS
from harness.grading.evaluate import Evaluation
from harness.grading.rubric import Rubric
from harness.grading.sequential import FAIL, INCONCLUSIVE, PASS
from harness.grading.spread import METRIC
from harness.store.records import RunRecord

NOT_ASSESSED = "not assessed"


@dataclass(frozen=True)
class Item:
    section: str  # check | run | outcome | claim
    id: str
    title: str
    points: float
    max_points: float
    status: str  # PASS | FAIL | NOT_ASSESSED, or a claim's INCONCLUSIVE (no points, more seeds could decide it)
    reason: str = ""  # for the student: why it failed, or why it was not assessed
    evidence: dict[str, Any] = field(default_factory=dict)  # measured values, bounds, tolerances
    computed_in: str = ""  # a check's: where its verdict was computed (GRADER, or the SUBMISSION's own process)

    @property
    def key(self) -> str:
        return f"{self.section}:{self.id}"

    @property
    def untrusted(self) -> bool:
        """A check whose verdict came from the submission's own process, which its code could have forged."""
        return self.computed_in == SUBMISSION

    @property
    def where(self) -> str:
        """For an untrusted check: where its verdict was computed, and why (else '')."""
        if not self.untrusted:
            return ""
        note = self.evidence.get("note") or "stored by an earlier version, which computed every verdict there"
        return f"verdict computed in the submission's own process ({note})"


@dataclass(frozen=True)
class Grade:
    student: str
    folder: str
    content_hash: str | None
    profile: str
    status: str  # the evaluation's: complete | errors | failed to run | invalid | incomplete
    failure: str  # why nothing could be assessed ('' when the submission ran)
    items: tuple[Item, ...]

    @property
    def points(self) -> float:
        return sum(i.points for i in self.items)

    @property
    def max_points(self) -> float:
        return sum(i.max_points for i in self.items if i.status != NOT_ASSESSED)

    @property
    def percent(self) -> float:
        return 100.0 * self.points / self.max_points if self.max_points else 0.0

    @property
    def failed(self) -> list[Item]:
        """The items that cost points (an inconclusive claim too); one worth nothing (an outcome the
        rubric does not grade) is reported, not failed."""
        return [i for i in self.items if i.status in (FAIL, INCONCLUSIVE) and i.max_points > 0]


def _check_results(evaluation: Evaluation) -> list[dict[str, Any]]:
    """The behaviour checks' stored results (none when the checks job did not end well)."""
    record = evaluation.checks
    return record.arrays.get("checks", []) if record and record.status == "ok" else []


def _check_items(evaluation: Evaluation, rubric: Rubric) -> list[Item]:
    record = evaluation.checks
    results = {c["id"]: c for c in _check_results(evaluation)}
    items = []
    for check, points in rubric.checks.items():
        result = results.get(check)
        if result is None:
            why = evaluation.failure or (record.error if record and record.error != "not run" else "")
            items.append(Item("check", check, check.replace("_", " "), 0.0, points, FAIL,
                              f"the check did not run: {why or 'interrupted; run the same command again'}"))
            continue
        # results stored before checks kept every measurement have only the failing one's, and were
        # all computed in the submission's own process
        evidence = {"measured": result["measured"], "bound": result["bound"],
                    "measurements": result.get("measurements", []), "note": result.get("note", "")}
        status = PASS if result["passed"] else FAIL
        items.append(Item("check", check, result["title"], points if result["passed"] else 0.0, points, status,
                          result["message"], evidence, result.get("computed_in", SUBMISSION)))
    return items


def _run_items(evaluation: Evaluation, rubric: Rubric) -> list[Item]:
    items = []
    for run, points in rubric.runs.items():
        record = evaluation.runs.get(run)
        if record is not None and record.status == "ok":
            evidence = {METRIC: record.metrics.get(METRIC), "epochs": record.metrics.get("epochs_run")}
            items.append(Item("run", run, f"{run} trains to the end", points, points, PASS, "", evidence))
            continue
        if evaluation.failure:
            reason = f"not run, because the submission could not be run: {evaluation.failure}"
        elif record is None or record.status == "skipped":
            reason = "not run yet (interrupted); run the same command again to finish it"
        else:
            reason = record.error
        items.append(Item("run", run, f"{run} trains to the end", 0.0, points, FAIL, reason))
    return items


def _outcome_items(evaluation: Evaluation, rubric: Rubric, bands: dict[str, Band]) -> list[Item]:
    """Each run against the reference band of its profile: worth the rubric's [outcomes] points (0 unless
    given), and always reported with its verdict and, when off, a diagnosis."""
    items = []
    for run in rubric.runs:
        points, title = rubric.outcomes.points.get(run, 0.0), f"{run} behaves like the reference"
        record, reference = evaluation.runs.get(run), bands.get(run)
        failed_checks = _failed_for(_check_results(evaluation), record)
        if evaluation.failure:
            items.append(Item("outcome", run, title, 0.0, points, FAIL,
                              f"not run, because the submission could not be run: {evaluation.failure}"))
            continue
        if reference is None or record is None or record.status != "ok":
            why = ("there is no reference band for this profile" if reference is None else
                   band.non_finite(record, failed_checks) or "the run did not finish" if record is not None else
                   "the run did not run")
            items.append(Item("outcome", run, title, 0.0, points, NOT_ASSESSED, why))
            continue
        found = band.outcome(record, reference, rubric.outcomes.sigmas, failed_checks)
        evidence = {"verdict": found.verdict, "gap": found.gap, "limit": found.limit, "reproduced": found.reproduced,
                    "reference_mean": reference.spread.mean, "reference_scale": reference.scale,
                    "reference_seeds": reference.seeds, "reference_data": reference.data,
                    "band": {m: {"mean": reference.mean(m), "std": reference.std(m)} for m in band.CURVES}}
        within = found.verdict == band.WITHIN
        items.append(Item("outcome", run, title, points if within else 0.0, points, PASS if within else FAIL,
                          found.diagnosis, evidence))
    return items


def _failed_for(results: list[dict[str, Any]], record: RunRecord | None) -> list[str]:
    """The behaviour checks that failed, as far as they bear on `record`: a check measured transform by transform
    failed for a run only through a transform the run uses (its strategy, val_transform), so that a strategy 1
    run is not told that strategy 2 does not augment."""
    inputs = (record.spec.get("inputs") or {}) if record is not None else {}
    used = {inputs.get("pipeline"), inputs.get("val_pipeline")} - {None}
    failed = []
    for result in (r for r in results if not r["passed"]):
        through = {m.get("subject") for m in result.get("measurements", []) if not m.get("passed")}
        if not through or None in through or through & used:
            failed.append(result["id"])
    return failed


def _claim_item(name: str, claim: float | None, evaluation: Evaluation, rubric: Rubric,
                reference: Band | None) -> Item:
    run = CLAIMED_RUNS[name]
    title = f"claimed best validation accuracy of {name}"
    rule = rubric.claims
    if not rule.assessed(name, evaluation.profile):
        return Item("claim", name, title, 0.0, rule.points, NOT_ASSESSED,
                    f"claims are 40-epoch results; they are compared when grading with the "
                    f"{' or '.join(rule.profiles)} profile, not {evaluation.profile}", {"claimed": claim})
    if claim is None:
        return Item("claim", name, title, 0.0, rule.points, FAIL,
                    f"manifest.toml has no claim for {name}; add `{name} = <accuracy>` under [claims].")
    records = evaluation.reproductions(run)
    failed = next((r for r in records if r.status != "ok"), None)  # no look goes past a run that failed
    finished = records[:records.index(failed)] if failed is not None else records
    if not finished or reference is None:
        why = "the run did not complete" if reference is not None else "the reference spread is not available"
        return Item("claim", name, title, 0.0, rule.points, FAIL, f"cannot be compared: {why}.", {"claimed": claim})
    return _judged(name, claim, finished, failed, reference, rubric)


def _judged(name: str, claim: float, finished: list[RunRecord], failed: RunRecord | None, reference: Band,
            rubric: Rubric) -> Item:
    """A claim against its finished reproductions (declared seed first), `failed` the one after them that
    failed, if any."""
    rule, title = rubric.claims, f"claimed best validation accuracy of {name}"
    decision = sequential.decide(claim, [r.metrics[METRIC] for r in finished], scale=reference.scale,
                                 sigmas=rule.sigmas, fail_sigmas=rule.fail_sigmas)
    seeds = [r.seed for r in finished[:decision.looks]]
    evidence = {"claimed": claim, "reproduced": decision.reproduced, "reproductions": list(decision.reproductions),
                "seeds": seeds, "tolerance": decision.tolerance, "clear_miss": decision.clear_miss,
                "reference_mean": reference.spread.mean, "reference_std": reference.spread.std,
                "reference_seeds": reference.seeds}
    reproduces = f"your code reproduces {decision.reproduced:.1%}" + (
        f" on average over {decision.looks} seeds ({', '.join(map(str, seeds))})" if decision.looks > 1 else "")
    if decision.verdict == PASS:
        return Item("claim", name, title, rule.points, rule.points, PASS, "", evidence)
    if decision.verdict == FAIL:
        return Item("claim", name, title, 0.0, rule.points, FAIL,
                    f"you claim {claim:.1%} for {name}, but {reproduces}; runs of the same code land at most "
                    f"{decision.tolerance:.1%} apart (from the reference's spread over {reference.seeds} seeds), and more "
                    f"than {decision.clear_miss:.1%} is a clear miss. Report the number your code actually produced.",
                    evidence)
    if failed is not None:
        why = f"its reproduction under seed {failed.seed} failed: {failed.error}"
    else:
        evidence["next_seed"] = seeds[-1] + 1
        why = ("another seed may decide it: grading again runs it (with a larger --max-extra-seeds once the extra "
               "seeds allowed are spent); otherwise the instructor decides")
    return Item("claim", name, title, 0.0, rule.points, INCONCLUSIVE,
                f"you claim {claim:.1%} for {name} and {reproduces}: further apart than {decision.tolerance:.1%} "
                f"(a run of the same code) but within {decision.clear_miss:.1%} (a clear miss); {why}.", evidence)


def grade(evaluation: Evaluation, rubric: Rubric, bands: dict[str, Band]) -> Grade:
    """`bands`: the reference band per coursework run of this profile (claims are compared with its seed
    spread, outcomes with its curves); an item whose run has none is not assessed, or cannot be compared."""
    items = _check_items(evaluation, rubric) + _run_items(evaluation, rubric) + _outcome_items(evaluation, rubric, bands)
    items += [_claim_item(name, evaluation.claims.get(name), evaluation, rubric, bands.get(CLAIMED_RUNS[name]))
              for name in CLAIMED_RUNS]
    return Grade(evaluation.student, evaluation.folder.name, evaluation.content_hash, evaluation.profile,
                 evaluation.status, evaluation.failure, tuple(items))
