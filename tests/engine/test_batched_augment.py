"""Batched augmentation against torchvision: same parameters give the same pixels, and the
parameters are drawn from the same distributions."""

import itertools

import numpy as np
import pytest
import torch
from scipy import stats
from torchvision import transforms as T
from torchvision.transforms import functional as F
from torchvision.transforms import v2
from torchvision.transforms.functional import to_pil_image
from torchvision.transforms.v2 import functional as F2

from harness.engine.batched_augment import Unsupported, compile_pipeline, twin
from harness.engine.batches import Batches
from harness.engine.data import Split
from harness.engine.inputs import augmentation_path, make_prepare

N = 48
# The batched twins run where training runs; torchvision's functional reference runs on the CPU.
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture
def images():
    torch.manual_seed(0)
    return torch.randint(0, 256, (N, 3, 32, 32), dtype=torch.uint8)


# The references take torchvision's functional module: v1's `F` or v2's `F2`, which name these alike.
def _affine_reference(image, p, i, rotation, functional=F):
    if rotation:
        return functional.rotate(image, float(p["angle"][i]))
    return functional.affine(image, float(p["angle"][i]), [int(p["tx"][i]), int(p["ty"][i])], float(p["scale"][i]),
                             [float(p["sx"][i]), float(p["sy"][i])])


def _jitter_reference(image, p, i, functional=F):
    adjust = {0: ("brightness", functional.adjust_brightness), 1: ("contrast", functional.adjust_contrast),
              2: ("saturation", functional.adjust_saturation), 3: ("hue", functional.adjust_hue)}
    for fn in p["order"][i].tolist():
        name, function = adjust[fn]
        if name in p:
            image = function(image, float(p[name][i]))
    return image


def _crop_reference(image, p, i, padding, size=(32, 32), functional=F):
    return functional.crop(functional.pad(image, padding), int(p["i"][i]), int(p["j"][i]), *size)


@pytest.mark.parametrize("transform, reference", [
    (T.RandomAffine(15, translate=(0.1, 0.2), scale=(0.8, 1.2), shear=(-10, 10, -5, 5)),
     lambda x, p, i: _affine_reference(x, p, i, False)),
    (T.RandomAffine(0, translate=(0.2, 0.2)), lambda x, p, i: _affine_reference(x, p, i, False)),
    (T.RandomRotation(45), lambda x, p, i: _affine_reference(x, p, i, True)),
    (T.RandomCrop(32, padding=4), lambda x, p, i: _crop_reference(x, p, i, [4])),
    (T.RandomCrop(24, padding=(2, 6)), lambda x, p, i: _crop_reference(x, p, i, [2, 6], (24, 24))),
    (T.RandomCrop((28, 30), padding=(1, 2, 3, 4)), lambda x, p, i: _crop_reference(x, p, i, [1, 2, 3, 4], (28, 30))),
    (T.ColorJitter(0.4, 0.4, 0.4, 0.1), _jitter_reference),
    (T.RandomHorizontalFlip(), lambda x, p, i: F.hflip(x) if p["flip"][i] else x),
    (T.RandomVerticalFlip(0.3), lambda x, p, i: F.vflip(x) if p["flip"][i] else x),
], ids=["affine", "translate", "rotation", "crop", "crop-smaller", "crop-uneven", "jitter", "hflip", "vflip"])
@pytest.mark.parametrize("device", DEVICES)
def test_same_parameters_give_torchvisions_pixels_exactly(images, transform, reference, device):
    batched = twin(transform)
    params = batched.sample(N, 32, 32)
    out = batched.apply(images.to(device), params).cpu()
    expected = torch.stack([reference(images[i], params, i) for i in range(N)])
    assert out.dtype == torch.uint8 and torch.equal(out, expected)


@pytest.mark.parametrize("transform", [T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.ColorJitter(0.3, 0.3, 0.3)],
                         ids=["with-hue", "strategy-2"])
@pytest.mark.parametrize("device", DEVICES)
def test_color_jitter_on_float_images_gives_torchvisions_values(images, transform, device):
    floats = images.float() / 255
    floats[0] += 0.5  # outside [0, 1]: only the adjustments applied to it may clamp it
    batched = twin(transform)
    params = batched.sample(N, 32, 32)
    expected = torch.stack([_jitter_reference(floats[i], params, i) for i in range(N)])
    out = batched.apply(floats.to(device), params).cpu()
    if device == "cpu":
        assert torch.equal(out, expected)
    else:  # the same formulas; CUDA's kernels round some steps differently (passes on an H200, torch 2.11)
        torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def _resized_crop_reference(image, p, i, size, antialias):
    box = [int(p[k][i]) for k in ("i", "j", "h", "w")]
    return F.resized_crop(image, *box, [size, size], antialias=antialias)


@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("size", [32, 24, 40])
@pytest.mark.parametrize("device", DEVICES)
def test_resized_crop_gives_torchvisions_pixels_within_one_level(images, size, antialias, device):
    """Exact at the image's own size (CIFAR's RandomResizedCrop(32)). Resizing to another size sums
    the same weights in another order (a matrix product, not ATen's loop): at most one level of 255
    on a few pixels, and float images agree to 2e-6."""
    batched = twin(T.RandomResizedCrop(size, antialias=antialias))
    params = batched.sample(N, 32, 32)
    out = batched.apply(images.to(device), params).cpu()
    expected = torch.stack([_resized_crop_reference(images[i], params, i, size, antialias) for i in range(N)])
    differ = (out.int() - expected.int()).abs()
    assert out.dtype == torch.uint8 and out.shape == (N, 3, size, size)
    assert differ.max() <= (0 if size == 32 else 1) and differ.gt(0).float().mean() < 0.005
    floats = images.float() / 255
    expected = torch.stack([_resized_crop_reference(floats[i], params, i, size, antialias) for i in range(N)])
    assert torch.allclose(batched.apply(floats.to(device), params).cpu(), expected, rtol=0, atol=2e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_erasing_sets_the_same_boxes_as_torchvision(images, device):
    floats = images.float() / 255
    batched = twin(T.RandomErasing(p=0.5, value=(0.1, 0.2, 0.3)))
    params = batched.sample(N, 32, 32)
    fill = torch.tensor([0.1, 0.2, 0.3]).view(3, 1, 1)
    expected = torch.stack([F.erase(floats[i], *(int(params[k][i]) for k in ("i", "j", "h", "w")), fill)
                            if params["erase"][i] else floats[i] for i in range(N)])
    assert torch.equal(batched.apply(floats.to(device), params).cpu(), expected)
    assert 0 < int(params["erase"].sum()) < N


def test_random_erasing_fills_only_the_box_with_standard_normal_noise():
    torch.manual_seed(6)
    x = torch.full((400, 3, 32, 32), 7.0)
    batched = twin(T.RandomErasing(p=1.0, value="random"))
    params = batched.sample(len(x), 32, 32)
    out = batched.apply(x, params)
    rows, cols = torch.arange(32).view(1, 32, 1), torch.arange(32).view(1, 1, 32)
    i, j, h, w = (params[k].view(-1, 1, 1) for k in ("i", "j", "h", "w"))
    box = ((rows >= i) & (rows < i + h) & (cols >= j) & (cols < j + w)).unsqueeze(1).expand_as(x)
    assert torch.equal(out[~box], x[~box])
    noise = out[box]
    assert abs(float(noise.mean())) < 0.02 and abs(float(noise.std()) - 1) < 0.02


def _draws(get_params, n=3000):
    torch.manual_seed(1)
    return [get_params() for _ in range(n)]


def _same_distribution(ours, theirs):
    assert stats.ks_2samp(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)).pvalue > 1e-3


def test_affine_parameters_follow_torchvisions_distributions():
    t = T.RandomAffine(20, translate=(0.1, 0.2), scale=(0.8, 1.2), shear=(-10, 10, -5, 5))
    torch.manual_seed(2)
    ours = twin(t).sample(3000, 32, 32)
    theirs = _draws(lambda: T.RandomAffine.get_params(t.degrees, t.translate, t.scale, t.shear, [32, 32]))
    _same_distribution(ours["angle"], [a for a, _, _, _ in theirs])
    _same_distribution(ours["tx"], [tx for _, (tx, _), _, _ in theirs])
    _same_distribution(ours["ty"], [ty for _, (_, ty), _, _ in theirs])
    _same_distribution(ours["scale"], [s for _, _, s, _ in theirs])
    _same_distribution(ours["sy"], [sh[1] for _, _, _, sh in theirs])


def test_crop_and_flip_parameters_follow_torchvisions_distributions():
    torch.manual_seed(3)
    ours = twin(T.RandomCrop(32, padding=4)).sample(3000, 32, 32)
    theirs = _draws(lambda: T.RandomCrop.get_params(torch.zeros(3, 40, 40), (32, 32)))
    _same_distribution(ours["i"], [i for i, _, _, _ in theirs])
    _same_distribution(ours["j"], [j for _, j, _, _ in theirs])
    flips = twin(T.RandomHorizontalFlip(0.3)).sample(20000, 32, 32)["flip"].float().mean()
    assert abs(flips - 0.3) < 4 * (0.3 * 0.7 / 20000) ** 0.5


def test_color_jitter_factors_and_order_follow_torchvisions_distributions():
    t = T.ColorJitter(0.4, 0.3, 0.2, 0.1)
    torch.manual_seed(4)
    ours = twin(t).sample(4800, 32, 32)
    theirs = _draws(lambda: T.ColorJitter.get_params(t.brightness, t.contrast, t.saturation, t.hue), 4800)
    for k, name in enumerate(("brightness", "contrast", "saturation", "hue"), start=1):
        _same_distribution(ours[name], [draw[k] for draw in theirs])
    permutations = {p: n for n, p in enumerate(itertools.permutations(range(4)))}
    counts = np.bincount([permutations[tuple(o)] for o in ours["order"].tolist()], minlength=24)
    assert stats.chisquare(counts).pvalue > 1e-3  # every one of the 24 orders equally likely, as randperm(4)


def test_resized_crop_boxes_follow_torchvisions_distributions():
    t = T.RandomResizedCrop(32, scale=(0.08, 1.0))
    torch.manual_seed(7)
    ours = twin(t).sample(4000, 32, 32)
    theirs = _draws(lambda: T.RandomResizedCrop.get_params(torch.zeros(3, 32, 32), t.scale, t.ratio), 4000)
    for k, name in enumerate(("i", "j", "h", "w")):
        _same_distribution(ours[name], [draw[k] for draw in theirs])
    # a setting where no try fits: both fall back to the same central crop
    wide = T.RandomResizedCrop(32, scale=(2.0, 3.0), ratio=(4.0, 5.0))
    fallback = twin(wide).sample(5, 32, 32)
    expected = T.RandomResizedCrop.get_params(torch.zeros(3, 32, 32), wide.scale, wide.ratio)
    assert all(tuple(int(fallback[k][s]) for k in ("i", "j", "h", "w")) == expected for s in range(5))


def test_erasing_boxes_and_rate_follow_torchvisions_distributions():
    t = T.RandomErasing(p=0.4)
    torch.manual_seed(8)
    ours = twin(t).sample(20000, 32, 32)
    erased = ours["erase"]
    assert abs(float(erased.float().mean()) - 0.4) < 4 * (0.4 * 0.6 / 20000) ** 0.5
    theirs = _draws(lambda: T.RandomErasing.get_params(torch.zeros(3, 32, 32), t.scale, t.ratio, [0.0]), 4000)
    for k, name in enumerate(("i", "j", "h", "w")):
        _same_distribution(ours[name][erased][:4000], [draw[k] for draw in theirs])


def test_a_student_pipeline_compiles_and_normalizes_like_torchvision(images):
    mean, std = [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]
    validation = compile_pipeline(T.Compose([T.ToTensor(), T.Normalize(mean, std)]))
    expected = torch.stack([T.Normalize(mean, std)(T.ToTensor()(to_pil_image(i))) for i in images])
    assert torch.allclose(validation(images), expected, atol=1e-6)
    strategy = compile_pipeline(T.Compose([T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4),
                                           T.ColorJitter(0.3, 0.3, 0.3), T.ToTensor(), T.Normalize(mean, std)]))
    out = strategy(images)
    assert out.shape == (N, 3, 32, 32) and out.dtype == torch.float32 and not torch.equal(out, expected)


@pytest.mark.parametrize("transform", [
    T.RandomResizedCrop(32, interpolation=T.InterpolationMode.NEAREST), T.RandomErasing(inplace=True),
    T.RandomPerspective(), T.RandomRotation(10, interpolation=T.InterpolationMode.BILINEAR),
    T.RandomCrop(32, padding=4, padding_mode="reflect"), T.Lambda(lambda x: x),
])
def test_steps_without_a_batched_twin_fall_back_to_torchvision(transform):
    with pytest.raises(Unsupported):
        twin(transform)
    pipeline = T.Compose([T.RandomHorizontalFlip(), transform, T.ToTensor()]) if not isinstance(
        transform, T.RandomErasing) else T.Compose([T.ToTensor(), transform])
    assert compile_pipeline(pipeline) is None
    assert augmentation_path(None, pipeline) == "per-sample torchvision"


def test_the_fallback_path_runs_torchvision_per_sample(images):
    pipeline = T.Compose([T.RandomPerspective(0.3, p=1.0), T.ToTensor()])
    torch.manual_seed(5)
    out = make_prepare(pipeline=pipeline)(images[:4])
    torch.manual_seed(5)
    expected = torch.stack([pipeline(to_pil_image(i)) for i in images[:4]])
    assert torch.equal(out, expected)
    assert augmentation_path(None, T.Compose([T.RandomHorizontalFlip(), T.ToTensor()])) == "batched"


def test_a_run_records_which_augmentation_path_it_took(synth_root):
    from harness.engine.run import run_spec
    from harness.engine.spec import PROFILES
    from reference.experiments import EXPERIMENTS

    record = run_spec(EXPERIMENTS["cw_aug2"], profile=PROFILES["check"], data_root=synth_root, download=False)
    assert record.arrays["augmentation_path"] == "batched"
    assert record.arrays["train_step"] == "eager"  # a CUDA graph only on a GPU
    assert "augmentation_path" not in run_spec(EXPERIMENTS["cw_baseline"], profile=PROFILES["check"],
                                               data_root=synth_root, download=False).arrays


@pytest.mark.gpu
def test_preparing_batches_on_a_gpu_never_waits_for_it(images):
    """Parameters are drawn on the host; a blocking copy of them would make the host wait for every
    queued training step at every batch. Every twin, the scaling and normalization, and the epoch's
    order, under torch's sync debug mode."""
    pipeline = T.Compose([
        T.RandomHorizontalFlip(), T.RandomVerticalFlip(), T.RandomCrop(32, padding=4),
        T.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5), T.RandomRotation(10),
        T.ColorJitter(0.3, 0.3, 0.3, 0.1), T.RandomResizedCrop(32, antialias=True), T.ToTensor(),
        T.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3]), T.RandomErasing(value=(1, 2, 3)), T.RandomErasing(value="random"),
    ])
    assert compile_pipeline(pipeline) is not None
    split = Split(images, torch.arange(N) % 10)
    cuda = torch.device("cuda")
    for prepare in (make_prepare(pipeline=pipeline),
                    make_prepare(augment=pipeline.transforms[5], mean=[0.5] * 3, std=[0.2] * 3, channels_last=True)):
        batches = Batches(split, batch_size=16, prepare=prepare, device=cuda, shuffle_seed=0)
        list(batches)  # the first pass allocates the pinned blocks and sends the constants
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            prepared = [inputs for inputs, _ in batches]
        finally:
            torch.cuda.set_sync_debug_mode("default")
        assert len(prepared) == N // 16 and prepared[0].is_cuda and prepared[0].dtype == torch.float32


# torchvision.transforms.v2: the same twins, held to v2's own functional kernels and parameter draws
def _resized_crop_v2(image, p, i, size=32):
    return F2.resized_crop(image, *(int(p[k][i]) for k in ("i", "j", "h", "w")), [size, size], antialias=True)


def _erase_v2(image, p, i):
    if not p["erase"][i]:
        return image
    return F2.erase(image, *(int(p[k][i]) for k in ("i", "j", "h", "w")), torch.tensor([0.1, 0.2, 0.3]).view(3, 1, 1))


V2_CASES = {  # transform, reference, most levels of 255 apart on uint8, share of pixels that may differ
    "affine": (v2.RandomAffine(15, translate=(0.1, 0.2), scale=(0.8, 1.2), shear=(-10, 10, -5, 5)),
               lambda x, p, i: _affine_reference(x, p, i, False, F2), 0, 0),
    "rotation": (v2.RandomRotation(45), lambda x, p, i: _affine_reference(x, p, i, True, F2), 0, 0),
    "crop": (v2.RandomCrop(32, padding=4), lambda x, p, i: _crop_reference(x, p, i, [4], functional=F2), 0, 0),
    "crop-uneven": (v2.RandomCrop((28, 30), padding=(1, 2, 3, 4)),
                    lambda x, p, i: _crop_reference(x, p, i, [1, 2, 3, 4], (28, 30), F2), 0, 0),
    "hflip": (v2.RandomHorizontalFlip(), lambda x, p, i: F2.horizontal_flip(x) if p["flip"][i] else x, 0, 0),
    "vflip": (v2.RandomVerticalFlip(0.3), lambda x, p, i: F2.vertical_flip(x) if p["flip"][i] else x, 0, 0),
    # v2 blends with fused multiply-adds and resizes uint8 in integer arithmetic; the twins follow v1
    "jitter": (v2.ColorJitter(0.4, 0.4, 0.4, 0.1), lambda x, p, i: _jitter_reference(x, p, i, F2), 2, 0.001),
    "resized-crop": (v2.RandomResizedCrop(32), _resized_crop_v2, 1, 0.25),
    "erasing": (v2.RandomErasing(p=0.5, value=(0.1, 0.2, 0.3)), _erase_v2, 0, 0),
}


@pytest.mark.parametrize("case", list(V2_CASES))
@pytest.mark.parametrize("device", DEVICES)
def test_v2_transforms_are_batched_and_give_v2s_pixels(images, case, device):
    """Exact for the geometric ones; the rest within the stated levels of 255 on uint8, and 2e-6 on
    floats (1e-5 on a GPU, whose kernels round some steps differently, as for v1's ColorJitter)."""
    transform, reference, levels, share = V2_CASES[case]
    batched = twin(transform)
    params = batched.sample(N, 32, 32)
    floats = images.float() / 255
    if case != "erasing":  # erasing works on float images only, as in v2
        out = batched.apply(images.to(device), params).cpu()
        differ = (out.int() - torch.stack([reference(images[i], params, i) for i in range(N)]).int()).abs()
        assert out.dtype == torch.uint8 and differ.max() <= levels and differ.gt(0).float().mean() <= share
    expected = torch.stack([reference(floats[i], params, i) for i in range(N)])
    torch.testing.assert_close(batched.apply(floats.to(device), params).cpu(), expected, rtol=0,
                               atol=0 if levels == 0 else 2e-6 if device == "cpu" else 1e-5)


def _v2_draws(transform, n):
    torch.manual_seed(1)
    draw = getattr(transform, "make_params", None) or transform._get_params  # public from torchvision 0.21
    return [draw([torch.zeros(3, 32, 32, dtype=torch.uint8)]) for _ in range(n)]


def test_v2_parameters_follow_v2s_distributions():
    affine = v2.RandomAffine(20, translate=(0.1, 0.2), scale=(0.8, 1.2), shear=(-10, 10, -5, 5))
    torch.manual_seed(2)
    ours, theirs = twin(affine).sample(3000, 32, 32), _v2_draws(affine, 3000)
    _same_distribution(ours["angle"], [d["angle"] for d in theirs])
    _same_distribution(ours["tx"], [d["translate"][0] for d in theirs])
    _same_distribution(ours["scale"], [d["scale"] for d in theirs])
    _same_distribution(ours["sy"], [d["shear"][1] for d in theirs])
    crop = v2.RandomCrop((28, 30), padding=(1, 2, 3, 4))
    ours, theirs = twin(crop).sample(3000, 32, 32), _v2_draws(crop, 3000)
    _same_distribution(ours["i"], [d["top"] for d in theirs])
    _same_distribution(ours["j"], [d["left"] for d in theirs])
    jitter = v2.ColorJitter(0.4, 0.3, 0.2, 0.1)
    ours, theirs = twin(jitter).sample(3000, 32, 32), _v2_draws(jitter, 3000)
    for name in ("brightness", "contrast", "saturation", "hue"):
        _same_distribution(ours[name], [d[f"{name}_factor"] for d in theirs])
    resized = v2.RandomResizedCrop(32)
    ours, theirs = twin(resized).sample(3000, 32, 32), _v2_draws(resized, 3000)
    for ours_key, theirs_key in (("i", "top"), ("j", "left"), ("h", "height"), ("w", "width")):
        _same_distribution(ours[ours_key], [d[theirs_key] for d in theirs])


def test_a_v2_student_pipeline_is_batched_and_converts_and_normalizes_as_v2_does(images):
    mean, std = [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]
    finish = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    validation = v2.Compose(finish)
    expected = torch.stack([validation(to_pil_image(i)).as_subclass(torch.Tensor) for i in images])
    assert torch.equal(compile_pipeline(validation)(images), expected)
    strategy = v2.Compose([v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4),
                           v2.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1)), v2.ColorJitter(0.3, 0.3, 0.3),
                           *finish])
    out = compile_pipeline(strategy)(images)
    assert out.shape == (N, 3, 32, 32) and out.dtype == torch.float32 and not torch.equal(out, expected)
    assert augmentation_path(None, strategy) == "batched"


@pytest.mark.parametrize("step", [v2.ToDtype(torch.float32), v2.RandomPerspective(),
                                  v2.RandomCrop(32, padding=4, padding_mode="edge"), v2.RandomRotation(10, fill=127)],
                         ids=["unscaled-float", "perspective", "edge-padding", "fill"])
def test_v2_steps_without_a_batched_twin_fall_back_to_torchvision(step):
    pipeline = v2.Compose([v2.RandomHorizontalFlip(), v2.ToImage(), step, v2.ToDtype(torch.float32, scale=True)])
    assert compile_pipeline(pipeline) is None
    assert augmentation_path(None, pipeline) == "per-sample torchvision"
