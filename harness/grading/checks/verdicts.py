"""Where the behaviour checks' verdicts come from.

`compute` runs in the grader's child, a sandboxed process given no file of the submission: it checks
the programs and pipeline descriptions the submission's child handed back (harness.grading.checks.export), so
no code of the submission runs where a verdict is decided. `decided` runs in the grader: each check
once, from the grader's child for a part handed back, from the submission's own process (marked so)
for a part that could not be, and a failure that says why for any check that reported nothing.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Any, Callable

CHECKS_DIR = Path(__file__).parent
# what a submission is made of, and the check files that need each part: a part that cannot be handed
# back is checked in the submission's own process, with all of its checks
PARTS = {"model": ("test_architecture.py", "test_batchnorm.py", "test_dropout.py", "test_init.py"),
         "transforms": ("test_augmentations.py",)}
HANDED = {"model": "programs", "transforms": "pipelines"}  # where a part is in the checks job's result
GRADER, SUBMISSION = "grader", "submission"  # where a verdict was computed
NOTE_CHARS = 500


@functools.cache
def check_ids(part: str | None = None) -> tuple[str, ...]:
    """The ids of a part's checks (every check, in file order, when no part is named), read from their
    files, which are not imported here."""
    names = PARTS[part] if part else sorted(path.name for path in CHECKS_DIR.glob("test_*.py"))
    ids = []
    for name in names:
        tree = ast.parse((CHECKS_DIR / name).read_text(encoding="utf-8"))
        ids += [node.name.removeprefix("test_") for node in tree.body
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    return tuple(ids)


def checked_there(handed: dict[str, Any]) -> dict[str, str]:
    """The parts the submission's child handed nothing back for, and why: their checks ran in its own
    process. A part it did hand back is always checked by the grader, whatever the child says."""
    said = handed.get("fallback") if isinstance(handed.get("fallback"), dict) else {}
    return {part: str(said.get(part) or "nothing was handed back for it")[:NOTE_CHARS]
            for part, key in HANDED.items() if handed.get(key) is None}


def decided(handed: dict[str, Any], judge: Callable[[list[str]], tuple[list[Any] | None, str]]) -> list[dict[str, Any]]:
    """Every check once, marked with where its verdict was computed: the parts handed back as
    `judge(parts)` (the grader's child) found them, the others as the submission's child reported.
    `judge` gives (results, '') or (None, why it has none)."""
    there = checked_there(handed)
    parts = [part for part in PARTS if part not in there]
    trusted, trouble = judge(parts) if parts else (None, "")
    results = []
    for part in PARTS:
        where = SUBMISSION if part in there else GRADER
        source = handed.get("checks") if where == SUBMISSION else trusted
        found = {r.get("id"): r for r in source if isinstance(r, dict)} if isinstance(source, list) else {}
        for check in check_ids(part):
            result = found.get(check) or _unreported(check, trouble if where == GRADER else "")
            results.append({**result, "computed_in": where, "note": there.get(part, "")})
    return results


def _unreported(check: str, trouble: str) -> dict[str, Any]:
    why = f"the grader could not check what your code handed back: {trouble}" if trouble else "it reported no result"
    return {"id": check, "title": check.replace("_", " "), "passed": False, "message": f"The check did not run: {why}.",
            "measured": None, "bound": None, "measurements": []}


def compute(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The results of the checks of `job["parts"]`, from what was handed back alone. Raises
    program.BadProgram or pipelines.BadPipeline for a handover the grader will not run."""
    import numpy as np

    from harness.grading.checks import pipelines, program
    from harness.grading.checks.session import run_checks
    from harness.grading.checks.subjects import (
        MODES,
        TRANSFORMS,
        Exported,
        variant_arguments,
    )

    parts, context = tuple(job["parts"]), job["context"]
    exported, descriptions = None, {}
    if "model" in parts:
        try:
            flat = np.load(job["weights"], allow_pickle=False) if job.get("weights") else np.zeros(0, np.float32)
        except ValueError as error:
            raise program.BadProgram(f"the weights handed back are not a plain array ({error})") from None
        exported = program.load(job.get("programs"), flat)
        missing = [f"{name}/{mode}" for name in variant_arguments(context["dropout_rate"]) for mode in MODES
                   if mode not in exported.programs.get(name, {})]
        if missing:
            raise program.BadProgram(f"no program was handed back for {', '.join(missing)}")
    if "transforms" in parts:
        descriptions = job.get("pipelines") if isinstance(job.get("pipelines"), dict) else {}
        for name in TRANSFORMS:
            pipelines.rebuild(descriptions.get(name))
    return run_checks(Exported(exported, descriptions, context["dropout_rate"]), context, parts)
