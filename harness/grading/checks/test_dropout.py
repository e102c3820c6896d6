import torch

from harness.grading.checks.support import binomial_bound, expect, student, traced
from harness.grading.checks.trace import DROPOUT_KINDS


def _dropped(op) -> tuple[int, int, torch.Tensor, torch.Tensor]:
    """(units dropped, units seen, kept inputs, kept outputs) for one dropout; a feature dropout drops channels,
    each a single unit in a (batch, features) input (nn.Dropout2d before the Linear)."""
    x, y = op.input, op.output
    if op.kind == "feature_dropout" and x.dim() > 2:
        alive_in = x.flatten(2).abs().sum(-1) > 0
        alive_out = y.flatten(2).abs().sum(-1) > 0
    else:
        alive_in, alive_out = x != 0, y != 0
    seen = int(alive_in.sum())
    dropped = int((alive_in & ~alive_out).sum())
    kept = (x != 0) & (y != 0)
    return dropped, seen, x[kept], y[kept]


def test_dropout_rate_and_scaling(variant, context, batch):
    """In training mode the dropouts drop the declared fraction (binomial bound) and scale survivors by 1/(1-p)."""
    p = context["dropout_rate"]
    model = variant("dropout")
    with torch.no_grad():
        _, seen = traced(model, batch, "train", f"running {model.label} in training mode")
    calls = seen.active_dropouts()
    expect(bool(calls), f"{model.label} applied no dropout with p > 0 in training mode; apply nn.Dropout/nn.Dropout2d "
           "layers, or F.dropout with training=self.training, in forward().",
           what="dropouts applied", measured=len(calls), bound="at least 1")
    dropped = sum(_dropped(op)[0] for op in calls)
    total = sum(_dropped(op)[1] for op in calls)
    fraction = dropped / max(total, 1)
    bound = binomial_bound(p, total)
    # CS231n's dropout takes the probability of keeping a unit: written out that way, it drops 1 - p
    kept = abs(fraction - (1 - p)) <= bound
    expect(abs(fraction - p) <= bound,
           f"Your dropouts dropped {fraction:.3f} of the units in training mode, but the manifest declares "
           f"rate {p}; " + (f"that is 1 - {p}: your dropout keeps a unit with probability p, where torch's p (and "
                            "the manifest's rate) is the probability of dropping it." if kept else
                            f"CNNModel(dropout_rate={p}) should pass that rate to every dropout."),
           what="fraction dropped", measured=round(fraction, 4), bound=f"{p} ± {bound:.4f}")
    ratios = torch.cat([(y / x) for _, _, x, y in map(_dropped, calls)])
    expected = 1 / (1 - p)
    expect(bool(torch.allclose(ratios, torch.full_like(ratios, expected), rtol=1e-3)),
           f"Surviving units should be scaled by 1/(1-p) = {expected:.4f}; yours were scaled by "
           f"{ratios.mean():.4f} on average.", what="survivors scaled by",
           measured=round(float(ratios.mean()), 4), bound=round(expected, 4))


def test_dropout_inactive_in_eval(variant, batch):
    """In eval mode dropout is off: the same input gives the same output, and every dropout passes its input through."""
    model = variant("dropout")
    with torch.no_grad():
        first, seen = traced(model, batch, "eval", f"running {model.label} in eval mode")
        second, _ = traced(model, batch, "eval", f"running {model.label} in eval mode")
    difference = float((first - second).abs().max())
    expect(difference == 0.0,
           "In eval mode your model gives different outputs for the same input: dropout is still active. "
           "Use nn.Dropout modules (or pass training=self.training to F.dropout) so model.eval() switches it off.",
           what="output difference, same input twice", measured=difference, bound=0.0)
    changed = [op.name for op in seen.of(*DROPOUT_KINDS) if not torch.equal(op.input, op.output)]
    expect(not changed, f"In eval mode these dropouts still changed their input: {changed}.",
           what="dropouts changing their input", measured=len(changed), bound=0)


def test_dropout_is_active_in_training(variant, batch):
    """With use_dropout=True, training mode is random: two passes over the same input differ."""
    model = variant("dropout")
    with student(f"running {model.label} in training mode"), torch.no_grad():
        difference = float((model.run(batch, "train") - model.run(batch, "train")).abs().max())
    expect(difference > 0, "With use_dropout=True two training-mode passes over the same input were identical: "
           + (_why_not_random(model, batch) if difference == 0 else ""),
           what="output difference, same input twice", measured=round(difference, 4), bound="> 0")


def _why_not_random(model, batch) -> str:
    with torch.no_grad():
        _, seen = traced(model, batch, "train", f"running {model.label} in training mode")
    told_not = [op for op in seen.of(*DROPOUT_KINDS) if (op.args.get("p") or 0) > 0 and not op.args.get("training", True)]
    if told_not:
        return (f"{len(told_not)} dropout call(s) ran with training=False. F.dropout(x, p, False) passes False as "
                "`training`, its third argument, not as `inplace`: pass training=self.training.")
    active = seen.active_dropouts()
    if active and not any(bool(op.input.any()) for op in active):
        return ("its dropouts ran, but every input they got was zero, so there was nothing to drop: the layers "
                "before them output only zeros (are the conv weights all zero?).")
    return "the dropout layers are built but never applied in forward()."
