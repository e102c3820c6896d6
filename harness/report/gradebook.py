"""The outputs of grading that are not HTML: the gradebook CSV and the terminal summary."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Callable

import pandas as pd

from harness.grading.grade import FAIL, INCONCLUSIVE, NOT_ASSESSED, PASS, Grade, Item


def rows(grades: list[Grade]) -> pd.DataFrame:
    """One row per submission: identity, total, status, the checks whose verdict was computed in the
    submission's own process, then one column per rubric item (points)."""
    records = []
    for g in grades:
        row = {"student": g.student, "folder": g.folder, "submission_hash": (g.content_hash or "")[:12],
               "status": g.status, "points": round(g.points, 2), "max_points": round(g.max_points, 2),
               "percent": round(g.percent, 1), "failed_items": len(g.failed),
               "problem": g.failure or (g.failed[0].reason if g.failed else ""),
               "checked_in_submission": ";".join(i.id for i in g.items if i.untrusted)}
        row |= {i.key: (round(i.points, 2) if i.status != NOT_ASSESSED else "") for i in g.items if i.section != "outcome"}
        row |= {f"verdict:{i.key}": i.status if i.status != NOT_ASSESSED else "" for i in g.items if i.section == "claim"}
        for item in (i for i in g.items if i.section == "outcome"):
            row[item.key] = item.evidence.get("verdict", "")  # within | below | above; empty when not assessed
            row[f"diagnosis:{item.id}"] = item.reason
            if item.max_points:
                row[f"points:{item.key}"] = round(item.points, 2)
        records.append(row)
    return pd.DataFrame(records)


def write_whole(path: str | Path, fill: Callable[[Path], object]) -> Path:
    """`fill` writes a temporary file beside `path`, which is then renamed: a crash never leaves half a
    file where a reader (a spreadsheet, Gradescope) looks for it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    fill(partial)
    os.replace(partial, path)
    return path


def write_csv(grades: list[Grade], path: str | Path) -> Path:
    return write_whole(path, lambda partial: rows(grades).to_csv(partial, index=False))


MARKS = {PASS: "PASS", FAIL: "FAIL", INCONCLUSIVE: "  ? ", NOT_ASSESSED: "  - "}
OFF_THE_BAND = " OFF"  # an outcome off the band that the rubric gives no points: reported, not failed
SECTIONS = (("check", "Behaviour checks", "passed"), ("run", "Coursework runs", "passed"),
            ("outcome", "Outcomes against the reference band", "within"), ("claim", "Claims", "passed"))


def _verdict(item: Item) -> str:
    """An outcome's verdict and gap, e.g. ': above, +9.3 spreads (within is up to 3.5)'."""
    evidence = item.evidence
    if item.section != "outcome" or "verdict" not in evidence:
        return ""
    return f": {evidence['verdict']}, {evidence['gap']:+.1f} spreads (within is up to {evidence['limit']:.1f})"


def _worth_nothing(item: Item) -> bool:
    return item.section == "outcome" and not item.max_points


def summary(grade: Grade, *, width: int = 100) -> str:
    """What a student reads in the terminal after `harness check`."""
    lines = [f"{grade.student} ({grade.folder}, submission {(grade.content_hash or '-')[:12]}, profile {grade.profile})"]
    if grade.failure:
        lines.append(textwrap.fill(f"Could not be run: {grade.failure}", width, subsequent_indent="  "))
    for section, heading, passed_word in SECTIONS:
        items = [i for i in grade.items if i.section == section]
        passed = sum(i.status == PASS for i in items)
        lines.append(f"\n{heading}: {passed}/{sum(i.status != NOT_ASSESSED for i in items)} {passed_word}"
                     + (" (worth no points: reported, not failed)" if items and all(map(_worth_nothing, items)) else ""))
        skipped: dict[str, list[str]] = {}
        for item in items:
            if grade.failure and item.status == FAIL:
                continue  # one failure sentence above says it for all of them
            if item.status == NOT_ASSESSED:
                skipped.setdefault(item.reason, []).append(item.id)
                continue
            if section == "outcome" and item.status == PASS:
                continue  # ten lines saying "within" bury the one that is not
            mark = OFF_THE_BAND if item.status == FAIL and _worth_nothing(item) else MARKS[item.status]
            lines.append(f"  {mark}  {item.title}" + _verdict(item))
            for text in (item.reason if item.status != PASS else "", item.where):
                if text:
                    lines.append(textwrap.fill(text, width, initial_indent="        ", subsequent_indent="        "))
        for reason, ids in skipped.items():
            lines.append(textwrap.fill(f"Not assessed ({', '.join(ids)}): {reason}", width,
                                       initial_indent="  ", subsequent_indent="        "))
    lines.append(f"\nTotal: {grade.points:g} / {grade.max_points:g} points ({grade.percent:.0f}%)"
                 f" - {len(grade.failed)} item(s) failed")
    return "\n".join(lines)


def class_summary(grades: list[Grade]) -> str:
    """What an instructor reads in the terminal after `harness grade`: a line per student, with
    why nothing ran or which items failed (their reasons are in the reports)."""
    lines = []
    for g in grades:
        failed = ", ".join(i.key + (" (inconclusive)" if i.status == INCONCLUSIVE else "") for i in g.failed)
        why = f": {g.failure[:80]}" if g.failure else f"  failed: {failed}" if failed else ""
        lines.append(f"  {g.student:<30} {g.percent:5.1f}%  {g.status}{why}")
    return "\n".join(lines)
