"""How sure a small-scale ablation is: mean with a 95 % interval, and paired differences.

An ablation row trained once on a few dozen clips can move by more than the gap the
paper reports between variants, so every ablation table here states an interval beside
its mean. Two kinds, named in the table so a reader knows what the width covers:

- "t over seeds": each seed (a whole training run) gives one number, the mean over the
  validation samples; Student's t interval over those per-seed numbers. It covers the
  run-to-run spread (initialisation, data order), which is what decides whether a
  variant's lead would survive retraining. With 3 seeds it is wide (t = 4.30), honestly.
- "bootstrap over samples": scipy's BCa bootstrap of the mean over per-sample scores
  pooled across seeds; it covers which validation samples happened to be drawn, not
  retraining. Used for single-run tables (Table 4's rows) where there are no seeds.

`paired_difference` compares two variants on the same seeds (or samples): the interval
of the mean difference, far narrower than two overlapping intervals suggest, is what says
whether "SM > SE" reproduces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

#: The interval methods an ablation table can state.
CI_METHODS = ("t over seeds", "bootstrap over samples")


@dataclass(frozen=True)
class Interval:
    """A mean and its two-sided confidence interval; `n` values went into it."""

    mean: float
    low: float
    high: float
    n: int
    method: str

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    def excludes_zero(self) -> bool:
        """For a difference: True when the whole interval lies on one side of 0."""
        return self.low > 0.0 or self.high < 0.0

    def format(self, digits: int = 2) -> str:
        """"14.12 ± 0.31" (symmetric t) or "14.12 [13.80, 14.40]" (bootstrap)."""
        if self.n < 2 or not math.isfinite(self.low):
            return f"{self.mean:.{digits}f}"
        if self.method == CI_METHODS[0]:
            return f"{self.mean:.{digits}f} ± {self.half_width:.{digits}f}"
        return f"{self.mean:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def t_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Student's t interval of the mean: mean ± t_{(1+level)/2, n-1} · s / √n.

    One value has no spread: its interval is (nan, nan) and it prints as the bare mean.
    """
    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    if len(data) < 2:
        return Interval(mean, float("nan"), float("nan"), len(data), CI_METHODS[0])
    half = float(stats.t.ppf((1.0 + level) / 2.0, len(data) - 1) * data.std(ddof=1) / math.sqrt(len(data)))
    return Interval(mean, mean - half, mean + half, len(data), CI_METHODS[0])


def bootstrap_interval(values: Sequence[float], level: float = 0.95, resamples: int = 2000,
                       seed: int = 0) -> Interval:
    """BCa bootstrap interval of the mean (scipy.stats.bootstrap), reproducible by `seed`."""
    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    if len(data) < 2 or np.ptp(data) == 0:
        return Interval(mean, mean, mean, len(data), CI_METHODS[1])
    result = stats.bootstrap((data,), np.mean, confidence_level=level, n_resamples=resamples,
                             method="BCa", random_state=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return Interval(mean, float(low), float(high), len(data), CI_METHODS[1])


def paired_difference(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Interval:
    """t interval of mean(a − b) over pairs (the same seed, or the same sample, on both sides)."""
    if len(a) != len(b):
        raise ValueError(f"Paired values need equal counts, got {len(a)} and {len(b)}.")
    return t_interval(np.asarray(a, dtype=float) - np.asarray(b, dtype=float), level)
