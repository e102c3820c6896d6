"""The CLI as a user types it: `python -m harness ...` in a child process, output read back."""

import dataclasses
import shutil
import sqlite3
import subprocess
import sys

import pytest

from harness.cli import main
from harness.engine import devices
from harness.store.database import Store
from reference.experiments import EXPERIMENTS


def harness(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_list_shows_every_experiment_with_its_hyperparameters():
    result = harness("reference", "--list")
    assert result.returncode == 0, result.stderr
    for experiment in EXPERIMENTS:
        assert experiment in result.stdout
    line = next(l for l in result.stdout.splitlines() if l.startswith("cw_sgd_3e-3 "))
    assert "sgd lr=0.003" in line and "bs=64" in line and "epochs=40" in line
    assert "35 experiments" in result.stdout


def test_run_stores_results_writes_the_page_and_skips_finished_runs(tmp_path, synth_root):
    store, page = tmp_path / "r.sqlite", tmp_path / "page.html"
    args = ("reference", "run", "loss_binary", "dropout_layer", "--data-root", synth_root,
            "--store", store, "--html", page, "--quiet")
    first = harness(*args)
    assert first.returncode == 0, first.stderr
    assert "2 ran" in first.stdout and page.is_file()
    assert "loss_binary" in page.read_text()
    second = harness(*args)
    assert second.returncode == 0 and "already in the store" in second.stdout and "0 ran, 2 stored earlier" in second.stdout
    rows = sqlite3.connect(store).execute("SELECT experiment FROM runs ORDER BY experiment").fetchall()
    assert rows == [("dropout_layer",), ("loss_binary",)]


def test_runs_go_several_at_a_time_one_thread_each_and_resume(tmp_path, synth_root):
    store = tmp_path / "r.sqlite"
    args = ("reference", "run", "loss_binary", "regression_l1", "norm_batch", "--data-root", synth_root,
            "--store", store, "--html", "", "--jobs", "2")
    first = harness(*args)
    assert first.returncode == 0, first.stderr
    assert "2 runs at a time" in first.stderr and "3 ran" in first.stdout
    threads = sqlite3.connect(store).execute("SELECT json_extract(environment, '$.torch_threads') FROM runs").fetchall()
    assert threads == [(max(1, devices.cpus() // 2),)] * 3
    again = harness(*args[:3], "early_stopping", *args[3:])  # one new run: in this process, epoch by epoch
    assert again.returncode == 0, again.stderr
    assert "1 ran, 3 stored earlier" in again.stdout and "runs at a time" not in again.stderr
    assert "early_stopping epoch 1/" in again.stdout + again.stderr


def test_runs_in_worker_processes_store_what_they_store_in_this_one(tmp_path, synth_root):
    """How runs share processes never changes what they give (times aside; up to float rounding, since a
    worker computes with one thread and this process with every one): here dropout and augmentation
    draw random numbers at every step."""
    stored = {}
    for jobs in ("1", "2"):
        ran = harness("reference", "run", "dropout_layer", "dropout_0.3", "aug_combined", "--data-root", synth_root,
                      "--store", tmp_path / f"{jobs}.sqlite", "--html", "", "--jobs", jobs, "--quiet")
        assert ran.returncode == 0, ran.stderr
        with Store(tmp_path / f"{jobs}.sqlite") as store:
            stored[jobs] = {r.experiment: {k: v for k, v in r.metrics.items() if not k.endswith("_s")}
                            for r in store.runs()}
    assert "2 runs at a time" in ran.stderr
    assert len(stored["1"]) == 3 and all(stored["1"].values()) and stored["1"].keys() == stored["2"].keys()
    for name, metrics in stored["1"].items():
        assert stored["2"][name] == pytest.approx(metrics, rel=1e-4), name


def test_missing_data_stops_with_the_fix_or_is_skipped_when_asked(tmp_path):
    empty = tmp_path / "empty"
    stop = harness("reference", "run", "optim_adam_1e-3", "--data-root", empty, "--no-download",
                   "--store", tmp_path / "a.sqlite", "--html", "")
    assert stop.returncode == 2
    assert "train-images-idx3-ubyte" in stop.stderr and "--data-root" in stop.stderr
    skip = harness("reference", "run", "optim_adam_1e-3", "init_normal", "--data-root", empty, "--no-download",
                   "--skip-missing-data", "--store", tmp_path / "b.sqlite", "--html", tmp_path / "b.html", "--quiet")
    assert skip.returncode == 0, skip.stderr
    assert "1 ran, 0 stored earlier, 1 skipped" in skip.stdout
    assert "Not run: data missing" in (tmp_path / "b.html").read_text()


def test_unknown_experiment_and_bad_arguments(capsys):
    assert main(["reference", "run", "optim_adam"]) == 2
    assert "Did you mean" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="or pass --all"):
        main(["reference", "run"])


def test_synth_command_writes_loadable_data(tmp_path):
    result = harness("data", "synth", tmp_path / "gen")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "gen" / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file()
    assert (tmp_path / "gen" / "cifar-10-batches-py" / "data_batch_5").is_file()
    assert (tmp_path / "gen" / "california_housing" / "cal_housing_py3.pkz").is_file()


def test_report_without_a_store_says_what_to_do(tmp_path, capsys):
    assert main(["report", "--store", str(tmp_path / "none.sqlite"), "--html", str(tmp_path / "x.html")]) == 2
    assert "harness reference run" in capsys.readouterr().err


def test_bench_prints_the_notebook_loop_beside_the_trainer():
    result = harness("bench", "mnist_mlp", "--images", "300", "--repeats", "1")
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    rows = [dict(zip(header.split(), line.split())) for line in lines]
    assert [(r["loop"], r["workers"], r["precision"]) for r in rows] == [
        ("notebook", "0", "fp32"), ("harness", "0", "fp32"), ("harness", "0", "bf16")]  # MNIST: no loader workers
    assert float(rows[0]["speedup"]) == 1.0 and all(float(r["speedup"]) > 0 for r in rows)
    assert [r["speedup"] for r in rows] == [r["speedup_vs_fastest"] for r in rows]  # one notebook loop: one ratio
    assert all(r["spread"] == "+0%" for r in rows)  # one timed epoch each


def test_bench_says_when_the_machine_changed_speed_during_the_run():
    """The loops take turns, but a loop whose timed epochs differ by more than UNSTEADY was timed on a
    machine whose speed changed; the reader is told so, naming that loop."""
    import time

    from harness.bench import epochs

    def sleeps(*seconds):
        durations = iter(seconds)
        return lambda: time.sleep(next(durations))

    timed = epochs.interleaved({"steady": sleeps(0.0, 0.02, 0.02), "slowed": sleeps(0.0, 0.02, 0.05)}, repeats=2)
    assert [len(seconds) for seconds in timed.values()] == [2, 2]  # the warm-up is not timed
    rows = [{"case": "cifar_cnn_aug", "loop": loop, "precision": "bf16", "spread": max(s) / min(s) - 1}
            for loop, s in timed.items()]
    assert rows[0]["spread"] < epochs.UNSTEADY < rows[1]["spread"]
    assert "an epoch of cifar_cnn_aug slowed bf16 took 1" in epochs.unsteady(rows)
    assert epochs.unsteady(rows[:1]) is None


def test_bench_times_the_cifar_notebook_loop_with_its_loader_workers_and_without():
    """The coursework cell's DataLoader has num_workers=2; the same loop without workers is timed
    too, and the ratio to the faster of the two is printed beside the ratio to the notebook's."""
    result = harness("bench", "cifar_cnn", "--images", "256", "--repeats", "1")
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    rows = [dict(zip(header.split(), line.split())) for line in lines]
    assert [(r["loop"], r["workers"]) for r in rows] == [("notebook", "2"), ("notebook", "0"), ("harness", "0"),
                                                         ("harness", "0")]
    rates = [float(r["images_per_s"].replace(",", "")) for r in rows]
    for row, rate in zip(rows, rates):
        assert float(row["speedup"]) == pytest.approx(rate / rates[0], abs=0.01)
        assert float(row["speedup_vs_fastest"]) == pytest.approx(rate / max(rates[:2]), abs=0.01)


@pytest.mark.skipif(devices.cpus() < 2, reason="comparing layouts needs 2 CPUs")
def test_bench_runs_at_once_compares_one_thread_per_run_with_one_run_at_a_time():
    result = harness("bench", "cifar_cnn", "--images", "128", "--repeats", "1", "--runs-at-once")
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    rows = [dict(zip(header.split(), line.split())) for line in lines]
    cpus = devices.cpus()
    assert [(int(r["runs_at_once"]), int(r["threads_each"])) for r in rows] == [(1, cpus), (cpus, 1)]
    assert rows[0]["epochs"] == rows[1]["epochs"] == str(2 * cpus)  # the same work both ways
    assert float(rows[0]["speedup"]) == 1.0 and float(rows[1]["speedup"]) > 0


@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset to narrow the CPUs")
def test_runs_at_once_on_one_cpu_is_a_clear_error_whichever_way_the_cpu_was_named():
    import torch

    if torch.cuda.is_available():
        pytest.skip("auto picks this machine's GPU")
    for device in ("cpu", "auto"):
        result = subprocess.run(["taskset", "-c", "0", sys.executable, "-m", "harness", "bench", "cifar_cnn",
                                 "--runs-at-once", "--device", device], capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and "this process has 1" in result.stderr and "Traceback" not in result.stderr


def test_gpu_layouts_double_the_runs_and_split_the_cpus_between_them():
    from harness.bench.runs_at_once import gpu_layouts

    assert gpu_layouts(16, 16) == [(1, 16), (2, 8), (4, 4), (8, 2), (16, 1)]
    assert gpu_layouts(6, 5) == [(1, 6), (2, 3), (4, 1)]  # never fewer than one thread a run
    assert gpu_layouts(16, 1) == [(1, 16)]


def test_layouts_that_cannot_share_the_same_epochs_are_refused(tmp_path):
    from harness.bench import epochs, runs_at_once

    with pytest.raises(ValueError, match="must divide"):
        runs_at_once.runs_at_once(epochs.CASES["cifar_cnn"], tmp_path, 64, layouts=[(2, 1), (3, 1)], epochs_per_run=1)


def test_a_training_process_that_dies_before_the_start_fails_the_layout_timing(tmp_path):
    from harness.bench import epochs, runs_at_once

    unknown = dataclasses.replace(epochs.CASES["cifar_cnn"], name="not-a-case")  # the process cannot look it up
    with pytest.raises(RuntimeError, match="died before the timed epochs"):
        runs_at_once.layout_seconds(unknown, tmp_path, 64, runs=1, threads=1, epochs=1, precision="fp32")


def test_bench_names_the_cases_when_one_is_unknown():
    result = harness("bench", "resnet")
    assert result.returncode == 2 and "the cases are mnist_mlp, cifar_cnn, cifar_cnn_aug" in result.stderr


def test_bench_parity_compares_final_accuracy_of_both_loops():
    result = harness("bench", "mnist_mlp", "--images", "400", "--repeats", "2", "--parity", "1")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [(r[0], r[1], r[-1]) for r in rows] == [("mnist_mlp", "notebook", "2"), ("mnist_mlp", "harness", "2")]
    assert all(0.5 < float(r[2]) <= 1.0 for r in rows)  # both learn the generated digits


@pytest.mark.parametrize("command", [["reference", "run", "loss_binary", "--html", ""],
                                     ["bench", "cifar_cnn", "--runs-at-once"],
                                     ["check", "submissions/correct", "--data-root", "/nonexistent"],
                                     ["grade", "submissions", "--data-root", "/nonexistent"]],
                         ids=["reference", "bench", "check", "grade"])
def test_asking_for_a_gpu_that_is_not_there_is_a_clear_error(command):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = harness(*command, "--device", "cuda")
    assert result.returncode == 2 and "torch sees no CUDA GPU; use --device cpu" in result.stderr
    assert "Traceback" not in result.stderr
