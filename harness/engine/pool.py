"""Reference runs several at a time, each in its own process: one thread each on the CPU, or
sharing one GPU.

On the CPU, one run per core with one thread each trains more epochs an hour than one run at a time
with every thread (`harness bench --runs-at-once`: 1.20x on the CIFAR-10 CNN, 2-core CPU). On a GPU,
several share it, as many as its free memory and the CPUs feeding it allow (on an H100, 5 trained
2.26x as fast as one; `harness bench --runs-at-once --device cuda` times it on the machine at hand).
The caller stores what comes back; workers never touch the store.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Iterator, Sequence

import torch

from harness.engine.devices import cpus, training_process
from harness.engine.run import run_spec
from harness.engine.spec import Spec
from harness.store.records import RunRecord

GPU_BYTES_PER_RUN = 2 << 30  # a full CIFAR-10 coursework run took 1.36 GiB on an H200 (context, data, model), with room
GPU_RUNS_MAX = 8  # runs sharing one GPU by default (--jobs overrides). They take it in time slices, but each
# one's Python launches kernels while the others compute: on an H100, 5 processes trained 2.26x as fast as one
# (docs/speed.md); more than 8 was not tried
GPU_RUNS_MAX_MPS = 10  # under MPS their kernels run side by side: on an H100, 10 processes trained 8.69x as fast as
# one (a coursework's ten runs at once); more than 10 was not tried


def gpu_capacity(device: torch.device) -> int:
    """Runs one GPU can take at once: what its free memory holds, at most one per CPU feeding it."""
    free, _ = torch.cuda.mem_get_info(device)
    return max(1, min(cpus(), free // GPU_BYTES_PER_RUN))


def default_jobs(device: torch.device, *, mps: bool = False) -> int:
    """Runs at a time: one per CPU on the CPU; on a GPU, its capacity, at most GPU_RUNS_MAX (under
    MPS, GPU_RUNS_MAX_MPS)."""
    if device.type != "cuda":
        return cpus()
    return min(GPU_RUNS_MAX_MPS if mps else GPU_RUNS_MAX, gpu_capacity(device))


def threads_each(jobs: int) -> int:
    return max(1, cpus() // jobs)


def _start_worker(threads: int) -> None:
    training_process(threads)


def run(specs: Sequence[Spec], *, jobs: int, device: torch.device, **options: Any) -> Iterator[tuple[Spec, RunRecord]]:
    """Each spec with its record (`run_spec` with `options`). With one job: in this process, in
    order. Otherwise `jobs` worker processes with the CPUs split between them, records in the
    order they finish; closing the iterator early cancels the runs not started."""
    if jobs == 1:
        for spec in specs:
            yield spec, run_spec(spec, device=device, **options)
        return
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),  # CUDA cannot be forked
                               initializer=_start_worker, initargs=(threads_each(jobs),))
    try:
        futures = {pool.submit(run_spec, spec, device=device, **options): spec for spec in specs}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        pool.shutdown(cancel_futures=True)
