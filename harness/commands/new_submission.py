"""`harness new DIR --student NAME`: a submission folder a student starts from, written from
reference/starter/: the given network, the three transform factories to fill in, and a manifest with
every field explained."""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path

from harness.grading.contract import AUGMENT_FILE, MANIFEST_FILE, MODEL_FILE, SubmissionError

STARTER = resources.files("reference.starter")


def new(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if folder.exists() and not folder.is_dir():
        raise SubmissionError(f"{folder} is a file; name a folder to create")
    there = [name for name in (MODEL_FILE, AUGMENT_FILE, MANIFEST_FILE) if (folder / name).exists()]
    if there:
        raise SubmissionError(f"{folder} already holds {', '.join(there)}; nothing was written (your work is "
                              f"untouched). Name a new folder.")
    folder.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, AUGMENT_FILE):
        (folder / name).write_text((STARTER / name).read_text(encoding="utf-8"), encoding="utf-8")
    manifest = (STARTER / MANIFEST_FILE).read_text(encoding="utf-8")
    (folder / MANIFEST_FILE).write_text(manifest.replace("{student}", json.dumps(args.student), 1), encoding="utf-8")
    print(f"wrote {folder}/: {MODEL_FILE} (the given network), {AUGMENT_FILE} (your two strategies to fill in), "
          f"{MANIFEST_FILE} (every field explained)\nnext: edit them, then `harness check {folder}`")
    return 0
