"""Model prices added through the API: rows of `model_prices`, read back as `Price`s."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, delete, select

from promptrail.api.tracing import ModelPriceCreate
from promptrail.errors import InvalidRequest, NotFound
from promptrail.store.ingest import upsert
from promptrail.store.pricing import Price, compile_pattern
from promptrail.store.tracing import model_prices


def api_prices(conn: Connection) -> list[Price]:
    return [_price(row) for row in conn.execute(select(model_prices).order_by(model_prices.c.id))]


def _price(row: Any) -> Price:
    return Price(
        model=row.model,
        match_pattern=row.match_pattern,
        input_price=row.input_price,
        output_price=row.output_price,
        cached_input_price=row.cached_input_price,
        effective_from=dt.date.fromisoformat(row.effective_from),
        provider=row.provider,
        source="api",
        id=row.id,
    )


def add_price(conn: Connection, body: ModelPriceCreate) -> Price:
    """Add (or replace: same model and date) a price; it wins over the shipped table."""
    try:
        compile_pattern(body.match_pattern)
        start = dt.date.fromisoformat(body.effective_from) if body.effective_from else None
    except ValueError as exc:
        raise InvalidRequest(f"effective_from: {exc} (use YYYY-MM-DD)") from None
    except Exception as exc:
        raise InvalidRequest(f"match_pattern: {exc}") from None
    start = start or dt.datetime.now(dt.UTC).date()
    row = {
        "model": body.model,
        "match_pattern": body.match_pattern,
        "provider": body.provider,
        "input_price": body.input_price,
        "output_price": body.output_price,
        "cached_input_price": body.cached_input_price,
        "effective_from": start.isoformat(),
        "created_at": dt.datetime.now(dt.UTC),
    }
    upsert(
        conn,
        model_prices,
        [row],
        keys=("model", "effective_from"),
        replace=("match_pattern", "provider", "input_price", "output_price", "cached_input_price"),
    )
    found = conn.execute(
        select(model_prices).where(
            model_prices.c.model == body.model,
            model_prices.c.effective_from == row["effective_from"],
        )
    ).one()
    return _price(found)


def delete_price(conn: Connection, price_id: int) -> None:
    gone = conn.execute(delete(model_prices).where(model_prices.c.id == price_id)).rowcount
    if not gone:
        raise NotFound(f"no model price with id {price_id} (only prices added by the API have ids)")
