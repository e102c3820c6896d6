"""NVIDIA's MPS daemon, started and stopped for `reference run --mps`. Without a GPU the daemon is a
stand-in program on PATH that logs what it was asked; with one (and the real program), a GPU test."""

import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest
import torch

from harness.engine import mps

FAKE = """#!/usr/bin/env bash
# a stand-in for nvidia-cuda-mps-control: logs its arguments, input and folders
input=$(cat -)
echo "args=[$*] input=[$input] pipe=$CUDA_MPS_PIPE_DIRECTORY log=$CUDA_MPS_LOG_DIRECTORY" >> "$FAKE_CALLS"
if [ "$1" = -d ]; then
    echo "[daemon] started" > "$CUDA_MPS_LOG_DIRECTORY/control.log"
    # a real daemon outlives this call; one that keeps our output open must not hold the caller
    sleep 30 & echo $! > "$FAKE_CALLS.pid"
    [ -n "${FAKE_START_FAILS:-}" ] && { echo "An instance of this daemon is already running"; exit 1; }
fi
[ "$input" = quit ] && [ -n "${FAKE_STOP_FAILS:-}" ] && { echo "cannot quit"; exit 3; }
exit 0
"""


@pytest.fixture
def fake_control(tmp_path, monkeypatch):
    folder = tmp_path / "bin"
    folder.mkdir()
    program = folder / mps.CONTROL
    program.write_text(FAKE)
    program.chmod(0o755)
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CALLS", str(calls))
    monkeypatch.delenv(mps.PIPE, raising=False)
    monkeypatch.delenv(mps.LOG, raising=False)
    yield calls
    pid = calls.with_name("calls.log.pid")
    if pid.exists():
        subprocess.run(["kill", pid.read_text().strip()], capture_output=True)


def logged(calls):
    return calls.read_text().splitlines() if calls.exists() else []


def test_the_daemon_serves_processes_started_in_the_block_and_is_stopped_after(fake_control):
    began = time.monotonic()
    with mps.private_daemon() as log:
        started_in = time.monotonic() - began
        pipe = os.environ[mps.PIPE]
        assert os.path.isdir(pipe) and os.environ[mps.LOG] == str(log) and mps.in_use()
        child = subprocess.run([sys.executable, "-c", f"import os; print(os.environ['{mps.PIPE}'])"],
                               capture_output=True, text=True, check=True)
        assert child.stdout.strip() == pipe
        assert logged(fake_control) == [f"args=[-d] input=[] pipe={pipe} log={log}"]
    assert started_in < 10  # the stand-in's background sleep kept its output open for 30 s
    assert logged(fake_control)[1] == f"args=[] input=[quit] pipe={pipe} log={log}"
    assert mps.PIPE not in os.environ and mps.LOG not in os.environ and not mps.in_use()
    assert not os.path.exists(pipe)


def test_a_daemon_that_does_not_start_is_a_clear_error_and_changes_nothing(fake_control, monkeypatch):
    monkeypatch.setenv("FAKE_START_FAILS", "1")
    with pytest.raises(mps.MpsUnavailable) as error:
        with mps.private_daemon():
            pytest.fail("the block ran without a daemon")
    message = str(error.value)
    assert "did not start: An instance of this daemon is already running" in message
    assert "leave --mps out" in message and "[daemon] started" in message  # the control log's end
    assert mps.PIPE not in os.environ


def test_without_the_program_it_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(mps.MpsUnavailable, match="needs NVIDIA's nvidia-cuda-mps-control.*not on PATH"):
        with mps.private_daemon():
            pass


def test_a_failing_block_shows_the_control_log_and_still_stops_the_daemon(fake_control, capsys):
    with pytest.raises(RuntimeError, match="a run broke"):
        with mps.private_daemon():
            raise RuntimeError("a run broke")
    assert "MPS control log, last lines:\n[daemon] started" in capsys.readouterr().err
    assert "input=[quit]" in logged(fake_control)[-1]


def test_an_error_that_is_the_users_to_fix_shows_no_control_log(fake_control, capsys):
    with pytest.raises(KeyError):
        with mps.private_daemon(expected=(KeyError,)):
            raise KeyError("cw_basline")
    assert "MPS control log" not in capsys.readouterr().err
    assert "input=[quit]" in logged(fake_control)[-1]


def test_a_daemon_that_does_not_stop_is_a_warning_not_a_lost_result(fake_control, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_STOP_FAILS", "1")
    with mps.private_daemon():
        pass
    assert "warning: nvidia-cuda-mps-control did not stop: cannot quit" in capsys.readouterr().err


def harness(*args):
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_reference_run_mps_on_the_cpu_is_refused_before_any_daemon_starts(fake_control, tmp_path):
    result = harness("reference", "run", "loss_binary", "--mps", "--device", "cpu", "--store", tmp_path / "s.sqlite")
    assert result.returncode == 2 and "--mps shares a GPU between runs" in result.stderr
    assert logged(fake_control) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_reference_run_mps_without_a_gpu_stops_the_daemon_it_started(fake_control, tmp_path):
    result = harness("reference", "run", "loss_binary", "--mps", "--store", tmp_path / "s.sqlite")
    assert result.returncode == 2 and "--device auto found none" in result.stderr
    assert "MPS control log" not in result.stderr  # the user's to fix: one line, no daemon log
    assert [line.split()[0] for line in logged(fake_control)] == ["args=[-d]", "args=[]"]


@pytest.mark.parametrize("options, said", [(["--mps"], "--mps goes with --runs-at-once"),
                                           (["--mps", "--runs-at-once", "--device", "cpu"], "nothing with --device cpu")])
def test_bench_mps_is_only_for_runs_sharing_a_gpu(fake_control, options, said):
    result = harness("bench", "cifar_cnn", *options)
    assert result.returncode == 2 and said in result.stderr
    assert logged(fake_control) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_bench_mps_without_a_gpu_stops_the_daemon_it_started(fake_control):
    result = harness("bench", "cifar_cnn", "--runs-at-once", "--mps", "--device", "auto")
    assert result.returncode == 2 and "--mps shares a GPU between runs, and --device auto found none" in result.stderr
    assert [line.split()[0] for line in logged(fake_control)] == ["args=[-d]", "args=[]"]


@pytest.mark.gpu
@pytest.mark.skipif(shutil.which(mps.CONTROL) is None, reason="needs NVIDIA's nvidia-cuda-mps-control")
def test_runs_on_a_gpu_train_under_a_real_daemon_and_say_so(tmp_path, synth_root):
    store = tmp_path / "s.sqlite"
    result = harness("reference", "run", "loss_binary", "dropout_layer", "--mps", "--jobs", "2", "--device", "cuda",
                     "--data-root", synth_root, "--store", store, "--html", "")
    assert result.returncode == 0, result.stderr
    assert "under MPS" in result.stderr and "2 ran" in result.stdout
    recorded = sqlite3.connect(store).execute("SELECT json_extract(environment, '$.cuda_mps') FROM runs").fetchall()
    assert recorded == [(1,), (1,)]
