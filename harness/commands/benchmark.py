"""`harness bench`: epoch time beside the notebook's loop, accuracy parity, runs at once, or two saved runs compared."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.commands import with_mps
from harness.engine import devices
from harness.engine.mps import MpsUnavailable

if TYPE_CHECKING:
    import pandas as pd  # imported where used: the commands that need no table start faster
    import torch


def bench(args: argparse.Namespace) -> int:
    if args.compare:  # before torch is imported: comparing two files trains nothing
        return _bench_compare(*args.compare, tolerance=args.tolerance)
    from harness.bench import epochs

    unknown = [c for c in args.cases if c not in epochs.CASES]
    if unknown:
        print(f"error: unknown case {', '.join(unknown)}; the cases are {', '.join(epochs.CASES)}", file=sys.stderr)
        return 2
    if args.mps and not args.runs_at_once:
        raise MpsUnavailable("--mps goes with --runs-at-once: it times runs sharing a GPU under MPS")
    return with_mps(args, lambda: _bench(args))


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
