"""The submission contract, read without running any student code."""

import shutil
from pathlib import Path

import pytest

from harness.grading import contract
from harness.grading.contract import SubmissionError

EXAMPLES = Path(__file__).resolve().parents[2] / "submissions"


@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "alice"
    shutil.copytree(EXAMPLES / "correct", target)
    return target


def test_the_correct_example_loads_with_its_manifest(folder):
    sub = contract.load(folder)
    assert sub.student == "correct-example"
    assert sub.manifest.dropout_rate == 0.3 and sub.manifest.batchnorm_placement == "after_conv"
    assert set(sub.manifest.claims) == set(contract.CLAIMED_RUNS)


def test_content_hash_follows_the_files_and_ignores_caches(folder):
    before = contract.load(folder).content_hash
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"junk")
    assert contract.load(folder).content_hash == before
    (folder / "model.py").write_text((folder / "model.py").read_text() + "\n# edited\n")
    assert contract.load(folder).content_hash != before


def test_content_hash_leaves_out_the_claims_and_the_manifests_comments_but_not_its_settings(folder):
    """A student writes down the accuracies a check reported: nothing needs training again."""
    manifest = folder / "manifest.toml"
    before = contract.load(folder).content_hash
    manifest.write_text(manifest.read_text().replace("baseline = 0.80", "baseline = 0.7312  # measured") + "\n# done\n")
    assert contract.load(folder).manifest.claims["baseline"] == 0.7312
    assert contract.load(folder).content_hash == before
    manifest.write_text(manifest.read_text().replace("rate = 0.3", "rate = 0.4"))
    assert contract.load(folder).content_hash != before


@pytest.mark.parametrize("edit, message", [
    (lambda f: (f / "manifest.toml").unlink(), "manifest.toml is missing"),
    (lambda f: (f / "augmentations.py").unlink(), "augmentations.py is missing"),
    (lambda f: (f / "model.py").write_text("class CNNModel(:\n    pass\n"), "model.py, line 1: syntax error"),
    (lambda f: (f / "model.py").write_text("class Model:\n    pass\n"), "model.py does not define `CNNModel`"),
    (lambda f: (f / "augmentations.py").write_text("def val_transform(m, s):\n    pass\n"),
     "does not define `train_transform_1`"),
])
def test_broken_folders_fail_with_a_sentence_naming_the_file(folder, edit, message):
    edit(folder)
    with pytest.raises(SubmissionError, match=message.replace("(", r"\(").replace("`", "`")):
        contract.load(folder)


@pytest.mark.parametrize("change, message", [
    (('rate = 0.3', 'rate = 1.5'), "rate must be between 0 and 1"),
    (('rate = 0.3', 'rate = "high"'), r"manifest.toml: \[dropout\] `rate` should be a number, got 'high'\."),
    (('[batchnorm]', '[batch_norm]'), r"manifest.toml has no \[batchnorm\]; add it \(see the template"),
    (('student = "correct-example"', 'student = 7'), r"manifest.toml `student` should be a string, got 7\."),
    (('[dropout]', 'dropout = 0.3\n[dropout_settings]'), r"manifest.toml \[dropout\] should be a table, got 0.3\."),
    (('placement = "after_conv"', 'placement = "before_conv"'), "placement must be one of after_conv, after_relu"),
    (('baseline = 0.80', 'baseline = 80'), "write 0.71, not 71"),
    (('baseline = 0.80', 'base_line = 0.80'), "unknown run 'base_line'"),
    (('student = "correct-example"', 'student = '), "not valid TOML"),
])
def test_manifest_mistakes_are_explained(folder, change, message):
    manifest = folder / "manifest.toml"
    manifest.write_text(manifest.read_text().replace(*change))
    with pytest.raises(SubmissionError, match=message):
        contract.load(folder)


def test_an_empty_folder_is_not_a_submission(tmp_path):
    with pytest.raises(SubmissionError, match="manifest.toml is missing"):
        contract.load(tmp_path)


@pytest.mark.parametrize("name, make, message", [
    ("alice", None, "alice does not exist; pass the folder holding model.py"),
    ("alice.zip", b"PK\x03\x04", "alice.zip is an archive, not a folder: unpack it first"),
    ("model.py", b"import torch\n", "model.py is a file, not a folder; pass the folder holding"),
])
def test_a_path_that_is_not_a_folder_says_what_it_is(tmp_path, name, make, message):
    from harness.grading.pipeline import submission_paths

    path = tmp_path / name
    if make is not None:
        path.write_bytes(make)
    with pytest.raises(SubmissionError, match=message.replace(".", r"\.")):
        contract.load(path)
    with pytest.raises(SubmissionError, match="one folder per submission"):
        submission_paths(path)
