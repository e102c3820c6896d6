"""Behaviour checks of a submission, as pytest tests. They run only inside the sandboxed child."""
