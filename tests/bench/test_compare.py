"""Two saved benchmark runs compared by their speed-ups over the notebook's loop."""

import json

import pytest

from harness.bench import compare
from harness.cli import main


def run(*timings, commit="abc123"):
    """A pytest-benchmark JSON document: (case, loop, precision or workers, best epoch seconds)."""
    benchmarks = []
    for case, loop, variant, seconds in timings:
        info = {"case": case, "loop": loop, "images": 3000}
        if loop == "notebook":
            info |= {"workers": variant, "as_written": variant == (0 if case == "mnist_mlp" else 2)}
        else:
            info["precision"] = variant
        benchmarks.append({"name": f"{case}-{loop}-{variant}", "extra_info": info, "stats": {"min": seconds}})
    return {"benchmarks": benchmarks, "commit_info": {"id": commit}, "machine_info": {"cpu": {"brand_raw": "Test CPU"}}}


BEFORE = run(("cifar_cnn_aug", "notebook", 2, 6.0), ("cifar_cnn_aug", "notebook", 0, 5.0),
             ("cifar_cnn_aug", "harness", "fp32", 3.0), ("cifar_cnn_aug", "harness", "bf16", 2.0),
             ("mnist_mlp", "notebook", 0, 0.8), ("mnist_mlp", "harness", "fp32", 0.2))


def test_a_speedup_is_over_the_notebook_loop_as_written_in_the_same_run():
    table = compare.speedups(BEFORE)
    assert table[["case", "precision", "speedup"]].values.tolist() == [
        ["cifar_cnn_aug", "fp32", 2.0], ["cifar_cnn_aug", "bf16", 3.0], ["mnist_mlp", "fp32", 4.0]]
    assert table["notebook_epoch_s"].tolist() == [6.0, 6.0, 0.8]  # num_workers=2 as written, not the faster 0


def test_a_speedup_that_fell_beyond_the_tolerance_is_slower_and_a_missing_one_is_named():
    now = run(("cifar_cnn_aug", "notebook", 2, 3.0), ("cifar_cnn_aug", "harness", "fp32", 1.6),  # 1.875x: -6%
              ("cifar_cnn_aug", "harness", "bf16", 1.5),  # 2.0x against 3.0x: -33%
              ("cifar_cnn", "notebook", 2, 4.0), ("cifar_cnn", "harness", "fp32", 2.0))
    table = compare.compare(BEFORE, now, tolerance=0.2).set_index(["case", "precision"])
    assert table.loc[("cifar_cnn_aug", "fp32"), "verdict"] == "ok"
    assert table.loc[("cifar_cnn_aug", "bf16"), "verdict"] == "slower"
    assert table.loc[("cifar_cnn_aug", "bf16"), "change"] == pytest.approx(-1 / 3)
    assert table.loc[("mnist_mlp", "fp32"), "verdict"] == "only before"
    assert table.loc[("cifar_cnn", "fp32"), "verdict"] == "only now"


def test_the_cli_exits_1_and_names_what_got_slower(tmp_path, capsys):
    before, now = tmp_path / "before.json", tmp_path / "now.json"
    before.write_text(json.dumps(BEFORE))
    now.write_text(json.dumps(run(("cifar_cnn_aug", "notebook", 2, 6.0), ("cifar_cnn_aug", "harness", "bf16", 4.0),
                                  ("mnist_mlp", "notebook", 0, 0.8), ("mnist_mlp", "harness", "fp32", 0.21),
                                  commit="def456")))
    assert main(["bench", "--compare", str(before), str(now)]) == 1
    out, err = capsys.readouterr()
    assert "slower: cifar_cnn_aug bf16" in err and "abc123 on Test CPU" in err and "def456" in err
    rows = {tuple(line.split()[:2]): line.split() for line in out.splitlines()[1:]}
    assert rows["cifar_cnn_aug", "bf16"][-2:] == ["-50%", "slower"]
    assert rows["mnist_mlp", "fp32"][-2:] == ["-5%", "ok"]
    assert main(["bench", "--compare", str(before), str(now), "--tolerance", "0.6"]) == 0


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("not json", "could not be read as JSON"),
    ('{"results": []}', "is not pytest-benchmark JSON"),
    ('{"benchmarks": [1, 2]}', "is not pytest-benchmark JSON"),
])
def test_a_file_that_is_not_a_saved_benchmark_run_is_a_clear_error(tmp_path, capsys, content, message):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(BEFORE))
    if content is not None:
        bad.write_text(content)
    assert main(["bench", "--compare", str(good), str(bad)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("benchmarks", [
    run(("mnist_mlp", "notebook", 0, 0.8))["benchmarks"],  # the notebook's loop alone
    [{"name": "test_sort", "extra_info": {}, "stats": {"min": 0.1}}, {"name": "errored"}],  # another project's
])
def test_runs_without_a_harness_benchmark_beside_the_notebook_loop_are_a_clear_error(tmp_path, capsys, benchmarks):
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps({"benchmarks": benchmarks}))
    assert main(["bench", "--compare", str(saved), str(saved)]) == 2
    assert "neither file has a harness benchmark beside the notebook's loop" in capsys.readouterr().err


def test_a_tolerance_outside_0_to_1_is_refused(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["bench", "--compare", "a.json", "b.json", "--tolerance", "20"])
    assert exit.value.code == 2 and "must be a fraction from 0 up to 1" in capsys.readouterr().err
