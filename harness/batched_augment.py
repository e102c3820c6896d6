"""Per-sample random augmentation of a whole uint8 batch at once, with torchvision's semantics.

`compile_pipeline` turns a torchvision pipeline into a batch function when every step in it has a
batched twin here; otherwise it returns None and the caller keeps torchvision's per-sample path.
Each twin has two halves: `sample` draws one parameter set per image from the distributions of the
transform's `get_params`, vectorized; `apply` follows torchvision's tensor functional path (the
inverse matrix of `F.affine`/`F.rotate`, its grid, `grid_sample` with nearest interpolation and zero
fill; `_blend` for colour, with its float32 arithmetic, clamping and casts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as nnf
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode
from torchvision.transforms import _functional_tensor as FT
from torchvision.transforms import functional as F

Params = dict[str, torch.Tensor]


class Unsupported(Exception):
    """This transform, or this setting of it, has no batched twin."""


def _uniform(n: int, low: float, high: float) -> torch.Tensor:
    return torch.empty(n, dtype=torch.float64).uniform_(float(low), float(high))


def _no_fill(fill: Any) -> bool:
    return not any(fill) if isinstance(fill, (list, tuple)) else not fill


def inverse_matrices(angle, tx, ty, scale, sx, sy) -> torch.Tensor:
    """(N, 2, 3): the inverse affine matrix `F.affine` builds for each sample (center 0, 0)."""
    rows = [F._get_inverse_affine_matrix([0.0, 0.0], a, [t, u], s, [h, v])
            for a, t, u, s, h, v in zip(*(p.tolist() for p in (angle, tx, ty, scale, sx, sy)))]
    return torch.tensor(rows, dtype=torch.float32).view(-1, 2, 3)


def warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """torchvision's `_gen_affine_grid` + `_apply_grid_transform` (nearest, zero fill), one matrix per sample."""
    n, _, h, w = x.shape
    base = torch.empty(1, h, w, 3, device=x.device)
    base[..., 0].copy_(torch.linspace(-w * 0.5 + 0.5, w * 0.5 + 0.5 - 1, steps=w, device=x.device))
    base[..., 1].copy_(torch.linspace(-h * 0.5 + 0.5, h * 0.5 + 0.5 - 1, steps=h, device=x.device).unsqueeze_(-1))
    base[..., 2].fill_(1)
    scaled = theta.to(x.device).transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h], device=x.device)
    grid = base.view(1, h * w, 3).expand(n, -1, -1).bmm(scaled).view(n, h, w, 2)
    out = nnf.grid_sample(x.float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return out if x.is_floating_point() else out.round_().to(x.dtype)


@dataclass(frozen=True)
class Flip:
    p: float
    dim: int  # -1 horizontal, -2 vertical

    def sample(self, n: int, h: int, w: int) -> Params:
        return {"flip": torch.rand(n) < self.p}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return torch.where(params["flip"].to(x.device).view(-1, 1, 1, 1), x.flip(self.dim), x)


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
        left, top, right, bottom = self.padding
        padded = nnf.pad(x, (left, right, top, bottom)) if any(self.padding) else x
        n, (th, tw) = len(x), self.size
        rows = (params["i"].to(x.device).view(n, 1) + torch.arange(th, device=x.device)).view(n, 1, th, 1)
        cols = (params["j"].to(x.device).view(n, 1) + torch.arange(tw, device=x.device)).view(n, 1, 1, tw)
        return padded[torch.arange(n, device=x.device).view(n, 1, 1, 1),
                      torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1), rows, cols]


def _blend(a: torch.Tensor, b: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """torchvision's `_blend` with one ratio per sample."""
    r = ratio.view(-1, 1, 1, 1)
    out = r.float() * a + (1.0 - r).float() * b
    return out.clamp(0, 1.0 if a.is_floating_point() else 255).to(a.dtype)


def _brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return _blend(x, torch.zeros_like(x), f)


def _contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    grey = FT.rgb_to_grayscale(x).to(x.dtype if x.is_floating_point() else torch.float32)
    return _blend(x, grey.mean(dim=(-3, -2, -1), keepdim=True), f)


def _saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return _blend(x, FT.rgb_to_grayscale(x), f)


def _hue(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    h, s, v = FT._rgb2hsv(F.convert_image_dtype(x, torch.float32)).unbind(dim=-3)
    h = (h + f.view(-1, 1, 1).float()) % 1.0
    return F.convert_image_dtype(FT._hsv2rgb(torch.stack((h, s, v), dim=-3)), x.dtype)


@dataclass(frozen=True)
class ColorJitter:
    ranges: tuple[tuple[float, float] | None, ...]  # brightness, contrast, saturation, hue

    ADJUST = (_brightness, _contrast, _saturation, _hue)

    def sample(self, n: int, h: int, w: int) -> Params:
        params = {"order": torch.rand(n, 4).argsort(dim=1)}  # a uniform permutation per sample, as randperm(4)
        for name, r in zip(("brightness", "contrast", "saturation", "hue"), self.ranges):
            if r is not None:
                params[name] = _uniform(n, *r)
        return params

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        if x.shape[1] != 3:
            raise ValueError("ColorJitter needs RGB images")
        order = params["order"]  # stays on the host: deciding what to run never waits for the GPU
        for position in range(4):
            for fn, name in enumerate(("brightness", "contrast", "saturation", "hue")):
                chosen = order[:, position] == fn
                if name in params and bool(chosen.any()):
                    x = self._adjust(x, fn, params[name], chosen)
        return x

    def _adjust(self, x: torch.Tensor, fn: int, factor: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        if x.is_cuda:  # the whole batch, kept where chosen: no data-dependent shapes, so no GPU sync
            adjusted = self.ADJUST[fn](x, factor.to(x.device, non_blocking=True))
            return torch.where(chosen.to(x.device, non_blocking=True).view(-1, 1, 1, 1), adjusted, x)
        x = x.clone()  # on the CPU, only the chosen samples: a quarter of the work
        x[chosen] = self.ADJUST[fn](x[chosen], factor[chosen])
        return x


def _crop_padding(t: T.RandomCrop) -> tuple[int, int, int, int]:
    pad = t.padding or 0
    if isinstance(pad, int):
        return (pad,) * 4
    return (pad[0], pad[1], pad[0], pad[1]) if len(pad) == 2 else tuple(pad)


def twin(t: Any):
    """The batched twin of one torchvision transform; Unsupported when there is none."""
    kind = type(t)
    if kind is T.RandomHorizontalFlip:
        return Flip(t.p, -1)
    if kind is T.RandomVerticalFlip:
        return Flip(t.p, -2)
    geometric = kind in (T.RandomAffine, T.RandomRotation)
    if geometric and (t.interpolation != InterpolationMode.NEAREST or t.center is not None or not _no_fill(t.fill)):
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
    raise Unsupported(f"{kind.__name__} has no batched version")


def _normalize(mean: list[float], std: list[float]) -> Callable[[torch.Tensor], torch.Tensor]:
    def run(x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1, 1, 1)
        return (x - torch.tensor(mean, device=x.device).view(shape)) / torch.tensor(std, device=x.device).view(shape)

    return run


def _to_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def compile_pipeline(pipeline: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """A uint8 (N, C, H, W) batch -> the pipeline's output for every sample, or None when some step
    has no batched twin. Understands what students write: augmentations, then ToTensor (or
    PILToTensor + ConvertImageDtype(float32)) and Normalize."""
    steps = list(pipeline.transforms) if isinstance(pipeline, T.Compose) else [pipeline]
    ops: list[Callable[[torch.Tensor], torch.Tensor]] = []
    for step in steps:
        kind = type(step)
        if kind is T.PILToTensor:
            continue
        if kind is T.ToTensor or (kind is T.ConvertImageDtype and step.dtype == torch.float32):
            ops.append(_to_float)
        elif kind is T.Normalize:
            ops.append(_normalize(list(step.mean), list(step.std)))
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
