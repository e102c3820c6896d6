"""Command line: `harness reference ...`, `harness check`, `harness grade`, `harness report`, `harness data synth`.

Also `harness bench`.

This module parses and dispatches; what each command does is in `harness/commands/`. Defaults
live here, in one place.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from harness.commands import (
    USER_ERRORS,
    benchmark,
    check_and_grade,
    data_synth,
    new_submission,
    reference_runs,
    report_pages,
)
from harness.engine import data, devices
from harness.engine.spec import PROFILES

DEFAULT_STORE = "results/harness.sqlite"
DEFAULT_HTML = "results/reference.html"


def _at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, got {value}")
        return value
    parse.__name__ = "whole number"  # argparse's word for text that is not one: "invalid whole number value"
    return parse


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction from 0 up to 1 (0.2 is 20%), got {value}")
    return value


def _grading_options(parser: argparse.ArgumentParser, *, profile: str) -> None:
    parser.add_argument("--profile", choices=sorted(PROFILES), default=profile,
                        help=f"how much of each coursework run to reproduce (default {profile})")
    parser.add_argument("--data-root", default=None, help=f"folder holding cifar-10-batches-py (default: ${data.DATA_ROOT_ENV} or ./data)")
    parser.add_argument("--no-download", dest="download", action="store_false", help="never try to download CIFAR-10")
    parser.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite results file (default {DEFAULT_STORE})")
    parser.add_argument("--rubric", default=None, help="rubric TOML (default reference/rubric.toml)")
    parser.add_argument("--jobs", type=_at_least(1), default=None,
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
    parser.add_argument("--max-extra-seeds", type=_at_least(0), default=2,
                        help="how many times an inconclusive claim's run is reproduced again, under the next "
                             "seeds, to decide it (default 2; 0: never)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_add_reference, _add_new, _add_check, _add_grade, _add_bench, _add_report, _add_data):
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
    run.add_argument("--jobs", type=_at_least(1), default=None,
                     help="runs at a time, each in its own process (default: one per CPU, one thread each; on a GPU, "
                          "as many as its free memory holds, at most 8); 1 runs them in this process with per-epoch lines")
    run.add_argument("--mps", action="store_true",
                     help="on a GPU, start NVIDIA's Multi-Process Service for these runs, so that the kernels of "
                          "runs sharing it run side by side instead of in time slices (see docs/speed.md)")
    run.add_argument("--seeds", type=_at_least(1), default=1,
                     help="run each training experiment under this many seeds (its seed, +1, ...): the spread")


def _add_new(commands: argparse._SubParsersAction) -> None:
    new = commands.add_parser("new", help="write a submission folder to start from: the given network, the "
                                          "transforms to fill in, a manifest with every field explained")
    new.add_argument("folder", help="the folder to create (it must not hold a submission already)")
    new.add_argument("--student", required=True, help="your name or id, as the course lists you")


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
    grade.add_argument("--similarity", default=None,
                       help="CSV of how alike each pair of submissions' code is (default: similarity.csv beside the "
                            "gradebook)")


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
                return reference_runs.run(args)
            if args.list:
                return reference_runs.list_experiments(args)
            parser.parse_args(["reference", "--help"])
        if args.command == "report":
            return report_pages.render(args)
        if args.command == "check":
            return check_and_grade.check(args)
        if args.command == "grade":
            return check_and_grade.grade(args)
        if args.command == "bench":
            return benchmark.bench(args)
        if args.command == "data":
            return data_synth.synth(args)
        if args.command == "new":
            return new_submission.new(args)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are in the store; run the same command to go on", file=sys.stderr)
        return 130
    return 0
