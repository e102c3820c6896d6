"""Fixtures for the checks: the student's modules and the grader's context, set by harness.checks.runner."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.checks.support import student
from harness.synthetic import cifar_like


@pytest.fixture(scope="session")
def context(pytestconfig):
    return pytestconfig.harness_context


@pytest.fixture(scope="session")
def model_module(pytestconfig):
    return pytestconfig.harness_modules[0]


@pytest.fixture(scope="session")
def augment_module(pytestconfig):
    return pytestconfig.harness_modules[1]


@pytest.fixture
def build(model_module):
    """build(**kwargs) -> the student's CNNModel, seeded, any exception reported as a sentence."""

    def make(**kwargs):
        torch.manual_seed(0)
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        with student(f"building CNNModel({shown})"):
            return model_module.CNNModel(**kwargs)

    return make


@pytest.fixture(scope="session")
def images():
    """CIFAR-shaped uint8 images (N, 3, 32, 32) with learnable labels, generated in memory."""
    x, y = cifar_like(768, seed=123)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


@pytest.fixture
def batch():
    torch.manual_seed(1)
    return torch.randn(64, 3, 32, 32)
