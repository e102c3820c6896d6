"""`harness reference --list` and `harness reference run`: which experiments, skipped or stored, run, saved, drawn."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.commands import with_mps
from harness.engine import data, devices
from harness.engine.spec import PROFILES, Spec, TrainSpec
from harness.store.database import Store


def _hyperparameters(spec: Spec) -> dict[str, str]:
    if not isinstance(spec, TrainSpec):
        params = ", ".join(f"{k}={v}" for k, v in spec.params.items())
        return {"id": spec.id, "kind": "demo", "data": spec.dataset or "-", "setting": params or "-",
                "title": spec.title}
    opt = spec.optimizer
    optimizer = f"{opt.name} lr={opt.lr:g}" + (f" wd={opt.weight_decay:g}" if opt.weight_decay else "")
    extras = []
    if spec.model_args:
        extras.append(",".join(f"{k}={v}" for k, v in spec.model_args.items()))
    if spec.inputs.augment:
        extras.append(f"aug={spec.inputs.augment}")
    if spec.inputs.normalize:
        extras.append("norm=train-stats" if spec.inputs.normalize == "train" else "norm=const")
    if spec.scheduler:
        extras.append(f"{spec.scheduler.name}({', '.join(f'{k}={v}' for k, v in spec.scheduler.params.items())})")
    if spec.early_stopping:
        es = spec.early_stopping
        extras.append(f"early-stop({es.monitor}, patience={es.patience})")
    setting = f"{spec.model} {spec.loss} {optimizer} bs={spec.batch_size} epochs={spec.epochs}"
    return {"id": spec.id, "kind": spec.task, "data": spec.dataset,
            "setting": " ".join([setting, *extras]), "title": spec.title}


def list_experiments(args: argparse.Namespace) -> int:
    from reference.experiments import EXPERIMENTS

    rows = [_hyperparameters(EXPERIMENTS[i]) for i in EXPERIMENTS]
    widths = {key: max(len(key), *(len(row[key]) for row in rows)) for key in ("id", "kind", "data", "setting")}
    print("  ".join(key.ljust(width) for key, width in widths.items()) + "  title")
    for row in rows:
        print("  ".join(row[key].ljust(width) for key, width in widths.items()) + "  " + row["title"])
    print(f"\n{len(rows)} experiments, listed with the notebook's settings (the full profile).")
    for profile in PROFILES.values():
        print(f"profile {profile.name}: {profile.description}")
    return 0


def _select(args: argparse.Namespace) -> list[Spec]:
    from harness.engine.spec import seeded
    from reference.experiments import EXPERIMENTS

    if args.all and args.ids:
        raise SystemExit("error: give experiment ids or --all, not both")
    if not args.all and not args.ids:
        raise SystemExit("error: name experiments to run (see `harness reference --list`) or pass --all")
    specs = [EXPERIMENTS[i] for i in (list(EXPERIMENTS) if args.all else args.ids)]
    # demonstrations are deterministic measurements: one seed says all
    return [seeded(s, k) if isinstance(s, TrainSpec) else s for s in specs
            for k in range(args.seeds if isinstance(s, TrainSpec) else 1)]


def _headline(metrics: dict[str, float]) -> str:
    keys = ("best_val_accuracy", "final_val_accuracy", "final_val_mae", "final_val_mse", "best_epoch")
    shown = [f"{k}={metrics[k]:.4f}" for k in keys if k in metrics]
    if not shown:  # demos: their first few numbers
        shown = [f"{k}={v:.4g}" for k, v in list(metrics.items())[:4]]
    return ", ".join(shown)


def run(args: argparse.Namespace) -> int:
    specs = _select(args)
    return with_mps(args, lambda: _reference_run(args, specs))


def _reference_run(args: argparse.Namespace, specs: list[Spec]) -> int:
    from harness.engine import pool
    from harness.engine.run import planned_record
    from harness.report.reference_page import write_reference_report

    profile = PROFILES[args.profile]
    device = devices.resolve_device(args.device)
    root = data.resolve_root(args.data_root)
    print(f"profile {profile.name}, device {device}, data root {root}, store {args.store}", file=sys.stderr)
    counts = {"ran": 0, "stored earlier": 0, "skipped": 0}
    labels = iter(f"[{number}/{len(specs)}]" for number in range(1, len(specs) + 1))
    with Store(args.store) as store:
        todo = []
        for spec in specs:
            if not args.force and store.find(planned_record(spec, profile=profile, precision=args.precision)) is not None:
                print(f"{next(labels)} {_spec_label(spec, args)}: already in the store (--force to run again)")
                counts["stored earlier"] += 1
            else:
                todo.append(spec)
        missing = _missing_data(todo, root, args)
        if missing is None:
            return 2
        for spec in [s for s in todo if getattr(s, "dataset", None) in missing]:
            print(f"{next(labels)} {_spec_label(spec, args)}: skipped, {spec.dataset} data missing")
            counts["skipped"] += 1
        ready = [s for s in todo if getattr(s, "dataset", None) not in missing]
        jobs = min(args.jobs or pool.default_jobs(device, mps=args.mps), max(1, len(ready)))
        if jobs > 1:
            print(f"{jobs} runs at a time, {pool.threads_each(jobs)} thread(s) each"
                  + (", their kernels side by side under MPS" if args.mps else ""), file=sys.stderr)
        for spec, record in pool.run(ready, jobs=jobs, device=device, profile=profile, data_root=root,
                                               download=args.download, precision=args.precision,
                                               progress=not args.quiet and jobs == 1):
            store.save(record, replace=args.force)
            counts["ran"] += 1
            print(f"{next(labels)} {_spec_label(spec, args)}: {_headline(record.metrics)} ({record.wall_s:.1f}s)")
        if args.html:
            page = write_reference_report(store, args.html, profile=profile.name, missing=missing)
            print(f"report: {page}")
    print(", ".join(f"{n} {what}" for what, n in counts.items()))
    return 0


def _spec_label(spec: Spec, args: argparse.Namespace) -> str:
    return spec.id + (f" seed {spec.seed}" if args.seeds > 1 else "")


def _missing_data(specs: list[Spec], root: Path, args: argparse.Namespace) -> dict[str, str] | None:
    """Each dataset the runs need, loaded (downloaded) once here before any run starts, so that
    parallel runs never download at once. Returns the missing ones with why; None (after saying
    so) when one is missing and --skip-missing-data was not given."""
    missing = {}
    for name in dict.fromkeys(s.dataset for s in specs if getattr(s, "dataset", None)):
        try:
            data.load(name, root, download=args.download)
        except data.DataMissingError as error:
            if not args.skip_missing_data:
                print(f"{name}: data missing.\n{error}", file=sys.stderr)
                return None
            print(f"{name} data missing, its runs are skipped:\n{error}")
            missing[name] = str(error)
    return missing
