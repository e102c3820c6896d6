"""Run untrusted submission code in a child process that can only hand back data.

Layers, strongest first (probed at start-up; the report names the one used):
  bwrap    bubblewrap: fresh root with only the interpreter, the harness, the submission copy, the
           data (read-only) and a work folder; no network, own PID/IPC/UTS namespaces.
  unshare  user + network + PID namespaces (no network, cannot signal the grader), but the file
           system is visible: weaker, reported as such.
  limits   resource limits only. Refused unless explicitly allowed.
Every layer adds: a fresh session, rlimits (CPU seconds, data segment, processes, file size, core
dumps), a wall-clock timeout that kills the whole process tree, a scrubbed environment, stdin from
/dev/null, one thread per library unless asked otherwise. As root, the child runs under its own
unprivileged uid so the process limit applies to it (root ignores RLIMIT_NPROC).

The child's only channels back are, per job, a JSON file and one .npy array in its work folder, each
capped in size and parsed here (the array without pickle); nothing the child writes elsewhere is read.

One child can do several jobs one after another (`run_children`): the interpreter starts and imports
torch once (about 3 s of a 5 s quick training run on a 2-core CPU). Each job still has its own wall
limit, counted from the moment the job before it handed its result back, and its own Outcome, read
as soon as its result is in place: a job that hangs or kills the process fails alone, and the jobs
after it come back 'not_started'.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import itertools
import json
import math
import os
import resource
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

import harness

LAYERS = ("bwrap", "unshare", "limits")
RESULT_FILE = "result-{}.json"  # job i of the child writes result-i.json (whole, by rename) when it is done
OUTPUTS_FILE = "outputs-{}.npy"  # a training job's test outputs, scored by the grader (harness.grading.held_out)
STOPPED_FILE = "stopped"  # written by a child that stops before its last job: the jobs after are not started
SANDBOX_UID_BASE = 61000  # child uids when the grader runs as root: one per concurrent slot
GiB = 1024**3


class IsolationUnavailable(RuntimeError):
    pass


class Cancelled(Exception):
    """The grader was interrupted; the child was killed and its job must not be recorded."""


@dataclass(frozen=True)
class Limits:
    wall_s: float = 300.0  # per job, the child's start-up included in its first
    cpu_s: int = 1200  # CPU seconds over all threads, per job
    memory_bytes: int = 6 * GiB  # RLIMIT_DATA (RLIMIT_AS breaks PyTorch, see ISOLATION.md)
    processes: int = 256  # threads and processes of the child's uid
    file_bytes: int = 64 * 1024**2  # largest file the child may write (its logs included)
    result_bytes: int = 16 * 1024**2  # largest result.json the parent will read
    outputs_bytes: int = 64 * 1024**2  # largest outputs.npy (40 epochs x 10,000 images x 10 classes: 16 MB)
    threads: int = 1  # OMP/MKL/torch threads
    gpu_memory_bytes: int = 4 * GiB  # asked of CUDA's allocator by the child itself: its code could lift it


@dataclass
class Outcome:
    status: str  # ok | timeout | crashed | no_result | bad_result | not_started (an earlier job of its child failed)
    result: dict[str, Any] | None
    log_tail: str  # the end of the child's stdout+stderr
    wall_s: float
    layer: str
    exit_code: int | None = None
    outputs: np.ndarray | None = None  # the child's outputs.npy, when it wrote one

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _run_quiet(cmd: list[str], timeout: float = 20) -> bool:
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def available_layers() -> tuple[str, ...]:
    """The layers that actually work on this machine, strongest first (each probed once)."""
    found = []
    probe = [sys.executable, "-I", "-c", "import socket, harness\ntry:\n socket.create_connection(('192.0.2.1', 9), 1)\n"
             "except OSError:\n raise SystemExit(0)\nraise SystemExit(3)"]
    workdir = Path(tempfile.mkdtemp(prefix="harness-probe-"))
    # the probe holds a slot as a job does: a job ending in a slot kills everything under that slot's uid
    with claimed_slot() as slot:
        try:
            env = _child_env(workdir)
            if shutil.which("bwrap") and _run_quiet(_wrap("bwrap", probe, workdir, _readonly_paths(), env, slot=slot)):
                found.append("bwrap")
            if shutil.which("unshare") and _run_quiet(_wrap("unshare", probe, workdir, [], env, slot=slot)):
                found.append("unshare")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    found.append("limits")
    return tuple(found)


def choose_layer(*, allow_weak: bool = False) -> str:
    layer = available_layers()[0]
    if layer == "limits" and not allow_weak:
        raise IsolationUnavailable(
            "Neither bubblewrap nor unprivileged user namespaces work on this machine, so student code "
            "could read other files and open network connections. Install bubblewrap (Debian/Ubuntu: "
            "`apt-get install bubblewrap`), or pass --allow-weak-isolation to grade with resource limits only."
        )
    return layer


def _ancestors(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if p != Path("/")]


def _readonly_paths() -> list[Path]:
    """What the child needs to read: the interpreter, the installed packages, the harness source.
    Other entries of sys.path are left out on purpose: a Dask worker puts the grader's working folder
    (the class's submissions, the results store) and its scratch space there."""
    repo = Path(harness.__file__).resolve().parent.parent
    prefixes = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    packages = {Path(p).resolve() for p in [*site.getsitepackages(), *sys.path]
                if p and Path(p).name in ("site-packages", "dist-packages")}
    paths = prefixes | packages | {repo / "harness", repo / "reference"}
    usr = Path("/usr")  # bound whole already
    return sorted(p for p in paths if p.is_dir() and p != usr and usr not in p.parents)


def gpu_devices() -> tuple[Path, ...]:
    """The NVIDIA device nodes a CUDA child opens (control, unified memory, each GPU); none without a GPU."""
    return tuple(sorted(Path("/dev").glob("nvidia*")))


def _bwrap(command: list[str], workdir: Path, readonly: list[Path], env: dict[str, str], slot: int,
           devices: tuple[Path, ...] = ()) -> list[str]:
    as_root = os.geteuid() == 0
    # by full path: the child's environment has PATH=/usr/bin:/bin, bwrap may live in /usr/local/bin
    args = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session", "--clearenv",
            "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if not as_root:
        args.append("--unshare-user")
    args += ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    for device in devices:  # --dev-bind, not --bind: the fresh /dev is mounted nodev
        args += ["--dev-bind", str(device), str(device)]
    if devices:  # the driver finds its GPUs through sysfs (read-only, as Docker and Flatpak give it)
        args += ["--ro-bind-try", "/sys", "/sys"]
    for link in ("lib", "lib64", "bin", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            args += ["--ro-bind", str(target), str(target)]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    made: set[Path] = {Path("/tmp")}
    binds = [(p, "--ro-bind") for p in readonly] + [(workdir, "--bind")]
    for path, _ in binds:  # bwrap would create missing parents as 0700, unreadable to the child's uid
        for parent in _ancestors(path):
            if parent not in made and not str(parent).startswith("/usr"):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
    for path, flag in binds:
        args += [flag, str(path), str(path)]
    args += ["--chdir", str(workdir)]
    for key, value in env.items():  # --clearenv dropped what bwrap itself was started with
        args += ["--setenv", key, value]
    if as_root:
        uid = str(SANDBOX_UID_BASE + slot)
        command = ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--", *command]
    return [*args, "--", *command]


def _wrap(layer: str, command: list[str], workdir: Path, readonly: list[Path], env: dict[str, str], *, slot: int,
          devices: tuple[Path, ...] = ()) -> list[str]:
    """`command` inside `layer`, with the environment `env`; `devices` (GPU nodes) are bound into a
    bubblewrap sandbox, the other layers see the host's /dev anyway."""
    if layer == "bwrap":
        return _bwrap(command, workdir, readonly, env, slot, devices)
    if layer == "unshare":
        return [shutil.which("unshare") or "unshare", "--user", "--map-root-user", "--net", "--pid", "--fork",
                "--kill-child", "--mount-proc", *command]
    return command


def _child_env(workdir: Path, threads: int = 1, gpu: bool = False) -> dict[str, str]:
    # USER: the sandbox's uid has no passwd entry, and getpass.getuser() (Triton's import) asks the env first
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "USER": "sandbox", "LOGNAME": "sandbox", "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
    # an empty CUDA_VISIBLE_DEVICES hides every GPU: a CPU job gets it; a GPU job sees the grader's own GPUs
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if not gpu or visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = visible if gpu else ""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "HARNESS_THREADS"):
        env[name] = str(threads)
    return env


def _limit_child(limits: Limits, uid: int | None) -> None:
    """Runs in the child between fork and exec."""
    os.setsid()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    # our own uid: the limit counts every thread we already run, counted once (another grader's children
    # come and go between two counts, and a soft limit above the hard one fails the exec)
    processes = limits.processes + (_own_tasks() if uid is None else 0)
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def _own_tasks() -> int:
    uid, count = os.getuid(), 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return count


def _kill_tree(process: subprocess.Popen, uid: int | None) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if uid is not None:  # anything left under the sandbox uid (double forks that left the group)
        subprocess.run(["pkill", "-KILL", "-U", str(uid)], capture_output=True)
    process.wait()


def _tail(path: Path, size: int = 4000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - size))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def prepare_workdir(files: dict[str, bytes], inputs: dict[str, Path]) -> Path:
    """A private folder with the submission's files (relative path -> bytes) under submission/, and
    a copy of the job's input files."""
    workdir = Path(tempfile.mkdtemp(prefix="harness-job-"))
    for name, source in inputs.items():
        shutil.copyfile(source, workdir / name)
    target = (workdir / "submission").resolve()
    target.mkdir()
    for name, content in files.items():
        path = (target / name).resolve()
        if target not in path.parents:
            raise ValueError(f"submission file name {name!r} points outside the submission folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return workdir


@contextlib.contextmanager
def claimed_slot(folder: Path = Path(tempfile.gettempdir()) / "harness-slots") -> Iterator[int]:
    """The lowest slot number no other job on this machine holds, whichever process runs it (threads
    of one grader, or several Dask workers): each slot is its own child uid, and the clean-up after a
    job kills everything under that uid."""
    folder.mkdir(exist_ok=True)
    for slot in itertools.count():
        handle = open(folder / f"{slot}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield slot
        finally:
            handle.close()  # releases the lock, also when this process dies
        return


def run_child(job: dict[str, Any], **options: Any) -> Outcome:
    """One job in a child of its own (the options of `run_children`)."""
    return run_children([job], **options)[0]


def run_children(
    jobs: list[dict[str, Any]],
    *,
    files: dict[str, bytes],
    layer: str,
    limits: Limits = Limits(),
    walls: tuple[float, ...] = (),
    inputs: dict[str, Path] | None = None,
    cancel: threading.Event | None = None,
    devices: tuple[Path, ...] = (),
    on_outcome: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Run `python -I -m harness.grading.child` on `jobs`, one after another, each within its wall clock in
    `walls` (by default `limits.wall_s`), with the submission's `files` and
    `inputs` (name -> file; the jobs refer to them by name) in a private work folder, with the device
    nodes `devices` (`gpu_devices()` for jobs on the GPU); an Outcome per job. `on_outcome(index,
    outcome)` hears of each job as soon as it ends, while the child goes on with the next. Setting
    `cancel` kills the child and raises Cancelled."""
    inputs = inputs or {}
    workdir = prepare_workdir(files, inputs)
    try:
        with claimed_slot() as slot:
            return _run_in(workdir, jobs, inputs, layer, limits, walls or (limits.wall_s,) * len(jobs), slot, cancel,
                           devices, on_outcome or _ignore)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _ignore(index: int, outcome: Outcome) -> None:
    pass


def _run_in(workdir: Path, jobs: list[dict[str, Any]], inputs: dict[str, Path], layer: str, limits: Limits,
            walls: tuple[float, ...], slot: int, cancel: threading.Event | None, devices: tuple[Path, ...],
            on_outcome: Callable[[int, Outcome], None]) -> list[Outcome]:
    named = {name: str(workdir / name) for name in inputs}
    jobs = [{**job, "submission": str(workdir / "submission"), "result": str(workdir / RESULT_FILE.format(i)),
             "outputs": str(workdir / OUTPUTS_FILE.format(i)), "stopped": str(workdir / STOPPED_FILE), **named}
            for i, job in enumerate(jobs)]
    (workdir / "job.json").write_text(json.dumps({"jobs": jobs}))
    uid = SANDBOX_UID_BASE + slot if os.geteuid() == 0 and layer == "bwrap" else None
    if uid is not None:
        for path in [workdir, *workdir.rglob("*")]:
            os.chown(path, uid, uid)
    command = [sys.executable, "-I", "-m", "harness.grading.child", str(workdir / "job.json")]
    env = _child_env(workdir, limits.threads, gpu=bool(devices))
    readonly = _readonly_paths() if layer == "bwrap" else []
    argv = _wrap(layer, command, workdir, readonly, env, slot=slot, devices=devices)
    log = workdir / "child.log"
    whole = replace(limits, cpu_s=limits.cpu_s * len(jobs))
    outcomes: list[Outcome] = []
    last_end = time.perf_counter()

    def ended(code: int | None, timed_out: bool = False) -> None:  # job len(outcomes) is over
        nonlocal last_end
        now = time.perf_counter()
        outcomes.append(_outcome(workdir, len(outcomes), _tail(log), now - last_end, layer, code, timed_out, limits))
        last_end = now
        on_outcome(len(outcomes) - 1, outcomes[-1])

    with open(log, "wb") as out:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   env=env, cwd=workdir, preexec_fn=lambda: _limit_child(whole, uid))
        try:  # a job whose result is in is over, though the child goes on (its exit code is not known yet)
            code, timed_out, stopped = _wait(process, [Path(job["result"]) for job in jobs], walls,
                                             cancel or threading.Event(), lambda: ended(None))
        finally:  # also on Ctrl-C or cancel: the child never outlives its jobs
            _kill_tree(process, uid)
    if len(outcomes) < len(jobs) and not stopped:  # the job under way when the child ended or was stopped
        ended(code, timed_out)
    for _ in jobs[len(outcomes):]:
        outcomes.append(Outcome("not_started", None, "", 0.0, layer, code))
        on_outcome(len(outcomes) - 1, outcomes[-1])
    return outcomes


def _wait(process: subprocess.Popen, results: list[Path], walls: tuple[float, ...], cancel: threading.Event,
          result_in: Callable[[], None]) -> tuple[int | None, bool, bool]:
    """(exit code, timed out, stopped early), calling `result_in()` as each job's result appears,
    polling so that a cancel is noticed within a fraction of a second. Job i may take `walls[i]`
    seconds from the moment the one before it ended; a child that stopped early (STOPPED_FILE) is not
    waited for. The last job's result is left to be read once the child has exited (or failed to
    exit): a file the submission's code wrote under that name before the harness wrote the real one
    is then overwritten, not taken for it."""
    finished, last = 0, len(results) - 1
    stopped = results[0].with_name(STOPPED_FILE)
    deadline = time.perf_counter() + walls[0]
    while True:
        try:
            code = process.wait(timeout=max(0.0, min(0.25, deadline - time.perf_counter())))
        except subprocess.TimeoutExpired:
            code = None
        ended_early = stopped.exists()  # looked at first: the results written before it are then all in
        while finished < last and results[finished].exists():
            finished += 1
            result_in()
            deadline = time.perf_counter() + walls[finished]
        if ended_early:
            return code, False, True
        if code is not None:
            return code, False, False
        if cancel.is_set():
            raise Cancelled()
        now = time.perf_counter()
        done = finished == last and results[last].exists()
        if done:  # every result is in: the child is only exiting
            deadline = min(deadline, now + 10.0)
        if now >= deadline:
            return None, not done, False


def _outcome(workdir: Path, index: int, log: str, elapsed: float, layer: str, code: int | None,
             timed_out: bool, limits: Limits) -> Outcome:
    """Job `index`'s outcome from the files it left in `workdir`."""
    if timed_out:
        return Outcome("timeout", None, log, elapsed, layer, code)
    try:
        result = _read_result(workdir / RESULT_FILE.format(index), limits)
        outputs = _read_outputs(workdir / OUTPUTS_FILE.format(index), limits)
    except FileNotFoundError:
        return Outcome("crashed" if code else "no_result", None, log, elapsed, layer, code)
    except ValueError as error:
        return Outcome("bad_result", None, f"{log}\n[{error}]", elapsed, layer, code)
    return Outcome("ok", result, log, elapsed, layer, code, outputs)


def _plain_file(path: Path, cap: int) -> None:
    """FileNotFoundError when the child wrote none; ValueError when it is a link or too large."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ValueError(f"{path.name} is not a plain file")
    if not path.is_file():
        raise FileNotFoundError(path)
    if path.stat().st_size > cap:
        raise ValueError(f"{path.name} is larger than {cap} bytes")


def _read_result(path: Path, limits: Limits) -> dict[str, Any]:
    _plain_file(path, limits.result_bytes)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"result is not JSON: {error}") from None
    if not isinstance(result, dict):
        raise ValueError("result is not a JSON object")
    return result


def _read_outputs(path: Path, limits: Limits) -> np.ndarray | None:
    """The child's .npy array, its header checked against its size before any of it is read (a
    header may claim any shape), and never unpickled (a pickle from the child is code run here)."""
    try:
        _plain_file(path, limits.outputs_bytes)
    except FileNotFoundError:
        return None
    headers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    with open(path, "rb") as handle:
        try:
            shape, _, dtype = headers[np.lib.format.read_magic(handle)](handle)
        except (ValueError, KeyError, EOFError) as error:
            raise ValueError(f"{path.name} is not a plain .npy array ({error})") from None
        if dtype.hasobject or math.prod(shape) * dtype.itemsize != path.stat().st_size - handle.tell():
            raise ValueError(f"{path.name} holds objects, or not the {dtype} {shape} array its header says")
        handle.seek(0)
        return np.lib.format.read_array(handle, allow_pickle=False)
