import torch
from torch import nn

from harness.checks.support import expect, recording, student

PREVIOUS = {"after_conv": nn.Conv2d, "after_relu": nn.ReLU}


def _bn_calls(model, batch, doing):
    with recording(model) as seen, student(doing), torch.no_grad():
        model(batch)
    return seen


def test_batchnorm_train_statistics(build, batch):
    """In training mode every BatchNorm layer outputs per-channel mean 0 and variance 1 and updates its running statistics."""
    model = build(use_batchnorm=True).train()
    seen = _bn_calls(model, batch, "running CNNModel(use_batchnorm=True) in training mode")
    calls = seen.of(nn.BatchNorm2d)
    expect(bool(calls), "CNNModel(use_batchnorm=True) never ran an nn.BatchNorm2d layer in forward(); "
           "build them in __init__ and call them in forward().", what="BatchNorm2d layers run",
           measured=len(calls), bound="at least 1")
    outputs = [call.output.transpose(0, 1).flatten(1) for call in calls]
    mean = max(y.mean(1).abs().max().item() for y in outputs)
    var = max((y.var(1, unbiased=False) - 1).abs().max().item() for y in outputs)
    expect(mean < 1e-3 and var < 2e-2,
           f"A BatchNorm2d output in training mode has per-channel mean up to {mean:.4f} and variance off 1 "
           f"by {var:.4f}; it should be standardized with the batch statistics.",
           what="per-channel output, worst layer", measured=f"|mean| {mean:.1e}, |var-1| {var:.1e}",
           bound="|mean| < 1e-3, |var-1| < 2e-2")
    moved = min(float(call.module.running_mean.abs().sum()) for call in calls)
    expect(moved > 0, "After a training-mode pass a BatchNorm running mean is still zero: running statistics "
           "were not updated (track_running_stats off or momentum 0?).", what="running mean moved (sum |mean|), least",
           measured=round(moved, 4), bound="> 0")


def test_batchnorm_uses_running_statistics_in_eval(build, batch):
    """In eval mode BatchNorm normalizes with its running statistics, so a sample's output does not depend on its batch."""
    model = build(use_batchnorm=True).train()
    _bn_calls(model, batch, "running CNNModel(use_batchnorm=True) in training mode")
    model.eval()
    seen = _bn_calls(model, batch, "running CNNModel(use_batchnorm=True) in eval mode")
    calls = seen.of(nn.BatchNorm2d)
    expect(bool(calls), "CNNModel(use_batchnorm=True) ran no nn.BatchNorm2d layer in eval mode, so nothing "
           "normalizes with running statistics; call the BatchNorm2d layers in forward().",
           what="BatchNorm2d layers run in eval mode", measured=len(calls), bound="at least 1")
    for call in calls:
        m = call.module
        shape = (1, -1, 1, 1)
        expected = (call.inputs - m.running_mean.view(shape)) / torch.sqrt(m.running_var.view(shape) + m.eps)
        if m.affine:
            expected = expected * m.weight.view(shape) + m.bias.view(shape)
        error = float((call.output - expected).abs().max())
        expect(error < 1e-4, "In eval mode a BatchNorm layer did not normalize with its running statistics.",
               what="difference from running-statistics output", measured=error, bound="< 1e-4")
    with student("running CNNModel(use_batchnorm=True) in eval mode on one image"), torch.no_grad():
        alone, together = model(batch[:1]), model(batch)[:1]
    gap = float((alone - together).abs().max())
    expect(gap < 1e-4, "In eval mode an image's output changed with the rest of its batch: batch statistics are "
           "used at evaluation time. Use nn.BatchNorm2d layers so model.eval() switches them to running statistics.",
           what="an image's output, alone vs in its batch", measured=gap, bound="< 1e-4")


def test_batchnorm_placement_matches_manifest(build, context, batch):
    """Every BatchNorm layer sits where the manifest says: right after the convolution, or right after its ReLU."""
    placement = context["batchnorm_placement"]
    model = build(use_batchnorm=True).train()
    seen = _bn_calls(model, batch, "running CNNModel(use_batchnorm=True)")
    previous = [type(seen.calls[i - 1].module).__name__ if i else "input"
                for i, call in enumerate(seen.calls) if isinstance(call.module, nn.BatchNorm2d)]
    wanted = PREVIOUS[placement].__name__
    expect(bool(previous) and all(p == wanted for p in previous),
           f"The manifest says batch norm is placed {placement} (right after {wanted}), but in forward() the "
           f"BatchNorm layers run right after: {previous or 'nothing (no BatchNorm ran)'}.",
           what="layer before each BatchNorm2d", measured=", ".join(previous) or "none", bound=f"all {wanted}")
