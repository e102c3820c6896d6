"""NVIDIA's Multi-Process Service (MPS) for runs sharing one GPU.

Without it, processes take a GPU in time slices, one process's kernels at a time; under MPS their
kernels run side by side. Measured on an H100 (torch 2.11, `benchmarks/gpu_streams.py`, strategy 2,
an epoch of 20,000 images in each process): 5 processes trained 3.04x as fast as one in time slices,
4.98x under MPS, and 10 processes 8.69x under MPS.

`private_daemon` starts a control daemon of the harness's own, with its pipe and log folders in a
temporary folder, so that it serves the processes this one starts and no one else's, and stops it
afterwards. The CUDA driver looks for the daemon (CUDA_MPS_PIPE_DIRECTORY) when a process first
initializes CUDA, so the block must begin before this process touches the GPU.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

CONTROL = "nvidia-cuda-mps-control"
PIPE, LOG = "CUDA_MPS_PIPE_DIRECTORY", "CUDA_MPS_LOG_DIRECTORY"
CONTROL_TIMEOUT_S = 60
LOG_LINES_SHOWN = 20


class MpsUnavailable(RuntimeError):
    """MPS cannot be started here; the message says why and what to do instead."""


def in_use() -> bool:
    """Whether CUDA in this process was pointed at an MPS daemon (recorded in each run's provenance)."""
    return bool(os.environ.get(PIPE))


@contextlib.contextmanager
def private_daemon(expected: tuple[type[Exception], ...] = ()) -> Iterator[Path]:
    """An MPS control daemon for the processes started inside the block (they inherit its pipe
    folder through the environment); yields its log folder. A block that fails shows the log's end,
    unless with one of the `expected` errors (the user's to fix, such as a name misspelt)."""
    control = shutil.which(CONTROL)
    if control is None:
        raise MpsUnavailable(f"--mps needs NVIDIA's {CONTROL}, which comes with the CUDA driver and is not on "
                             "PATH here; leave --mps out to share the GPU in time slices")
    with tempfile.TemporaryDirectory(prefix="harness-mps-") as folder:
        variables = {PIPE: os.path.join(folder, "pipe"), LOG: os.path.join(folder, "log")}
        for path in variables.values():
            os.mkdir(path)
        log = Path(variables[LOG])
        failed = _control(control, variables, "-d", what="start")
        if failed:
            raise MpsUnavailable(f"{failed}; leave --mps out to share the GPU in time slices\n{log_tail(log)}")
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            yield log
        except Exception as error:
            if not isinstance(error, expected):
                print(f"MPS control log, last lines:\n{log_tail(log)}", file=sys.stderr)
            raise
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name)
                else:
                    os.environ[name] = value
            # quit waits for the servers' clients to end; ours have, the pool is shut down by now
            failed = _control(control, variables, stdin="quit\n", what="stop")
            if failed:
                print(f"warning: {failed}\n{log_tail(log)}", file=sys.stderr)


def _control(control: str, variables: dict[str, str], *args: str, stdin: str | None = None,
             what: str) -> str | None:
    """Give the daemon a command; what went wrong, or None."""
    # its output goes to a file, not a pipe: the daemon `-d` forks keeps the pipe open, and reading it would wait
    with tempfile.TemporaryFile("w+") as said:
        try:
            done = subprocess.run([control, *args], input=stdin, env={**os.environ, **variables}, stdout=said,
                                  stderr=subprocess.STDOUT, text=True, timeout=CONTROL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return f"{CONTROL} did not {what} within {CONTROL_TIMEOUT_S} s"
        said.seek(0)
        output = said.read().strip()
    if done.returncode == 0:
        return None
    return f"{CONTROL} did not {what}: {output or f'exit status {done.returncode}'}"


def log_tail(folder: Path) -> str:
    """The end of the daemon's control log, or a line saying there is none."""
    log = folder / "control.log"
    if not log.is_file():
        return f"(no {log})"
    return "\n".join(log.read_text(errors="replace").splitlines()[-LOG_LINES_SHOWN:])
