"""Entry point inside the sandbox: `python -I -m harness.grading.child JOB.json`.

Imports the student's files and does its jobs one after another (the smoke test, the export of what
the behaviour checks need, or coursework training runs), writing each one's plain JSON to its result
path (a training run also writes its test outputs, which the grader scores: the child never sees the
test labels; the checks job writes the exported weights). This is the only module that imports
student code, and it only ever runs in a sandboxed child. One job imports none: `verdicts` computes
the checks from what a checks job handed back, in a child given no file of the submission.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from harness.grading.contract import AUGMENT_FILE, MODEL_FILE, REQUIRED_NAMES

if TYPE_CHECKING:  # for annotations only: the jobs import torch themselves
    import torch


class StudentCodeError(Exception):
    """The student's code could not be used; the message is for the student."""


def _detail(error: BaseException) -> str:
    """': message', or what an exception without a message means."""
    if isinstance(error, MemoryError):
        return ": it asked for more memory than the sandbox allows"
    if isinstance(error, SystemExit):
        return f": the code called exit({error.code!r}); a submission must not end the process"
    return f": {error}" if str(error) else ""


# the folders the student's files were imported from: an error is located at the last line of theirs it passed
_STUDENT_FOLDERS: set[Path] = set()


def _where(error: BaseException) -> str:
    """' (model.py, line 12)': the last line of the student's own files the exception passed through, torch's
    frames below it left out; '' when it passed through none (a call of theirs with arguments it does not take)."""
    theirs = [frame for frame in traceback.extract_tb(error.__traceback__)
              if Path(frame.filename).resolve().parent in _STUDENT_FOLDERS]
    return f" ({Path(theirs[-1].filename).name}, line {theirs[-1].lineno})" if theirs else ""


def load_module(folder: Path, filename: str) -> ModuleType:
    """Import one of the student's files, telling 'it raised' apart from 'a name is missing'."""
    name = f"student_{Path(filename).stem}"
    spec = importlib.util.spec_from_file_location(name, folder / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    _STUDENT_FOLDERS.add(folder.resolve())
    try:
        spec.loader.exec_module(module)
    except BaseException as error:  # noqa: BLE001 - a student's SystemExit is reported, not obeyed
        raise StudentCodeError(f"{filename} raised {type(error).__name__} while being imported"
                               f"{_where(error)}{_detail(error)}") from None
    for required in REQUIRED_NAMES[filename]:
        if not callable(getattr(module, required, None)):
            raise StudentCodeError(f"{filename} does not define a callable `{required}`.")
    return module


def load_submission(folder: Path) -> tuple[ModuleType, ModuleType]:
    if str(folder) not in sys.path:  # so the student's files can import their own helpers
        sys.path.insert(0, str(folder))
    sys.dont_write_bytecode = True  # loaded in place (checks run in a test, say), the folder stays as handed in
    return load_module(folder, MODEL_FILE), load_module(folder, AUGMENT_FILE)


def _guarded(what: str, call):
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - the student's exception, said plainly
        raise StudentCodeError(f"{what} raised {type(error).__name__}{_detail(error)}{_where(error)}") from None


def job_smoke(job: dict[str, Any]) -> dict[str, Any]:
    """Can the submission be used at all? Import it, build each variant, run a forward pass, call the
    transforms. Everything else is only attempted when this passes."""
    import torch
    from PIL import Image

    model_module, augment_module = load_submission(Path(job["submission"]))
    torch.manual_seed(0)
    variants = {"CNNModel()": {}, "CNNModel(use_dropout=True, use_batchnorm=True)":
                {"use_dropout": True, "use_batchnorm": True, "dropout_rate": job["dropout_rate"]},
                "CNNModel(init_mode='zeros')": {"init_mode": "zeros"}}
    for label, kwargs in variants.items():
        model = _guarded(f"building {label}", lambda: model_module.CNNModel(**kwargs))
        for mode in ("train", "eval"):
            getattr(model, mode)()
            out = _guarded(f"{label} in {mode} mode on a (4, 3, 32, 32) batch", lambda: model(torch.randn(4, 3, 32, 32)))
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != (4, 10):
                shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise StudentCodeError(f"{label} in {mode} mode returned {shape} for a batch of 4 images; "
                                       "it must return logits of shape (4, 10).")
            if not torch.isfinite(out).all():
                raise StudentCodeError(f"{label} in {mode} mode returned NaN or infinite logits.")
    image = Image.new("RGB", (32, 32), (120, 60, 200))
    mean, std = job["mean"], job["std"]
    for name in ("train_transform_1", "train_transform_2", "val_transform"):
        transform = _guarded(f"{name}(mean, std)", lambda: getattr(augment_module, name)(mean, std))
        out = _guarded(f"the transform from {name} on a 32x32 PIL image", lambda: transform(image))
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (3, 32, 32) or not out.is_floating_point():
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise StudentCodeError(f"the transform from {name} returned {shape}; it must return a float tensor "
                                   "of shape (3, 32, 32) (end it with ToTensor() and Normalize(mean, std)).")
    return {"ok": True}


def job_checks(job: dict[str, Any]) -> dict[str, Any]:
    """What the grader's child needs to check the submission without running it (harness.grading.checks.export)."""
    from harness.grading.checks.export import hand_back

    model_module, augment_module = load_submission(Path(job["submission"]))
    return hand_back(model_module, augment_module, job["context"], job["outputs"])


def job_verdicts(job: dict[str, Any]) -> dict[str, Any]:
    """The checks' verdicts from what a submission's child handed back. Run in a child given no file of
    the submission: nothing here imports student code."""
    from harness.grading.checks import verdicts
    from harness.grading.checks.pipelines import BadPipeline
    from harness.grading.checks.program import BadProgram

    try:
        return {"checks": verdicts.compute(job)}
    except (BadProgram, BadPipeline) as error:
        return {"error": str(error)[:2000]}


def job_train(job: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from harness.engine.run import train_run
    from harness.engine.spec import PROFILES
    from harness.grading import coursework, held_out

    device = _claimed_device(job)
    model_module, augment_module = load_submission(Path(job["submission"]))
    profile = PROFILES[job["profile"]]
    spec = profile.apply(coursework.submission_spec(job["experiment"], dropout_rate=job["dropout_rate"]))
    spec = dataclasses.replace(spec, seed=job["seed"])  # a claim's extra reproduction runs under the next seeds
    dataset = held_out.read("cifar10", Path(job["data"]))
    components = coursework.submission_components(model_module, augment_module)
    try:
        history, metrics, arrays = train_run(spec, dataset, profile=profile, components=components,
                                             device=device, held_out=True)
    except StudentCodeError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever the student's model raised, said plainly
        raise StudentCodeError(f"training {job['experiment']} failed: {type(error).__name__}{_detail(error)}"
                               f"{_where(error)}") from None
    np.save(job["outputs"], arrays.pop("val_outputs"))  # the grader scores these against the labels it kept
    return {"history": history, "metrics": metrics, "arrays": arrays}


def job_gpu(job: dict[str, Any]) -> dict[str, Any]:
    """Can a child in this sandbox compute on the GPU, claimed as a training child claims it? Asked once
    before grading on one; no student code."""
    import torch

    x = torch.ones(256, 256, device=_claimed_device(job))
    return {"ok": bool(torch.isfinite(x @ x).all()), "device": torch.cuda.get_device_name(x.device)}


def _claimed_device(job: dict[str, Any]) -> torch.device:
    """The job's device; on a GPU, with CUDA's allocator capped at the job's share before any student code
    runs, so that a model asking too much by mistake fails alone."""
    import torch

    device = torch.device(job.get("device", "cpu"))
    if device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device() if device.index is None else device.index)
        total = torch.cuda.get_device_properties(device).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, job["gpu_memory_bytes"] / total), device)
    return device


JOBS = {"smoke": job_smoke, "checks": job_checks, "verdicts": job_verdicts, "train": job_train, "gpu": job_gpu}


def main(job_path: str) -> int:
    """Do the jobs of job.json in order; each one's result is written whole (renamed into place) before
    the next starts, so the grader can tell which job was under way if the process ends early. A smoke
    test that fails ends the child: the jobs after it need a submission that runs."""
    jobs = json.loads(Path(job_path).read_text())["jobs"]
    threads = int(os.environ.get("HARNESS_THREADS", "1"))
    from harness.engine import devices

    devices.training_process(threads)
    for job in jobs:
        try:
            result = JOBS[job["job"]](job)
        except StudentCodeError as error:
            result = {"error": str(error)}
        written = Path(job["result"]).with_suffix(".part")
        written.write_text(json.dumps(result, allow_nan=True))
        os.replace(written, job["result"])
        if job["job"] == "smoke" and result.get("ok") is not True:
            if job is not jobs[-1]:  # so that the grader waits for no more
                Path(job["stopped"]).touch()
            break
    return 0


if __name__ == "__main__":
    # run the imported module's main, so its exception classes are the ones the checks raise
    import harness.grading.child

    raise SystemExit(harness.grading.child.main(sys.argv[1]))
