"""Grading and benchmark harness for the 'Network Training' coursework.

Data flows one way: submission -> isolation -> experiment spec -> trainer -> results store
-> checks -> grade -> report. The subpackages, in that order:

- `engine`: experiment declarations and profiles, data, inputs and batches, the training loop,
  devices; `engine.run` turns a declaration into a record.
- `store`: the SQLite results store and its record types.
- `grading`: a submission's contract, its jobs planned and run in sandboxed children, the behaviour
  checks (verdicts computed in a child that never imports the submission), held-out scoring, the
  reference's seed spread, the rubric and the grade.
- `report`: the HTML pages (reference, student, class), the gradebook CSV, Gradescope's JSON.
- `bench`: epoch throughput beside the notebook's loop, saved runs compared, runs at once.

`cli` parses the command line and dispatches to `commands`, one module per command, which call into
them (docs/architecture.md has the whole map).
"""

__version__ = "0.1.0"
