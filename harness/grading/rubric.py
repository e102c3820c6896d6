"""The rubric file: points per behaviour check, per reproduced run, per claim, and how claims are judged.

Read once and validated against what the harness can actually assess, so a misspelt check id is an
error at start-up, not a silently missing item in a hundred grades.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from harness.engine.spec import PROFILES
from harness.grading.checks.verdicts import check_ids
from harness.grading.contract import CLAIMED_RUNS
from harness.grading.coursework import RUNS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT = Path(str(resources.files("reference") / "rubric.toml"))  # package data, also in a plain install


class RubricError(ValueError):
    """The rubric file is unusable; the message names the file, the entry and the fix."""


@dataclass(frozen=True)
class ClaimRule:
    points: float
    profiles: tuple[str, ...]  # grading profiles in which every claim is compared
    any_profile: tuple[str, ...]  # claimed runs compared in every profile
    seeds: int
    sigmas: float  # a claim passes within this many standard errors of its reproductions' mean
    fail_sigmas: float  # and fails beyond this many; in between it is inconclusive (`sequential`)

    def assessed(self, run: str, profile: str) -> bool:
        return profile in self.profiles or run in self.any_profile


@dataclass(frozen=True)
class OutcomeRule:
    points: dict[str, float]  # coursework run -> points when its outcome is within the reference band
    sigmas: float  # how many of the band's spreads (widened for the band's own error) count as within


@dataclass(frozen=True)
class Rubric:
    name: str
    checks: dict[str, float]
    runs: dict[str, float]
    claims: ClaimRule
    path: Path
    outcomes: OutcomeRule = OutcomeRule({}, 3.0)


def _points(table: dict, known: list[str] | tuple[str, ...], section: str, path: Path) -> dict[str, float]:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise RubricError(f"{path}: [{section}] names {', '.join(unknown)}, which the harness does not have; "
                          f"the {section} are: {', '.join(known)}.")
    missing = [k for k in known if k not in table]
    if missing:
        raise RubricError(f"{path}: [{section}] has no points for {', '.join(missing)}; give each one (0 is allowed).")
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise RubricError(f"{path}: [{section}] {key} must be a number of points >= 0, got {value!r}.")
    return {k: float(table[k]) for k in known}


def _claim_rule(table: dict, path: Path) -> ClaimRule:
    try:
        rule = ClaimRule(float(table["points"]), tuple(table["profiles"]), tuple(table.get("any_profile", ())),
                         int(table["seeds"]), float(table["sigmas"]), float(table.get("fail_sigmas", table["sigmas"] + 2)))
    except (KeyError, TypeError, ValueError) as error:
        raise RubricError(f"{path}: [claims] needs points, profiles, seeds and sigmas ({error}).") from None
    if rule.fail_sigmas < rule.sigmas:
        raise RubricError(f"{path}: [claims] fail_sigmas ({rule.fail_sigmas:g}) is below sigmas ({rule.sigmas:g}): a "
                          "claim fails only further out than it passes (equal: no inconclusive zone).")
    for profile in rule.profiles:
        if profile not in PROFILES:
            raise RubricError(f"{path}: [claims] profiles names {profile!r}; the profiles are {', '.join(PROFILES)}.")
    for run in rule.any_profile:
        if run not in CLAIMED_RUNS:
            raise RubricError(f"{path}: [claims] any_profile names {run!r}; the claimed runs are {', '.join(CLAIMED_RUNS)}.")
    if rule.seeds < 2 or rule.sigmas <= 0 or rule.points < 0:
        raise RubricError(f"{path}: [claims] needs seeds >= 2 (a spread needs two runs), sigmas > 0, points >= 0.")
    return rule


def _outcome_rule(table: dict, path: Path) -> OutcomeRule:
    """Optional: without [outcomes] every outcome is reported and worth 0 points."""
    unknown = sorted(set(table) - {"points", "sigmas"})
    if unknown:
        raise RubricError(f"{path}: [outcomes] has {', '.join(unknown)}; it takes `sigmas` and a [outcomes.points] table.")
    points = table.get("points", {})
    if not isinstance(points, dict):
        raise RubricError(f"{path}: [outcomes] points must be a table of run = points.")
    sigmas = table.get("sigmas", 3.0)
    if isinstance(sigmas, bool) or not isinstance(sigmas, (int, float)) or sigmas <= 0:
        raise RubricError(f"{path}: [outcomes] sigmas must be a number > 0, got {sigmas!r}.")
    return OutcomeRule(_points({**dict.fromkeys(RUNS, 0), **points}, RUNS, "outcomes.points", path), float(sigmas))


def load(path: str | Path | None = None) -> Rubric:
    path = Path(path) if path else DEFAULT
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricError(f"no rubric file at {path}; pass --rubric FILE (the default is {DEFAULT}).") from None
    except tomllib.TOMLDecodeError as error:
        raise RubricError(f"{path} is not valid TOML: {error}.") from None
    for section in ("checks", "runs", "claims"):
        if not isinstance(table.get(section), dict):
            raise RubricError(f"{path}: the [{section}] table is missing; start from {DEFAULT}.")
    if not isinstance(table.get("outcomes", {}), dict):
        raise RubricError(f"{path}: outcomes must be a table, [outcomes].")
    return Rubric(str(table.get("name", path.stem)), _points(table["checks"], check_ids(), "checks", path),
                  _points(table["runs"], RUNS, "runs", path), _claim_rule(table["claims"], path), path,
                  _outcome_rule(table.get("outcomes", {}), path))
