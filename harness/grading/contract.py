"""The submission contract: what a submission folder holds, read without running any of it.

A submission is a folder with three files:

  model.py          class CNNModel(nn.Module) with the coursework constructor
                    CNNModel(use_dropout=False, use_batchnorm=False, dropout_rate=0.5, init_mode="xavier_uniform")
  augmentations.py  train_transform_1(mean, std), train_transform_2(mean, std), val_transform(mean, std):
                    each returns a torchvision transform from a PIL image to a normalized float tensor
  manifest.toml     who, where dropout and batch norm sit, the dropout rate, the claimed results

The parent process only parses these (TOML, and Python source with `ast`): it never imports them.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reference.experiments import GRADED

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MODEL_FILE, AUGMENT_FILE, MANIFEST_FILE = "model.py", "augmentations.py", "manifest.toml"
SOURCE_FILE = "notebook.json"  # a notebook's submission: which cell each part came from (not hashed: see content_hash)
REQUIRED_NAMES = {MODEL_FILE: ("CNNModel",), AUGMENT_FILE: ("train_transform_1", "train_transform_2", "val_transform")}
BATCHNORM_PLACEMENTS = ("after_conv", "after_relu")  # Conv -> BN -> ReLU, or Conv -> ReLU -> BN
# run name in the manifest's [claims] -> reference coursework experiment id
CLAIMED_RUNS = {spec.graded.claim: spec.id for spec in GRADED if spec.graded.claim}
MAX_FILE_BYTES = 1_000_000  # a source file larger than this is not a hand-written submission
IGNORED = {"__pycache__", ".git", ".ipynb_checkpoints"}


class SubmissionError(ValueError):
    """The submission folder breaks the contract; the message says which file and how to fix it."""


@dataclass(frozen=True)
class Manifest:
    student: str
    dropout_rate: float
    dropout_placement: str
    batchnorm_placement: str
    claims: dict[str, float] = field(default_factory=dict)  # run name -> best validation accuracy


@dataclass(frozen=True)
class Submission:
    path: Path
    manifest: Manifest
    # relative path -> bytes, read once: what every job runs is exactly what was hashed, and a worker
    # on another machine needs no access to the submissions folder
    files: dict[str, bytes] = field(repr=False)

    @property
    def student(self) -> str:
        return self.manifest.student

    @functools.cached_property
    def content_hash(self) -> str:
        """What every job's result depends on: the files, with the manifest read for its settings. The
        claims and the manifest's comments are left out, so that writing down the accuracies a check
        reported does not train everything again."""
        manifest = tomllib.loads(self.files[MANIFEST_FILE].decode("utf-8", errors="replace"))
        settings = json.dumps({k: v for k, v in manifest.items() if k != "claims"}, sort_keys=True, default=str)
        kept = {name: data for name, data in self.files.items() if name != SOURCE_FILE}  # a cell moved: same code
        return content_hash({**kept, MANIFEST_FILE: settings.encode()})


def notebook_source(data: bytes) -> dict[str, Any]:
    """A notebook submission's `notebook.json` as plain values: the notebook's name and, per part,
    the cell it came from. A folder can hold a file of that name too; anything odd in it is dropped."""
    try:
        raw = json.loads(data.decode("utf-8"))
        cells = {str(k)[:100]: int(v) for k, v in dict(raw.get("cells", {})).items()}
        return {"notebook": str(raw.get("notebook", ""))[:200], "cells": dict(list(cells.items())[:50])}
    except (ValueError, TypeError, AttributeError):
        return {"notebook": "", "cells": {}}


def read_files(folder: Path) -> dict[str, bytes]:
    """Every regular file under `folder` by relative path; links are skipped (they could point at
    the grader's own files), and so are caches and version-control folders."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if IGNORED & set(relative.parts) or path.is_symlink() or not path.is_file():
            continue
        if any(parent.is_symlink() for parent in path.parents if folder in parent.parents):
            continue
        found[relative.as_posix()] = path.read_bytes()
    return found


def content_hash(files: dict[str, bytes]) -> str:
    """sha256 over every file's relative path and bytes."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0")
        digest.update(files[name] + b"\0")
    return digest.hexdigest()


KIND_WORDS = {dict: "table", str: "string", (int, float): "number"}


def _require(table: dict, key: str, kind: type | tuple[type, ...], section: str = ""):
    """`table[key]`, which must be a `kind`; `section` names the table it is read from ('' for the top level)."""
    at = f"{MANIFEST_FILE}: [{section}]" if section else MANIFEST_FILE
    what = f"[{key}]" if kind is dict else f"`{key}`"
    if key not in table:
        raise SubmissionError(f"{at} has no {what}; add it (see the template in docs/students.md).")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SubmissionError(f"{at} {what} should be a {KIND_WORDS[kind]}, got {value!r}.")
    return value


def parse_manifest(text: str) -> Manifest:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SubmissionError(f"{MANIFEST_FILE} is not valid TOML: {error}.") from None
    student = _require(data, "student", str)
    dropout = _require(data, "dropout", dict)
    rate = float(_require(dropout, "rate", (int, float), "dropout"))
    if not 0.0 < rate < 1.0:
        raise SubmissionError(f"{MANIFEST_FILE}: [dropout] rate must be between 0 and 1 (exclusive), got {rate}.")
    batchnorm = _require(data, "batchnorm", dict)
    placement = _require(batchnorm, "placement", str, "batchnorm")
    if placement not in BATCHNORM_PLACEMENTS:
        raise SubmissionError(f"{MANIFEST_FILE}: [batchnorm] placement must be one of "
                              f"{', '.join(BATCHNORM_PLACEMENTS)}, got {placement!r}.")
    claims = {}
    for name, value in data.get("claims", {}).items():
        if name not in CLAIMED_RUNS:
            raise SubmissionError(f"{MANIFEST_FILE}: [claims] has unknown run {name!r}; "
                                  f"the runs are {', '.join(CLAIMED_RUNS)}.")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise SubmissionError(f"{MANIFEST_FILE}: [claims] {name} must be an accuracy between 0 and 1, "
                                  f"got {value!r} (write 0.71, not 71).")
        claims[name] = float(value)
    return Manifest(student.strip() or "unknown", rate, str(dropout.get("placement", "")), placement, claims)


def _check_file(folder: Path, name: str) -> None:
    path = folder / name
    if not path.is_file():
        raise SubmissionError(f"{name} is missing from {folder}; a submission needs "
                              f"{MODEL_FILE}, {AUGMENT_FILE} and {MANIFEST_FILE}.")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise SubmissionError(f"{name} is larger than {MAX_FILE_BYTES:,} bytes; submit source code only.")
    _check_source(name, path.read_text(encoding="utf-8", errors="replace"))


def _check_source(name: str, source: str) -> None:
    try:
        tree = ast.parse(source, filename=name)
    except SyntaxError as error:
        raise SubmissionError(f"{name}, line {error.lineno}: syntax error: {error.msg}.") from None
    defined = {node.name for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    defined |= {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    for required in REQUIRED_NAMES[name]:
        if required not in defined:
            raise SubmissionError(f"{name} does not define `{required}` at the top level of the file.")


def not_a_folder(path: Path) -> str:
    """Why `path` cannot be the folder asked for, as the user will go and look for it."""
    if not path.exists():
        return f"{path} does not exist"
    if path.suffix.lower() in (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz"):
        return f"{path} is an archive, not a folder: unpack it first"
    return f"{path} is a file, not a folder"


def load(folder: str | Path) -> Submission:
    """Read and validate a submission folder, or a notebook (a `.ipynb` file, or a folder holding one
    notebook and no manifest); raises SubmissionError with a fix-it sentence."""
    from harness.grading.notebook import extract, notebook_of  # it reads this module's contract

    folder = Path(folder)
    if (notebook := notebook_of(folder)) is not None:
        files = extract(notebook)
        manifest = parse_manifest(files[MANIFEST_FILE].decode("utf-8"))
        for name in REQUIRED_NAMES:
            _check_source(name, files[name].decode("utf-8"))
        return Submission(folder.resolve(), manifest, files)
    if not folder.is_dir():
        raise SubmissionError(f"{not_a_folder(folder)}; pass the folder holding {MODEL_FILE}, "
                              f"{AUGMENT_FILE} and {MANIFEST_FILE}, or a notebook (.ipynb).")
    if not (folder / MANIFEST_FILE).is_file():
        raise SubmissionError(f"{MANIFEST_FILE} is missing from {folder}; copy the template from docs/students.md.")
    manifest = parse_manifest((folder / MANIFEST_FILE).read_text(encoding="utf-8", errors="replace"))
    for name in REQUIRED_NAMES:
        _check_file(folder, name)
    return Submission(folder.resolve(), manifest, read_files(folder))
