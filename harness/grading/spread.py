"""The reference's seed-to-seed spread: one experiment under several seeds, stored, summarised.

This is what a claimed result is compared against: how far two honest runs of the same
experiment land apart, measured, not assumed.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from harness.engine.run import planned_record, run_spec
from harness.engine.spec import Profile, TrainSpec, seeded
from harness.store.database import Store
from harness.store.records import RunRecord

METRIC = "best_val_accuracy"


@dataclass(frozen=True)
class Spread:
    experiment: str
    values: tuple[float, ...]  # METRIC of each seed
    val_samples: int  # validation images each value was measured on

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        return statistics.stdev(self.values)

    @property
    def binomial_se(self) -> float:
        """Standard error of one accuracy measured on the validation set: the floor of any spread."""
        p = min(max(self.mean, 0.0), 1.0)
        return math.sqrt(max(p * (1 - p), 1.0 / self.val_samples) / self.val_samples)

    @classmethod
    def of(cls, records: list[RunRecord]) -> Spread:
        """The spread of one experiment's runs, one per seed."""
        return cls(records[0].experiment, tuple(r.metrics[METRIC] for r in records),
                   int(records[0].environment["data"]["test_samples"]))


def stored(store: Store, spec: TrainSpec, *, profile: Profile, seeds: int) -> list[RunRecord] | None:
    """The reference's runs of `spec` under its first `seeds` seeds, from the store only; None when a
    seed is missing (nothing is run)."""
    ids = [store.find(planned_record(seeded(spec, k), profile=profile)) for k in range(seeds)]
    return None if None in ids else [store.load(i) for i in ids]


def measure(store: Store, spec: TrainSpec, *, profile: Profile, seeds: int, data_root: Path | None,
            device: torch.device, progress: Callable[[str], None] = lambda line: None) -> list[RunRecord]:
    """The reference's runs of `spec` over `seeds` seeds, running (and storing) the seeds not yet in the store."""
    for k in range(seeds):
        variant = seeded(spec, k)
        if store.find(planned_record(variant, profile=profile)) is None:
            progress(f"reference band: {spec.id} seed {variant.seed} ({k + 1}/{seeds})")
            store.save(run_spec(variant, profile=profile, data_root=data_root, download=False, device=device))
    return stored(store, spec, profile=profile, seeds=seeds)
