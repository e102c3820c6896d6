"""The reference results page: every stored reference run, as the notebook shows it, from the store."""

from __future__ import annotations

import statistics
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from harness.engine.spec import Shown
from harness.grading.band import per_epoch
from harness.report import figures
from harness.store.database import Store
from harness.store.records import RunRecord

# Package data: the repository's templates/ installed as harness.report.templates (see pyproject.toml)
TEMPLATES = Path(str(resources.files("harness.report.templates")))


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )


def latest_runs(store: Store, *, profile: str, subject: str = "reference") -> dict[str, RunRecord]:
    """The newest stored run of each experiment under its declared seed (the lowest; `--seeds` adds
    higher ones for the spread), in the order the experiments were first run."""
    runs: dict[str, RunRecord] = {}
    for record in store.runs(subject=subject, profile=profile):
        if record.experiment not in runs or record.seed <= runs[record.experiment].seed:
            runs[record.experiment] = record
    return runs


def _series(record: RunRecord, key: str) -> list[float]:
    return [row[key] for row in record.history if key in row]


def training_figure(record: RunRecord) -> str:
    panels: dict[str, dict[str, list[float]]] = {"loss": {"train": _series(record, "loss"),
                                                          "val": _series(record, "val_loss")}}
    for metric in ("accuracy", "mae", "mse"):
        if _series(record, metric):
            panels[metric] = {"train": _series(record, metric), "val": _series(record, f"val_{metric}")}
    if record.spec.get("scheduler"):
        panels["learning rate"] = {"lr": _series(record, "lr")}
    return figures.curves(panels, logy=frozenset({"learning rate"}))


def _table(rows: list[dict[str, Any]]) -> str:
    return pd.DataFrame(rows).to_html(index=False, border=0, float_format=lambda v: f"{v:.4g}",
                                      classes="data", na_rep="")


def seed_runs(store: Store, *, profile: str) -> dict[str, list[RunRecord]]:
    """Every stored seed of each reference experiment (the newest run of each seed), lowest seed first."""
    by_seed: dict[str, dict[int, RunRecord]] = {}
    for record in store.runs(subject="reference", profile=profile):
        by_seed.setdefault(record.experiment, {})[record.seed] = record
    return {experiment: [seeds[s] for s in sorted(seeds)] for experiment, seeds in by_seed.items()}


COMPARED = {"loss": "training loss", "val_loss": "validation loss", "val_accuracy": "validation accuracy",
            "val_mae": "validation MAE"}


def _over_seeds(records: list[RunRecord], metric: str) -> tuple[list[float], list[float], list[float]]:
    """The metric's mean over the seeds at each epoch, with the edges mean ± std (none with one seed)."""
    mean, std = per_epoch([_series(r, metric) for r in records])
    return mean, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)]


def comparison_figures(seeds: dict[str, list[RunRecord]]) -> list[tuple[str, int, str]]:
    """The notebook's comparisons, each as (title, seeds, figure): its stored runs on shared axes, each
    the mean over its seeds with a band of ± one standard deviation when there are several. Losses
    are compared only between runs trained with the same loss."""
    from reference.experiments import EXPERIMENTS

    groups: dict[str, list[str]] = {}
    for experiment in EXPERIMENTS:
        if _shown(experiment).compare and seeds.get(experiment) and seeds[experiment][0].kind == "train":
            groups.setdefault(_shown(experiment).compare, []).append(experiment)
    drawn = []
    for title, members in groups.items():
        one_loss = len({seeds[e][0].spec["loss"] for e in members}) == 1
        metrics = [m for m in COMPARED if (one_loss or "loss" not in m) and all(_series(seeds[e][0], m) for e in members)]
        panels = {COMPARED[m]: {_shown(e).label or e: _over_seeds(seeds[e], m) for e in members} for m in metrics}
        drawn.append((title, min(len(seeds[e]) for e in members), figures.over_band(panels)))
    return drawn


def coursework_table(seeds: dict[str, list[RunRecord]]) -> str | None:
    """The notebook's coursework table: each claimed run's best validation accuracy, over the stored seeds."""
    from reference.experiments import GRADED

    rows = []
    for spec in GRADED:
        if spec.graded.claim and spec.id in seeds:
            values = [r.metrics["best_val_accuracy"] for r in seeds[spec.id]]
            rows.append({"run": spec.graded.claim, "title": spec.title, "best val accuracy": statistics.fmean(values),
                         "± std over seeds": statistics.stdev(values) if len(values) > 1 else None,
                         "seeds": len(values)})
    return _table(rows) if rows else None


def _shown(experiment: str) -> Shown:
    from reference.experiments import EXPERIMENTS

    spec = EXPERIMENTS.get(experiment)
    return getattr(spec, "shown", None) or Shown()


def _in_table(runs: dict[str, RunRecord], table: str) -> list[tuple[str, RunRecord]]:
    """The stored runs declared in `table`, in the order they were declared, with their row labels."""
    from reference.experiments import EXPERIMENTS

    return [(_shown(i).label, runs[i]) for i in EXPERIMENTS if i in runs and _shown(i).table == table]


def regression_table(runs: dict[str, RunRecord]) -> str | None:
    """The notebook's cross table: each trained model's validation MAE and MSE (once both are stored)."""
    pair = _in_table(runs, "regression")
    if len(pair) < 2:
        return None
    return _table([{"model": name, "val MAE": r.metrics["final_val_mae"], "val MSE": r.metrics["final_val_mse"]}
                   for name, r in pair])


def weight_decay_table(runs: dict[str, RunRecord]) -> str | None:
    rows = [{"weight decay": r.spec["optimizer"]["weight_decay"],
             "train accuracy (eval mode)": r.metrics["final_train_accuracy"],
             "test accuracy": r.metrics["final_val_accuracy"]}
            for _, r in _in_table(runs, "weight_decay")]
    return _table(rows) if rows else None


def demo_view(record: RunRecord) -> dict[str, Any]:
    view: dict[str, Any] = {"table": _table([{"measure": k, "value": v} for k, v in record.metrics.items()]),
                            "figure": None, "image": None, "note": record.arrays.get("note")}
    drawn, a = _shown(record.experiment).figure, record.arrays
    if drawn == "moments":
        view["figure"] = figures.histograms({
            "per-sample means": {"input": a["input_means"], "output": a["output_means"]},
            "per-sample variances": {"input": a["input_vars"], "output": a["output_vars"]},
        })
    elif drawn == "histogram":
        view["figure"] = figures.histograms({"weights": {"weights": a["weight_histogram"]}})
    elif drawn == "gallery":
        view["image"] = figures.image_grid(a)
    return view


def provenance(runs: dict[str, RunRecord]) -> list[tuple[str, str]]:
    """Each provenance field with every distinct value seen across the runs."""
    fields: dict[str, set[str]] = {}
    for record in runs.values():
        env = record.environment
        for key in ("harness_version", "git_commit", "torch", "torchvision", "python", "device", "device_name", "precision"):
            fields.setdefault(key, set()).add(str(env.get(key)))
        if "cuda_mps" in env:  # runs on a GPU: were they sharing it under MPS
            fields.setdefault("cuda_mps", set()).add(str(env["cuda_mps"]))
        if "train_step" in record.arrays:  # training runs: eager, or replayed from a CUDA graph
            fields.setdefault("train_step", set()).add(record.arrays["train_step"])
        if "data" in env:
            d = env["data"]
            fields.setdefault("data", set()).add(
                f"{d['dataset']}: {d['folder']}" + (" (GENERATED stand-in data)" if d["synthetic"] else ""))
    return [(k, "; ".join(sorted(v))) for k, v in fields.items()]


def write_reference_report(store: Store, path: str | Path, *, profile: str,
                           missing: dict[str, str] | None = None) -> Path:
    runs, seeds = latest_runs(store, profile=profile), seed_runs(store, profile=profile)
    summary = [{"experiment": r.experiment, "title": r.spec["title"], "kind": r.kind,
                "epochs": r.metrics.get("epochs_run"), "best val acc": r.metrics.get("best_val_accuracy"),
                "final val acc": r.metrics.get("final_val_accuracy"), "val MAE": r.metrics.get("final_val_mae"),
                "wall s": round(r.wall_s, 1)} for r in runs.values()]
    page = _environment().get_template("reference.html.j2").render(
        profile=profile,
        summary=_table(summary) if summary else None,
        provenance=provenance(runs),
        missing=missing or {},
        regression=regression_table(runs),
        weight_decay=weight_decay_table(runs),
        comparisons=comparison_figures(seeds),
        coursework=coursework_table(seeds),
        training=[(r, training_figure(r)) for r in runs.values() if r.kind == "train"],
        demos=[(r, demo_view(r)) for r in runs.values() if r.kind == "demo"],
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
