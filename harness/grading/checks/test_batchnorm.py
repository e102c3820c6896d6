import torch

from harness.grading.checks.support import expect, traced

PREVIOUS = {"after_conv": "conv", "after_relu": "relu"}  # what computes a batch norm's input, by placement
NAMES = {"conv": "a convolution", "relu": "a ReLU"}
TOLERANCE = 1e-4  # of the largest output: float32 rounding, not a different computation
OTHER_NORMS = frozenset({"group_norm", "layer_norm", "instance_norm"})  # what a student may put where batch norm belongs


def _per_channel(op) -> tuple[int, ...]:
    """The shape that lays one value per channel along `op`'s input: (1, C, 1, 1) for BatchNorm2d, (1, C) for a
    BatchNorm1d on flat features."""
    return (1, -1) + (1,) * (op.input.dim() - 2)


def _normalized(op):
    """What batch norm with its running statistics gives for `op`'s input."""
    args, shape = op.args, _per_channel(op)
    out = (op.input - args["running_mean"].view(shape)) / torch.sqrt(args["running_var"].view(shape) + args["eps"])
    if args.get("weight") is not None:
        out = out * args["weight"].detach().view(shape)
    if args.get("bias") is not None:
        out = out + args["bias"].detach().view(shape)
    return out


def _instead(seen) -> str:
    """Another normalization the forward pass ran where batch norm was asked for, in a sentence; '' if none."""
    others = seen.ran(OTHER_NORMS)
    return f" It normalizes with {' and '.join(others)} instead: the coursework asks for BatchNorm2d." if others else ""


def test_batchnorm_train_statistics(variant, batch):
    """In training mode every batch norm outputs per-channel mean 0 and variance 1 and updates its running statistics."""
    model = variant("batchnorm")
    with torch.no_grad():
        _, seen = traced(model, batch, "train", f"running {model.label} in training mode")
    calls = seen.of("batch_norm")
    expect(bool(calls), f"{model.label} applied no batch norm in training mode; call your BatchNorm2d layers "
           f"(or F.batch_norm) in forward().{_instead(seen)}", what="batch norms applied", measured=len(calls),
           bound="at least 1")
    outputs = [op.output.transpose(0, 1).flatten(1) for op in calls]
    mean = max(y.mean(1).abs().max().item() for y in outputs)
    var = max((y.var(1, unbiased=False) - 1).abs().max().item() for y in outputs)
    expect(mean < 1e-3 and var < 2e-2,
           f"A batch norm output in training mode has per-channel mean up to {mean:.4f} and variance off 1 "
           f"by {var:.4f}; it should be standardized with the batch statistics.",
           what="per-channel output, worst layer", measured=f"|mean| {mean:.1e}, |var-1| {var:.1e}",
           bound="|mean| < 1e-3, |var-1| < 2e-2")
    stats = [op.args.get("running_mean") for op in calls]
    moved = min(float(s.abs().sum()) if s is not None else 0.0 for s in stats)
    expect(moved > 0, "After a training-mode pass a batch norm running mean is still zero: running statistics "
           "were not updated (track_running_stats off or momentum 0?).", what="running mean moved (sum |mean|), least",
           measured=round(moved, 4), bound="> 0")


def test_batchnorm_uses_running_statistics_in_eval(variant, batch):
    """In eval mode batch norm normalizes with its running statistics, so an image's output does not depend on its batch."""
    model = variant("batchnorm")
    with torch.no_grad():
        traced(model, batch, "train", f"running {model.label} in training mode")
        out, seen = traced(model, batch, "eval", f"running {model.label} in eval mode")
    calls = seen.of("batch_norm")
    expect(bool(calls), f"{model.label} applied no batch norm in eval mode, so nothing normalizes with running "
           f"statistics; call your BatchNorm2d layers in forward().{_instead(seen)}",
           what="batch norms applied in eval mode", measured=len(calls), bound="at least 1")
    for op in calls:
        if op.args.get("running_mean") is None or op.args.get("running_var") is None:
            expect(False, "In eval mode a batch norm has no running statistics to normalize with.",
                   what="running statistics kept", measured="none", bound="running mean and variance")
        expected = _normalized(op)
        error = float((op.output - expected).abs().max()) / _magnitude(expected - _shift(op))
        expect(error < TOLERANCE, "In eval mode a batch norm did not normalize with its running statistics.",
               what="difference from running-statistics output, relative", measured=error, bound=f"< {TOLERANCE}")
    other = torch.cat([batch[:1], torch.randn(len(batch) - 1, *batch.shape[1:], generator=torch.Generator().manual_seed(2))])
    with torch.no_grad():
        again, _ = traced(model, other, "eval", f"running {model.label} in eval mode")
    gap = float((out[0] - again[0]).abs().max()) / _magnitude(out[0] - out[0].mean())
    expect(gap < TOLERANCE, "In eval mode an image's output changed with the rest of its batch: batch statistics are "
           "used at evaluation time. Use nn.BatchNorm2d layers (or F.batch_norm with training=self.training) so "
           "model.eval() switches them to running statistics.",
           what="an image's output, in two different batches, relative", measured=gap, bound=f"< {TOLERANCE}")


def _magnitude(values: torch.Tensor) -> float:
    """The scale float32 rounding error grows with: a model whose activations reach 1e4 (weights drawn with
    std 1) differs from the same computation by more than 1e-4 through rounding alone. Callers leave out
    a constant shift, which would otherwise hide a real difference beside it (a batch norm bias of 1e7)."""
    return max(1.0, float(values.abs().max()))


def _shift(op) -> torch.Tensor | float:
    bias = op.args.get("bias")
    return bias.detach().view(_per_channel(op)) if bias is not None else 0.0


def test_batchnorm_placement_matches_manifest(variant, context, batch):
    """Every batch norm sits where the manifest says: right after the convolution, or right after its ReLU."""
    placement = context["batchnorm_placement"]
    model = variant("batchnorm")
    with torch.no_grad():
        _, seen = traced(model, batch, "train", f"running {model.label}")
    previous = [op.producer.word if op.producer else "the input" for op in seen.of("batch_norm")]
    wanted = PREVIOUS[placement]
    expect(bool(previous) and all(p == wanted for p in previous),
           f"The manifest says batch norm is placed {placement} (right after {NAMES[wanted]}), but in forward() the "
           f"batch norms are applied right after: {', '.join(previous) or 'nothing (no batch norm ran)'}."
           + ("" if previous else _instead(seen)),
           what="computed right before each batch norm", measured=", ".join(previous) or "none", bound=f"all {wanted}")
