"""What a submission's child hands back for the checks, and what the grader's child accepts of it.

A program is data (names from an allowlist of ATen operators, plain arguments, float32 weights) and a
pipeline is torchvision classes with plain arguments: a doctored handover is refused before anything
in it runs, and nothing handed back is ever unpickled.
"""

import copy
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision import transforms as T
from torchvision.transforms import v2
from torchvision.transforms.functional import to_pil_image

from harness.grading.checks import pipelines, program, verdicts
from harness.grading.checks.export import export_models
from harness.grading.checks.subjects import BATCH
from harness.grading.child import load_submission

EXAMPLES = Path(__file__).resolve().parents[2] / "submissions"


@pytest.fixture(scope="module")
def handover():
    model_module, _ = load_submission(EXAMPLES / "correct")
    data, flat = export_models(model_module.CNNModel, 0.3)
    return model_module, json.loads(json.dumps(data)), flat


def test_a_program_computes_what_its_model_computes_and_keeps_its_running_statistics(handover):
    model_module, data, flat = handover
    exported = program.load(data, flat)
    torch.manual_seed(0)
    model = model_module.CNNModel(use_batchnorm=True)
    x = torch.randn(BATCH, 3, 32, 32)
    with torch.no_grad():
        for mode in ("train", "eval"):
            getattr(model, mode)()
            assert torch.allclose(model(x), exported.programs["batchnorm"][mode](x), atol=1e-5), mode
    state = exported.states["batchnorm"]
    for name, buffer in model.named_buffers():  # one training pass each: the same running statistics
        assert torch.allclose(state[name].double(), buffer.double(), atol=1e-6), name
    assert exported.parameters["batchnorm"] == {name for name, _ in model.named_parameters()}


def test_a_program_trains_as_its_model_trains(handover):
    model_module, data, flat = handover
    exported = program.load(data, flat)
    torch.manual_seed(0)
    model = model_module.CNNModel()
    state = exported.states["base"]
    parameters = [state[name].requires_grad_() for name, _ in model.named_parameters()]
    x, y = torch.randn(BATCH, 3, 32, 32), torch.randint(0, 10, (BATCH,))
    for params, forward in ((list(model.parameters()), model), (parameters, exported.programs["base"]["train"])):
        optimizer = torch.optim.Adam(params, lr=1e-3)
        torch.nn.functional.cross_entropy(forward(x), y).backward()
        optimizer.step()
    for (name, weight), mine in zip(model.named_parameters(), parameters):
        assert torch.allclose(weight, mine, atol=1e-6), name


def _first_node(data):
    return data["programs"]["base/train"]["nodes"][0]


def _set_target(target):
    return lambda data: _first_node(data).__setitem__(1, target)


DOCTORED = {
    "calls torch.save": (_set_target("torch.save"), "not an allowed ATen operator"),
    "calls builtins.eval": (_set_target("builtins.eval"), "not an allowed ATen operator"),
    "reads a file with aten.from_file": (_set_target("aten.from_file.default"), "not an allowed ATen operator"),
    "names an overload that does not exist": (_set_target("aten.conv2d.nosuch"), "not an ATen operator"),
    "walks an attribute path": (_set_target("aten.conv2d.default.__class__"), "not an allowed ATen operator"),
    "refers to a node before it is computed": (
        lambda data: _first_node(data)[2].__setitem__(0, {"node": data["programs"]["base/train"]["nodes"][-1][0]}),
        "cannot be read"),
    "defines a node twice": (
        lambda data: data["programs"]["base/train"]["nodes"].append(copy.deepcopy(_first_node(data))),
        "defined twice"),
    "holds an argument of an unknown kind": (
        lambda data: _first_node(data)[2].append({"pickle": "gASVAAAA"}), "cannot be read"),
    "points a weight outside the array": (
        lambda data: next(iter(data["state"]["base"].values())).__setitem__("offset", 10**9), "outside the weights"),
    "declares a weight of another dtype": (
        lambda data: next(iter(data["state"]["base"].values())).__setitem__("dtype", "object"), "malformed"),
    "reads a tensor of no model": (
        lambda data: data["programs"]["base/train"]["inputs"][0].__setitem__(1, "elsewhere.weight"),
        "the model's own tensors"),
    "is of another format": (lambda data: data.__setitem__("format", 99), "format 1"),
}


@pytest.mark.parametrize("doctoring", list(DOCTORED))
def test_a_doctored_program_is_refused_before_anything_in_it_runs(handover, doctoring):
    _, data, flat = handover
    doctored = copy.deepcopy(data)
    change, phrase = DOCTORED[doctoring]
    change(doctored)
    with pytest.raises(program.BadProgram, match=phrase):
        program.load(doctored, flat)


class Payload:
    """A pickle that leaves a mark when something unpickles it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_weights_handed_back_as_a_pickle_are_refused_and_never_unpickled(handover, tmp_path):
    _, data, _ = handover
    marker = tmp_path / "unpickled"
    weights = tmp_path / "weights.npy"
    np.save(weights, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    job = {"parts": ["model"], "context": {"dropout_rate": 0.3}, "programs": data, "weights": str(weights)}
    with pytest.raises(program.BadProgram, match="not a plain array"):
        verdicts.compute(job)
    assert not marker.exists()


def test_torch_export_load_runs_what_a_doctored_archive_says_which_is_why_the_grader_never_calls_it(tmp_path):
    """The finding behind harness.grading.checks.program's own format (torch 2.14): an archive whose weights
    config marks an entry as pickled is unpickled by torch.export.load, payload and all."""
    archive, doctored, marker = tmp_path / "model.pt2", tmp_path / "doctored.pt2", tmp_path / "unpickled"
    torch.export.save(torch.export.export(torch.nn.Linear(3, 2), (torch.zeros(1, 3),)), archive)
    with zipfile.ZipFile(archive) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    [config_name] = [name for name in entries if name.endswith("model_weights_config.json")]
    config = json.loads(entries[config_name])
    config["config"]["bias"]["use_pickle"] = True
    entries[config_name] = json.dumps(config).encode()
    buffer = io.BytesIO()
    torch.save(Payload(marker), buffer)
    entries[config_name.replace("model_weights_config.json", config["config"]["bias"]["path_name"])] = buffer.getvalue()
    with zipfile.ZipFile(doctored, "w") as out:
        for name, content in entries.items():
            out.writestr(name, content)
    with pytest.raises(Exception):  # it notices the bias is not a Parameter: after unpickling it
        torch.export.load(doctored)
    assert marker.exists()


def _images(n=4):
    return [to_pil_image(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)) for _ in range(n)]


def test_a_pipeline_rebuilds_from_its_description_into_the_same_images():
    pipeline = T.Compose([T.RandomApply([T.ColorJitter(0.5, 0.5, 0.5)], p=0.8), T.RandomRotation(15),
                          T.ToTensor(), T.Normalize([0.5] * 3, [0.25] * 3), T.RandomErasing()])
    data = json.loads(json.dumps(pipelines.round_trip(pipeline, _images())))
    copy_ = pipelines.rebuild(data)
    for image in _images():
        torch.manual_seed(3)
        expected = pipeline(image)
        torch.manual_seed(3)
        assert torch.equal(copy_(image), expected)


@pytest.mark.parametrize("family", [T, v2])
def test_policies_and_random_choices_are_described_in_either_family(family):
    finish = [T.ToTensor()] if family is T else [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    pipeline = family.Compose([
        family.AutoAugment(family.AutoAugmentPolicy.CIFAR10),
        family.RandomChoice([family.RandomHorizontalFlip(), family.RandomVerticalFlip(), family.RandomRotation(30)]),
        family.RandomOrder([family.RandomGrayscale(0.5), family.RandomInvert()]),
        *finish,
    ])
    data = json.loads(json.dumps(pipelines.round_trip(pipeline, _images())))
    assert data["args"]["transforms"][0]["args"]["policy"] == {"policy": "cifar10"}
    assert isinstance(pipelines.rebuild(data).transforms[0].policy, T.AutoAugmentPolicy)


@pytest.mark.parametrize("array", [torch.tensor, np.array, lambda values: np.float32(values[0])],
                         ids=["torch", "numpy", "numpy_scalar"])
def test_statistics_given_as_tensors_or_arrays_are_described_by_their_values(array):
    mean, std = [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]
    pipeline = T.Compose([T.RandomCrop(32, padding=4, padding_mode="reflect"), T.ToTensor(),
                          T.Normalize(array(mean), array(std)), T.RandomErasing()])
    data = json.loads(json.dumps(pipelines.round_trip(pipeline, _images())))
    normalize = pipelines.rebuild(data).transforms[2]
    assert torch.allclose(torch.as_tensor(normalize.mean, dtype=torch.float64), torch.as_tensor(array(mean)).double())


def test_a_tensor_argument_too_large_to_be_a_statistic_is_not_described():
    pipeline = T.Compose([T.ToTensor(), T.Normalize(torch.zeros(3, 32, 32), torch.ones(3, 32, 32))])
    with pytest.raises(pipelines.NotDescribable, match="tensor of 3072 values"):
        pipelines.round_trip(pipeline, _images())


class MyFlip(T.RandomHorizontalFlip):
    def forward(self, img):
        return img


@pytest.mark.parametrize("pipeline, phrase", [
    (T.Compose([T.Lambda(lambda x: x), T.ToTensor()]), "Lambda"),
    (T.Compose([MyFlip(), T.ToTensor()]), "MyFlip"),
])
def test_a_pipeline_with_code_of_its_own_is_not_described(pipeline, phrase):
    with pytest.raises(pipelines.NotDescribable, match=phrase):
        pipelines.round_trip(pipeline, _images())


def test_a_torchvision_transform_patched_on_the_instance_is_caught_by_the_round_trip():
    flip = T.RandomHorizontalFlip(p=1.0)
    flip.forward = lambda img: img  # looks like a flip, does nothing
    with pytest.raises(pipelines.NotDescribable, match="gives other images"):
        pipelines.round_trip(T.Compose([flip, T.ToTensor()]), _images())


@pytest.mark.parametrize("description", [
    {"class": "v1.Lambda", "args": {"lambd": None}},
    {"class": "os.system", "args": {}},
    {"class": "v1.Compose", "args": {"transforms": [{"class": "builtins.eval", "args": {}}]}},
    {"class": "v1.RandomApply", "args": {"transforms": [{"pickle": "gASV"}], "p": 0.5}},
    {"class": "v1.Normalize", "args": {"mean": [0.5], "std": [0.2], "exec": "print(1)"}},
    {"class": "v1.ToTensor", "args": {}, "code": "print(1)"},
    {"class": "v1.Normalize", "args": {"mean": {"tensor": ["__import__('os')"], "dtype": "float32"}, "std": [0.2]}},
    {"class": "v1.Normalize", "args": {"mean": {"tensor": [0.5] * 5000, "dtype": "float32"}, "std": [0.2]}},
    {"class": "v1.Normalize", "args": {"mean": {"tensor": [0.5], "dtype": "complex128"}, "std": [0.2]}},
    {"class": "v1.AutoAugment", "args": {"policy": {"policy": "__import__('os')"}}},
])
def test_a_doctored_pipeline_description_is_refused(description):
    with pytest.raises(pipelines.BadPipeline):
        pipelines.rebuild(description)
