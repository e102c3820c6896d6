"""The rubric file: the default is complete, and mistakes in a custom one are caught at start-up."""

import pytest

from harness.grading import rubric
from harness.grading.checks.verdicts import check_ids
from harness.grading.coursework import RUNS
from harness.grading.rubric import RubricError

DEFAULT_TEXT = rubric.DEFAULT.read_text()


def test_the_default_rubric_gives_points_to_every_check_and_run():
    loaded = rubric.load()
    assert list(loaded.checks) == list(check_ids()) and len(loaded.checks) == 14
    assert list(loaded.runs) == list(RUNS)
    assert loaded.claims.profiles == ("full",) and loaded.claims.seeds >= 2
    assert loaded.claims.assessed("zeros_init", "check") and not loaded.claims.assessed("baseline", "quick")


@pytest.mark.parametrize("change, message", [
    (("dropout_inactive_in_eval = 2", "dropout_inactive_in_evaluation = 2"),
     "names dropout_inactive_in_evaluation, which the harness does not have"),
    (("cw_baseline = 1\n", ""), r"\[runs\] has no points for cw_baseline"),
    (("cw_aug1 = 1", "cw_aug1 = -1"), "must be a number of points >= 0"),
    (('profiles = ["full"]', 'profiles = ["fast"]'), "profiles names 'fast'"),
    (("seeds = 3", "seeds = 1"), "seeds >= 2"),
    (("[claims]", "[claim]"), r"the \[claims\] table is missing"),
    (("sigmas = 3.0\n[outcomes.points]", "sigmas = 0\n[outcomes.points]"), r"\[outcomes\] sigmas must be a number > 0"),
    (("# cw_zeros_init = 1", "cw_zero_init = 1"), r"\[outcomes.points\] names cw_zero_init"),
    (("# cw_zeros_init = 1", "cw_zeros_init = -1"), "must be a number of points >= 0"),
    (("[outcomes.points]", "[outcomes.point]"), r"\[outcomes\] has point"),
    (("fail_sigmas = 5.0", "fail_sigmas = 2.5"), r"fail_sigmas \(2.5\) is below sigmas \(3\)"),
    (("fail_sigmas = 5.0", "fail_sigmas = 'far'"), r"\[claims\] needs points"),
])
def test_rubric_mistakes_name_the_entry(tmp_path, change, message):
    path = tmp_path / "rubric.toml"
    path.write_text(DEFAULT_TEXT.replace(*change))
    with pytest.raises(RubricError, match=message):
        rubric.load(path)


def test_outcomes_are_optional_and_worth_nothing_unless_given(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text(DEFAULT_TEXT[:DEFAULT_TEXT.index("[outcomes]")])
    assert rubric.load(path).outcomes == rubric.OutcomeRule(dict.fromkeys(RUNS, 0.0), 3.0)
    path.write_text(DEFAULT_TEXT.replace("# cw_zeros_init = 1", "cw_zeros_init = 1.5"))
    assert rubric.load(path).outcomes.points == {**dict.fromkeys(RUNS, 0.0), "cw_zeros_init": 1.5}


def test_a_rubric_without_fail_sigmas_has_a_grey_zone_two_standard_errors_wide_and_equal_ones_have_none(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text(DEFAULT_TEXT.replace("fail_sigmas = 5.0", ""))
    assert (rubric.load(path).claims.sigmas, rubric.load(path).claims.fail_sigmas) == (3.0, 5.0)
    path.write_text(DEFAULT_TEXT.replace("fail_sigmas = 5.0", "fail_sigmas = 3.0"))
    assert rubric.load(path).claims.fail_sigmas == rubric.load(path).claims.sigmas


def test_a_missing_rubric_file_says_where_the_default_is(tmp_path):
    with pytest.raises(RubricError, match="no rubric file"):
        rubric.load(tmp_path / "nope.toml")
