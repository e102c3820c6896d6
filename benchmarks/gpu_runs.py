"""Time reference coursework runs on a GPU (full profile) and print one JSON line per run.

    python benchmarks/gpu_runs.py DATA_ROOT RUN[,RUN...] [--precision bf16]

Used for the GPU figures quoted in notes; not part of the test suite.
"""

import json
import sys
import time

import torch

from harness.runner import run_spec
from harness.spec import PROFILES
from reference.experiments import EXPERIMENTS


def main() -> None:
    root, runs = sys.argv[1], sys.argv[2].split(",")
    precision = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--precision" else "fp32"
    for run in runs:
        started = time.perf_counter()
        record = run_spec(EXPERIMENTS[run], profile=PROFILES["full"], data_root=root, download=False,
                          device=torch.device("cuda"), precision=precision)
        print(json.dumps({"run": run, "precision": precision, "wall_s": round(time.perf_counter() - started, 1),
                          "train_s": round(record.metrics["train_s"], 1), "epochs": record.metrics["epochs_run"],
                          "best_val_accuracy": record.metrics["best_val_accuracy"],
                          "device": torch.cuda.get_device_name()}), flush=True)


if __name__ == "__main__":
    main()
