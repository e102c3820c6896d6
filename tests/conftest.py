"""Shared fixtures: generated datasets in the real on-disk formats (never ../shared); and the one
definition of each skip: a test marked `gpu`, `sandbox`, `bwrap` or `browser` (or using the `browser`
fixture) skips with the reason when this machine lacks it."""

from __future__ import annotations

import functools
import importlib.util
import shutil

import pytest
import torch

from harness.engine import synthetic
from harness.engine.spec import PROFILES
from harness.grading import sandbox

BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None)


@functools.cache
def _missing(marker: str) -> str | None:
    """Why this machine cannot run tests marked `marker`, or None when it can."""
    layer = sandbox.available_layers()[0]
    return {
        "gpu": None if torch.cuda.is_available() else "needs a CUDA GPU",
        "sandbox": None if layer != "limits" else "no sandbox on this machine: install bubblewrap (apt-get install bubblewrap)",
        "bwrap": None if layer == "bwrap" else f"needs bubblewrap (apt-get install bubblewrap); this machine has only {layer}",
        "browser": ("no chromium on this machine (Debian: apt-get install chromium)" if BROWSER is None else
                    None if importlib.util.find_spec("playwright") else "playwright is not installed (pip install playwright)"),
    }[marker]


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker("browser")


def pytest_runtest_setup(item):
    for marker in ("gpu", "sandbox", "bwrap", "browser"):
        if item.get_closest_marker(marker) and (reason := _missing(marker)):
            pytest.skip(reason)


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    return synthetic.write_all(
        tmp_path_factory.mktemp("data"), mnist=(1200, 400), cifar10=(600, 200), california=12000
    )


@pytest.fixture(scope="session")
def quick():
    return PROFILES["quick"]



@pytest.fixture(scope="session")
def browser():
    """open(path) -> what a real headless browser saw: console errors, broken images, the tables' text."""
    from playwright import sync_api
    with sync_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])

        def open_page(path):
            page = chromium.new_page()
            errors = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(path.resolve().as_uri())
            seen = {
                "errors": errors, "title": page.title(), "text": page.inner_text("body"),
                "broken_images": page.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length"),
                "images": page.evaluate("document.images.length + document.querySelectorAll('svg').length"),
                "tables": page.evaluate("[...document.querySelectorAll('table')].map(t => [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim())))"),
            }
            page.close()
            return seen

        yield open_page
        chromium.close()


@pytest.fixture(scope="session")
def sandbox_uids():
    """() -> the uids of running processes that belong to a sandbox slot (grading as root)."""
    import os

    from harness.grading.sandbox import SANDBOX_UID_BASE

    def running():
        uids = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                uids.append(os.stat(f"/proc/{pid}").st_uid)
            except OSError:
                continue
        return [uid for uid in uids if uid >= SANDBOX_UID_BASE]

    return running


@pytest.fixture(scope="session")
def checked(tmp_path_factory):
    """checked(folder, **context) -> {check id: result}: the checks' verdicts as the submission's child
    and the grader's child compute them, both here in this process (the submissions checked this way are
    the project's own test cases; the two sandboxed children are tested apart). `context` overrides the
    manifest's dropout rate and placement, and the mean and std."""
    import json

    from harness.grading.checks import export, verdicts
    from harness.grading.child import load_submission
    from harness.grading.contract import load
    from harness.grading.plan import CIFAR_TRAIN_STATS

    folder_for_weights = tmp_path_factory.mktemp("weights")

    def check(folder, **context):
        sub = load(folder)
        mean, std = CIFAR_TRAIN_STATS
        context = {"mean": list(mean), "std": list(std), "dropout_rate": sub.manifest.dropout_rate,
                   "batchnorm_placement": sub.manifest.batchnorm_placement, **context}
        weights = folder_for_weights / f"{sub.content_hash}.npy"
        handed = json.loads(json.dumps(export.hand_back(*load_submission(sub.path), context, str(weights))))

        def judge(parts):
            job = {"parts": parts, "context": context, "programs": handed.get("programs"),
                   "pipelines": handed.get("pipelines"), "weights": str(weights) if weights.exists() else None}
            return verdicts.compute(json.loads(json.dumps(job))), ""

        return {result["id"]: result for result in verdicts.decided(handed, judge)}

    return check
