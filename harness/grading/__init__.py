"""Grading a submission, in the order it happens.

contract (the folder, read without running it) -> plan (its jobs) -> evaluate (runs them) -> jobs
and executors (where they run) -> sandbox and child (the isolated process) -> validate (what came back) -> checks (behaviour verdicts, computed
in a child that never imports the submission) -> held_out (test outputs scored by the grader)
-> spread (the reference's seed spread) -> rubric -> grade; pipeline grades a set of folders end to end.
"""
