"""What each command of the command line does, given its parsed arguments (`harness/cli.py` parses
and dispatches here): one module per command."""

from __future__ import annotations

import argparse
from typing import Callable

from harness.engine import data, devices
from harness.engine.mps import MpsUnavailable
from harness.grading.band import OtherData
from harness.grading.contract import SubmissionError
from harness.grading.executors import ExecutorUnavailable
from harness.grading.rubric import RubricError
from harness.grading.sandbox import IsolationUnavailable
from harness.registry import UnknownName

# what a command says in one line and exits 2 for: the user's to fix, not a bug
USER_ERRORS = (UnknownName, RubricError, IsolationUnavailable, data.DataMissingError, SubmissionError,
               devices.DeviceUnavailable, ExecutorUnavailable, MpsUnavailable, OtherData)


def with_mps(args: argparse.Namespace, body: Callable[[], int]) -> int:
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
