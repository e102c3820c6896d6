"""How alike two submissions' code is: a copy stays a copy whatever is renamed, reordered or
recommented; independent solutions and the starter code handed in as given are not alike."""

import re
from pathlib import Path

from harness.grading import contract
from harness.grading.similarity import SIMILAR, compare, write_csv

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "tests" / "zoo" / "correct"
STARTER = ROOT / "reference" / "starter"


def submission(student: str, model: str, augment: str) -> contract.Submission:
    manifest = contract.Manifest(student, 0.3, "", "after_conv")
    return contract.Submission(Path(student), manifest, {"model.py": model.encode(), "augmentations.py": augment.encode()})


def from_folder(folder: Path, student: str | None = None) -> contract.Submission:
    return submission(student or folder.name, (folder / "model.py").read_text(), (folder / "augmentations.py").read_text())


def disguised(source: str) -> str:
    """The same code with every name of the student's own changed, the functions in another order, and
    comments and docstrings rewritten."""
    source = re.sub(r"#.*", "# reworded", source)
    source = re.sub(r'"""[^"]*"""', '"""Another description."""', source)
    for old, new in {"conv_block": "make_stage", "in_channels": "c_in", "out_channels": "c_out",
                     "layers": "parts", "features": "body", "classifier": "head", "global_pool": "squeeze"}.items():
        source = re.sub(rf"\b{old}\b", new, source)
    return source


def test_a_copy_with_names_order_and_comments_changed_is_still_a_copy():
    original = from_folder(ROOT / "submissions" / "correct", "alice")
    augment = (ROOT / "submissions" / "correct" / "augmentations.py").read_text()
    functions = augment.split("\n\n\ndef ")
    reordered = "\n\n\ndef ".join([functions[0], *reversed(functions[1:])])
    copy = submission("bob", disguised((ROOT / "submissions" / "correct" / "model.py").read_text()), disguised(reordered))
    [pair] = compare([original, copy])
    assert pair.similarity >= 0.8 and {pair.student_a, pair.student_b} == {"alice", "bob"}


def test_independent_correct_solutions_are_not_alike():
    folders = [folder for folder in sorted(ZOO.iterdir()) if folder.is_dir()]
    pairs = compare([from_folder(folder) for folder in folders])
    assert len(folders) >= 16 and len(pairs) == len(folders) * (len(folders) - 1) // 2
    assert pairs[0].similarity < SIMILAR, pairs[0]


def test_the_examples_written_independently_are_not_alike():
    """Each example in submissions/ is its own student's code (only the manifests share a template)."""
    pairs = compare([from_folder(folder) for folder in sorted((ROOT / "submissions").iterdir()) if folder.is_dir()])
    assert len(pairs) == 7 * 6 // 2
    assert pairs[0].similarity < SIMILAR, pairs[0]


def test_the_starter_code_handed_in_as_given_makes_no_two_students_alike():
    given = [from_folder(STARTER, name) for name in ("carol", "dave")]
    assert [p.similarity for p in compare(given)] == [0.0]


def test_the_side_by_side_view_marks_the_shared_passages_and_escapes_the_code(tmp_path):
    model = (ROOT / "submissions" / "correct" / "model.py").read_text() + "\n# a < b & c > d\n"
    augment = (ROOT / "submissions" / "correct" / "augmentations.py").read_text()
    [pair] = compare([submission("alice", model, augment), submission("bob", model, augment)])
    assert pair.similarity == 1.0
    assert "<mark>" in pair.marked_a and "a &lt; b &amp; c &gt; d" in pair.marked_a and "a < b" not in pair.marked_a
    path = write_csv([pair], tmp_path / "out" / "similarity.csv")
    assert path.read_text().splitlines() == ["student_a,student_b,similarity", "alice,bob,1.000"]


def test_the_class_page_links_a_side_by_side_view_for_the_alike_pairs_only(tmp_path):
    from harness.report.grade_pages import write_class_page

    correct = ROOT / "submissions" / "correct"
    zoo = sorted(folder for folder in ZOO.iterdir() if folder.is_dir())[:2]
    pairs = compare([from_folder(correct, "alice"), from_folder(correct, "bob"), *map(from_folder, zoo)])
    alike = [p for p in pairs if p.similarity >= SIMILAR]
    assert len(alike) == 1 and len(pairs) == 6
    overview = write_class_page([], tmp_path, profile="check", rubric="r", similar=pairs).read_text()
    assert 'href="similar/1.html"' in overview and 'href="similar/2.html"' not in overview
    assert sorted(p.name for p in (tmp_path / "similar").iterdir()) == ["1.html"]
    assert "<mark>" in (tmp_path / "similar" / "1.html").read_text()
