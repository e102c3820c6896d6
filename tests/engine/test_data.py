import gzip
import pickle
import urllib.request
from urllib.error import URLError

import numpy as np
import pytest
import torch
from sklearn.datasets import fetch_california_housing

from harness.engine import data, synthetic


def test_mnist_read_by_torchvision_from_generated_idx(synth_root):
    ds = data.load("mnist", synth_root, download=False)
    assert ds.train.x.shape == (1200, 1, 28, 28) and ds.test.x.shape == (400, 1, 28, 28)
    assert ds.train.x.dtype == torch.uint8 and ds.train.y.dtype == torch.int64
    assert set(ds.train.y.tolist()) == set(range(10))
    assert ds.synthetic
    raw = synth_root / "MNIST" / "raw"
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert gzip.decompress((raw / f"{name}.gz").read_bytes()) == (raw / name).read_bytes()


def test_cifar10_read_by_torchvision_matches_the_pickled_batches(synth_root):
    ds = data.load("cifar10", synth_root, download=False)
    assert ds.train.x.shape == (600, 3, 32, 32) and ds.test.x.shape == (200, 3, 32, 32)
    with open(synth_root / "cifar-10-batches-py" / "data_batch_1", "rb") as handle:
        batch = pickle.load(handle, encoding="latin1")
    first = torch.from_numpy(batch["data"][0].reshape(3, 32, 32))
    assert torch.equal(ds.train.x[0], first)  # channel-first, same pixels
    assert ds.train.y[: len(batch["labels"])].tolist() == batch["labels"]


def test_california_split_and_scaler_fit_on_train_only(synth_root):
    ds = data.load("california", synth_root, download=False)
    assert len(ds.train) == 9600 and len(ds.test) == 2400  # 80/20
    assert torch.allclose(ds.train.x.mean(0), torch.zeros(8), atol=1e-5)
    assert torch.allclose(ds.train.x.std(0, unbiased=False), torch.ones(8), atol=1e-4)
    assert not torch.allclose(ds.test.x.mean(0), torch.zeros(8), atol=1e-3)  # not refit on test
    x, y = fetch_california_housing(data_home=str(synth_root / "california_housing"),
                                    download_if_missing=False, return_X_y=True)
    assert sorted(ds.train.y.tolist() + ds.test.y.tolist()) == pytest.approx(sorted(y.tolist()), rel=1e-6)


def test_datasets_are_loaded_once_per_process(synth_root):
    assert data.load("mnist", synth_root, download=False) is data.load("mnist", synth_root, download=False)


def test_missing_data_error_names_files_and_the_fix(tmp_path):
    with pytest.raises(data.DataMissingError) as caught:
        data.load("mnist", tmp_path, download=False)
    message = str(caught.value)
    for expected in data.EXPECTED_FILES["mnist"]:
        assert str(tmp_path / expected) in message
    assert "--data-root" in message and data.DATA_ROOT_ENV in message


def test_failed_download_gives_the_same_clear_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(data.DataMissingError) as caught:
        data.load("cifar10", tmp_path, download=True)
    message = str(caught.value)
    assert "Downloading them failed" in message and "data_batch_1" in message and "--data-root" in message


def test_data_root_from_flag_then_environment_then_default(monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_ROOT_ENV, str(tmp_path))
    assert data.resolve_root() == tmp_path.resolve()
    assert data.resolve_root("elsewhere").name == "elsewhere"
    monkeypatch.delenv(data.DATA_ROOT_ENV)
    assert data.resolve_root().name == data.DEFAULT_DATA_ROOT


def test_unknown_dataset_is_a_clear_error(synth_root):
    with pytest.raises(ValueError, match="known: mnist, cifar10, california"):
        data.load("imagenet", synth_root)


def test_train_statistics_equal_a_direct_float_computation(synth_root):
    split = data.load("cifar10", synth_root, download=False).train
    mean, std = data.train_statistics(split)
    x = split.x.double() / 255
    assert mean == pytest.approx(x.mean(dim=(0, 2, 3)).tolist(), abs=1e-12)
    assert std == pytest.approx(x.std(dim=(0, 2, 3)).tolist(), abs=1e-12)


def test_real_cifar_checksums_still_apply_without_the_marker(tmp_path):
    synthetic.write_cifar10(tmp_path, 50, 10)
    (tmp_path / "cifar-10-batches-py" / data.SYNTHETIC_MARKER).unlink()
    with pytest.raises(data.DataMissingError):  # MD5s differ from the official files
        data.load("cifar10", tmp_path, download=False)


def test_split_head_limits_and_keeps_pairs():
    split = data.Split(torch.arange(10).view(10, 1), torch.arange(10))
    assert len(split.head(3)) == 3 and split.head(None) is split and split.head(99) is split
    assert np.array_equal(split.head(3).x.squeeze(1).numpy(), split.head(3).y.numpy())
