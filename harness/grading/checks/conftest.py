"""Fixtures for the checks: the subject under check and the grader's context, set by harness.grading.checks.session."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.engine.synthetic import cifar_like
from harness.grading.checks.subjects import BATCH


@pytest.fixture(scope="session")
def context(pytestconfig):
    return pytestconfig.harness_context


@pytest.fixture(scope="session")
def subject(pytestconfig):
    return pytestconfig.harness_subject


@pytest.fixture
def variant(subject):
    """variant(name) -> a fresh copy of one CNNModel variant (base, batchnorm, dropout, both, zeros)."""
    return subject.variant


@pytest.fixture
def transform(subject):
    """transform(name) -> the pipeline the student's factory `name` returns for the grader's mean and std."""
    return subject.transform


@pytest.fixture(scope="session")
def images():
    """CIFAR-shaped uint8 images (N, 3, 32, 32) with learnable labels, generated in memory."""
    x, y = cifar_like(768, seed=123)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


@pytest.fixture
def batch():
    torch.manual_seed(1)
    return torch.randn(BATCH, 3, 32, 32)
