"""`harness new`: a folder a student starts from. It meets the contract; the given network passes every
model check; the transforms fail until the student adds augmentation, with sentences that say what to do."""

from harness.cli import main
from harness.grading import contract

TRANSFORM_WORK = {"training_transforms_are_random", "strategy_2_is_stronger_than_strategy_1"}


def new(capsys, folder, *args):
    """`harness new` as typed, in this process: (exit code, what it printed, what it said on stderr)."""
    try:
        code = main(["new", str(folder), *args])
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def test_the_starter_meets_the_contract_and_fails_only_the_checks_that_need_the_students_work(tmp_path, checked, capsys):
    code, out, err = new(capsys, tmp_path / "alice", "--student", 'Alice "Al" Smith')
    assert code == 0, err
    assert "next: edit them, then `harness check" in out
    submission = contract.load(tmp_path / "alice")
    assert submission.manifest.student == 'Alice "Al" Smith' and submission.manifest.claims == {}
    results = checked(tmp_path / "alice")
    failed = {check: r["message"] for check, r in results.items() if not r["passed"]}
    assert set(failed) == TRANSFORM_WORK, failed
    assert "add random transforms" in failed["training_transforms_are_random"]
    # each strategy is measured and told, not only the first that fails
    random = results["training_transforms_are_random"]["measurements"]
    assert [(m["subject"], m["passed"]) for m in random] == [("train_transform_1", False), ("train_transform_2", False)]
    assert failed["training_transforms_are_random"].count("gave the same output on all 4 draws") == 2
    normalized = results["transforms_return_normalized_tensors"]["measurements"]
    assert {m["subject"] for m in normalized} == {"train_transform_1", "train_transform_2", "val_transform"}
    assert "make it more aggressive" in failed["strategy_2_is_stronger_than_strategy_1"]


def test_it_never_writes_over_a_students_work(tmp_path, capsys):
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "model.py").write_text("# two weeks of work\n")
    code, _, err = new(capsys, tmp_path / "bob", "--student", "bob")
    assert code == 2 and "already holds model.py; nothing was written" in err
    assert (tmp_path / "bob" / "model.py").read_text() == "# two weeks of work\n"
    assert not (tmp_path / "bob" / "manifest.toml").exists()
    code, _, err = new(capsys, tmp_path / "carol")
    assert code == 2 and "--student" in err
