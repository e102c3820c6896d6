"""Progress: counted lines in a log, a bar on a terminal, nothing without a stream."""

import io

from harness.progress import Progress


def test_a_log_gets_one_counted_line_per_finished_job_as_the_plan_grows():
    out = io.StringIO()
    progress = Progress(out)
    progress.plan(1)
    progress.finish("ann: smoke: ok (3s)")
    progress.plan(2)  # her runs are planned once her smoke test passed
    progress.finish("ann: cw_baseline: ok (5s)")
    progress.note("reference spread: cw_zeros_init seed 42 (1/3)")
    lines = out.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [
        "[1/1] ann: smoke: ok (3s)", "[2/3] ann: cw_baseline: ok (5s)", "reference spread: cw_zeros_init seed 42 (1/3)"]
    assert (progress.done, progress.total) == (2, 3)


def test_a_terminal_gets_a_bar_with_the_lines_above_it():
    out = io.StringIO()
    progress = Progress(out, bar=True)
    progress.plan(4)
    for k in range(3):
        progress.finish(f"job {k}")
    progress.close()
    text = out.getvalue()
    assert "3/4" in text and "[3/4] job 2" in text and "job" in text.split("\r")[-1]


def test_without_a_stream_nothing_is_written_but_counts_are_kept():
    progress = Progress()
    progress.plan(2)
    progress.finish("x")
    assert (progress.done, progress.total) == (1, 2)
