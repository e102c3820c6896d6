"""Small, learnable stand-in datasets written in the real on-disk formats.

Tests and offline demos read these through the same torchvision / scikit-learn loaders as the
real data: MNIST as IDX files (gzipped, plus the extracted copies torchvision reads), CIFAR-10 as
the pickled python batches, California housing as scikit-learn's joblib cache plus the raw
`cal_housing.data`. Each folder gets a `SYNTHETIC.json` marker so results made from it say so.
"""

from __future__ import annotations

import gzip
import json
import pickle
import struct
from pathlib import Path

import joblib
import numpy as np

from harness.engine.data import SYNTHETIC_MARKER

CIFAR_LABELS = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_all(
    root: str | Path,
    *,
    mnist: tuple[int, int] = (1200, 400),
    cifar10: tuple[int, int] = (1000, 300),
    california: int = 2000,
    seed: int = 0,
) -> Path:
    """Write all three datasets under `root` with the given (train, test) sizes; returns the root."""
    root = Path(root)
    write_mnist(root, *mnist, seed=seed)
    write_cifar10(root, *cifar10, seed=seed + 1)
    write_california(root, california, seed=seed + 2)
    return root


def _class_images(rng: np.random.Generator, n: int, shape: tuple[int, ...], prototypes: np.ndarray):
    """Noisy, randomly shifted copies of one prototype image per class, balanced labels."""
    labels = np.arange(n) % len(prototypes)
    rng.shuffle(labels)
    images = prototypes[labels].astype(np.float32)
    shifts = rng.integers(-1, 2, size=(n, 2))
    for i, (dy, dx) in enumerate(shifts):
        images[i] = np.roll(images[i], (dy, dx), axis=(-2, -1))
    images += rng.normal(0.0, 30.0, size=images.shape)
    return np.clip(images, 0, 255).astype(np.uint8).reshape(n, *shape), labels.astype(np.uint8)


def _mnist_prototypes(rng: np.random.Generator) -> np.ndarray:
    """Ten distinct stroke patterns on a 28x28 black background, MNIST-like brightness."""
    protos = np.zeros((10, 28, 28), dtype=np.float32)
    for digit in range(10):
        for _ in range(4):  # four random thick strokes per class
            r0, c0, r1, c1 = rng.integers(5, 23, size=4)
            for t in np.linspace(0.0, 1.0, 40):
                r, c = int(r0 + t * (r1 - r0)), int(c0 + t * (c1 - c0))
                protos[digit, r - 1 : r + 2, c - 1 : c + 2] = 255.0
    return protos


def _idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding (magic 0x0000 08 ndim, big-endian dims, raw uint8), as in LeCun's files."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(root: Path, n_train: int, n_test: int, *, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    protos = _mnist_prototypes(rng)
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images, labels = _class_images(rng, n, (28, 28), protos)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            payload = _idx_bytes(array)
            name = f"{prefix}-{kind}-ubyte"
            (raw / name).write_bytes(payload)
            with gzip.open(raw / f"{name}.gz", "wb") as handle:
                handle.write(payload)
    _mark(raw.parent, "mnist", seed, n_train, n_test)
    return raw.parent


def cifar_like(n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n CIFAR-shaped uint8 images (N, 3, 32, 32) and labels; each class has a colour and a coarse pattern."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(40, 216, size=(10, 3, 1, 1)).astype(np.float32)
    patterns = np.kron(rng.random((10, 1, 4, 4)) > 0.5, np.ones((1, 1, 8, 8))).astype(np.float32)
    return _class_images(rng, n, (3, 32, 32), colours * (0.4 + 0.6 * patterns))


def write_cifar10(root: Path, n_train: int, n_test: int, *, seed: int = 0) -> Path:
    images, labels = cifar_like(n_train + n_test, seed=seed)
    return write_cifar10_batches(root, (images[:n_train], labels[:n_train]), (images[n_train:], labels[n_train:]),
                                 seed=seed)


def write_cifar10_batches(root: Path, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], *,
                          seed: int) -> Path:
    """CIFAR-10's pickled python batches from (uint8 images (N, 3, 32, 32), labels) for each split: five
    training batches and the test batch, as torchvision reads them; `seed` is what the marker records."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    train_parts = np.array_split(np.arange(len(train[1])), 5)
    batches = {f"data_batch_{i + 1}": (train, idx, 0) for i, idx in enumerate(train_parts)}
    batches["test_batch"] = (test, np.arange(len(test[1])), len(train[1]))
    for name, ((images, labels), idx, first) in batches.items():
        entry = {
            "batch_label": name,
            "labels": labels[idx].astype(int).tolist(),
            "data": images[idx].reshape(len(idx), 3 * 32 * 32),
            "filenames": [f"synthetic_{first + i}.png" for i in idx],  # numbered across both splits
        }
        with open(folder / name, "wb") as handle:
            pickle.dump(entry, handle, protocol=2)
    meta = {"label_names": CIFAR_LABELS, "num_cases_per_batch": len(train_parts[0]), "num_vis": 3072}
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump(meta, handle, protocol=2)
    _mark(folder, "cifar10", seed, len(train[1]), len(test[1]))
    return folder


def write_california(root: Path, n: int, *, seed: int = 0) -> Path:
    """Raw columns as in `cal_housing.data`; the value depends on income, location and rooms."""
    rng = np.random.default_rng(seed)
    longitude = rng.uniform(-124.3, -114.3, n)
    latitude = rng.uniform(32.5, 42.0, n)
    age = rng.integers(1, 53, n).astype(float)
    households = rng.integers(50, 1500, n).astype(float)
    rooms = households * rng.uniform(3.0, 8.0, n)
    bedrooms = rooms * rng.uniform(0.15, 0.25, n)
    population = households * rng.uniform(1.5, 4.5, n)
    income = rng.gamma(4.0, 1.0, n)
    coastal = np.exp(-((longitude + 122.0) ** 2) / 4.0)
    value = 40_000 * income + 120_000 * coastal + 8_000 * (rooms / households) + rng.normal(0, 20_000, n)
    value = np.clip(value, 15_000, 500_001)
    raw = np.column_stack(
        [longitude, latitude, age, rooms, bedrooms, population, households, income, value]
    )
    folder = Path(root) / "california_housing"
    (folder / "CaliforniaHousing").mkdir(parents=True, exist_ok=True)
    np.savetxt(folder / "CaliforniaHousing" / "cal_housing.data", raw, delimiter=",", fmt="%.6f")
    # scikit-learn's own cache: the raw columns reordered to target first, joblib-compressed.
    joblib.dump(raw[:, [8, 7, 2, 3, 4, 5, 6, 1, 0]], folder / "cal_housing_py3.pkz", compress=6)
    _mark(folder, "california", seed, n, 0)
    return folder


def _mark(folder: Path, name: str, seed: int, n_train: int, n_test: int) -> None:
    info = {"dataset": name, "generator": "harness.engine.synthetic", "seed": seed, "train": n_train, "test": n_test}
    (folder / SYNTHETIC_MARKER).write_text(json.dumps(info, indent=2))
