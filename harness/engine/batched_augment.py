"""Per-sample random augmentation of a whole uint8 batch at once, with torchvision's semantics.

`compile_pipeline` turns a torchvision pipeline into a batch function when every step in it has a
batched twin here; otherwise it returns None and the caller keeps torchvision's per-sample path.
Each twin has two halves: `sample` draws one parameter set per image from the distributions of the
transform's `get_params`, vectorized; `apply` follows torchvision's tensor functional path (the
inverse matrix of `F.affine`/`F.rotate`, its grid, `grid_sample` with nearest interpolation and zero
fill; `_blend` for colour, with its float32 arithmetic, clamping and casts).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as nnf
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms import _functional_tensor as FT
from torchvision.transforms import functional as F

from harness.engine.transfer import constant, to_device

Params = dict[str, torch.Tensor]


class Unsupported(Exception):
    """This transform, or this setting of it, has no batched twin."""


def _uniform(n: int, low: float, high: float) -> torch.Tensor:
    return torch.empty(n, dtype=torch.float64).uniform_(float(low), float(high))


def _no_fill(fill: Any) -> bool:
    if isinstance(fill, dict):  # v2: a fill per input type
        return all(_no_fill(f) for f in fill.values())
    return not any(fill) if isinstance(fill, (list, tuple)) else not fill


def inverse_matrices(angle, tx, ty, scale, sx, sy) -> torch.Tensor:
    """(N, 2, 3): the inverse affine matrix `F.affine` builds for each sample (center 0, 0)."""
    rows = [F._get_inverse_affine_matrix([0.0, 0.0], a, [t, u], s, [h, v])
            for a, t, u, s, h, v in zip(*(p.tolist() for p in (angle, tx, ty, scale, sx, sy)))]
    return torch.tensor(rows, dtype=torch.float32).view(-1, 2, 3)


def warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """torchvision's `_gen_affine_grid` + `_apply_grid_transform` (nearest, zero fill), one matrix per sample.

    Its grid is `base @ theta` per pixel, which sums (x * a + y * b) + c in that order; the sum is
    formed here as an outer sum of a column term and a row term, bit for bit the same values."""
    n, _, h, w = x.shape
    xs = torch.linspace(-w * 0.5 + 0.5, w * 0.5 + 0.5 - 1, steps=w, device=x.device).view(1, 1, w, 1)
    ys = torch.linspace(-h * 0.5 + 0.5, h * 0.5 + 0.5 - 1, steps=h, device=x.device).view(1, h, 1, 1)
    scaled = to_device(theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h]), x.device)  # (N, 3, 2)
    a, b, c = (scaled[:, k].view(n, 1, 1, 2) for k in range(3))
    grid = (xs * a + ys * b).add_(c)
    out = nnf.grid_sample(x.float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return out if x.is_floating_point() else out.round_().to(x.dtype)


@dataclass(frozen=True)
class Flip:
    p: float
    dim: int  # -1 horizontal, -2 vertical

    def sample(self, n: int, h: int, w: int) -> Params:
        return {"flip": torch.rand(n) < self.p}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return torch.where(to_device(params["flip"], x.device).view(-1, 1, 1, 1), x.flip(self.dim), x)


@dataclass(frozen=True)
class Affine:
    """RandomAffine, and RandomRotation as the affine map it is (`F.rotate` passes -angle)."""

    degrees: tuple[float, float]
    translate: tuple[float, float] | None = None
    scale: tuple[float, float] | None = None
    shear: tuple[float, ...] | None = None
    rotation: bool = False

    def sample(self, n: int, h: int, w: int) -> Params:
        zeros = torch.zeros(n, dtype=torch.float64)
        params = {"angle": _uniform(n, *self.degrees), "tx": zeros, "ty": zeros,
                  "scale": torch.ones(n, dtype=torch.float64), "sx": zeros, "sy": zeros}
        if self.translate is not None:
            max_dx, max_dy = float(self.translate[0] * w), float(self.translate[1] * h)
            params["tx"], params["ty"] = _uniform(n, -max_dx, max_dx).round(), _uniform(n, -max_dy, max_dy).round()
        if self.scale is not None:
            params["scale"] = _uniform(n, *self.scale)
        if self.shear is not None:
            params["sx"] = _uniform(n, self.shear[0], self.shear[1])
            if len(self.shear) == 4:
                params["sy"] = _uniform(n, self.shear[2], self.shear[3])
        return params

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        angle = -params["angle"] if self.rotation else params["angle"]
        return warp(x, inverse_matrices(angle, params["tx"], params["ty"], params["scale"], params["sx"], params["sy"]))


@dataclass(frozen=True)
class Crop:
    size: tuple[int, int]
    padding: tuple[int, int, int, int]  # left, top, right, bottom

    def sample(self, n: int, h: int, w: int) -> Params:
        left, top, right, bottom = self.padding
        h, w = h + top + bottom, w + left + right
        if h < self.size[0] or w < self.size[1]:
            raise ValueError(f"RandomCrop size {self.size} is larger than the padded image {(h, w)}")
        return {"i": torch.randint(0, h - self.size[0] + 1, (n,)), "j": torch.randint(0, w - self.size[1] + 1, (n,))}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        """Each sample's window, picked from all the windows of its zero-padded image."""
        left, top, right, bottom = self.padding
        windows = nnf.pad(x, (left, right, top, bottom)).unfold(2, self.size[0], 1).unfold(3, self.size[1], 1)
        samples = torch.arange(len(x), device=x.device)
        return windows[samples, :, to_device(params["i"], x.device), to_device(params["j"], x.device)]


def _hue(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    h, s, v = FT._rgb2hsv(F.convert_image_dtype(x, torch.float32)).unbind(dim=-3)
    h = (h + f.view(-1, 1, 1).float()) % 1.0
    return F.convert_image_dtype(FT._hsv2rgb(torch.stack((h, s, v), dim=-3)), x.dtype)


BLENDS = ("brightness", "contrast", "saturation")  # each blends the image with a target: black, mean grey, grey


@dataclass(frozen=True)
class ColorJitter:
    ranges: tuple[tuple[float, float] | None, ...]  # brightness, contrast, saturation, hue

    def sample(self, n: int, h: int, w: int) -> Params:
        params = {"order": torch.rand(n, 4).argsort(dim=1)}  # a uniform permutation per sample, as randperm(4)
        for name, r in zip((*BLENDS, "hue"), self.ranges):
            if r is not None:
                params[name] = _uniform(n, *r)
        return params

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        """Position by position through each sample's order. At one position every sample does one
        adjustment; the three blends become one blend with a per-sample target and factor (1 for
        samples doing something else, which leaves them exactly as they were), so a batch costs four
        blends whatever the orders. uint8 images are worked on as whole-valued floats, truncated
        after each step as torchvision's casts back to uint8 do."""
        if x.shape[1] != 3:
            raise ValueError("ColorJitter needs RGB images")
        integer = not x.is_floating_point()
        work = x.float() if integer else x
        order = params["order"]  # stays on the host: deciding what to run never waits for the GPU
        coefficients, blends_at = self._blend_coefficients(params)
        coefficients = to_device(coefficients, x.device)
        for position in range(4):
            if blends_at[position]:
                work = self._blend_step(work, coefficients[position], integer)
            if "hue" in params:
                work = self._hue_step(work, order[:, position] == 3, params["hue"], x.dtype)
        return work.to(x.dtype) if integer else work

    @staticmethod
    def _blend_coefficients(params: Params) -> tuple[torch.Tensor, list[bool]]:
        """(4 positions, 5, N): each sample's blend factor and 1 - factor at that position (rounded to
        float32 as `_blend` rounds them; factor 1 where it does no blend), whether its target is the
        grey image or the grey mean, whether it blends at all; and whether anyone blends there.
        Worked out once on the host so that a position costs one blend and no small host steps."""
        order = params["order"]
        by_kind = torch.ones(len(order), 4, dtype=torch.float64)  # brightness, contrast, saturation, hue
        present = torch.zeros(4, dtype=torch.bool)
        for kind, name in enumerate(BLENDS):
            if name in params:
                by_kind[:, kind], present[kind] = params[name], True
        factor, chosen = by_kind.gather(1, order), present[order]
        coefficients = torch.stack([factor.float(), (1.0 - factor).float(), (order == 2).float(),
                                    (order == 1).float(), chosen.float()])
        return coefficients.permute(2, 0, 1).contiguous(), chosen.any(dim=0).tolist()

    @staticmethod
    def _blend_step(x: torch.Tensor, coefficients: torch.Tensor, integer: bool) -> torch.Tensor:
        """torchvision's `_blend` (float32 arithmetic, clamp, cast) for the samples whose adjustment
        at this position is a blend: brightness towards black, contrast towards the grey mean,
        saturation towards grey (grey truncated for uint8, as `rgb_to_grayscale` does)."""
        r, keep, to_grey, to_mean, chosen = coefficients.view(5, -1, 1, 1, 1).unbind()
        grey = 0.2989 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]  # rgb_to_grayscale's arithmetic
        grey = grey.floor_() if integer else grey
        target = grey * to_grey + grey.mean(dim=(-3, -2, -1), keepdim=True) * to_mean
        blended = (r * x + keep * target).clamp_(0, 255 if integer else 1.0)
        if integer:
            return blended.floor_()  # factor 1 gave the other samples back exactly
        return torch.where(chosen.bool(), blended, x)  # a float image may lie outside [0, 1]: only clamp the chosen

    def _hue_step(self, x: torch.Tensor, chosen: torch.Tensor, factor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        image = x.to(dtype)  # hue runs on the image's own dtype
        if image.is_cuda:  # the whole batch, kept where chosen: no data-dependent shapes, so no GPU sync
            adjusted = _hue(image, to_device(factor, image.device))
            image = torch.where(to_device(chosen, image.device).view(-1, 1, 1, 1), adjusted, image)
        elif bool(chosen.any()):
            image = image.clone()  # on the CPU, only the chosen samples
            image[chosen] = _hue(image[chosen], factor[chosen])
        return image.to(x.dtype)


def _boxes(n: int, area: int, scale: tuple[float, float], ratio: tuple[float, float]) -> tuple[torch.Tensor, ...]:
    """The 10 tries of RandomResizedCrop/RandomErasing `get_params` for n samples at once: (N, 10)
    rounded sqrt(area * aspect) and sqrt(area / aspect), drawn as they draw them (float32 draws,
    float64 arithmetic, round half to even)."""
    target = area * torch.empty(n, 10).uniform_(scale[0], scale[1]).double()
    log_ratio = torch.log(torch.tensor(ratio))
    aspect = torch.exp(torch.empty(n, 10).uniform_(float(log_ratio[0]), float(log_ratio[1]))).double()
    return (target * aspect).sqrt().round().long(), (target / aspect).sqrt().round().long()


def _first_fit(valid: torch.Tensor, *tries: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per sample, whether any try was valid, and each of `tries` at the first valid one (as the
    `get_params` loops return on their first fit)."""
    first = valid.long().argmax(dim=1, keepdim=True)
    return (valid.any(dim=1), *(t.gather(1, first).view(-1) for t in tries))


def _randint(high: torch.Tensor) -> torch.Tensor:
    """One uniform integer in [0, high) per element, as `torch.randint(0, high, (1,))` draws."""
    return (torch.rand(high.shape, dtype=torch.float64) * high).long().clamp_(max=high - 1)


def _resize_weights(offset: torch.Tensor, size: torch.Tensor, out: int, full: int, antialias: bool) -> torch.Tensor:
    """(N, out, full): bilinear resampling of rows [offset, offset + size) of each sample onto `out`
    rows, with the weights ATen computes (`_upsample_bilinear2d_aa` when antialiased, else
    `upsample_bilinear2d`, align_corners=False), placed at the rows' absolute positions."""
    n = len(size)
    scale = size.float() / out  # float, as area_pixel_compute_scale
    o = torch.arange(out, dtype=torch.float64).view(1, out, 1)
    if antialias:
        support = torch.where(scale >= 1, scale.double(), torch.ones(n, dtype=torch.float64)).view(n, 1, 1)
        invscale = torch.where(scale >= 1, 1.0 / scale.double(), torch.ones(n, dtype=torch.float64)).view(n, 1, 1)
        center = scale.double().view(n, 1, 1) * (o + 0.5)
        start = (center - support + 0.5).long().clamp_(min=0)  # C++ casts truncate toward zero
        stop = torch.minimum((center + support + 0.5).long(), size.view(n, 1, 1))
        taps = int(support.max().ceil()) * 2 + 2
        j = torch.arange(taps).view(1, 1, taps)
        weight = (1 - ((j + start - center + 0.5) * invscale).float().abs()).clamp_(min=0)  # aa_filter<float>
        weight = torch.where(j < stop - start, weight, torch.zeros(()))
        weight = weight / weight.sum(dim=2, keepdim=True)
        index = (start + j).clamp(max=full - 1)
    else:
        src = (scale.view(n, 1, 1) * (o.float() + 0.5) - 0.5).clamp_(min=0)
        low = src.long()
        high = low + (low < size.view(n, 1, 1) - 1).long()
        frac = src - low.float()
        weight, index = torch.cat([1 - frac, frac], dim=2), torch.cat([low, high], dim=2)
    index = (index + offset.view(n, 1, 1)).clamp_(max=full - 1)
    return torch.zeros(n, out, full).scatter_add_(2, index, weight)


@dataclass(frozen=True)
class ResizedCrop:
    """RandomResizedCrop with bilinear interpolation, as a pair of per-sample resampling matrices."""

    size: tuple[int, int]
    scale: tuple[float, float]
    ratio: tuple[float, float]
    antialias: bool

    def sample(self, n: int, h: int, w: int) -> Params:
        widths, heights = _boxes(n, h * w, self.scale, self.ratio)
        found, cw, ch = _first_fit((widths > 0) & (widths <= w) & (heights > 0) & (heights <= h), widths, heights)
        fw, fh = self._central(h, w)
        cw, ch = torch.where(found, cw, torch.full((n,), fw)), torch.where(found, ch, torch.full((n,), fh))
        i = torch.where(found, _randint(h - ch + 1), (h - ch) // 2)
        j = torch.where(found, _randint(w - cw + 1), (w - cw) // 2)
        return {"i": i, "j": j, "h": ch, "w": cw}

    def _central(self, h: int, w: int) -> tuple[int, int]:
        """The fallback crop's (width, height) when no try fits."""
        in_ratio = float(w) / float(h)
        if in_ratio < min(self.ratio):
            return w, int(round(w / min(self.ratio)))
        if in_ratio > max(self.ratio):
            return int(round(h * max(self.ratio))), h
        return w, h

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        rows = to_device(_resize_weights(params["i"], params["h"], self.size[0], x.shape[-2], self.antialias), x.device)
        cols = to_device(_resize_weights(params["j"], params["w"], self.size[1], x.shape[-1], self.antialias), x.device)
        out = rows.unsqueeze(1) @ (x.float() @ cols.transpose(1, 2).unsqueeze(1))  # width first, as ATen
        return out if x.is_floating_point() else out.round_().to(x.dtype)


@dataclass(frozen=True)
class Erasing:
    """RandomErasing: with probability p, one box per sample set to a value, or to N(0, 1) noise."""

    p: float
    scale: tuple[float, float]
    ratio: tuple[float, float]
    value: tuple[float, ...] | None  # None: random

    def sample(self, n: int, h: int, w: int) -> Params:
        heights, widths = _boxes(n, h * w, self.scale, self.ratio)
        found, eh, ew = _first_fit((heights < h) & (widths < w), heights, widths)
        erase = (torch.rand(n) < self.p) & found
        return {"erase": erase, "i": _randint(h - eh + 1), "j": _randint(w - ew + 1), "h": eh, "w": ew}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        n, c, height, width = x.shape
        if self.value is not None and len(self.value) not in (1, c):
            raise ValueError(f"RandomErasing value should have 1 or {c} (number of channels) entries")
        device = x.device
        rows = torch.arange(height, device=device).view(1, height, 1)
        cols = torch.arange(width, device=device).view(1, 1, width)
        i, j, h, w = (to_device(params[k], device).view(n, 1, 1) for k in ("i", "j", "h", "w"))
        box = (rows >= i) & (rows < i + h) & (cols >= j) & (cols < j + w)
        box &= to_device(params["erase"], device).view(n, 1, 1)
        if self.value is None:
            fill = torch.empty_like(x, dtype=torch.float32).normal_().to(x.dtype)
        else:
            fill = constant(self.value, device).view(1, -1, 1, 1).to(x.dtype).expand_as(x)
        return torch.where(box.unsqueeze(1), fill, x)


def _interpolation(t: Any) -> InterpolationMode:
    return InterpolationMode(t.interpolation)  # some torchvision versions keep v2's as the mode's name


def _crop_padding(t: T.RandomCrop | v2.RandomCrop) -> tuple[int, int, int, int]:
    """(left, top, right, bottom); v2 keeps its padding as [left, right, top, bottom]."""
    if isinstance(t, v2.RandomCrop):
        left, right, top, bottom = t.padding or (0, 0, 0, 0)
        return left, top, right, bottom
    pad = t.padding or 0
    if isinstance(pad, int):
        return (pad,) * 4
    return (pad[0], pad[1], pad[0], pad[1]) if len(pad) == 2 else tuple(pad)


# torchvision.transforms.v2 classes and the v1 class whose twin serves them: the same parameter
# distributions and the same tensor kernels, but for uint8 ColorJitter and resizing, where v2 rounds
# a little differently (tests/engine/test_batched_augment.py holds each to its own torchvision).
AS_V1 = {v2.RandomHorizontalFlip: T.RandomHorizontalFlip, v2.RandomVerticalFlip: T.RandomVerticalFlip,
         v2.RandomAffine: T.RandomAffine, v2.RandomRotation: T.RandomRotation, v2.RandomCrop: T.RandomCrop,
         v2.ColorJitter: T.ColorJitter, v2.RandomResizedCrop: T.RandomResizedCrop, v2.RandomErasing: T.RandomErasing}


def twin(t: Any):
    """The batched twin of one torchvision transform (v1 or v2); Unsupported when there is none."""
    kind = AS_V1.get(type(t), type(t))
    if kind is T.RandomHorizontalFlip:
        return Flip(t.p, -1)
    if kind is T.RandomVerticalFlip:
        return Flip(t.p, -2)
    geometric = kind in (T.RandomAffine, T.RandomRotation)
    if geometric and (_interpolation(t) != InterpolationMode.NEAREST or t.center is not None or not _no_fill(t.fill)):
        raise Unsupported(f"{kind.__name__} with bilinear interpolation, a center or a fill colour")
    if kind is T.RandomAffine:
        return Affine(tuple(t.degrees), t.translate and tuple(t.translate), t.scale and tuple(t.scale),
                      t.shear and tuple(t.shear))
    if kind is T.RandomRotation:
        if t.expand:
            raise Unsupported("RandomRotation(expand=True) changes the image size")
        return Affine(tuple(t.degrees), rotation=True)
    if kind is T.RandomCrop:
        if t.padding_mode != "constant" or not _no_fill(t.fill) or t.pad_if_needed:
            raise Unsupported("RandomCrop with reflect/edge padding, a fill colour, or pad_if_needed")
        return Crop(tuple(t.size), _crop_padding(t))
    if kind is T.ColorJitter:
        return ColorJitter((t.brightness, t.contrast, t.saturation, t.hue))
    if kind is T.RandomResizedCrop:
        if _interpolation(t) != InterpolationMode.BILINEAR:
            raise Unsupported("RandomResizedCrop with an interpolation other than bilinear")
        return ResizedCrop(tuple(t.size), tuple(t.scale), tuple(t.ratio), bool(t.antialias))  # None: off, as F.resize
    if kind is T.RandomErasing:
        if t.inplace:
            raise Unsupported("RandomErasing(inplace=True)")
        value = None if t.value is None or isinstance(t.value, str) else tuple(float(v) for v in (
            t.value if isinstance(t.value, (list, tuple)) else [t.value]))
        return Erasing(t.p, tuple(t.scale), tuple(t.ratio), value)
    raise Unsupported(f"{kind.__name__} has no batched version")


def normalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """(x - mean) / std per channel, as `T.Normalize`; tuples, as they key the device constants."""
    shape = (1, -1, 1, 1)
    return (x - constant(mean, x.device).view(shape)) / constant(std, x.device).view(shape)


def floats(values: Sequence[float]) -> tuple[float, ...]:
    """Per-channel statistics (a list, a tensor, ...) as `normalize` takes them."""
    return tuple(float(v) for v in values)


def _to_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def _to_float_v2(x: torch.Tensor) -> torch.Tensor:
    """v2's uint8 -> float32 multiplies by 1/255: 126 of the 256 byte values come out 1 ulp away
    from ToTensor's division."""
    return x.float().mul_(1.0 / 255) if x.dtype == torch.uint8 else x


def _float_conversion(step: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """ToTensor, or a conversion to float32 that scales to [0, 1] as ToTensor does, with its arithmetic."""
    kind = type(step)
    if kind in (T.ToTensor, v2.ToTensor) or (kind is T.ConvertImageDtype and step.dtype == torch.float32):
        return _to_float
    if kind in (v2.ToDtype, v2.ConvertImageDtype) and step.dtype == torch.float32 and getattr(step, "scale", True):
        return _to_float_v2
    return None


def compile_pipeline(pipeline: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """A uint8 (N, C, H, W) batch -> the pipeline's output for every sample, or None when some step
    has no batched twin. Understands what students write: augmentations, then ToTensor (or
    PILToTensor + ConvertImageDtype(float32)) and Normalize."""
    steps = list(pipeline.transforms) if isinstance(pipeline, (T.Compose, v2.Compose)) else [pipeline]
    ops: list[Callable[[torch.Tensor], torch.Tensor]] = []
    for step in steps:
        kind = type(step)
        if kind in (T.PILToTensor, v2.PILToTensor, v2.ToImage, v2.ToPureTensor):
            continue  # the batch is a uint8 tensor already
        if conversion := _float_conversion(step):
            ops.append(conversion)
        elif kind in (T.Normalize, v2.Normalize):
            ops.append(functools.partial(normalize, mean=floats(step.mean), std=floats(step.std)))
        else:
            try:
                augment = twin(step)
            except Unsupported:
                return None
            ops.append(lambda x, a=augment: a.apply(x, a.sample(len(x), x.shape[-2], x.shape[-1])))

    def run(x: torch.Tensor) -> torch.Tensor:
        for op in ops:
            x = op(x)
        return x

    return run
