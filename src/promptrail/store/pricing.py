"""Model prices and the cost of a generation.

Prices come from three places, later ones winning: the table shipped with promptrail
(`pricing.yaml`), a file of the same shape (`promptrail serve --prices FILE` or
`PROMPTRAIL_PRICES`), and prices added through the API (kept in the database). A price
matches a model by regex (case-insensitive, whole name) and applies from its date on;
a generation is priced with the entry in force when it started.

In YAML, prices are per 1M tokens (`input`, `output`, `cached_input`); in the API and in
memory, per token.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from promptrail import settings
from promptrail.errors import UsageError

SOURCES = ("builtin", "file", "api")  # in increasing priority
MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    model: str
    match_pattern: str
    input_price: float  # USD per token
    output_price: float
    cached_input_price: float | None = None
    effective_from: dt.date = dt.date(2000, 1, 1)
    provider: str | None = None
    source: str = "builtin"
    id: int | None = None
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", compile_pattern(self.match_pattern))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "match_pattern": self.match_pattern,
            "provider": self.provider,
            "input_price": self.input_price,
            "output_price": self.output_price,
            "cached_input_price": self.cached_input_price,
            "effective_from": self.effective_from.isoformat(),
            "source": self.source,
        }


def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise UsageError(f"invalid model pattern {pattern!r}: {exc}") from None


@dataclass(frozen=True)
class Cost:
    input: float
    output: float

    @property
    def total(self) -> float:
        return self.input + self.output


def cost_of(price: Price, usage: dict[str, int | None]) -> Cost | None:
    """USD for this usage; None when the usage says nothing about input or output."""
    input_tokens = usage.get("input")
    output_tokens = usage.get("output")
    if input_tokens is None and output_tokens is None:
        return None
    cached = min(usage.get("cached") or 0, input_tokens or 0)
    cached_price = (
        price.input_price if price.cached_input_price is None else price.cached_input_price
    )
    input_cost = ((input_tokens or 0) - cached) * price.input_price + cached * cached_price
    return Cost(input_cost, (output_tokens or 0) * price.output_price)


class PriceTable:
    """Prices by priority; `find(model, at)` is cached per model name."""

    def __init__(self, prices: list[Price]):
        rank = {source: i for i, source in enumerate(SOURCES)}
        # Highest priority first, then the newest date first.
        self.prices = sorted(
            prices, key=lambda p: (-rank.get(p.source, 0), -p.effective_from.toordinal())
        )
        self._by_model: dict[str, list[Price]] = {}

    def candidates(self, model: str) -> list[Price]:
        found = self._by_model.get(model)
        if found is None:
            found = [p for p in self.prices if p.regex.fullmatch(model)]
            if len(self._by_model) > 10_000:  # model names come from clients: stay bounded
                self._by_model.clear()
            self._by_model[model] = found
        return found

    def find(self, model: str, at: dt.datetime | dt.date | None = None) -> Price | None:
        found = self.candidates(model)
        if not found:
            return None
        day = _day(at)
        for price in found:  # by priority, newest first: the first one in force wins
            if price.effective_from <= day:
                return price
        # Older than every known price: the earliest of the preferred source is the best guess.
        return next(p for p in reversed(found) if p.source == found[0].source)

    def cost(
        self, model: str | None, usage: dict[str, int | None], at: dt.datetime | None = None
    ) -> Cost | None:
        if not model:
            return None
        price = self.find(model, at)
        return None if price is None else cost_of(price, usage)


def _day(at: dt.datetime | dt.date | None) -> dt.date:
    if at is None:
        return dt.datetime.now(dt.UTC).date()
    if isinstance(at, dt.datetime):
        if at.tzinfo is not None:
            at = at.astimezone(dt.UTC)
        return at.date()
    return at


# -- loading -------------------------------------------------------------------------------


def parse_prices(data: bytes | str, file: str, source: str) -> list[Price]:
    """Prices from a YAML document of the shape of pricing.yaml; errors name file and line."""
    from promptrail.repo.yamlfile import parse_mapping

    doc, lines = parse_mapping(data, file)
    models = doc.get("models")
    if not isinstance(models, list):
        raise UsageError(f"{file}:{lines.line(('models',))}: expected `models:` with a list")
    prices: list[Price] = []
    for i, entry in enumerate(models):
        where = f"{file}:{lines.line(('models', i))}"
        if not isinstance(entry, dict) or not entry.get("model"):
            raise UsageError(f"{where}: each model needs `model:`, `match:` and `prices:`")
        name = str(entry["model"])
        pattern = str(entry.get("match") or re.escape(name))
        try:
            compile_pattern(pattern)
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None
        rows = entry.get("prices")
        if not isinstance(rows, list) or not rows:
            raise UsageError(f"{where}: model {name!r} needs a list under `prices:`")
        for j, row in enumerate(rows):
            at = f"{file}:{lines.line(('models', i, 'prices', j))}"
            prices.append(_price_row(name, pattern, entry.get("provider"), row, at, source))
    return prices


def _price_row(name: str, pattern: str, provider: Any, row: Any, where: str, source: str) -> Price:
    if not isinstance(row, dict):
        raise UsageError(f"{where}: a price is a mapping like {{from: 2025-01-01, input: 1.0}}")
    try:
        start = row.get("from", "2000-01-01")
        if not isinstance(start, dt.date):
            start = dt.date.fromisoformat(str(start))
        per = {k: row.get(k) for k in ("input", "output", "cached_input")}
        if per["input"] is None or per["output"] is None:
            raise ValueError("`input:` and `output:` (USD per 1M tokens) are required")
        values = {k: None if v is None else float(v) / MILLION for k, v in per.items()}
        if any(v is not None and v < 0 for v in values.values()):
            raise ValueError("prices cannot be negative")
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{where}: price of {name!r}: {exc}") from None
    return Price(
        model=name,
        match_pattern=pattern,
        input_price=values["input"] or 0.0,
        output_price=values["output"] or 0.0,
        cached_input_price=values["cached_input"],
        effective_from=start,
        provider=None if provider is None else str(provider),
        source=source,
    )


@lru_cache(maxsize=1)
def builtin_prices() -> tuple[Price, ...]:
    text = resources.files("promptrail.store").joinpath("pricing.yaml").read_text(encoding="utf-8")
    return tuple(parse_prices(text, "pricing.yaml", "builtin"))


def file_prices(path: str | os.PathLike[str] | None = None) -> list[Price]:
    """Prices from `path`, or from the file named by PROMPTRAIL_PRICES; [] when neither."""
    path = path or settings.PRICES.get()
    if not path:
        return []
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read price file {file}: {exc.strerror}") from None
    return parse_prices(data, str(file), "file")


def price_table(
    extra_file: str | os.PathLike[str] | None = None, api_prices: list[Price] | None = None
) -> PriceTable:
    return PriceTable([*builtin_prices(), *file_prices(extra_file), *(api_prices or [])])
