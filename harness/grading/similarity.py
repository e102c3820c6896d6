"""How alike submissions' code is, pair by pair: MOSS-style winnowed fingerprints (copydetect).

copydetect tokenizes the code (names become one token, comments and strings drop out), hashes every
run of `NOISE` tokens and keeps the winnowed minimum of each window, so renaming variables,
reordering functions and rewriting comments keep the fingerprints. The starter code every student was
given (reference/starter/: the notebook's CNNModel and transform cells) is left out as boilerplate, so
that a network handed in as given does not make two students alike. A pair's similarity is the larger
of the two shares of each one's code found in the other: a submission copied into a longer one still
shows.
"""

from __future__ import annotations

import csv
import io
import itertools
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import highlight_overlap
from markupsafe import escape

from harness.grading import contract
from harness.grading.contract import AUGMENT_FILE, MODEL_FILE, Submission

NOISE, GUARANTEE = 25, 30  # copydetect's defaults: runs shorter than 25 tokens never count, of 30 always
SIMILAR = 0.6  # shown on the class page; independent solutions in tests/zoo/ scored at most 0.36
CODE = (MODEL_FILE, AUGMENT_FILE)


@dataclass(frozen=True)
class Pair:
    student_a: str
    student_b: str
    similarity: float
    code_a: str
    code_b: str
    slices_a: np.ndarray = field(repr=False)  # where each one's code was found in the other (copydetect's)
    slices_b: np.ndarray = field(repr=False)

    @property
    def marked_a(self) -> str:
        """The code as HTML, the passages found in the other one inside <mark>; drawn only when shown."""
        return _marked(self.code_a, self.slices_a)

    @property
    def marked_b(self) -> str:
        return _marked(self.code_b, self.slices_b)


def code_of(files: dict[str, bytes]) -> str:
    """The code a student wrote (or was given): the model and the transforms, one after the other."""
    return "\n".join(f"# {name}\n{files[name].decode('utf-8', errors='replace')}" for name in CODE if name in files)


def _fingerprint(code: str, boilerplate: np.ndarray) -> CodeFingerprint:
    with warnings.catch_warnings():  # copydetect warns of empty overlaps; an empty one is an answer here
        warnings.simplefilter("ignore")
        return CodeFingerprint("submission.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate,
                               fp=io.StringIO(code), language="python")


def starter_boilerplate() -> np.ndarray:
    starter = resources.files("reference.starter")
    given = {name: (starter / name).read_bytes() for name in CODE}
    return np.array(sorted(_fingerprint(code_of(given), np.array([])).hashes), dtype=np.int64)


def _marked(code: str, slices: np.ndarray) -> str:
    if slices.size == 0:
        return str(escape(code))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        marked, _ = highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)
    return marked


def loadable(paths: list[Path]) -> list[Submission]:
    """The submissions among `paths` that meet the contract (the others have no code to compare)."""
    found = []
    for path in paths:
        try:
            found.append(contract.load(path))
        except contract.SubmissionError:
            continue
    return found


def compare(submissions: list[Submission]) -> list[Pair]:
    """Every pair of submissions, most alike first."""
    boilerplate = starter_boilerplate()
    codes = [(sub.student, code_of(sub.files)) for sub in submissions]
    prints = [_fingerprint(code, boilerplate) for _, code in codes]
    pairs = []
    for (i, (a, code_a)), (j, (b, code_b)) in itertools.combinations(enumerate(codes), 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, shares, (slices_a, slices_b) = compare_files(prints[i], prints[j])
        similarity = float(min(1.0, max(shares)))
        pairs.append(Pair(a, b, round(similarity, 3), code_a, code_b, slices_a, slices_b))
    return sorted(pairs, key=lambda p: (-p.similarity, p.student_a, p.student_b))


def write_csv(pairs: list[Pair], path: str | Path) -> Path:
    """student_a, student_b, similarity (0 to 1), most alike first; written whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["student_a", "student_b", "similarity"])
        writer.writerows([p.student_a, p.student_b, f"{p.similarity:.3f}"] for p in pairs)
    partial.replace(path)
    return path
