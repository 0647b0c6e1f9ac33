"""The paired comparison's arithmetic: verdicts, intervals, counts, and its calibration."""

from __future__ import annotations

import random

import pytest

from promptrail.eval.stats import compare, sign_test


def scores(values: list[float], samples: int = 1) -> dict[str, list[float | None]]:
    return {f"i{n}": [v] * samples for n, v in enumerate(values)}


def test_identical_sides_are_the_same_with_a_zero_interval() -> None:
    side = scores([1, 0, 1, 1, 0] * 10)
    found = compare(side, side)
    assert found.verdict == "same"
    assert found.diff == 0.0
    assert found.ci == (0.0, 0.0)
    assert (found.wins, found.ties, found.losses) == (0, 50, 0)


def test_many_items_fixed_is_better_and_many_broken_is_worse() -> None:
    base = scores([0] * 30 + [1] * 30)
    head = scores([1] * 25 + [0] * 5 + [1] * 30)
    better = compare(base, head)
    assert better.verdict == "better"
    assert better.diff == pytest.approx(25 / 60)
    assert better.ci is not None
    assert 0 < better.ci[0] < better.diff < better.ci[1] <= 1
    assert (better.wins, better.losses) == (25, 0)
    worse = compare(head, base)
    assert worse.verdict == "worse"
    assert worse.ci is not None
    assert worse.ci[1] < 0


def test_three_flips_out_of_three_are_not_enough_evidence() -> None:
    """The bootstrap alone says [1, 1]; the exact sign test (p = 0.25) keeps it 'same'."""
    found = compare(scores([0, 0, 0]), scores([1, 1, 1]))
    assert found.ci == (1.0, 1.0)
    assert found.p_value == pytest.approx(0.25)
    assert found.verdict == "same"


def test_a_small_mixed_change_is_no_detectable_change() -> None:
    base = scores([1, 0] * 20)
    head = scores([1, 0] * 20)
    head["i0"] = [0.0]
    head["i1"] = [1.0]
    head["i3"] = [1.0]
    found = compare(base, head)
    assert found.verdict == "same"
    assert found.ci is not None
    assert found.ci[0] <= 0 <= found.ci[1]
    assert (found.wins, found.losses) == (2, 1)


def test_lower_is_better_flips_the_direction() -> None:
    base = scores([900.0 + n for n in range(40)])
    head = scores([400.0 + n for n in range(40)])
    found = compare(base, head, higher_is_better=False)
    assert found.verdict == "better"
    assert found.wins == 40


def test_items_on_one_side_only_are_left_out_and_counted() -> None:
    base = scores([1, 1, 0])
    head = {"i0": [1.0], "i1": [None], "new": [1.0]}
    found = compare(base, head)
    assert found.items == 1  # i1 has no number on the head; i2 and new are unpaired
    assert found.unpaired == 3


def test_samples_enter_as_the_items_means() -> None:
    base = {"a": [1.0, 0.0, 1.0, 1.0], "b": [0.0, 0.0]}
    head = {"a": [1.0, 1.0], "b": [1.0, 0.0, None]}
    found = compare(base, head)
    assert found.base == pytest.approx((0.75 + 0.0) / 2)
    assert found.head == pytest.approx((1.0 + 0.5) / 2)


def test_the_same_data_gives_the_same_interval() -> None:
    rng = random.Random(3)
    base = scores([rng.random() for _ in range(80)])
    head = scores([rng.random() for _ in range(80)])
    assert compare(base, head).ci == compare(base, head).ci


def test_sign_test_is_exact_and_survives_large_counts() -> None:
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 0) == pytest.approx(2 / 32)
    assert sign_test(6, 0) == pytest.approx(2 / 64)
    assert sign_test(1500, 1500) == 1.0
    assert sign_test(1200, 1800) < 1e-20


def _noisy_runs(
    rng: random.Random, rates: list[float], samples: int
) -> dict[str, list[float | None]]:
    return {
        f"i{n}": [float(rng.random() < rate) for _ in range(samples)]
        for n, rate in enumerate(rates)
    }


@pytest.mark.parametrize(("items", "samples"), [(40, 1), (30, 3), (20, 5)])
def test_identical_noisy_versions_are_flagged_no_more_often_than_5_percent(
    items: int, samples: int
) -> None:
    """Both sides draw from the same per-item pass rates: every 'better'/'worse' is noise.

    400 repetitions: at a true 5% false-alarm rate the count would exceed 30 (7.5%) with
    probability under 1%, so the bound catches a miscalibrated interval.
    """
    rng = random.Random(12)
    flagged = 0
    for repetition in range(400):
        rates = [rng.choice([0.2, 0.5, 0.7, 0.9]) for _ in range(items)]
        base, head = _noisy_runs(rng, rates, samples), _noisy_runs(rng, rates, samples)
        flagged += compare(base, head, seed=repetition).verdict != "same"
    assert flagged <= 30


def test_a_real_improvement_in_noisy_answers_is_found() -> None:
    rng = random.Random(5)
    found = 0
    for repetition in range(50):
        base = _noisy_runs(rng, [0.5] * 60, 3)
        head = _noisy_runs(rng, [0.8] * 60, 3)
        found += compare(base, head, seed=repetition).verdict == "better"
    assert found >= 45
