from collections import Counter

import torch
from torch import nn

from harness.checks.support import expect, student

BASELINE_PARAMETERS = 390_986
CONVS = [(3, 32), (32, 64), (64, 128), (128, 256)]
ADDED_TYPES = (nn.BatchNorm2d, nn.Dropout, nn.Dropout2d)


CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _leaf_types(model: nn.Module) -> Counter:
    """Layer types, counted; empty containers are not layers."""
    return Counter(type(m).__name__ for m in model.modules() if not list(m.children()) and not isinstance(m, CONTAINERS))


def test_baseline_architecture(build):
    """The baseline CNNModel() is the given network: 390,986 parameters, four 3x3 convs 32/64/128/256, output 10 classes."""
    model = build()
    count = sum(p.numel() for p in model.parameters())
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    shapes = [f"{c.in_channels}->{c.out_channels} {c.kernel_size[0]}x{c.kernel_size[1]} pad {c.padding[0]}" for c in convs]
    wanted = [f"{i}->{o} 3x3 pad 1" for i, o in CONVS]
    expect(shapes == wanted, f"CNNModel() should have four convolutions {wanted}; yours has {shapes}.",
           what="convolutions", measured="; ".join(shapes), bound="; ".join(wanted))
    expect(count == BASELINE_PARAMETERS,
           f"CNNModel() has {count:,} parameters; the given architecture has {BASELINE_PARAMETERS:,}. "
           "Keep the given layers and only add BatchNorm/Dropout behind the flags.",
           what="parameters", measured=count, bound=BASELINE_PARAMETERS)
    with student("running CNNModel() on a batch of two 3x32x32 images"):
        out = model.eval()(torch.zeros(2, 3, 32, 32))
    expect(tuple(out.shape) == (2, 10), f"CNNModel() should output (batch, 10) logits; it gave {tuple(out.shape)}.",
           what="output shape", measured=str(tuple(out.shape)), bound="(2, 10)")


def test_variants_only_add_batchnorm_and_dropout(build, context):
    """use_batchnorm / use_dropout add only BatchNorm2d and Dropout layers to the given network, nothing else."""
    base = build()
    base_types = _leaf_types(base)
    base_count = sum(p.numel() for p in base.parameters())
    for flags in ({"use_batchnorm": True}, {"use_dropout": True, "dropout_rate": context["dropout_rate"]},
                  {"use_batchnorm": True, "use_dropout": True, "dropout_rate": context["dropout_rate"]}):
        model, name = build(**flags), "+".join(k for k in flags if k.startswith("use_"))
        types = _leaf_types(model)
        added, removed = types - base_types, base_types - types
        allowed = {t.__name__ for t in ADDED_TYPES}
        expect(not removed and set(added) <= allowed,
               f"CNNModel({flags}) changes more than BatchNorm/Dropout: it adds {dict(added) or 'nothing'} "
               f"and removes {dict(removed) or 'nothing'} compared with CNNModel().",
               what=f"layers {name} adds", measured=str(dict(added)), bound="/".join(sorted(allowed)) + " only")
        bn_params = sum(p.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters())
        count = sum(p.numel() for p in model.parameters())
        expect(count == base_count + bn_params,
               f"CNNModel({flags}) has {count:,} parameters; with only BatchNorm/Dropout added it should have "
               f"{base_count + bn_params:,}.", what=f"parameters with {name}", measured=count,
               bound=base_count + bn_params)
