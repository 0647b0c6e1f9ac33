"""Money and durations as people read them, the same in the UI, the CLI and a PR comment."""

from __future__ import annotations

import pytest

from promptrail.units import NONE, duration_ms, usd


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.0004282500000000001, "$0.00043"),  # two significant digits below a cent
        (0.003, "$0.0030"),
        (0.0000012, "$0.0000012"),
        (0, "$0"),
        (1.254, "$1.25"),
        (1234.5, "$1,234"),
        (None, NONE),
    ],
)
def test_usd(value: float | None, shown: str) -> None:
    assert usd(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"), [(850.4, "850 ms"), (1250, "1.25 s"), (150_000, "2.5 min"), (None, NONE)]
)
def test_duration(value: float | None, shown: str) -> None:
    assert duration_ms(value) == shown
