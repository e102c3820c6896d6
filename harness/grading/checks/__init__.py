"""Behaviour checks of a submission, as pytest tests.

They run in a sandboxed child given no file of the submission, on the programs and pipeline
descriptions the submission's own child exported (`export` -> `verdicts`); only a part that could not
be exported is checked in the submission's own process, and its verdicts say so.
"""
