"""Paired comparison of two versions' scores over the same items: is the change real?

For one evaluator, each side gives every item one score per sample. An item's score on a
side is the mean over its samples; its difference is head minus base. The comparison
reports both means, the mean difference with a 95% interval, win / tie / loss counts, and
a verdict that is "better" or "worse" only when the evidence excludes "no change":

- The interval is a paired *cluster* bootstrap: resample items with replacement (each
  carrying all of its samples), take the mean difference, repeat; the 2.5th and 97.5th
  percentiles are the bounds. With `--samples N` the spread of the per-item means already
  holds the within-item (sampling) variance, so it is part of the interval; resampling the
  samples too would count it twice. A fixed seed makes the same data give the same
  interval on every machine and every rerun.
- Percentile intervals are too narrow when only a handful of items changed (three items
  that all flipped from fail to pass give [1, 1]). So a verdict also needs the exact sign
  test on wins against losses (two-sided binomial, p < 1 - confidence): it is exact at any
  sample size and makes no assumption about the scores' distribution.

Everything is vectorised with numpy: 10 prompts x 200 items x a few evaluators take a
few tens of milliseconds (bench/eval_pr.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from promptrail.api.verdicts import Verdict

SampleScores = Mapping[str, Sequence[float | None]]  # item id -> one value per sample

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 20_241_206
TIE = 1e-9  # per-item means closer than this are a tie (float noise of averaging)
_CHUNK = 4_000_000  # resampled values held at once: bounds memory for huge datasets


@dataclass(frozen=True)
class Comparison:
    """One evaluator's scores on both sides, paired by item."""

    base: float | None  # mean over the paired items
    head: float | None
    diff: float | None  # head - base
    ci: tuple[float, float] | None
    verdict: Verdict
    wins: int  # items whose score went the good way
    ties: int
    losses: int
    p_value: float | None  # the exact sign test on wins against losses
    items: int  # items scored on both sides
    unpaired: int  # items scored on one side only (left out of the comparison)

    def as_dict(self) -> dict[str, object]:
        return {
            "base": self.base,
            "head": self.head,
            "diff": self.diff,
            "ci": list(self.ci) if self.ci is not None else None,
            "verdict": self.verdict,
            "wins": self.wins,
            "ties": self.ties,
            "losses": self.losses,
            "p_value": self.p_value,
            "items": self.items,
            "unpaired": self.unpaired,
        }


def item_means(scores: SampleScores) -> dict[str, float]:
    """Each item's mean over its samples; samples without a number are left out."""
    means = {}
    for item, values in scores.items():
        numbers = [float(v) for v in values if v is not None]
        if numbers:
            means[item] = math.fsum(numbers) / len(numbers)
    return means


def compare(
    base: SampleScores,
    head: SampleScores,
    *,
    higher_is_better: bool = True,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Comparison:
    """Compare one evaluator's scores; booleans count as 1 (true) and 0 (false)."""
    base_means, head_means = item_means(base), item_means(head)
    paired = sorted(base_means.keys() & head_means.keys())
    unpaired = len(base_means.keys() ^ head_means.keys())
    if not paired:
        return Comparison(None, None, None, None, "same", 0, 0, 0, None, 0, unpaired)
    b = np.fromiter((base_means[i] for i in paired), dtype=float, count=len(paired))
    h = np.fromiter((head_means[i] for i in paired), dtype=float, count=len(paired))
    d = h - b
    sign = 1.0 if higher_is_better else -1.0
    wins = int(np.count_nonzero(sign * d > TIE))
    losses = int(np.count_nonzero(sign * d < -TIE))
    ties = len(paired) - wins - losses
    lo, hi = bootstrap_interval(d, confidence=confidence, resamples=resamples, seed=seed)
    p = sign_test(wins, losses)
    alpha = 1.0 - confidence
    verdict: Verdict = "same"
    if (lo > TIE or hi < -TIE) and p < alpha:
        improved = (lo > TIE) == higher_is_better
        verdict = "better" if improved else "worse"
    return Comparison(
        base=float(b.mean()),
        head=float(h.mean()),
        diff=float(d.mean()),
        ci=(lo, hi),
        verdict=verdict,
        wins=wins,
        ties=ties,
        losses=losses,
        p_value=p,
        items=len(paired),
        unpaired=unpaired,
    )


def bootstrap_interval(
    diffs: np.ndarray, *, confidence: float, resamples: int, seed: int
) -> tuple[float, float]:
    """Percentile interval of the mean of `diffs`, resampling items with replacement."""
    n = len(diffs)
    if n == 1 or bool(np.all(diffs == diffs[0])):
        value = float(diffs[0])
        return value, value
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    step = max(1, _CHUNK // n)
    for start in range(0, resamples, step):
        stop = min(resamples, start + step)
        picks = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = diffs[picks].mean(axis=1)
    tail = (1.0 - confidence) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def compare_unpaired(
    base: Sequence[float],
    head: Sequence[float],
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Comparison:
    """Two versions scored on different traffic (live traces): each side resampled alone.

    No pairing, so no sign test: the verdict rests on the interval of the difference of
    means. Wins, ties and losses stay 0.
    """
    b, h = np.asarray(base, dtype=float), np.asarray(head, dtype=float)
    if not len(b) or not len(h):
        return Comparison(None, None, None, None, "same", 0, 0, 0, None, 0, len(b) + len(h))
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    step = max(1, _CHUNK // (len(b) + len(h)))
    for start in range(0, resamples, step):
        stop = min(resamples, start + step)
        picks_b = rng.integers(0, len(b), size=(stop - start, len(b)))
        picks_h = rng.integers(0, len(h), size=(stop - start, len(h)))
        diffs[start:stop] = h[picks_h].mean(axis=1) - b[picks_b].mean(axis=1)
    tail = (1.0 - confidence) / 2 * 100
    lo, hi = (float(v) for v in np.percentile(diffs, [tail, 100 - tail]))
    verdict: Verdict = "better" if lo > TIE else "worse" if hi < -TIE else "same"
    return Comparison(
        base=float(b.mean()),
        head=float(h.mean()),
        diff=float(h.mean() - b.mean()),
        ci=(lo, hi),
        verdict=verdict,
        wins=0,
        ties=0,
        losses=0,
        p_value=None,
        items=min(len(b), len(h)),
        unpaired=0,
    )


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact binomial p-value of wins against losses (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    # Integer arithmetic: 2**n overflows a float long before n is large.
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, float(2 * tail / 2**n))
