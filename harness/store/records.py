"""What a run produces: a measurement from a demo, and the full record the store keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Measurement:
    """A demo's output: named scalars and named arrays (nested lists of numbers)."""

    metrics: dict[str, float] = field(default_factory=dict)
    arrays: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunRecord:
    experiment: str
    kind: str  # 'train' or 'demo'
    subject: str  # 'reference', or a submission's content hash
    profile: str
    seed: int
    spec: dict[str, Any]
    spec_hash: str
    harness_version: str
    history: list[dict[str, float]] = field(default_factory=list)  # one dict per epoch
    metrics: dict[str, float] = field(default_factory=dict)  # summary scalars
    arrays: dict[str, Any] = field(default_factory=dict)  # demo arrays (histograms, images, ...)
    environment: dict[str, Any] = field(default_factory=dict)  # provenance
    started_at: str = ""  # ISO 8601, UTC
    wall_s: float = 0.0
    status: str = "ok"  # 'ok', or 'failed' with `error` saying why in words for the student
    error: str = ""
    run_id: int | None = None
