"""Shared fixtures: generated datasets in the real on-disk formats (never ../shared)."""

from __future__ import annotations

import pytest

from harness import synthetic
from harness.spec import PROFILES


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    return synthetic.write_all(
        tmp_path_factory.mktemp("data"), mnist=(1200, 400), cifar10=(600, 200), california=12000
    )


@pytest.fixture(scope="session")
def quick():
    return PROFILES["quick"]
