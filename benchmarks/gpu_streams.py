"""Would runs sharing one GPU go faster inside one process? Each run replays its own CUDA graph; K
processes take the GPU in time slices, while K runs in one process on K CUDA streams can have their
small kernels run side by side (on an H100, 5 processes still went faster: docs/speed.md). Times one epoch of K copies of a coursework case, laid out three ways, and prints one JSON
line per (layout, K):

    python benchmarks/gpu_streams.py DATA_ROOT [--case cifar_cnn_aug] [--images 20000] [--runs 1,2,4,8]

- processes: K processes, one run each (what `--jobs K` does today);
- threads: one process, K threads, each training its run on its own stream;
- round-robin: one process, one thread, a step of each run in turn, each on its own stream.

Every run is set up and warmed up (graph captured) before the clock starts, one after another, so no
capture overlaps another run's work; each layout is compared with one replica alone. Not part of the
test suite: it decides whether grading should train a submission's runs together in one process
(measured on an H100: processes went faster, see docs/speed.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from pathlib import Path

import torch
import torch.multiprocessing as mp

from harness.bench.epochs import CASES, harness_batches, harness_trainee
from harness.engine.trainer import train_one_epoch


def _on(stream: torch.cuda.Stream | None):
    return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()  # None: a CPU dry run


def _synchronize(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _replicas(args: argparse.Namespace, count: int, first_seed: int = 0) -> list[tuple]:
    """(stream, step, batches) per run, each warmed up for one epoch on its own stream."""
    case, device = CASES[args.case], torch.device(args.device)
    replicas = []
    for k in range(count):
        stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        _, step = harness_trainee(case, device, args.precision)
        batches = harness_batches(case, Path(args.root), args.images, device, seed=first_seed + k)
        with _on(stream):
            train_one_epoch(step, batches)
        replicas.append((stream, step, batches))
    _synchronize(args.device)
    return replicas


def _threads(replicas: list[tuple]) -> None:
    def train(stream, step, batches) -> None:
        with _on(stream):
            train_one_epoch(step, batches)

    workers = [threading.Thread(target=train, args=replica) for replica in replicas]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _round_robin(replicas: list[tuple]) -> None:
    iterators = [iter(batches) for _, _, batches in replicas]
    totals: list[torch.Tensor | int] = [0] * len(replicas)
    for _, step, _ in replicas:
        step.model.train()
    live = list(range(len(replicas)))
    while live:
        for k in list(live):
            stream, step, _ = replicas[k]
            with _on(stream):
                batch = next(iterators[k], None)
                if batch is None:
                    live.remove(k)
                    continue
                totals[k] = totals[k] + step(*batch)["loss"]  # added on the run's stream before its next replay


def _in_process(args: argparse.Namespace, count: int, layout: str) -> float:
    replicas = _replicas(args, count)
    started = time.perf_counter()
    (_threads if layout == "threads" else _round_robin)(replicas)
    _synchronize(args.device)
    return time.perf_counter() - started


def _one_of_many(args: argparse.Namespace, k: int, ready, times) -> None:
    torch.backends.cudnn.benchmark = True
    torch.set_num_threads(1)
    (replica,) = _replicas(args, 1, first_seed=k)
    ready.wait()
    started = time.perf_counter()
    _threads([replica])
    _synchronize(args.device)
    times.put(time.perf_counter() - started)


def _processes(args: argparse.Namespace, count: int) -> float:
    """Wall time from the moment all K warmed-up processes start their epoch to the last one's end."""
    context = mp.get_context("spawn")
    ready, times = context.Barrier(count + 1), context.Queue()
    workers = [context.Process(target=_one_of_many, args=(args, k, ready, times)) for k in range(count)]
    for worker in workers:
        worker.start()
    ready.wait()
    started = time.perf_counter()
    for _ in workers:
        times.get()
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--case", default="cifar_cnn_aug", choices=sorted(CASES))
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--runs", default="1,2,4,8", help="how many runs share the GPU, comma-separated")
    parser.add_argument("--layouts", default="processes,threads,round-robin")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    torch.backends.cudnn.benchmark = True
    device = torch.cuda.get_device_name() if torch.device(args.device).type == "cuda" else "cpu"
    alone: float | None = None  # images/s of one replica timed alone
    timers = {"processes": _processes}
    for layout in args.layouts.split(","):
        for count in (int(k) for k in args.runs.split(",")):
            time_it = timers.get(layout, lambda a, k: _in_process(a, k, layout))
            seconds = time_it(args, count)
            rate = count * args.images / seconds
            if count == 1 and alone is None:
                alone = rate
            base = alone
            print(json.dumps({"layout": layout, "runs": count, "case": args.case, "images_each": args.images,
                              "epoch_s": round(seconds, 3), "images_per_s": round(rate),
                              "vs_one_run_alone": round(rate / base, 2) if base else None,
                              "device": device, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
