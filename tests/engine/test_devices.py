"""The process a run happens in: how it handles memory."""

import subprocess
import sys

import pytest

FAULTS_PER_ROUND = """
import resource, torch
from harness.engine import devices

def faults_per_round():  # an evaluation batch: a large tensor written, freed, allocated again
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        torch.ones(16 * 2**20)  # 64 MiB
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5

default = faults_per_round()
kept = devices.keep_freed_memory()
faults_per_round()  # the first round after the change grows the heap once
print(default, kept, faults_per_round())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_training_process_reuses_freed_memory_instead_of_faulting_it_in_again():
    result = subprocess.run([sys.executable, "-c", FAULTS_PER_ROUND], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    default, kept, after = result.stdout.split()
    assert kept == "True"
    assert float(after) < 100  # no page is handed back and faulted in again
    assert float(default) > 10 * max(float(after), 1)  # where glibc's defaults fault every page in every round

