import torch
from scipy import stats
from torchvision.transforms.functional import to_pil_image, to_tensor

from harness.grading.checks.pipelines import seed_draws
from harness.grading.checks.subjects import TRANSFORMS
from harness.grading.checks.support import expect, for_each, student

SAMPLES, REPEATS = 96, 10
# a strategy 2 already this clearly stronger after FIRST draws per image is not drawn further: the later draws
# are for strategy 2s whose own transforms come first, so their draws pair less well (p = 0.055 after 4 draws,
# 0.00095 after 10, for ColorJitter put before strategy 1's flip and crop)
FIRST, CLEAR = 4, 1e-4
# a strategy augments when at least VARIED of the images come out more than one way over DRAWS draws: an
# augmentation applied with p = 0.1 varies 34% of them (RandomGrayscale(0.1) alone failed the 2-draw, 25% rule),
# one applied with p = 0.02 varies 8%, and a deterministic pipeline none
DRAWS, VARIED = 4, 0.1
OUTSIDE = 0.02  # the share of values a normalized batch may have outside [0, 1] once Normalize is undone
# Normalize undone, N(0, 1) noise put in before Normalize leaves a few values (RandomErasing(p=1, value="random"):
# 10%, at most FEW) far outside [0, 1], beyond [-FAR, 1 + FAR] (-4.3 to 3.8); another mean and std than the given
# ones map the images within that (ImageNet's: -0.03 to 1.14 with 21% outside, a mean of 0: 0.45 to 1.49, a std of
# 0.5: 0.18 to 0.74), and a second Normalize puts MOST of them or more outside (88%)
FEW, FAR, MOST = 0.25, 1.0, 0.5
SHIFT = 4  # pixels: the reach of RandomCrop(32, padding=4), the mildest augmentation the coursework sees


def _apply(transform, name, pil_images):
    with student(f"applying {name} to a 32x32 PIL image"):
        return [transform(image) for image in pil_images]


def _reference(image, context):
    mean = torch.tensor(context["mean"]).view(3, 1, 1)
    std = torch.tensor(context["std"]).view(3, 1, 1)
    return (to_tensor(image) - mean) / std


def _normalize_undone(outputs: torch.Tensor, context) -> tuple[float, float, float, float]:
    """A batch of outputs with Normalize(mean, std) undone: its lowest and highest value, the share of values
    outside [0, 1], and the narrowest channel's 1%-99% spread."""
    mean = torch.tensor(context["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(context["std"]).view(1, 3, 1, 1)
    raw = (outputs * std + mean).transpose(0, 1).flatten(1)
    outside = float(((raw < -0.01) | (raw > 1.01)).float().mean())
    spread = float((raw.quantile(0.99, dim=1) - raw.quantile(0.01, dim=1)).min())
    return float(raw.min()), float(raw.max()), outside, spread


def _normalized(outside: float, spread: float) -> bool:
    """Undone, a normalized batch spans [0, 1] and stays inside it but for a few values: RandomErasing(value=
    "random") after Normalize fills 0.4% (p=0.5) to 0.8% (p=1) of them with noise that is no mistake, while
    ImageNet's statistics in place of the given ones put 7% to 20% outside, and pixels left at 0..255 all."""
    return outside <= OUTSIDE and spread > 0.6


def _likely_cause(outputs: torch.Tensor, low: float, high: float, outside: float) -> str:
    """What the usual mistakes leave behind (`low`, `high` and `outside` as `_normalize_undone` gives them): pixels
    still 0..255, images in [0, 1] never normalized, noise drawn for normalized images put in before Normalize, or
    other statistics than the given ones."""
    if high > 10:
        return ("The pixels were never scaled from 0..255 to [0, 1]: ToTensor() scales them; in v2, "
                "ToDtype(torch.float32, scale=True) does (without scale=True it only changes the type).")
    if float(outputs.min()) > -0.01 and float(outputs.max()) < 1.01:
        return ("The outputs themselves lie in [0, 1], as images do before Normalize(mean, std): is it missing, or "
                "does a transform after it clip to [0, 1] (v2.GaussianNoise does unless clip=False)?")
    if outside <= FEW and (low < -FAR or high > 1 + FAR):
        return ("A few values lie far outside the image's range: noise drawn for normalized images went in before "
                "Normalize. RandomErasing(value='random') fills with N(0, 1) values: put it after Normalize.")
    if outside < MOST and low > -FAR and high < 1 + FAR:
        return ("The values lie just outside [0, 1] or short of spanning it: the images were normalized with other "
                "statistics than the mean and std the function is given (an ImageNet recipe's (0.485, 0.456, 0.406) "
                "and (0.229, 0.224, 0.225) are not CIFAR-10's): pass the given ones to Normalize.")
    return "End the pipeline with ToTensor() and Normalize(mean, std), once."


def test_transforms_return_normalized_tensors(transform, images, context):
    """Each transform turns a 32x32 RGB image into a finite float tensor of shape (3, 32, 32), normalized with the given mean/std."""
    pil = [to_pil_image(img) for img in images[0][:SAMPLES]]

    def normalized(name):
        outputs = _apply(transform(name), name, pil)
        bad = [o for o in outputs if not (isinstance(o, torch.Tensor) and o.shape == (3, 32, 32) and o.is_floating_point())]
        expect(not bad, f"{name} should return float tensors of shape (3, 32, 32); it returned "
               f"{type(bad[0]).__name__ if bad else ''} {getattr(bad[0], 'shape', '') if bad else ''}.",
               what="output", measured=str(getattr(bad[0], "shape", type(bad[0]).__name__)) if bad
               else "(3, 32, 32) float", bound="(3, 32, 32) float")
        non_finite = sum(int((~torch.isfinite(o)).sum()) for o in outputs)
        expect(non_finite == 0, f"{name} produced {non_finite} NaN or infinite values.",
               what="NaN/inf values", measured=non_finite, bound=0)
        low, high, outside, spread = _normalize_undone(torch.stack(outputs), context)
        expect(_normalized(outside, spread),
               f"{name}'s outputs are not images normalized with the mean/std it was given: undoing "
               f"Normalize(mean, std) leaves {outside:.1%} of values outside [0, 1] (from {low:.2f} to {high:.2f}, "
               f"spread {spread:.2f}) instead of spanning [0, 1]. {_likely_cause(torch.stack(outputs), low, high, outside)}",
               what=f"{name}, Normalize undone",
               measured=f"{outside:.1%} outside [0, 1] ({low:.2f} to {high:.2f}), spread {spread:.2f}",
               bound=f"at most {OUTSIDE:.0%} outside [0, 1], spread > 0.6")

    for_each(TRANSFORMS, normalized)


def test_validation_transform_has_no_random_augmentation(transform, images, context):
    """val_transform only converts and normalizes: it is deterministic and equals (image/255 - mean)/std exactly."""
    pipeline = transform("val_transform")
    pil = [to_pil_image(img) for img in images[0][:SAMPLES]]
    first, second = _apply(pipeline, "val_transform", pil), _apply(pipeline, "val_transform", pil)
    differ = sum(not torch.equal(a, b) for a, b in zip(first, second))
    expect(differ == 0, f"val_transform gave different results for the same image ({differ} of {len(pil)} images): "
           "it contains a random augmentation. Validation images must only be converted and normalized.",
           what="images differing on a second pass", measured=differ, bound=0)
    error = max(float((out - _reference(img, context)).abs().max()) for out, img in zip(first, pil))
    low, high, outside, spread = _normalize_undone(torch.stack(first), context)
    why = (_likely_cause(torch.stack(first), low, high, outside) if not _normalized(outside, spread) else
           "Keep augmentation out of validation and use the train-set mean/std it is given.")
    expect(error < 2e-3, f"val_transform changes images beyond ToTensor+Normalize(mean, std) (max difference "
           f"{error:.3f}). {why}",
           what="difference from ToTensor+Normalize", measured=round(error, 4), bound="< 2e-3")


def _distortion(runs: torch.Tensor, plain: torch.Tensor, context) -> tuple[torch.Tensor, bool]:
    """Per image, averaged over its draws (`runs`: draws x images): how far the augmented image is from the plain
    normalized one beyond a shift (`_beyond_a_shift`); and whether the outputs had to be brought onto the
    normalized scale first."""
    _, _, outside, spread = _normalize_undone(runs.flatten(0, 1), context)
    rescaled = not _normalized(outside, spread)
    if rescaled:
        runs = _onto(runs, plain)
    return _beyond_a_shift(runs, plain).mean(0), rescaled


def _beyond_a_shift(runs: torch.Tensor, plain: torch.Tensor) -> torch.Tensor:
    """Per draw: the mean squared difference from the plain image, over the part they share, under the shift of
    up to SHIFT pixels that fits best. Pixel for pixel, a 4-pixel crop's black border outweighs a zoom, a
    rotation or RandAugment, so flip plus RandomCrop(32, padding=4) measured stronger than RandomResizedCrop(32);
    with the shift undone, every strategy a teacher calls stronger measured stronger."""
    size = plain.shape[-1]
    best = torch.full(runs.shape[:2], torch.inf)
    for dy in range(-SHIFT, SHIFT + 1):
        for dx in range(-SHIFT, SHIFT + 1):
            (ys, yp), (xs, xp) = _overlap(dy, size), _overlap(dx, size)
            error = (runs[..., ys, xs] - plain[..., yp, xp]).square().mean(dim=(-3, -2, -1))
            best = torch.minimum(best, error)
    return best


def _overlap(shift: int, size: int) -> tuple[slice, slice]:
    """Where an image shifted by `shift` pixels and the unshifted one meet, in each."""
    return slice(max(shift, 0), size + min(shift, 0)), slice(max(-shift, 0), size + min(-shift, 0))


def _paired_draws(pipeline, name, pil, repeats: range) -> torch.Tensor:
    """The outputs of each image for `repeats`, each draw seeded by its repeat and image, the same for both
    strategies: a strategy 2 that begins as strategy 1 draws the same flips and crops, so the paired test weighs
    what it adds, not one random crop against another (independent draws failed strategy 1 plus RandomErasing)."""
    draws = []
    with student(f"applying {name} to a 32x32 PIL image"):
        for repeat in repeats:
            for i, image in enumerate(pil):
                seed_draws(repeat * len(pil) + i)
                draws.append(pipeline(image))
    return torch.stack(draws).unflatten(0, (len(repeats), len(pil)))


def _onto(runs: torch.Tensor, plain: torch.Tensor) -> torch.Tensor:
    """Outputs on another scale than the normalized images (pixels left at 0..255, Normalize missing) mapped
    onto it, channel by channel, by their mean and spread: a normalization mistake is the other check's to
    fail, and must not decide which strategy distorts more."""
    dims = (0, 1, 3, 4)
    gain = plain.std(dim=(0, 2, 3)) / runs.std(dim=dims).clamp_min(1e-12)
    shift = plain.mean(dim=(0, 2, 3)) - gain * runs.mean(dim=dims)
    return runs * gain.view(1, 1, 3, 1, 1) + shift.view(1, 1, 3, 1, 1)


def test_training_transforms_are_random(transform, images):
    """Both training transforms augment: the same image comes out differently on different draws."""
    pil = [to_pil_image(img) for img in images[0][:32]]

    def random(name):
        pipeline = transform(name)
        seed_draws(0)  # v1's RandomChoice and RandomOrder draw from Python's generator, the rest from torch's
        draws = [_apply(pipeline, name, pil) for _ in range(DRAWS)]
        varied = sum(any(not torch.equal(outputs[0], other) for other in outputs[1:]) for outputs in zip(*draws))
        share = varied / len(pil)
        expect(share >= VARIED, f"{name} gave the same output on all {DRAWS} draws for {1 - share:.0%} of images: "
               "it does not look like a random augmentation; add random transforms before ToTensor (for example "
               "RandomHorizontalFlip(), RandomCrop(32, padding=4)).",
               what=f"{name}: share of images that varied over {DRAWS} draws",
               measured=round(share, 3), bound=f">= {VARIED}")

    for_each(TRANSFORMS[:2], random)


def _compared(transform, pil, context) -> tuple[torch.Tensor, torch.Tensor, float, list[str]]:
    """Each strategy's distortion per image, the one-sided p-value that strategy 2's is larger, and the strategies
    measured on the normalized scale: FIRST draws per image, and the rest up to REPEATS unless that was clear."""
    plain = torch.stack([_reference(i, context) for i in pil])
    draws = {name: [] for name in TRANSFORMS[:2]}
    for repeats in (range(FIRST), range(FIRST, REPEATS)):
        for name in TRANSFORMS[:2]:
            draws[name].append(_paired_draws(transform(name), name, pil, repeats))
        (one, rescaled_1), (two, rescaled_2) = (_distortion(torch.cat(draws[name]), plain, context)
                                                for name in TRANSFORMS[:2])
        p = 1.0 if torch.equal(one, two) else float(stats.wilcoxon(two.numpy(), one.numpy(),
                                                                     alternative="greater").pvalue)
        if float(two.mean()) > float(one.mean()) and p < CLEAR:
            break
    return one, two, p, [name for name, r in zip(TRANSFORMS[:2], (rescaled_1, rescaled_2)) if r]


def test_strategy_2_is_stronger_than_strategy_1(transform, images, context):
    """Strategy 2 distorts images measurably more than strategy 1, beyond what a shift of up to 4 pixels explains (paired test over images, p < 0.01)."""
    pil = [to_pil_image(img) for img in images[0][:SAMPLES]]
    one, two, p, rescaled = _compared(transform, pil, context)
    same = torch.equal(one, two)
    how = ("exactly as much as train_transform_1, image by image: the same augmentation" if same else
           f"by {float(two.mean()):.3f} on average against {float(one.mean()):.3f} for train_transform_1 "
           f"(p = {p:.3g}), beyond a shift of up to {SHIFT} pixels")
    expect(float(two.mean()) > float(one.mean()) and p < 0.01,
           f"train_transform_2 should be the more aggressive strategy, but it changes images {how}; make it more "
           "aggressive (larger or more random distortions than strategy 1, for example RandomAffine or ColorJitter)."
           + (f" Measured with {' and '.join(rescaled)}'s outputs brought onto the normalized scale first: they are "
              "not normalized (see the normalization check)." if rescaled else ""),
           what=f"distortion beyond a {SHIFT}-pixel shift, strategy 2 vs 1",
           measured=f"{float(two.mean()):.3f} vs {float(one.mean()):.3f}, p = {p:.2g}",
           bound="2 > 1, p < 0.01")
