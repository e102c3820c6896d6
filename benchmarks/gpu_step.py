"""Epoch time of a coursework case on a GPU, one way of running the step per call: op by op (eager),
torch.compile (default or reduce-overhead mode), or the trainer's own way on a GPU, the whole step
(forward, backward, Adam, metric sums) replayed from a CUDA graph (`harness.engine.steps.GraphedStep`).
Prints one JSON line.

    python benchmarks/gpu_step.py VARIANT DATA_ROOT [--case cifar_cnn_aug] [--images 10000] [--precision fp32]

VARIANT is eager, compile, reduce-overhead or graph. Used to decide which of them the trainer should
use on a GPU; not part of the test suite. Each variant runs in its own process (compilers keep
global caches), warmed up with two epochs, best of three timed epochs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch import nn

from harness.bench.epochs import CASES, harness_batches
from harness.engine.objectives import OBJECTIVES
from harness.engine.run import build_optimizer
from harness.engine.spec import Optimizer
from harness.engine.steps import make_step
from harness.engine.trainer import train_one_epoch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=["eager", "compile", "reduce-overhead", "graph"])
    parser.add_argument("root")
    parser.add_argument("--case", default="cifar_cnn_aug", choices=sorted(CASES))
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    case, device = CASES[args.case], torch.device(args.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    batches = harness_batches(case, Path(args.root), args.images, device)
    images = len(batches)
    model = case.model().to(device)
    model = model if case.flatten else model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(Optimizer("adam", case.lr), model.parameters())
    started = time.perf_counter()
    if args.variant in ("compile", "reduce-overhead"):
        model = torch.compile(model, mode=None if args.variant == "compile" else args.variant)
    step = make_step(model, OBJECTIVES["multiclass"], nn.CrossEntropyLoss(), optimizer, precision=args.precision,
                     cuda_graph=args.variant == "graph")
    epoch = lambda: train_one_epoch(step, batches)  # noqa: E731
    for _ in range(2):
        epoch()
    warm_s = time.perf_counter() - started
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        epoch()
        best = min(best, time.perf_counter() - began)
    steps = -(-images // case.batch_size)
    print(json.dumps({"variant": args.variant, "case": case.name, "precision": args.precision, "images": images,
                      "epoch_s": round(best, 4), "step_ms": round(1000 * best / steps, 3),
                      "images_per_s": round(images / best), "setup_and_warmup_s": round(warm_s, 1),
                      "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                      "step_kind": step.kind, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
