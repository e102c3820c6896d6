import torch
from torch import nn

from harness.grading.checks.subjects import BATCH
from harness.grading.checks.support import expect, student, traced

# Adam's default rate, the batch size of the exported programs (BATCH): the coursework's 3e-4 needs 30 steps for
# the default init to learn the generated images (0.67 to 1 accuracy over 12 seeds), 1e-3 needs 20 (0.78 to 1)
LR = 1e-3
# all-zero convolutions get no gradient, so the first steps show it as well as any
ZEROS_STEPS, XAVIER_STEPS = 3, 20
CHANCE = 0.1


def _convs(model, batch):
    """The convolutions a forward pass ran: their weight and bias, as the model holds them."""
    with torch.no_grad():
        _, seen = traced(model, batch, "train", f"running {model.label}")
    return [(op.args["weight"], op.args.get("bias")) for op in seen.of("conv")]


def _train(model, images, context, steps):
    """`steps` Adam steps on generated images; returns held-out accuracy in eval mode."""
    x, y = images
    mean = torch.tensor(context["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(context["std"]).view(1, 3, 1, 1)
    x = (x.float() / 255 - mean) / std
    train_x, train_y, test_x, test_y = x[:512], y[:512], x[512:], y[512:]
    optimizer = torch.optim.Adam(model.parameters().values(), lr=LR)
    generator = torch.Generator().manual_seed(0)
    for step in range(steps):
        index = torch.randint(0, len(train_y), (BATCH,), generator=generator)
        loss = nn.functional.cross_entropy(model.run(train_x[index], "train"), train_y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = torch.cat([model.run(chunk, "eval").argmax(1) for chunk in test_x.split(BATCH)])
    return (predicted == test_y).float().mean().item()


def test_zeros_init_cannot_learn_unlike_xavier(variant, images, context, batch):
    """init_mode='zeros' really zeroes the convolutions: after training they are still exactly zero and accuracy stays at chance, while the default (xavier) init learns."""
    zeros = variant("zeros")
    convs = _convs(zeros, batch)
    nonzero = sum(int(torch.count_nonzero(weight)) for weight, _ in convs)
    # a non-zero bias alone lets gradient through, so it is told at the start rather than as weights that moved
    biases = sum(int(torch.count_nonzero(bias)) for _, bias in convs if bias is not None)
    expect(bool(convs) and nonzero == biases == 0, f"CNNModel(init_mode='zeros') starts with {nonzero} non-zero conv "
           f"weights and {biases} non-zero conv biases; every conv weight and bias should be set to 0.",
           what="non-zero conv weights and biases at start", measured=nonzero + biases, bound=0)
    with student("training CNNModel(init_mode='zeros') for a few steps"):
        zeros_accuracy = _train(zeros, images, context, ZEROS_STEPS)
    moved = sum(int(torch.count_nonzero(weight)) for weight, _ in convs)
    expect(moved == 0, f"After {ZEROS_STEPS} training steps {moved} conv weights of the zeros-initialized model are non-zero. "
           "With all-zero convolutions every ReLU input is 0, so no gradient should reach them.",
           what=f"non-zero conv weights after {ZEROS_STEPS} steps", measured=moved, bound=0)
    expect(zeros_accuracy <= CHANCE + 0.1, f"The zeros-initialized model reached {zeros_accuracy:.0%} accuracy; "
           "it should stay at chance (10%).", what="zeros-init accuracy", measured=round(zeros_accuracy, 3),
           bound=f"<= {CHANCE + 0.1}")
    base = variant("base")
    with student("training CNNModel() for a few steps"):
        xavier_accuracy = _train(base, images, context, XAVIER_STEPS)
    learns = xavier_accuracy >= CHANCE + 0.3
    # a default model held back by layers its flags should leave out is the baseline check's failure, not this one's
    flagged = "" if learns else _flagged(base, batch)
    expect(learns or bool(flagged), f"The default (xavier) model reached only {xavier_accuracy:.0%} after "
           f"{XAVIER_STEPS} steps on easy generated data; it should learn (at least {CHANCE + 0.3:.0%}).",
           what=f"xavier accuracy (CNNModel() applies {flagged} with its flags off, so not held to the bound)"
           if flagged else "xavier accuracy", measured=round(xavier_accuracy, 3), bound=f">= {CHANCE + 0.3}")


def _flagged(base, batch) -> str:
    """What CNNModel() runs in training mode that only its flags may switch on, in words."""
    with torch.no_grad():
        _, seen = traced(base, batch, "train", "running CNNModel()")
    return seen.flagged()


def test_default_init_is_xavier_with_zero_bias(variant, batch):
    """CNNModel() initializes conv weights with xavier_uniform (within its bound) and conv biases with zeros."""
    for weight, bias in _convs(variant("base"), batch):
        out_channels, in_channels, kh, kw = weight.shape
        bound = (6 / ((in_channels + out_channels) * kh * kw)) ** 0.5
        largest = float(weight.abs().max())
        expect(largest <= bound and largest > 0.5 * bound,
               f"A convolution's weights reach {largest:.4f}; xavier_uniform draws them within ±{bound:.4f}.",
               what="largest conv weight / xavier bound", measured=round(largest / bound, 3),
               bound="above 0.5, at most 1")
        largest_bias = 0.0 if bias is None else float(bias.abs().max())
        expect(largest_bias == 0.0, "Conv biases should start at zero.", what="largest conv bias",
               measured=largest_bias, bound=0.0)
