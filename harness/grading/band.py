"""The reference band: each coursework run of the reference under several seeds, epoch by epoch, and a
student's run read against it: an outcome (within, below or above the band) and, when it is off, a
diagnosis in one sentence, read from its curves against the band's.

The band is the reference's stored runs (the seeds the claims' spread uses), so it is measured once
per profile and data set, never per student.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from harness.grading.spread import METRIC, Spread
from harness.store.records import RunRecord

CURVES = ("loss", "accuracy", "val_loss", "val_accuracy")
WITHIN, BELOW, ABOVE = "within", "below", "above"
CHANCE = 0.1  # ten classes
AT_CHANCE = CHANCE + 0.05  # the highest accuracy still read as not learning
GUESSING_LOSS = math.log(1 / CHANCE)  # the cross-entropy of a network that gives every class the same probability
RISE = 1.1  # a last epoch's loss this many times the first's has risen, beyond an epoch's noise
OVERFIT = 0.10  # a train/validation gap at least this much wider than the reference's is overfitting, not noise
# behaviour checks whose failure makes a model score otherwise when it is evaluated, and what each means
EVALUATION_FAULTS = {
    "validation_transform_has_no_random_augmentation": "your validation transform does more than ToTensor and "
                                                        "Normalize(mean, std)",
    "transforms_return_normalized_tensors": "a transform does not normalize as the statistics say",
    "dropout_inactive_in_eval": "dropout is still active in eval mode",
    "batchnorm_uses_running_statistics_in_eval": "batch norm uses batch statistics in eval mode",
}
# behaviour checks whose failure makes a model start otherwise than the reference: stuck, overshooting, or (where
# the reference learns slowly, as SGD does) faster than it
INIT_FAULTS = {"default_init_is_xavier_with_zero_bias": "the conv weights do not start as xavier_uniform"}
# a behaviour check whose failure makes every run another network than the reference's, faster or slower, stuck
# where the reference learns (dropout at 0.5 in every block, built whatever use_dropout says) or learning where it
# cannot
ARCHITECTURE_FAULTS = {"baseline_architecture": "CNNModel() is not the given network"}
LEARNING_FAULTS = {**ARCHITECTURE_FAULTS, **INIT_FAULTS}
# behaviour checks whose failure leaves a run with batch norm at another scale than the reference's: as far off
# as a wrong init, in a run that has the layer
NORMALIZATION_FAULTS = {"batchnorm_train_statistics": "batch norm does not normalize each channel in training"}
SCALE_FAULTS = {**INIT_FAULTS, **NORMALIZATION_FAULTS}
# behaviour checks whose failure lets a model fit its training set more closely than the reference's, by what a
# run adds against overfitting: dropout, or the training transforms
DROPOUT_FAULTS = {
    "dropout_is_active_in_training": "dropout is not active in training",
    "dropout_rate_and_scaling": "dropout does not drop at the rate asked for",
}
AUGMENTATION_FAULTS = {"training_transforms_are_random": "a training transform gives the same image on every draw"}
# the layers only some runs have, as each run's model_args switch them on: the checks of the layer, no suspect in
# a run without it, and what to ask of it when a run behaves otherwise in evaluation
LAYERS = {"use_dropout": ({"dropout_inactive_in_eval", *DROPOUT_FAULTS}, "dropout still active in eval mode"),
          "use_batchnorm": ({"batchnorm_uses_running_statistics_in_eval", *NORMALIZATION_FAULTS},
                            "batch norm using batch statistics there")}


def per_epoch(series: Sequence[Sequence[float]]) -> tuple[list[float], list[float]]:
    """The mean and standard deviation over several runs' curves at each epoch they all reached (early
    stopping ends seeds at different epochs); no deviation from one run."""
    epochs = list(zip(*series))
    return ([statistics.fmean(e) for e in epochs], [statistics.stdev(e) for e in epochs] if len(series) > 1 else [])


class OtherData(ValueError):
    """The store's reference band was measured on other data than the data being graded."""


@dataclass(frozen=True)
class Band:
    experiment: str
    profile: str
    curves: dict[str, tuple[tuple[float, ...], ...]]  # metric -> one per-epoch series per seed
    spread: Spread  # of METRIC over the seeds
    data: str  # which data the reference ran on, in words
    model_args: dict  # the reference's, e.g. its dropout rate

    @property
    def seeds(self) -> int:
        return len(self.spread.values)

    def mean(self, metric: str) -> list[float]:
        return per_epoch(self.curves[metric])[0]

    def std(self, metric: str) -> list[float]:
        return per_epoch(self.curves[metric])[1]

    def last(self, metric: str) -> list[float]:
        """The metric at each seed's last epoch."""
        return [series[-1] for series in self.curves[metric]]

    @property
    def scale(self) -> float:
        """The band's spread of METRIC: the seeds' standard deviation, never below the binomial error of
        one accuracy measured on the validation set (three seeds can agree by chance)."""
        return max(self.spread.std, self.spread.binomial_se)

    def limit(self, sigmas: float) -> float:
        """How many scales a run may sit from the band's mean and be within it: the run and the mean
        are both estimates, so their gap has sqrt(1 + 1/seeds) x the spread."""
        return sigmas * math.sqrt(1 + 1 / self.seeds)


def from_records(records: Sequence[RunRecord]) -> Band:
    """The band of one experiment from its reference runs, one per seed."""
    first = records[0]
    data = first.environment["data"]
    source = "generated data (harness data synth)" if data.get("synthetic") else data.get("dataset", "the data set")
    if data.get("folder"):
        source += f" in {data['folder']}"
    curves = {metric: tuple(tuple(row[metric] for row in r.history) for r in records) for metric in CURVES}
    return Band(first.experiment, first.profile, curves, Spread.of(list(records)), source,
                dict(first.spec.get("model_args", {})))


@dataclass(frozen=True)
class Outcome:
    verdict: str  # WITHIN | BELOW | ABOVE
    gap: float  # (reproduced - band mean) in units of the band's scale
    limit: float  # |gap| up to this is within
    reproduced: float
    diagnosis: str  # '' when within


def outcome(record: RunRecord, band: Band, sigmas: float, failed_checks: Sequence[str] = ()) -> Outcome:
    """A finished run against the band of the same experiment and profile; `failed_checks`, the
    submission's behaviour checks that failed, name the cause where the curves point at evaluation."""
    reproduced = record.metrics[METRIC]
    gap = (reproduced - band.spread.mean) / band.scale
    limit = band.limit(sigmas)
    verdict = WITHIN if abs(gap) <= limit else BELOW if gap < 0 else ABOVE
    diagnosis = "" if verdict == WITHIN else diagnose(record, band, sigmas, verdict, failed_checks)
    return Outcome(verdict, gap, limit, reproduced, diagnosis)


def non_finite(record: RunRecord, failed_checks: Sequence[str] = ()) -> str:
    """For a run that failed on a NaN or infinite loss: the sentence saying from which epoch ('' otherwise)."""
    if "non-finite" not in record.error:
        return ""
    finite = [row for row in record.history if all(_finite(row.get(m, 0.0)) for m in CURVES)]
    faults = named(_bearing(failed_checks, record), SCALE_FAULTS)
    return (f"The loss became NaN or infinite in epoch {len(finite) + 1}: look for a division or log of zero in the "
            "model, or for outputs so large that the notebook's learning rate overshoots (weights far larger than "
            "xavier_uniform's, outputs scaled up)." + (f" The behaviour checks point at: {faults}." if faults else ""))


def diagnose(record: RunRecord, band: Band, sigmas: float, verdict: str, failed_checks: Sequence[str] = ()) -> str:
    """What the curves say went wrong, the first rule that matches; a plain statement of the gap if none does."""
    best, mean = record.metrics[METRIC], band.spread.mean
    plainly = (f"Best validation accuracy {best:.1%} is {verdict} the reference's {mean:.1%} ± {band.scale:.1%} "
               f"({band.seeds} seeds).")
    if not record.history or any(metric not in record.history[-1] for metric in CURVES):
        return plainly
    failed_checks = _bearing(failed_checks, record)
    reading = _Reading(record, band, sigmas, verdict, failed_checks)
    for rule in (_learns_where_the_reference_cannot, _overshoots, _stays_at_chance, _evaluated_otherwise, _overfits):
        if sentence := rule(reading):
            return sentence
    # less dropout or augmentation than asked for, or larger weights than xavier's, train faster; the evaluation
    # faults only hold a run back
    training, _ = _against_overfitting(record)
    suspects = {**LEARNING_FAULTS, **training}
    if verdict == BELOW:
        suspects.update(EVALUATION_FAULTS)
    faults = named(failed_checks, suspects)
    return " ".join(filter(None, (plainly, _own_dropout(record, band),
                                  faults and f"The behaviour checks that failed may say why: {faults}.")))


def _own_dropout(record: RunRecord, band: Band) -> str:
    """The coursework lets each student choose the dropout's rate and placement, and the band measures the
    reference's: in a run with dropout, a gap no rule explains can be that choice."""
    if not _has(record, "use_dropout"):
        return ""
    own, reference = record.spec["model_args"].get("dropout_rate"), band.model_args.get("dropout_rate")
    theirs = f"rate {reference:g}" if reference is not None else "its rate"
    yours = f"; yours is {own:g}" if own is not None and own != reference else ""
    return (f"The band measures the reference's dropout ({theirs}, in its own places{yours}): a gap here can be your "
            "choice of dropout rather than a fault.")


@dataclass(frozen=True)
class _Reading:
    """A run off the band, with what every diagnosis rule reads of it."""

    record: RunRecord
    band: Band
    sigmas: float
    verdict: str
    failed_checks: tuple[str, ...]

    @property
    def best(self) -> float:
        return self.record.metrics[METRIC]

    @property
    def train(self) -> float:
        return self.record.history[-1]["accuracy"]

    @property
    def val(self) -> float:
        return self.record.history[-1]["val_accuracy"]

    @property
    def reference_train(self) -> float:
        return statistics.fmean(self.band.last("accuracy"))

    def noise(self, per_seed: list[float]) -> float:
        """How far the run may sit from the reference's seeds' mean of `per_seed` by chance, as the verdict allows."""
        return self.band.limit(self.sigmas) * max(_stdev(per_seed), self.band.spread.binomial_se)


def _learns_where_the_reference_cannot(r: _Reading) -> str:
    mean = r.band.spread.mean
    if r.verdict != ABOVE or mean > AT_CHANCE:
        return ""
    if r.record.spec.get("model_args", {}).get("init_mode") == "zeros":
        return (f"It learns ({r.best:.0%} against the reference's {mean:.0%}), but a network whose convolutions all "
                "start at zero cannot: the initialization was ignored. CNNModel(init_mode='zeros') should set "
                "every conv weight and bias to 0.")
    # e.g. an SGD run with a small learning rate, which the reference has not got going in a short profile
    return (f"It learns ({r.best:.0%}) where the reference, under the same settings, is still near chance "
            f"({mean:.0%}): the model trains faster than the notebook's. "
            + because(r.failed_checks, LEARNING_FAULTS, "Does it scale its outputs up, start from larger weights than "
                      "xavier_uniform, or add a normalization the baseline has not got?"))


def _overshoots(r: _Reading) -> str:
    overshoot = overshooting([row["loss"] for row in r.record.history], r.band)
    if not overshoot:
        return ""
    # the learning rate is the notebook's, so what makes the steps too large is the model's scale
    return (f"{overshoot}: each step at the notebook's learning rate overshoots, the rate is too high for this "
            "model's scale. " + because(r.failed_checks, SCALE_FAULTS, "Does it start from far larger "
                                        "weights than xavier_uniform (nn.init.normal_ draws with std 1 unless given "
                                        "one), or scale its outputs up?"))


def _stays_at_chance(r: _Reading) -> str:
    if not r.train <= AT_CHANCE < r.reference_train:
        return ""
    return (f"Training accuracy stays at chance ({r.train:.0%}; the reference reaches {r.reference_train:.0%}): the "
            "network does not learn. " + because(r.failed_checks, LEARNING_FAULTS,
                                                 "Are its weights all zero, or is the learning rate far too small?"))


def _evaluated_otherwise(r: _Reading) -> str:
    """Validation far below while training is not: the model behaves otherwise in eval mode."""
    if r.verdict != BELOW:
        return ""
    margin = r.noise(r.band.last("accuracy"))
    below = (f"Validation accuracy ({r.best:.0%}) is far below the reference's ({r.band.spread.mean:.0%}) while "
             f"training accuracy ({r.train:.0%})")
    faults = named(r.failed_checks, EVALUATION_FAULTS)
    if faults and r.train >= r.reference_train - margin:
        return (f"{below} is not: the model behaves otherwise when it is evaluated, and the behaviour checks say why: "
                f"{faults}.")
    if abs(r.train - r.reference_train) <= margin:
        layers = [question for arg, (_, question) in LAYERS.items() if _has(r.record, arg)]
        return (f"{below} is as the reference's: the model behaves otherwise when it is evaluated. "
                + (f"Is {' or '.join(layers)}? " if layers else "")
                + "Does the validation transform augment, or normalize otherwise?")
    return ""


def _bearing(failed_checks: Sequence[str], record: RunRecord) -> tuple[str, ...]:
    """The failed checks that can be at work in this run: a layer's only where the run has the layer."""
    absent = {check for layer, (checks, _) in LAYERS.items() if not _has(record, layer) for check in checks}
    return tuple(check for check in failed_checks if check not in absent)


def _has(record: RunRecord, layer: str) -> bool:
    return bool(record.spec.get("model_args", {}).get(layer))


def _overfits(r: _Reading) -> str:
    """A train/validation gap far wider than the reference's, in a run whose validation falls short (one that
    validates above the band has not overfitted, however well it fits its training set)."""
    gaps = [t - v for t, v in zip(r.band.last("accuracy"), r.band.last("val_accuracy"))]
    wider = r.train - r.val - statistics.fmean(gaps)
    if r.verdict != BELOW or wider < max(OVERFIT, r.noise(gaps)):
        return ""
    return (f"Training accuracy ({r.train:.0%}) is {r.train - r.val:.0%} above validation accuracy ({r.val:.0%}), "
            f"against {statistics.fmean(gaps):.0%} for the reference: it overfits. "
            + because(r.failed_checks, *_against_overfitting(r.record)))


def _against_overfitting(record: RunRecord) -> tuple[dict[str, str], str]:
    """What a run's spec adds to the baseline against overfitting: the behaviour checks that find it not at work,
    and the question to ask when none of them failed."""
    if _has(record, "use_dropout"):
        return DROPOUT_FAULTS, "Is the dropout active in training?"
    if (record.spec.get("inputs") or {}).get("pipeline"):
        return AUGMENTATION_FAULTS, "Do your training transforms augment as the strategy says?"
    return {}, "Does the model have more parameters than the given CNN?"


def named(failed_checks: Sequence[str], faults: dict[str, str]) -> str:
    """What the failed checks among `faults` mean, in words; '' when none of them failed."""
    return "; ".join(faults[check] for check in failed_checks if check in faults)


def because(failed_checks: Sequence[str], faults: dict[str, str], question: str) -> str:
    """The failed checks among `faults` as the cause, in a sentence; the question to look into when none failed."""
    found = named(failed_checks, faults)
    return f"The behaviour checks say why: {found}." if found else question


def overshooting(losses: Sequence[float], band: Band) -> str:
    """Where the reference's training loss falls: a run's that rises, or ends above twice the loss of guessing
    (confidently wrong predictions), in words; '' otherwise. A network that does not learn stays at the loss of
    guessing, so it is not mistaken for one that overshoots."""
    reference = statistics.fmean(band.last("loss"))
    if reference >= band.mean("loss")[0]:
        return ""
    if len(losses) >= 2 and losses[-1] > RISE * losses[0]:
        return (f"The training loss rises from {_loss(losses[0])} to {_loss(losses[-1])} while the reference's falls "
                f"to {reference:.2g}")
    if losses[-1] > 2 * GUESSING_LOSS and reference < GUESSING_LOSS:
        return (f"The training loss ends at {_loss(losses[-1])}, far above the {GUESSING_LOSS:.2f} of a network that "
                f"guesses, while the reference's falls to {reference:.2g}")
    return ""


def _loss(value: float) -> str:
    """A loss as a student reads it: 1,846 rather than 1.85e+03."""
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


def _finite(value: float | None) -> bool:
    """The store keeps NaN and inf as null: either is not finite."""
    return value is not None and math.isfinite(value)


def _stdev(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0
