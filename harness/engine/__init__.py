"""The training engine: experiment declarations, data, inputs and batches, the loop, devices.

spec -> data -> inputs/batches -> trainer (steps, callbacks) -> run (a record with provenance);
pool runs several declared experiments at once, each in its own process.
"""
