"""Command line: `harness reference ...`, `harness check`, `harness grade`, `harness report`, `harness data synth`.

The CLI only parses and delegates; defaults live here, in one place.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from harness.engine import data, devices
from harness.engine.mps import MpsUnavailable
from harness.engine.spec import PROFILES, Spec, TrainSpec
from harness.grading.contract import SubmissionError
from harness.grading.executors import ExecutorUnavailable
from harness.grading.rubric import RubricError
from harness.grading.sandbox import IsolationUnavailable
from harness.registry import UnknownName
from harness.store.database import Store

# what a command says in one line and exits 2 for: the user's to fix, not a bug
USER_ERRORS = (UnknownName, RubricError, IsolationUnavailable, data.DataMissingError, SubmissionError,
               devices.DeviceUnavailable, ExecutorUnavailable, MpsUnavailable)

if TYPE_CHECKING:
    import pandas as pd  # imported where used: the commands that need no table start faster
    import torch

DEFAULT_STORE = "results/harness.sqlite"
DEFAULT_HTML = "results/reference.html"


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction from 0 up to 1 (0.2 is 20%), got {value}")
    return value


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


def cmd_reference_list(args: argparse.Namespace) -> int:
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
    from harness.grading.spread import seeded
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


def _with_mps(args: argparse.Namespace, body: Callable[[], int]) -> int:
    """`body()`, under an MPS daemon of its own when --mps is given (on a GPU only). The daemon starts
    before this process initializes CUDA, which is when CUDA looks for it."""
    from harness.engine import mps

    if not args.mps:
        return body()
    if args.device == "cpu":
        raise MpsUnavailable("--mps shares a GPU between runs; it does nothing with --device cpu")
    with mps.private_daemon(expected=USER_ERRORS):
        if devices.resolve_device(args.device).type != "cuda":
            raise devices.DeviceUnavailable(f"--mps shares a GPU between runs, and --device {args.device} found none")
        return body()


def cmd_reference_run(args: argparse.Namespace) -> int:
    specs = _select(args)
    return _with_mps(args, lambda: _reference_run(args, specs))


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


def cmd_report(args: argparse.Namespace) -> int:
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


def _grading_setup(args: argparse.Namespace):
    """Everything check and grade share: data present, isolation available, rubric valid."""
    from harness.grading import rubric, sandbox
    from harness.grading.evaluate import Settings
    from harness.grading.jobs import check_gpu

    device = devices.resolve_device(args.device)  # a GPU that is not there: said before anything is loaded
    root = data.resolve_root(args.data_root)
    data.load("cifar10", root, download=args.download)  # fetch once here, not in every child
    layer = sandbox.choose_layer(allow_weak=args.allow_weak_isolation)
    if device.type == "cuda":
        print(f"{args.device}: {check_gpu(layer, str(device))}, reachable from the sandbox", file=sys.stderr)
    settings = Settings(profile=PROFILES[args.profile], data_root=root, layer=layer, device=str(device))
    return settings, rubric.load(args.rubric)


def _graded(args: argparse.Namespace, folders: list[Path], settings, rubric) -> tuple[list, list[tuple[str, str]]]:
    """Evaluate and grade `folders` on the backend the options name; says what did not run."""
    from harness.engine import pool
    from harness.grading.evaluate import sharing
    from harness.grading.executors import make_executor
    from harness.grading.pipeline import grade_folders
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


def cmd_check(args: argparse.Namespace) -> int:
    import time

    from harness.report import grade_pages, gradebook, gradescope

    started = time.perf_counter()
    settings, rubric = _grading_setup(args)
    print(f"checking {args.submission}", file=sys.stderr)
    [(evaluation, grade)], not_run = _graded(args, [Path(args.submission)], settings, rubric)
    print(gradebook.summary(grade))
    if evaluation.content_hash:
        page = grade_pages.write_submission_page(evaluation, grade, Path(args.html_dir))
        print(f"report: {page}")
    if args.gradescope:
        print(f"gradescope results: {gradescope.write(grade, Path(args.gradescope))}")
    print(f"took {time.perf_counter() - started:.0f} s")
    return 0 if grade.status == "complete" and not grade.failed and not not_run else 1


def cmd_grade(args: argparse.Namespace) -> int:
    import time

    from harness.grading.pipeline import submission_folders
    from harness.report import grade_pages, gradebook

    started = time.perf_counter()
    folders = submission_folders(Path(args.submissions))
    settings, rubric = _grading_setup(args)
    print(f"grading {len(folders)} submissions in {args.submissions}", file=sys.stderr)
    results, not_run = _graded(args, folders, settings, rubric)
    grades = [g for _, g in results]
    index = grade_pages.write_class_reports(results, Path(args.reports), profile=settings.profile.name, rubric=rubric.name)
    print(f"gradebook: {gradebook.write_csv(grades, args.gradebook)}\nreports: {index}")
    print(gradebook.class_summary(grades))
    print(f"took {time.perf_counter() - started:.0f} s")
    return 1 if not_run else 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.compare:  # before torch is imported: comparing two files trains nothing
        return _bench_compare(*args.compare, tolerance=args.tolerance)
    from harness.bench import epochs

    unknown = [c for c in args.cases if c not in epochs.CASES]
    if unknown:
        print(f"error: unknown case {', '.join(unknown)}; the cases are {', '.join(epochs.CASES)}", file=sys.stderr)
        return 2
    if args.mps and not args.runs_at_once:
        raise MpsUnavailable("--mps goes with --runs-at-once: it times runs sharing a GPU under MPS")
    return _with_mps(args, lambda: _bench(args))


def _bench(args: argparse.Namespace) -> int:
    import tempfile

    from harness.bench import epochs
    from harness.engine import synthetic

    cases = args.cases or list(epochs.CASES)
    device = devices.resolve_device(args.device)  # a GPU that is not there: said before any data is generated
    if args.runs_at_once and device.type == "cpu" and devices.cpus() < 2:
        print("error: --runs-at-once on the CPU compares ways to share 2 or more CPUs; this process has 1",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as folder:
        root = Path(args.data_root) if args.data_root else Path(folder)
        if not args.data_root:
            synthetic.write_mnist(root, args.images, 500)
            synthetic.write_cifar10(root, args.images, 500)
        mode = _bench_parity if args.parity else _bench_runs_at_once if args.runs_at_once else _bench_epochs
        table = mode(args, [epochs.CASES[case] for case in cases], root, device)
    decimals = 4 if args.parity else 2  # accuracies, or seconds and ratios
    percent = {"spread": "{:+.0%}".format} if "spread" in table else None
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.{decimals}f}", formatters=percent))
    if percent and (note := epochs.unsteady(table.to_dict("records"))):
        print(f"note: {note}", file=sys.stderr)
    return 0


def _bench_compare(before_path: str, now_path: str, *, tolerance: float) -> int:
    """Speed-ups of two saved benchmark runs side by side; 1 when one fell by more than `tolerance`."""
    import pandas as pd

    from harness.bench import compare

    try:
        before, now = compare.load(before_path), compare.load(now_path)
    except compare.NotABenchmark as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    table = compare.compare(before, now, tolerance)
    if table.empty:
        print("error: neither file has a harness benchmark beside the notebook's loop as written; "
              "they come from `pytest benchmarks/`", file=sys.stderr)
        return 2
    print(f"before: {compare.describe(before)}\nnow:    {compare.describe(now)}\n"
          f"speed-up over the notebook's loop in the same session; slower: fell by more than {tolerance:.0%}",
          file=sys.stderr)
    shown = table.assign(change=table["change"].map(lambda v: "" if pd.isna(v) else f"{v:+.0%}"))
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep=""))
    slower = table[table["verdict"] == "slower"]
    if not slower.empty:
        print(f"slower: {', '.join(slower['case'] + ' ' + slower['precision'])}", file=sys.stderr)
    return 1 if not slower.empty else 0


def _bench_epochs(args: argparse.Namespace, cases: list, root: Path, device: torch.device) -> pd.DataFrame:
    import pandas as pd
    import torch

    from harness.bench import epochs

    print(f"{args.images} training images per epoch, {torch.get_num_threads()} CPU threads, device {device}; "
          f"best of {args.repeats} epochs after one warm-up, the loops taking turns (spread: how much longer "
          "the slowest took)", file=sys.stderr)
    return pd.DataFrame([row for case in cases for row in epochs.measure(
        case, root, args.images, repeats=args.repeats, device=device)])


def _bench_parity(args: argparse.Namespace, cases: list, root: Path, device: torch.device) -> pd.DataFrame:
    """On the CPU whatever the device: the parity figure is about numbers, not speed."""
    import pandas as pd

    from harness.bench import epochs

    print(f"final validation accuracy after {args.parity} epochs on {args.images} images, {args.repeats} seeds",
          file=sys.stderr)
    rows = [row for case in cases for row in epochs.accuracy_parity(
        case, root, train_images=args.images, test_images=500, epochs=args.parity, seeds=args.repeats)]
    table = pd.DataFrame(rows).groupby(["case", "loop"], sort=False)["val_accuracy"].agg(["mean", "std", "count"])
    return table.reset_index()


def _bench_runs_at_once(args: argparse.Namespace, cases: list, root: Path, device: torch.device) -> pd.DataFrame:
    import pandas as pd

    from harness.bench import runs_at_once
    from harness.engine import pool

    if device.type == "cuda":
        layouts = runs_at_once.gpu_layouts(devices.cpus(), min(2 * pool.GPU_RUNS_MAX,
                                                             pool.gpu_capacity(device)))
        shared = (f"one GPU shared by up to {layouts[-1][0]} runs" + (" under MPS" if args.mps else " in time slices")
                  + f", {devices.cpus()} CPUs split between them")
    else:
        layouts, shared = runs_at_once.cpu_layouts(devices.cpus()), f"{devices.cpus()} CPUs shared two ways"
    print(f"{args.images} training images per epoch, {shared}, fp32; each layout trains the same epochs, "
          f"best of {args.repeats} turns", file=sys.stderr)
    return pd.DataFrame([row for case in cases for row in runs_at_once.runs_at_once(
        case, root, args.images, layouts=layouts, device=str(device), repeats=args.repeats,
        progress=lambda line: print(f"  {case.name}: {line}", file=sys.stderr, flush=True))])


def cmd_data_synth(args: argparse.Namespace) -> int:
    from harness.engine import synthetic

    root = synthetic.write_all(args.root, seed=args.seed)
    print(f"generated stand-in MNIST, CIFAR-10 and California housing under {root} "
          f"(marked SYNTHETIC; use with --data-root {root})")
    return 0


def _grading_options(parser: argparse.ArgumentParser, *, profile: str) -> None:
    parser.add_argument("--profile", choices=sorted(PROFILES), default=profile,
                        help=f"how much of each coursework run to reproduce (default {profile})")
    parser.add_argument("--data-root", default=None, help=f"folder holding cifar-10-batches-py (default: ${data.DATA_ROOT_ENV} or ./data)")
    parser.add_argument("--no-download", dest="download", action="store_false", help="never try to download CIFAR-10")
    parser.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite results file (default {DEFAULT_STORE})")
    parser.add_argument("--rubric", default=None, help="rubric TOML (default reference/rubric.toml)")
    parser.add_argument("--jobs", type=_at_least_one, default=None,
                        help="sandboxed jobs at a time, one CPU thread each; with --dask local, the number of "
                             "worker processes (default: the number of CPUs; with --device cuda, as many runs "
                             "as the GPU's memory holds, at most 8)")
    parser.add_argument("--device", default="cpu",
                        help="where the coursework runs train: cpu (default), or cuda / cuda:N (checked at "
                             "start-up: a sandboxed child must be able to compute there)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--in-process", action="store_true",
                       help="run the jobs one at a time from this process, for debugging (still sandboxed)")
    where.add_argument("--dask", choices=["local"], default=None,
                       help="run the jobs on a Dask LocalCluster of --jobs worker processes")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="run the jobs on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (see docs/cluster.md)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="run again the jobs whose stored result is a failure (after fixing the grading machine, "
                             "say); by default a stored result is kept, failed or not")
    parser.add_argument("--allow-weak-isolation", action="store_true",
                        help="grade even where only resource limits are available (no bubblewrap, no namespaces)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_add_reference, _add_check, _add_grade, _add_bench, _add_report, _add_data):
        add(commands)
    return parser


def _add_reference(commands: argparse._SubParsersAction) -> None:
    ref = commands.add_parser("reference", help="list or run the notebook's reference experiments")
    ref.add_argument("--list", action="store_true", help="list every experiment with its hyperparameters")
    ref.add_argument("--profile", choices=sorted(PROFILES), default="quick", help=argparse.SUPPRESS)
    ref_commands = ref.add_subparsers(dest="action")
    run = ref_commands.add_parser("run", help="run experiments and store their results")
    run.add_argument("ids", nargs="*", metavar="ID", help="experiment ids (see --list)")
    run.add_argument("--all", action="store_true", help="run every experiment")
    run.add_argument("--profile", choices=sorted(PROFILES), default=argparse.SUPPRESS,
                     help="quick: a small subset for CPUs and tests; full: the notebook's settings")
    run.add_argument("--data-root", default=None,
                     help=f"folder holding the datasets (default: ${data.DATA_ROOT_ENV} or ./data)")
    run.add_argument("--no-download", dest="download", action="store_false",
                     help="never try to download missing datasets")
    run.add_argument("--skip-missing-data", action="store_true",
                     help="skip experiments whose dataset is missing instead of stopping")
    run.add_argument("--device", default="auto", help="auto (GPU when there is one), cpu, cuda or cuda:N")
    run.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite results file (default {DEFAULT_STORE})")
    run.add_argument("--html", default=DEFAULT_HTML, help=f"HTML page to write at the end (default {DEFAULT_HTML})")
    run.add_argument("--force", action="store_true", help="run again experiments already in the store")
    run.add_argument("--quiet", action="store_true", help="no per-epoch progress lines")
    run.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                     help="bf16 autocasts forward passes: faster, numerically different, stored as a separate run")
    run.add_argument("--jobs", type=_at_least_one, default=None,
                     help="runs at a time, each in its own process (default: one per CPU, one thread each; on a GPU, "
                          "as many as its free memory holds, at most 8); 1 runs them in this process with per-epoch lines")
    run.add_argument("--mps", action="store_true",
                     help="on a GPU, start NVIDIA's Multi-Process Service for these runs, so that the kernels of "
                          "runs sharing it run side by side instead of in time slices (see docs/speed.md)")
    run.add_argument("--seeds", type=_at_least_one, default=1,
                     help="run each training experiment under this many seeds (its seed, +1, ...): the spread")


def _add_check(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser("check", help="check one submission: contract, behaviour checks, quick runs")
    check.add_argument("submission", help="the submission folder (model.py, augmentations.py, manifest.toml)")
    _grading_options(check, profile="check")
    check.add_argument("--html-dir", default="results/check", help="folder for the HTML preview (default results/check)")
    check.add_argument("--gradescope", metavar="FILE", default=None,
                       help="also write the grade as Gradescope's autograder results (/autograder/results/results.json)")


def _add_grade(commands: argparse._SubParsersAction) -> None:
    grade = commands.add_parser("grade", help="grade every submission folder under a folder (resumable)")
    grade.add_argument("submissions", help="a folder holding one folder per submission")
    _grading_options(grade, profile="quick")
    grade.add_argument("--gradebook", default="results/gradebook.csv", help="CSV to write (default results/gradebook.csv)")
    grade.add_argument("--reports", default="results/reports", help="folder for the HTML reports (default results/reports)")


def _add_bench(commands: argparse._SubParsersAction) -> None:
    bench_parser = commands.add_parser("bench", help="epoch throughput of the trainer beside the notebook's loop")
    bench_parser.add_argument("cases", nargs="*", help="mnist_mlp, cifar_cnn, cifar_cnn_aug (default: all)")
    bench_parser.add_argument("--images", type=int, default=5000, help="training images per epoch (default 5000)")
    bench_parser.add_argument("--repeats", type=int, default=2, help="timed epochs per loop; the best counts")
    bench_parser.add_argument("--data-root", default=None, help="real datasets to time on (default: generated)")
    bench_parser.add_argument("--device", default="cpu", help="cpu (default), auto, cuda")
    bench_parser.add_argument("--parity", type=int, default=0, metavar="EPOCHS",
                              help="instead of timing, train EPOCHS epochs per seed (--repeats seeds) with both loops "
                                   "and compare final validation accuracy")
    bench_parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "NOW"),
                              help="instead, compare two saved runs of `pytest benchmarks/ --benchmark-json FILE`: "
                                   "each speed-up over the notebook's loop, before and now; exit 1 when one fell by "
                                   "more than --tolerance")
    bench_parser.add_argument("--tolerance", type=_fraction, default=0.3,
                              help="with --compare: the fall in a speed-up that counts as slower (default 0.3: 30%%; "
                                   "two runs of one commit on a shared 2-core CPU differed by up to 20%%)")
    bench_parser.add_argument("--runs-at-once", action="store_true",
                              help="instead, time layouts that train the same epochs: on the CPU, one run per CPU "
                                   "with one thread each (how grading trains) against one run at a time with every "
                                   "thread; on a GPU, 1, 2, 4, ... runs sharing it (what reference run --jobs does)")
    bench_parser.add_argument("--mps", action="store_true",
                              help="with --runs-at-once on a GPU: the runs share it under NVIDIA's Multi-Process "
                                   "Service, started for the benchmark (compare with the same command without it)")


def _add_report(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="render the HTML pages from the store, running nothing")
    report.add_argument("--store", default=DEFAULT_STORE)
    report.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    report.add_argument("--html", default=DEFAULT_HTML, help=f"the reference page (default {DEFAULT_HTML})")
    report.add_argument("--reports", default="results/reports", help="folder for the grade pages (default results/reports)")
    report.add_argument("--rubric", default=None, help="rubric TOML (default reference/rubric.toml)")


def _add_data(commands: argparse._SubParsersAction) -> None:
    synth = commands.add_parser("data", help="dataset utilities")
    synth_commands = synth.add_subparsers(dest="action", required=True)
    gen = synth_commands.add_parser("synth", help="write small generated datasets in the real file formats")
    gen.add_argument("root", help="folder to write MNIST/, cifar-10-batches-py/ and california_housing/ into")
    gen.add_argument("--seed", type=int, default=0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    devices.training_process()  # before anything is trained or loaded in this process
    try:
        if args.command == "reference":
            if args.action == "run":
                return cmd_reference_run(args)
            if args.list:
                return cmd_reference_list(args)
            parser.parse_args(["reference", "--help"])
        if args.command == "report":
            return cmd_report(args)
        if args.command == "check":
            return cmd_check(args)
        if args.command == "grade":
            return cmd_grade(args)
        if args.command == "bench":
            return cmd_bench(args)
        if args.command == "data":
            return cmd_data_synth(args)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are in the store; run the same command to go on", file=sys.stderr)
        return 130
    return 0
