"""How many reference runs go at once, and that runs in worker processes come back whole."""

import pytest
import torch

from harness.engine import pool
from harness.engine.spec import PROFILES
from reference.experiments import EXPERIMENTS

GIB = 1 << 30


@pytest.fixture
def sixteen_cpus(monkeypatch):
    monkeypatch.setattr(pool, "cpus", lambda: 16)


def test_on_the_cpu_one_run_per_cpu_with_one_thread_each(sixteen_cpus):
    assert pool.default_jobs(torch.device("cpu")) == 16
    assert pool.threads_each(16) == 1 and pool.threads_each(4) == 4


@pytest.mark.parametrize("free_gib, jobs", [(78, pool.GPU_RUNS_MAX), (5, 2), (1, 1)])
def test_on_a_gpu_as_many_runs_as_its_free_memory_holds(sixteen_cpus, monkeypatch, free_gib, jobs):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (free_gib * GIB, 80 * GIB))
    assert pool.default_jobs(torch.device("cuda")) == jobs


@pytest.mark.parametrize("free_gib, jobs", [(78, 10), (5, 2)])
def test_under_mps_a_whole_coursework_goes_at_once_where_memory_allows(sixteen_cpus, monkeypatch, free_gib, jobs):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (free_gib * GIB, 80 * GIB))
    assert pool.default_jobs(torch.device("cuda"), mps=True) == jobs


def test_runs_in_worker_processes_come_back_with_their_records(synth_root):
    specs = [EXPERIMENTS["loss_binary"], EXPERIMENTS["init_normal"], EXPERIMENTS["regression_l1"]]
    done = list(pool.run(specs, jobs=2, device=torch.device("cpu"), profile=PROFILES["quick"],
                                   data_root=synth_root, download=False))
    assert sorted(spec.id for spec, _ in done) == sorted(spec.id for spec in specs)
    for spec, record in done:
        assert record.experiment == spec.id and record.status == "ok" and record.metrics
        assert record.environment["torch_threads"] == pool.threads_each(2)  # the worker's, not ours
