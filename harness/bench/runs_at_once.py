"""Class throughput: how many runs to train at once on the machine at hand.

On the CPU, `harness grade` trains one job per CPU with one thread each; this times that layout
against one run at a time with every thread. On a GPU, `harness reference run --jobs` lets runs
share the device; this times 1, 2, 4, ... runs at once, the CPUs split between them. Every layout
trains the same epochs in all, so the choice rests on a figure, not a guess. Each run is its own
spawned process, as a grading job or a reference worker is; a process warms up with one epoch,
then all start together.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from pathlib import Path
from typing import Callable

import torch

from harness.bench.epochs import CASES, Case, harness_batches, harness_trainee
from harness.engine import data, devices
from harness.engine.trainer import train_one_epoch


def _train(case_name: str, root: str, n: int, device: str, threads: int, epochs: int, precision: str,
           ready, start) -> None:
    devices.training_process(threads)
    case, where = CASES[case_name], torch.device(device)
    batches = harness_batches(case, Path(root), n, where)
    _, step = harness_trainee(case, where, precision)
    train_one_epoch(step, batches)
    ready.put(True)
    start.wait()
    for _ in range(epochs):
        train_one_epoch(step, batches)


def layout_seconds(case: Case, root: Path, n: int, *, runs: int, threads: int, epochs: int, precision: str,
                   device: str = "cpu") -> float:
    """Wall-clock seconds for `runs` processes with `threads` threads each to train `epochs` epochs
    each on `device`, from the moment all are warmed up. Each epoch ends with the trainer's one read
    of its metrics, so the device's queued work is inside the time."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a grading job gets; CUDA cannot fork
    ready, start = context.Queue(), context.Event()
    processes = [context.Process(target=_train, args=(case.name, str(root), n, device, threads, epochs, precision,
                                                      ready, start))
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


def cpu_layouts(cpus: int) -> list[tuple[int, int]]:
    """(runs, threads each): one run with every thread, and one run per CPU with one thread."""
    if cpus < 2:
        raise ValueError("comparing layouts needs at least 2 CPUs")
    return [(1, cpus), (cpus, 1)]


def gpu_layouts(cpus: int, most: int) -> list[tuple[int, int]]:
    """(runs, threads each) sharing one GPU: 1, 2, 4, ... runs up to `most`, the CPUs split evenly."""
    counts = [1]
    while counts[-1] * 2 <= most:
        counts.append(counts[-1] * 2)
    return [(runs, max(1, cpus // runs)) for runs in counts]


def runs_at_once(case: Case, root: Path, n: int, *, layouts: list[tuple[int, int]], device: str = "cpu",
                 repeats: int = 2, epochs_per_run: int = 2, precision: str = "fp32",
                 progress: Callable[[str], None] = lambda line: None) -> list[dict[str, float | str]]:
    """A row per layout (runs at once, threads each). Every layout trains `epochs_per_run` epochs for
    each run of the widest layout, split among its own runs, so all do the same work; the layouts
    take turns `repeats` times (best counts). Speed-up is over one run at a time. `progress` hears
    each timing as it is taken."""
    widest = max(runs for runs, _ in layouts)
    epochs = epochs_per_run * widest
    if any(epochs % runs for runs, _ in layouts):
        raise ValueError(f"every layout's runs must divide the widest layout's {widest}")
    best = dict.fromkeys(layouts, float("inf"))
    for _ in range(repeats):
        for runs, threads in layouts:
            seconds = layout_seconds(case, root, n, runs=runs, threads=threads, epochs=epochs // runs,
                                     precision=precision, device=device)
            best[runs, threads] = min(best[runs, threads], seconds)
            progress(f"{runs} run(s) at once, {threads} thread(s) each: {seconds:.1f} s")
    images = len(data.load(case.dataset, root, download=False).train.head(n))
    alone = next(seconds for (runs, _), seconds in best.items() if runs == 1)
    return [{"case": case.name, "device": device, "runs_at_once": runs, "threads_each": threads, "precision": precision,
             "epochs": epochs, "wall_s": seconds, "epochs_per_min": 60 * epochs / seconds,
             "images_per_s": epochs * images / seconds, "speedup": alone / seconds}
            for (runs, threads), seconds in best.items()]
