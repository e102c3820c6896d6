"""`harness data synth`: generated datasets in the real formats."""

from __future__ import annotations

import argparse


def synth(args: argparse.Namespace) -> int:
    from harness.engine import synthetic

    root = synthetic.write_all(args.root, seed=args.seed)
    print(f"generated stand-in MNIST, CIFAR-10 and California housing under {root} "
          f"(marked SYNTHETIC; use with --data-root {root})")
    return 0
