"""Class throughput on the CPU: several runs at once with one thread each, or one run at a time
with every thread.

`harness grade` trains one job per CPU, one thread each. This times that layout against the other
way to use the same CPUs, on the same epochs, so the choice rests on a figure from the machine at
hand. Each run is its own spawned process, as a grading job is; a process warms up with one epoch,
then all start together.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from pathlib import Path

import torch

from harness.bench import CASES, Case, harness_batches, harness_epoch, harness_trainee


def _train(case_name: str, root: str, n: int, threads: int, epochs: int, precision: str, ready, start) -> None:
    torch.set_num_threads(threads)
    case, cpu = CASES[case_name], torch.device("cpu")
    batches = harness_batches(case, Path(root), n, cpu)
    model, optimizer = harness_trainee(case, cpu)
    harness_epoch(model, batches, optimizer, precision)
    ready.put(True)
    start.wait()
    for _ in range(epochs):
        harness_epoch(model, batches, optimizer, precision)


def layout_seconds(case: Case, root: Path, n: int, *, runs: int, threads: int, epochs: int, precision: str) -> float:
    """Wall-clock seconds for `runs` processes with `threads` threads each to train `epochs` epochs
    each, from the moment all are warmed up."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a grading job gets
    ready, start = context.Queue(), context.Event()
    processes = [context.Process(target=_train, args=(case.name, str(root), n, threads, epochs, precision, ready, start))
                 for _ in range(runs)]
    for process in processes:
        process.start()
    warming = runs
    while warming:
        try:
            ready.get(timeout=1)
            warming -= 1
        except queue.Empty:
            if not all(process.is_alive() for process in processes):
                for process in processes:
                    process.kill()
                raise RuntimeError("a training process died before the timed epochs began") from None
    start.set()
    began = time.perf_counter()
    for process in processes:
        process.join()
    if any(process.exitcode for process in processes):
        raise RuntimeError("a training process failed during the timed epochs")
    return time.perf_counter() - began


def runs_at_once(case: Case, root: Path, n: int, *, cpus: int, repeats: int = 2, epochs_per_cpu: int = 2,
                 precision: str = "fp32") -> list[dict[str, float | str]]:
    """Rows for `cpus` runs at once with one thread each and for one run at a time with `cpus`
    threads; both train `cpus * epochs_per_cpu` epochs in all, the layouts taking turns `repeats`
    times (best counts). Speed-up is over one run at a time."""
    if cpus < 2:
        raise ValueError("comparing layouts needs at least 2 CPUs")
    layouts = [(1, cpus), (cpus, 1)]
    best = dict.fromkeys(layouts, float("inf"))
    for _ in range(repeats):
        for runs, threads in layouts:
            seconds = layout_seconds(case, root, n, runs=runs, threads=threads, epochs=epochs_per_cpu * cpus // runs,
                                     precision=precision)
            best[runs, threads] = min(best[runs, threads], seconds)
    epochs = epochs_per_cpu * cpus
    return [{"case": case.name, "runs_at_once": runs, "threads_each": threads, "precision": precision, "epochs": epochs,
             "wall_s": best[runs, threads], "epochs_per_min": 60 * epochs / best[runs, threads],
             "speedup": best[1, cpus] / best[runs, threads]} for runs, threads in layouts]
