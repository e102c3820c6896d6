"""The grade pages: one per submission (what the student reads) and the class overview (the instructor's).

Everything shown comes from the grade and the stored records; nothing is re-run to render a page.
"""

from __future__ import annotations

import collections
import math
import re
from pathlib import Path
from typing import Any, Sequence

from harness.grading.contract import CLAIMED_RUNS
from harness.grading.evaluate import Evaluation
from harness.grading.grade import FAIL, NOT_ASSESSED, PASS, Grade, Item
from harness.grading.similarity import SIMILAR, Pair
from harness.report import figures
from harness.report.reference_page import _environment, _series, _table, training_figure
from harness.store.records import RunRecord
from reference.experiments import GRADED

SGD_RUNS = tuple(spec.id for spec in GRADED if spec.graded.figure == "sgd")
CURVE_RUNS = tuple(spec.id for spec in GRADED if spec.graded.figure == "curves")


def page_name(grade: Grade) -> str:
    """A file name from the submission folder that cannot escape the report folder."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", grade.folder).lstrip(".") + ".html"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def _listed(values: list[str]) -> str:
    """Values of one quantity, one per layer or transform: once when they agree."""
    return values[0] if len(set(values)) == 1 else " | ".join(values)


def measurement_lines(item: Item) -> list[dict[str, Any]]:
    """What a check measured, one line per quantity, in the order measured. The bound is left out
    where the measurement had to equal it exactly and did."""
    measurements = item.evidence.get("measurements") or (
        [{"what": "", "measured": item.evidence.get("measured"), "bound": item.evidence.get("bound"), "passed": False}]
        if item.status == FAIL and item.evidence.get("measured") is not None else [])
    grouped: dict[str, list[dict[str, Any]]] = {}
    for measurement in measurements:
        grouped.setdefault(measurement["what"], []).append(measurement)
    lines = []
    for what, group in grouped.items():
        measured, bound = _listed([_value(m["measured"]) for m in group]), _listed([_value(m["bound"]) for m in group])
        lines.append({"what": what, "measured": measured, "bound": "" if bound == measured else bound,
                      "passed": all(m["passed"] for m in group)})
    return lines


def coursework_rows(evaluation: Evaluation, grade: Grade) -> list[dict[str, str]]:
    claims = {i.id: i for i in grade.items if i.section == "claim"}
    rows = []
    for name, run in CLAIMED_RUNS.items():
        record, claim = evaluation.runs.get(run), claims.get(name)
        ok = record is not None and record.status == "ok"
        rows.append({
            "run": name,
            "reproduced best val accuracy": f"{record.metrics['best_val_accuracy']:.4f}" if ok else (record.status if record else "-"),
            "claimed": _value(evaluation.claims.get(name)),
            "tolerance": f"± {claim.evidence['tolerance']:.4f}" if claim and "tolerance" in claim.evidence else "",
            "decided on": _decided_on(claim.evidence) if claim and "seeds" in claim.evidence else "",
            "claim": claim.status if claim else "",
        })
    return rows


def _decided_on(evidence: dict) -> str:
    """The reproductions a claim was decided on: '1 seed', or '3 seeds (42, 43, 44): mean 0.1000'."""
    seeds = evidence["seeds"]
    if len(seeds) == 1:
        return "1 seed"
    return f"{len(seeds)} seeds ({', '.join(map(str, seeds))}): mean {evidence['reproduced']:.4f}"


def _band_edges(item: Item, metric: str) -> tuple[list[float], list[float]]:
    """The band at each epoch: the reference's mean plus or minus the outcome's limit in the band's spread
    (for accuracies never below the spread the verdict uses, and within 0 and 1)."""
    evidence, curve = item.evidence, item.evidence["band"][metric]
    floor, (lowest, highest) = ((evidence["reference_scale"], (0.0, 1.0)) if "accuracy" in metric else
                                (0.0, (0.0, math.inf)))  # a loss is never below 0
    half = [evidence["limit"] * max(std, floor) for std in curve["std"]]
    return ([max(m - h, lowest) for m, h in zip(curve["mean"], half)],
            [min(m + h, highest) for m, h in zip(curve["mean"], half)])


def _over_band(item: Item, record: RunRecord, panels: dict[str, tuple[str, str]], label: str = "") -> dict:
    """title -> {label: (the run's curve, the band's low and high edges)} for each (metric, curve label)."""
    return {title: {f"{label}{name}": (_series(record, metric), *_band_edges(item, metric))}
            for title, (metric, name) in panels.items()}


def band_figures(evaluation: Evaluation, grade: Grade) -> list[tuple[Item, str]]:
    """Each run's curves over the reference band of its profile, with its outcome (the SGD runs apart)."""
    shown = []
    for item in grade.items:
        record = evaluation.runs.get(item.id)
        if item.section != "outcome" or "band" not in item.evidence or item.id in SGD_RUNS or record is None:
            continue
        panels = {"training loss": ("loss", "train"), "validation loss": ("val_loss", "val"),
                  "training accuracy": ("accuracy", "train"), "validation accuracy": ("val_accuracy", "val")}
        shown.append((item, _figure(_over_band(item, record, panels))))
    return shown


def sgd_figure(evaluation: Evaluation, grade: Grade) -> str | None:
    """The three learning rates' losses, each over its reference band when there is one."""
    outcomes = {i.id: i for i in grade.items if i.section == "outcome" and "band" in i.evidence}
    panels: dict[str, dict] = {"training loss": {}, "validation loss": {}}
    for run in SGD_RUNS:
        record = evaluation.runs.get(run)
        if record is None or record.status != "ok":
            continue
        label = f"SGD lr {run.removeprefix('cw_sgd_')}"
        if run in outcomes:
            for title, series in _over_band(outcomes[run], record, {"training loss": ("loss", ""),
                                                                    "validation loss": ("val_loss", "")}, label).items():
                panels[title] |= series
        else:
            panels["training loss"][label] = (_series(record, "loss"), [], [])
            panels["validation loss"][label] = (_series(record, "val_loss"), [], [])
    return _figure(panels) if panels["training loss"] else None


def _figure(panels: dict) -> str:
    """The panels over their bands, a loss panel on a log axis where the run's loss dwarfs the band's."""
    losses = {title: series for title, series in panels.items() if "loss" in title}
    return figures.over_band(panels, logy=figures.spanning_decades(losses))


def outcome_counts(grades: list[Grade]) -> list[dict[str, Any]]:
    """Per coursework run: how many submissions were within, below and above the reference band."""
    counts: dict[str, collections.Counter] = {}
    for g in grades:
        for item in (i for i in g.items if i.section == "outcome"):
            counts.setdefault(item.id, collections.Counter())[item.evidence.get("verdict", "not assessed")] += 1
    return [{"run": run, "within": c["within"], "below": c["below"], "above": c["above"],
             "not assessed": c["not assessed"]} for run, c in counts.items()]


def provenance(evaluation: Evaluation) -> list[tuple[str, str]]:
    records = [r for r in (evaluation.smoke, evaluation.checks, *evaluation.runs.values()) if r and r.environment]
    fields: dict[str, set[str]] = collections.defaultdict(set)
    for record in records:
        for key in ("harness_version", "git_commit", "torch", "torchvision", "device", "isolation", "precision"):
            fields[key].add(str(record.environment.get(key)))
        fields["seeds"].add(str(record.seed))
    started = sorted(r.started_at for r in records)
    rows = [("submission hash", evaluation.content_hash or "-"), ("profile", evaluation.profile)]
    rows += [(k, ", ".join(sorted(v))) for k, v in fields.items()]
    if started:
        rows.append(("run between", f"{started[0]} and {started[-1]} (UTC)"))
        rows.append(("compute time", f"{sum(r.wall_s for r in records):.0f} s"))
    return rows


def write_submission_page(evaluation: Evaluation, grade: Grade, folder: Path, *, index: str | None = None) -> Path:
    checks = [i for i in grade.items if i.section == "check"]
    bands = band_figures(evaluation, grade)
    banded = {item.id for item, _ in bands}
    view = {
        "grade": grade, "index": index, "PASS": PASS, "FAIL": FAIL, "NOT_ASSESSED": NOT_ASSESSED,
        "items": grade.items, "checks": [(item, measurement_lines(item)) for item in checks],
        "coursework": _table(coursework_rows(evaluation, grade)),
        "bands": bands,
        "curves": [(run, training_figure(evaluation.runs[run])) for run in CURVE_RUNS  # where no band is stored
                   if run in evaluation.runs and evaluation.runs[run].status == "ok" and run not in banded],
        "sgd": sgd_figure(evaluation, grade),
        "provenance": provenance(evaluation),
        "taken": taken_from(evaluation),
    }
    return _write(folder / page_name(grade), "submission.html.j2", view)


def taken_from(evaluation: Evaluation) -> str | None:
    """For a notebook: which cell each part of the submission was taken from, in one sentence."""
    if not evaluation.source or not evaluation.source.get("cells"):
        return None
    cells = ", ".join(f"{name} from cell {cell}" for name, cell in
                      sorted(evaluation.source["cells"].items(), key=lambda item: (item[1], item[0])))
    return f"Taken from the notebook {evaluation.source.get('notebook', '')}: {cells}. No cell was run."


def check_pass_rates(grades: list[Grade]) -> list[dict[str, Any]]:
    """How many of the submissions that ran passed each check: which mistakes were common."""
    ran = [g for g in grades if not g.failure]
    rates = collections.OrderedDict()
    for g in ran:
        for item in g.items:
            if item.section == "check":
                rates.setdefault(item.id, [item.title, 0])[1] += item.status == PASS
    return [{"check": title, "passed": f"{n}/{len(ran)}", "rate": n / len(ran)} for title, n in rates.values()]


def write_class_page(grades: list[Grade], folder: Path, *, profile: str, rubric: str,
                     similar: Sequence[Pair] | None = None) -> Path:
    """The class overview. `similar`: the pairs of submissions whose code is alike (None: not compared)."""
    percents = [g.percent for g in grades if not g.failure]
    view = {
        "grades": grades, "profile": profile, "rubric": rubric, "page_name": page_name,
        "rates": check_pass_rates(grades),
        "outcomes": _table(counts) if (counts := outcome_counts(grades)) else None,
        "distribution": figures.distribution(percents, "grade (%)") if percents else None,
        "broken": [g for g in grades if g.failure],
        "similar": None if similar is None else [(pair, f"similar/{n}.html") for n, pair in enumerate(similar, 1)],
        "threshold": SIMILAR,
    }
    for pair, page in view["similar"] or []:
        if pair.similarity >= SIMILAR:  # the pages the overview links; the CSV has every pair
            _write(folder / page, "similar.html.j2", {"pair": pair, "index": "../index.html"})
    return _write(folder / "index.html", "class.html.j2", view)


def write_class_reports(results: list[tuple[Evaluation, Grade]], folder: Path, *, profile: str, rubric: str,
                        similar: Sequence[Pair] | None = None) -> Path:
    """One page per submission and the class overview linking them; returns the overview."""
    for evaluation, grade in results:
        write_submission_page(evaluation, grade, folder, index="index.html")
    return write_class_page([g for _, g in results], folder, profile=profile, rubric=rubric, similar=similar)


def _write(path: Path, template: str, view: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_environment().get_template(template).render(**view), encoding="utf-8")
    return path
