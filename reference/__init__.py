"""The reference: every tutorial and coursework experiment of the notebook, declared as data."""
