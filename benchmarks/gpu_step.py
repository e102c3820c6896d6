"""Epoch time of a coursework case on a GPU, one way of running the step per call: the trainer as it
is (eager), torch.compile (default or reduce-overhead mode), or the whole step (forward, backward,
Adam, metric sums) captured once in a CUDA graph and replayed. Prints one JSON line.

    python benchmarks/gpu_step.py VARIANT DATA_ROOT [--case cifar_cnn_aug] [--images 9984] [--precision fp32]

VARIANT is eager, compile, reduce-overhead or graph. Used to decide which of them the trainer should
use on a GPU; not part of the test suite. Each variant runs in its own process (compilers keep
global caches), warmed up with two epochs, best of three timed epochs. Batches are full-size only
(`--images` a multiple of the batch size), so every variant runs one shape.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch import nn

from harness.bench import CASES, harness_batches, harness_epoch, harness_trainee
from harness.trainer import autocast


def graph_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, batches, precision: str):
    """A function that trains one epoch by replaying one captured step per batch."""
    criterion = nn.CrossEntropyLoss()
    first_x, first_y = next(iter(batches))
    static_x, static_y = first_x.clone(), first_y.clone()
    loss_sum = torch.zeros((), device=static_x.device)
    correct = torch.zeros((), device=static_x.device, dtype=torch.long)

    def step() -> None:
        with autocast(precision, "cuda"):
            outputs = model(static_x)
        loss = criterion(outputs.float(), static_y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum.add_(loss.detach() * static_y.shape[0])
        correct.add_((outputs.detach().argmax(dim=1) == static_y).sum())

    side = torch.cuda.Stream()  # warm-up off the default stream, as capture requires
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()

    def epoch() -> None:
        loss_sum.zero_()
        correct.zero_()
        for x, y in batches:
            static_x.copy_(x)
            static_y.copy_(y)
            graph.replay()
        torch.stack([loss_sum, correct.double()]).tolist()  # the trainer's one read per epoch

    return epoch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=["eager", "compile", "reduce-overhead", "graph"])
    parser.add_argument("root")
    parser.add_argument("--case", default="cifar_cnn_aug", choices=sorted(CASES))
    parser.add_argument("--images", type=int, default=9984)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    case, device = CASES[args.case], torch.device(args.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    batches = harness_batches(case, Path(args.root), args.images, device)
    images = len(batches)
    if images % case.batch_size:
        parser.error(f"{images} images: not a multiple of the batch size {case.batch_size}")
    model, optimizer = harness_trainee(case, device)
    started = time.perf_counter()
    if args.variant == "graph":
        optimizer = torch.optim.Adam(model.parameters(), lr=case.lr, fused=True, capturable=True)
        epoch = graph_epoch(model, optimizer, batches, args.precision)
    else:
        if args.variant != "eager":
            model = torch.compile(model, mode=None if args.variant == "compile" else args.variant)
        epoch = lambda: harness_epoch(model, batches, optimizer, args.precision)  # noqa: E731
    for _ in range(2):
        epoch()
    warm_s = time.perf_counter() - started
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        epoch()
        best = min(best, time.perf_counter() - began)
    steps = images // case.batch_size
    print(json.dumps({"variant": args.variant, "case": case.name, "precision": args.precision, "images": images,
                      "epoch_s": round(best, 4), "step_ms": round(1000 * best / steps, 3),
                      "images_per_s": round(images / best), "setup_and_warmup_s": round(warm_s, 1),
                      "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                      "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
