import torch
from torch import nn

from harness.checks.support import binomial_bound, expect, recording, student


def _dropped(call) -> tuple[int, int, torch.Tensor, torch.Tensor]:
    """(units dropped, units seen, kept inputs, kept outputs) for one dropout call; Dropout2d drops channels."""
    x, y = call.inputs, call.output
    if isinstance(call.module, nn.Dropout2d):
        alive_in = x.flatten(2).abs().sum(-1) > 0
        alive_out = y.flatten(2).abs().sum(-1) > 0
    else:
        alive_in, alive_out = x != 0, y != 0
    seen = int(alive_in.sum())
    dropped = int((alive_in & ~alive_out).sum())
    kept = (x != 0) & (y != 0)
    return dropped, seen, x[kept], y[kept]


def test_dropout_rate_and_scaling(build, context, batch):
    """In training mode the dropout layers drop the declared fraction (binomial bound) and scale survivors by 1/(1-p)."""
    p = context["dropout_rate"]
    model = build(use_dropout=True, dropout_rate=p).train()
    with recording(model) as seen, student("running CNNModel(use_dropout=True) in training mode"):
        model(batch)
    calls = [c for c in seen.of(nn.Dropout, nn.Dropout2d) if c.module.p > 0]
    expect(bool(calls), "CNNModel(use_dropout=True) never ran an nn.Dropout/nn.Dropout2d layer with p > 0 in "
           "forward(); build them in __init__ and call them in forward() (a functional F.dropout cannot be "
           "checked or switched off by model.eval()).", what="dropout layers run", measured=len(calls), bound="at least 1")
    dropped = sum(_dropped(c)[0] for c in calls)
    total = sum(_dropped(c)[1] for c in calls)
    fraction = dropped / max(total, 1)
    bound = binomial_bound(p, total)
    expect(abs(fraction - p) <= bound,
           f"Your dropout layers dropped {fraction:.3f} of the units in training mode, but the manifest declares "
           f"rate {p}; CNNModel(dropout_rate={p}) should pass that rate to every dropout layer.",
           what="fraction dropped", measured=round(fraction, 4), bound=f"{p} ± {bound:.4f}")
    ratios = torch.cat([(y / x) for _, _, x, y in map(_dropped, calls)])
    expected = 1 / (1 - p)
    expect(bool(torch.allclose(ratios, torch.full_like(ratios, expected), rtol=1e-3)),
           f"Surviving units should be scaled by 1/(1-p) = {expected:.4f}; yours were scaled by "
           f"{ratios.mean():.4f} on average.", what="survivors scaled by",
           measured=round(float(ratios.mean()), 4), bound=round(expected, 4))


def test_dropout_inactive_in_eval(build, context, batch):
    """In eval mode dropout is off: the same input gives the same output, and every dropout layer passes input through."""
    model = build(use_dropout=True, dropout_rate=context["dropout_rate"]).eval()
    with recording(model) as seen, student("running CNNModel(use_dropout=True) in eval mode"), torch.no_grad():
        first, second = model(batch), model(batch)
    difference = float((first - second).abs().max())
    expect(difference == 0.0,
           "In eval mode your model gives different outputs for the same input: dropout is still active. "
           "Use nn.Dropout modules (or pass training=self.training to F.dropout) so model.eval() switches it off.",
           what="output difference, same input twice", measured=difference, bound=0.0)
    changed = [type(c.module).__name__ for c in seen.of(nn.Dropout, nn.Dropout2d) if not torch.equal(c.inputs, c.output)]
    expect(not changed, f"In eval mode these dropout layers still changed their input: {changed}.",
           what="dropout layers changing their input", measured=len(changed), bound=0)


def test_dropout_is_active_in_training(build, context, batch):
    """With use_dropout=True, training mode is random: two passes over the same input differ."""
    model = build(use_dropout=True, dropout_rate=context["dropout_rate"]).train()
    with student("running CNNModel(use_dropout=True) in training mode"), torch.no_grad():
        difference = float((model(batch) - model(batch)).abs().max())
    expect(difference > 0, "With use_dropout=True two training-mode passes over the same input were identical: "
           "the dropout layers are built but never applied in forward().",
           what="output difference, same input twice", measured=round(difference, 4), bound="> 0")
