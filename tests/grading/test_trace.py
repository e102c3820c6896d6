"""A dropout written out is recognised by what it computes, whichever way its mask is drawn and applied."""

import pytest
import torch

from harness.grading.checks.trace import HAND_DRAWN, Recorder

P = 0.3


def _mask_then_rescale(x):
    return x * (torch.rand_like(x) > P).float() / (1 - P)


def _rescaled_mask(x):
    return ((torch.rand_like(x) >= P).to(x.dtype) / (1 - P)) * x


def _where(x):
    return torch.where(torch.rand(x.shape) < P, torch.zeros_like(x), x / (1 - P))


def _masked_fill(x):
    return x.masked_fill(torch.rand_like(x) < P, 0.0).div(1 - P)


def _channels(x):
    keep = torch.bernoulli(torch.full((x.shape[0], x.shape[1], 1, 1), 1 - P))
    return (1 / (1 - P)) * (x * keep)


def _trace(forward):
    torch.manual_seed(0)
    x = torch.rand(64, 16, 8, 8) + 0.1  # no zeros of its own: every zero out is a dropped unit
    with Recorder(x) as trace:
        forward(x)
    return x, trace


@pytest.mark.parametrize("forward, kind", [(_mask_then_rescale, "dropout"), (_rescaled_mask, "dropout"),
                                           (_where, "dropout"), (_masked_fill, "dropout"),
                                           (_channels, "feature_dropout")])
def test_a_dropout_written_out_is_one_dropout_from_its_input_to_its_rescaled_output(forward, kind):
    x, trace = _trace(forward)
    [drop] = trace.active_dropouts()
    assert (drop.kind, drop.name) == (kind, HAND_DRAWN) and torch.equal(drop.input, x)
    kept = drop.output != 0
    assert abs(1 - kept.float().mean().item() - P) < 0.02
    assert torch.allclose(drop.output[kept] / x[kept], torch.full_like(x[kept], 1 / (1 - P)))
    assert trace.computation() == {kind: 1}  # the mask, the rescaling and the draw are not counted apart


def test_a_dropout_written_out_for_p_0_keeps_every_unit_and_is_not_active():
    """CNNModel() with such a dropout applies no dropout: the baseline check must not fail it."""
    _, trace = _trace(lambda x: x * (torch.rand_like(x) >= 0.0).float() / (1 - 0.0))
    assert len(trace.of("dropout")) == 1 and trace.active_dropouts() == [] and trace.flagged() == ""


def test_noise_multiplied_in_drops_nothing_and_noise_added_is_no_dropout():
    _, trace = _trace(lambda x: x * (1 + P * torch.randn_like(x)))
    assert len(trace.of("dropout")) == 1 and trace.active_dropouts() == []  # the rate check: no dropout applied
    _, added = _trace(lambda x: x + P * torch.randn_like(x))
    assert added.active_dropouts() == [] and added.computation() == {"add": 1}  # the noise is not data


def test_a_rescaling_without_a_mask_is_counted_as_itself():
    _, trace = _trace(lambda x: torch.relu(x * 2.0) / 4)
    assert trace.drawn == [] and trace.computation() == {"mul": 1, "relu": 1, "div": 1}
