"""Grading and benchmark harness for the 'Network Training' coursework.

Data flows one way: submission -> isolation -> experiment spec -> trainer -> results store
-> checks -> grade -> report.
"""

__version__ = "0.1.0"
