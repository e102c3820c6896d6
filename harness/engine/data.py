"""Datasets as in-memory tensors, read by the libraries' own loaders.

MNIST and CIFAR-10 go through torchvision's dataset classes, California housing through
scikit-learn's fetcher; each is read once per process and kept as tensors (uint8 images), so
training never decodes a PIL image. A missing dataset raises one `DataMissingError` that names
the files and the flag that fixes it.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torchvision.datasets import CIFAR10, MNIST

DATA_ROOT_ENV = "HARNESS_DATA_ROOT"
DEFAULT_DATA_ROOT = "data"
SYNTHETIC_MARKER = "SYNTHETIC.json"  # written by harness.engine.synthetic beside generated files

# The notebook's regression split: 80/20, random_state=42, StandardScaler fit on the train part.
CALIFORNIA_TEST_FRACTION = 0.2
CALIFORNIA_SPLIT_SEED = 42


@dataclass(frozen=True)
class Split:
    x: torch.Tensor  # images: uint8 (N, C, H, W); tabular: float32 (N, F)
    y: torch.Tensor  # class labels int64 (N,), or regression targets float32 (N,)

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int | None) -> "Split":
        """The first n samples (all of them when n is None or larger than the split)."""
        return self if n is None or n >= len(self) else Split(self.x[:n], self.y[:n])


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    test: Split
    folder: Path  # where the files were read from
    synthetic: bool  # generated stand-in data (harness.engine.synthetic), not the real dataset
    train_stats: tuple[tuple[float, ...], tuple[float, ...]] | None = None  # when handed over precomputed

    def normalization(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean/std of the whole training split (never the test split)."""
        return self.train_stats or train_statistics(self.train)

    def provenance(self, train_limit: int | None, test_limit: int | None) -> dict[str, Any]:
        """Which data a run on the first `train_limit` / `test_limit` samples used. The fingerprint hashes
        those samples: two runs saw the same data exactly when theirs agree, wherever the files lay."""
        train, test = self.train.head(train_limit), self.test.head(test_limit)
        digest = hashlib.sha256()
        for tensor in (train.x, train.y, test.x, test.y):
            digest.update(tensor.contiguous().numpy())
        return {"dataset": self.name, "folder": str(self.folder), "synthetic": self.synthetic,
                "train_samples": len(train), "test_samples": len(test), "fingerprint": digest.hexdigest()[:16]}


class DataMissingError(RuntimeError):
    """A dataset's files are not under the data root and could not be downloaded."""


EXPECTED_FILES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(
        f"MNIST/raw/{name}"
        for name in (
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        )
    ),
    "cifar10": tuple(
        f"cifar-10-batches-py/{name}"
        for name in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")
    ),
    "california": ("california_housing/cal_housing_py3.pkz",),
}
DATASETS = tuple(EXPECTED_FILES)


def resolve_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: the explicit value, else $HARNESS_DATA_ROOT, else ./data."""
    chosen = root or os.environ.get(DATA_ROOT_ENV) or DEFAULT_DATA_ROOT
    return Path(chosen).expanduser().resolve()


def missing_files(name: str, root: Path) -> list[Path]:
    return [root / f for f in EXPECTED_FILES[name] if not (root / f).is_file()]


def load(name: str, root: str | os.PathLike | None = None, *, download: bool = True) -> Dataset:
    """Load dataset `name` ('mnist', 'cifar10' or 'california') from the data root, once per process."""
    if name not in EXPECTED_FILES:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return _load_cached(name, resolve_root(root), download)


@functools.cache
def _load_cached(name: str, root: Path, download: bool) -> Dataset:
    reader = _READERS[name]
    try:
        return reader(root, False)
    except (RuntimeError, OSError) as first:
        if not download:
            raise _missing_error(name, root, None) from first
    try:
        return reader(root, True)
    except Exception as failure:  # noqa: BLE001 - any download failure becomes the one clear error
        raise _missing_error(name, root, failure) from failure


def _missing_error(name: str, root: Path, download_failure: Exception | None) -> DataMissingError:
    missing = missing_files(name, root) or [root / f for f in EXPECTED_FILES[name]]
    listed = "\n".join(f"  - {path}" for path in missing)
    tried = (
        f"Downloading them failed: {type(download_failure).__name__}: "
        f"{str(download_failure).splitlines()[0] if str(download_failure) else ''}"
        if download_failure is not None
        else "Downloading was switched off (--no-download)."
    )
    return DataMissingError(
        f"The {name} dataset is not under the data root {root}. Missing or unreadable:\n{listed}\n"
        f"{tried}\n"
        f"Fix: point the harness at a folder holding these files with --data-root PATH "
        f"(or the {DATA_ROOT_ENV} environment variable), or run once with network access "
        f"so they are downloaded there."
    )


def _is_synthetic(folder: Path) -> bool:
    return (folder / SYNTHETIC_MARKER).is_file()


def cifar10_is_synthetic(root: str | os.PathLike) -> bool:
    """Whether the CIFAR-10 under `root` is generated stand-in data (without reading it)."""
    return _is_synthetic(Path(root) / CIFAR10.base_folder)


def _read_mnist(root: Path, download: bool) -> Dataset:
    def split(train: bool) -> Split:
        ds = MNIST(root, train=train, download=download)
        return Split(ds.data.unsqueeze(1).contiguous(), ds.targets.long())

    folder = root / "MNIST"
    return Dataset("mnist", split(True), split(False), folder, _is_synthetic(folder))


def _read_cifar10(root: Path, download: bool) -> Dataset:
    folder = root / CIFAR10.base_folder
    synthetic = _is_synthetic(folder)
    reader = _GeneratedCIFAR10 if synthetic else CIFAR10

    def split(train: bool) -> Split:
        ds = reader(root, train=train, download=download and not synthetic)
        images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # HWC -> CHW
        return Split(images, torch.tensor(ds.targets, dtype=torch.long))

    return Dataset("cifar10", split(True), split(False), folder, synthetic)


def _read_california(root: Path, download: bool) -> Dataset:
    from sklearn.datasets import fetch_california_housing
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    folder = root / "california_housing"
    x, y = fetch_california_housing(
        data_home=str(folder), download_if_missing=download, return_X_y=True
    )
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=CALIFORNIA_TEST_FRACTION, random_state=CALIFORNIA_SPLIT_SEED
    )
    scaler = StandardScaler().fit(x_train)

    def split(features: np.ndarray, target: np.ndarray) -> Split:
        return Split(
            torch.from_numpy(scaler.transform(features)).float(), torch.from_numpy(target).float()
        )

    return Dataset(
        "california", split(x_train, y_train), split(x_test, y_test), folder, _is_synthetic(folder)
    )


class _GeneratedCIFAR10(CIFAR10):
    """torchvision's own CIFAR-10 reader with the MD5 checks off: generated batches differ."""

    train_list = [[name, None] for name, _ in CIFAR10.train_list]
    test_list = [[name, None] for name, _ in CIFAR10.test_list]
    meta = {**CIFAR10.meta, "md5": None}


_READERS: dict[str, Callable[[Path, bool], Dataset]] = {
    "mnist": _read_mnist,
    "cifar10": _read_cifar10,
    "california": _read_california,
}


def train_statistics(split: Split) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (unbiased) std of uint8 images scaled to [0, 1].

    Exact, from a 256-bin histogram per channel, so the whole set is never copied to float.
    """
    levels = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for channel in range(split.x.shape[1]):
        counts = torch.bincount(split.x[:, channel].reshape(-1).long(), minlength=256).double()
        n = counts.sum()
        mean = (counts * levels).sum() / n
        var = (counts * (levels - mean) ** 2).sum() / (n - 1)
        means.append(mean.item())
        stds.append(var.sqrt().item())
    return tuple(means), tuple(stds)
