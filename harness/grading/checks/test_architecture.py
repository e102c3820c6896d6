from collections import Counter

import torch
from torch import nn

from harness.grading.checks.support import expect, student, traced
from harness.grading.checks.trace import DROPOUT_KINDS
from reference.models import CNNModel as GivenCNN

BASELINE_PARAMETERS = 390_986
CONVS = [(3, 32), (32, 64), (64, 128), (128, 256)]
ADDED = {"batch_norm", *DROPOUT_KINDS}  # what a variant may add to the computation
# how far CNNModel() may be from the given network holding its weights: float32 rounding, relative to the outputs
SAME_WEIGHTS_TOLERANCE = 1e-4
# operations the given network does not compute that make a model compute otherwise, named when a model runs them
OTHER_LAYERS = frozenset("""softmax leaky_relu gelu elu selu silu mish sigmoid tanh hardtanh relu6 hardswish prelu
    adaptive_max_pool2d""".split())


def conv_shape(op) -> str:
    """'in->out KxK pad P' of a convolution as it ran ('same' padding is the padding it amounts to)."""
    out_channels, per_group, kh, kw = op.args["weight"].shape
    groups = op.args.get("groups") or 1
    padding, stride = op.args.get("padding", 0), op.args.get("stride", 1)
    if padding == "same":
        padding = (kh // 2, kw // 2)
    elif padding == "valid":
        padding = 0
    pad = padding[0] if isinstance(padding, (list, tuple)) else padding
    step = stride[0] if isinstance(stride, (list, tuple)) else stride
    shape = f"{per_group * groups}->{out_channels} {kh}x{kw} pad {pad}"
    return shape if step == 1 else f"{shape} stride {step}"


def used_parameters(variant, trace) -> int:
    """Parameters the forward pass read: a layer built but never called computes nothing."""
    return sum(p.numel() for p in variant.parameters().values() if trace.uses(p))


def test_baseline_architecture(variant, batch):
    """The baseline CNNModel() is the given network: four 3x3 convs 32/64/128/256, 390,986 parameters, no batch norm or dropout with its flags off, and the outputs of the given network holding its weights."""
    base = variant("base")
    out, seen = traced(base, batch, "train", "running CNNModel() on a batch of 64 images")
    shapes = [conv_shape(op) for op in seen.of("conv")]
    wanted = [f"{i}->{o} 3x3 pad 1" for i, o in CONVS]
    expect(shapes == wanted, f"CNNModel() should run four convolutions {wanted}; yours runs {shapes}.",
           what="convolutions", measured="; ".join(shapes), bound="; ".join(wanted))
    flagged = seen.flagged()
    expect(not flagged, f"CNNModel(), whose use_batchnorm and use_dropout are False, applies {flagged} in training "
           "mode; add batch norm and dropout only when their flag is True.",
           what="batch norms and dropouts with both flags off", measured=flagged or "none", bound="none")
    count = used_parameters(base, seen)
    expect(count == BASELINE_PARAMETERS,
           f"CNNModel() computes with {count:,} parameters; the given architecture has {BASELINE_PARAMETERS:,}. "
           "Keep the given layers and only add BatchNorm/Dropout behind the flags.",
           what="parameters", measured=count, bound=BASELINE_PARAMETERS)
    expect(tuple(out.shape) == (len(batch), 10),
           f"CNNModel() should output (batch, 10) logits; it gave {tuple(out.shape)}.",
           what="output shape", measured=str(tuple(out.shape)), bound=str((len(batch), 10)))
    difference = _from_the_given_network(base, seen, batch)
    expect(difference < SAME_WEIGHTS_TOLERANCE,
           f"CNNModel() computes otherwise than the given network holding the same weights (their log-probabilities "
           f"differ by up to {difference:.3g}): {_other_layers(seen)}keep a ReLU after each conv, 2x2 max pooling after "
           "the first three, then a global average pool and the Linear.", what="difference from the given network, same weights",
           measured=float(f"{difference:.3g}"), bound=f"< {SAME_WEIGHTS_TOLERANCE}")


def _other_layers(seen) -> str:
    found = seen.ran(OTHER_LAYERS)
    return f"it runs {', '.join(found)}, which the given network does not; " if found else ""


def _from_the_given_network(base, seen, batch) -> float:
    """How far CNNModel()'s log-probabilities in eval mode are from those of the given network holding its conv and
    Linear weights, relative to their size. Log-probabilities, since cross-entropy reads logits only up to a
    constant per image: a model that ends in log_softmax trains as the given one does, one that ends in softmax
    does not."""
    with torch.random.fork_rng(devices=[]):  # its own init draws, overwritten below, leave the later checks' draws be
        given = GivenCNN()
    linears = [p for p in base.parameters().values() if seen.uses(p) and tuple(p.shape) in ((10, 256), (256, 10))]
    biases = [p for p in base.parameters().values() if seen.uses(p) and tuple(p.shape) == (10,)]
    if len(linears) != 1 or len(biases) != 1:
        return float("inf")  # the parameter count has said what is wrong
    with torch.no_grad():
        for mine, op in zip([m for m in given.modules() if isinstance(m, nn.Conv2d)], seen.of("conv")):
            mine.weight.copy_(op.args["weight"])
            mine.bias.copy_(op.args["bias"] if op.args.get("bias") is not None else torch.zeros_like(mine.bias))
        head = given.classifier[-1]
        head.weight.copy_(linears[0] if linears[0].shape == head.weight.shape else linears[0].T)
        head.bias.copy_(biases[0])
        expected = torch.log_softmax(given.eval()(batch), dim=1)
        with student("running CNNModel() in eval mode"):
            actual = torch.log_softmax(base.run(batch, "eval"), dim=1)
    return float((actual - expected).abs().max()) / max(1.0, float(expected.abs().max()))


def test_variants_only_add_batchnorm_and_dropout(variant, batch):
    """use_batchnorm / use_dropout add only batch norm and dropout to what the given network computes, nothing else."""
    base = variant("base")
    _, seen = traced(base, batch, "train", "running CNNModel() in training mode")
    computed = seen.computation()
    # counted against CNNModel() as it is: a baseline that already normalizes fails the baseline check, not this one
    base_count = used_parameters(base, seen) - _normalizing(base, seen) + _biases_left_out(seen)
    for name in ("batchnorm", "dropout", "both"):
        model = variant(name)
        _, trace = traced(model, batch, "train", f"running {model.label} in training mode")
        ops = trace.computation()
        added, removed = ops - computed, computed - ops
        expect(not removed and set(added) <= ADDED,
               f"{model.label} changes more than batch norm/dropout: it adds {_listed(added)} and removes "
               f"{_listed(removed)} compared with CNNModel().",
               what=f"operations {name} adds", measured=_listed(added), bound="/".join(sorted(ADDED)) + " only")
        wanted = base_count + _normalizing(model, trace) - _biases_left_out(trace)
        count = used_parameters(model, trace)
        fewer = (" A conv may go without its bias only right before a batch norm, which cancels it."
                 if count < wanted else "")
        expect(count == wanted,
               f"{model.label} computes with {count:,} parameters; with only batch norm/dropout added it should "
               f"use {wanted:,}.{fewer}", what=f"parameters with {name}", measured=count, bound=wanted)


def _normalizing(model, trace) -> int:
    """The parameters of the batch norms a pass ran: their scales and shifts, each counted once."""
    normalizing = {id(t): t for op in trace.of("batch_norm") for t in (op.args.get("weight"), op.args.get("bias"))
                   if t is not None and any(t is p for p in model.parameters().values())}
    return sum(t.numel() for t in normalizing.values())


def _biases_left_out(trace) -> int:
    """The bias a convolution right before a batch norm goes without: the batch norm subtracts any constant its
    input has, so Conv2d(..., bias=False) there computes what the baseline's conv with its bias does."""
    return sum(op.producer.args["weight"].shape[0] for op in trace.of("batch_norm")
               if op.producer is not None and op.producer.kind == "conv" and op.producer.args.get("bias") is None)


def _listed(counts: Counter) -> str:
    return ", ".join(f"{name} x{n}" for name, n in sorted(counts.items())) or "nothing"
