"""Time reference coursework runs (full profile) and print one JSON line per run, epoch lines on stderr.

    python benchmarks/gpu_runs.py DATA_ROOT RUN[,RUN...] [--precision bf16] [--device cuda]

Used for the GPU figures quoted in notes; not part of the test suite.
"""

import argparse
import json
import time

import torch

from harness.runner import run_spec
from harness.spec import PROFILES
from reference.experiments import EXPERIMENTS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("runs", type=lambda text: text.split(","))
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    for run in args.runs:
        started = time.perf_counter()
        record = run_spec(EXPERIMENTS[run], profile=PROFILES["full"], data_root=args.root, download=False,
                          device=device, precision=args.precision, progress=True)
        print(json.dumps({"run": run, "precision": args.precision, "wall_s": round(time.perf_counter() - started, 1),
                          "train_s": round(record.metrics["train_s"], 1), "epochs": record.metrics["epochs_run"],
                          "best_val_accuracy": record.metrics["best_val_accuracy"],
                          "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu"}), flush=True)


if __name__ == "__main__":
    main()
