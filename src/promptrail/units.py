"""Numbers for people: money and durations, written the same in the UI, the CLI and a
pull-request comment. (The API keeps full numbers, rounded only to drop float noise.)"""

from __future__ import annotations

import math

NONE = "\u2013"  # an en dash: shown for a missing number
USD_DECIMALS = 10  # what the API keeps of a cost: sums of floats end in ...0000000001


def usd(value: float | None) -> str:
    """`$0.00043` (two significant digits below a cent), `$1.25`, `$1,234`."""
    if value is None:
        return NONE
    if value == 0:
        return "$0"
    size = abs(value)
    if size < 0.01:
        decimals = 1 - math.floor(math.log10(size))
        return f"${value:.{decimals}f}"
    if size < 100:
        return f"${value:.2f}"
    return f"${value:,.0f}"


def round_usd(value: float | None) -> float | None:
    return None if value is None else round(value, USD_DECIMALS)


def duration_ms(value: float | None) -> str:
    """`850 ms`, `1.25 s`, `2.5 min`."""
    if value is None:
        return NONE
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 60_000:
        return f"{value / 1000:.2f} s"
    return f"{value / 60_000:.1f} min"
