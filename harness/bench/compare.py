"""Saved benchmark runs compared: each harness loop's speed-up over the notebook's loop timed in the
same session, before and now.

Absolute epoch times move with the machine and with whatever else runs on it, and a ratio of two
loops timed in one session moves less, so the ratio is what is compared. It still moves: two runs
of `pytest benchmarks/` at one commit on the shared 2-core CPU gave speed-ups up to 20% apart,
as the machine's speed changed between one test and the next. Reads pytest-benchmark's JSON
(`pytest benchmarks/ --benchmark-json FILE`, or the files `--benchmark-autosave` keeps under
.benchmarks/).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

COLUMNS = ["case", "precision", "images", "epoch_s", "notebook_epoch_s", "speedup"]


class NotABenchmark(ValueError):
    """The file is not a pytest-benchmark JSON of the throughput benchmarks; the message says why."""


def load(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotABenchmark(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NotABenchmark(f"{path} could not be read as JSON ({error})") from None
    benchmarks = document.get("benchmarks") if isinstance(document, dict) else None
    if not isinstance(benchmarks, list) or not all(isinstance(b, dict) for b in benchmarks):
        raise NotABenchmark(f"{path} is not pytest-benchmark JSON (no 'benchmarks' list); write one with "
                            "`pytest benchmarks/ --benchmark-json FILE`")
    return document


def speedups(document: dict[str, Any]) -> pd.DataFrame:
    """One row per harness benchmark whose case has the notebook's loop as written in the same
    session: its best epoch, the notebook's best epoch on the same images, and their ratio."""
    timed = [(b.get("extra_info") or {}, (b.get("stats") or {}).get("min")) for b in document["benchmarks"]]
    timed = [(info, seconds) for info, seconds in timed if isinstance(seconds, (int, float)) and seconds > 0]
    notebook = {(info.get("case"), info.get("images")): seconds for info, seconds in timed
                if info.get("loop") == "notebook" and info.get("as_written")}
    rows = [{"case": info["case"], "precision": info["precision"], "images": info["images"],
             "epoch_s": seconds, "notebook_epoch_s": notebook[info["case"], info["images"]],
             "speedup": notebook[info["case"], info["images"]] / seconds}
            for info, seconds in timed
            if info.get("loop") == "harness" and "precision" in info
            and (info.get("case"), info.get("images")) in notebook]
    return pd.DataFrame(rows, columns=COLUMNS)


def compare(before: dict[str, Any], now: dict[str, Any], tolerance: float) -> pd.DataFrame:
    """Each (case, precision) with its speed-up before and now, the change, and a verdict: `slower`
    where the speed-up fell by more than `tolerance`, `only before` / `only now` where one run lacks it."""
    keys = ["case", "precision"]
    earlier, later = (speedups(document)[[*keys, "speedup"]] for document in (before, now))
    table = earlier.merge(later, on=keys, how="outer", suffixes=("_before", "_now"))
    table["change"] = table["speedup_now"] / table["speedup_before"] - 1
    table["verdict"] = [
        "only now" if pd.isna(was) else "only before" if pd.isna(is_) else "slower" if change < -tolerance else "ok"
        for was, is_, change in zip(table["speedup_before"], table["speedup_now"], table["change"])
    ]
    return table


def describe(document: dict[str, Any]) -> str:
    """Where a run was made: commit and CPU, as pytest-benchmark recorded them."""
    commit = document.get("commit_info", {})
    machine = document.get("machine_info", {})
    cpu = machine.get("cpu", {}).get("brand_raw") or machine.get("processor") or "unknown CPU"
    return f"{commit.get('id', 'unknown commit')[:12]}{' (dirty)' if commit.get('dirty') else ''} on {cpu}"
