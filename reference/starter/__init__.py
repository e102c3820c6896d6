"""What `harness new` writes for a student to start from (data: copied, never imported by the harness)."""
