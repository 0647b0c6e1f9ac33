"""What every value in a request must be for both databases to store it, and give it back,
the same: no NUL character in a string (PostgreSQL text and JSON cannot hold one), no NaN
or infinity (not JSON; SQLite would store them, PostgreSQL refuse them), and nesting no
deeper than MAX_DEPTH (deeper would exhaust the recursion of whoever reads it next).

`Storable` checks a whole request body, nested parts included, before the fields are
validated, and the error names the field.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, overload

from pydantic import BaseModel, model_validator

MAX_DEPTH = 100
MAX_INT = 2**63 - 1  # an INTEGER/BIGINT column
MAX_NUMBER = 1e15  # scores and costs: sums and averages of millions of them stay finite


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """The same moment in UTC; a time without an offset is taken as UTC already. A moment
    whose UTC falls outside years 1 to 9999 (`0001-01-01T00:00+00:01`) becomes the nearest
    one that exists rather than an OverflowError."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if not value.utcoffset():
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


def unstorable(value: Any, path: str = "") -> str | None:
    """Why `value` cannot be stored (naming where in it), or None."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return f"{where or 'value'}: contains a NUL character (\\u0000): not storable"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{where or 'value'}: {item} is not a number JSON or the database can hold"
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                return f"{where or 'value'}: nested more than {MAX_DEPTH} levels deep"
            if isinstance(item, dict):
                for key, child in item.items():
                    inner = f"{where}.{key}" if where else str(key)
                    if isinstance(key, str) and "\x00" in key:
                        return f"{where or 'value'}: a key contains a NUL character (\\u0000)"
                    stack.append((child, inner, depth + 1))
            else:
                for index, child in enumerate(item):
                    stack.append((child, f"{where}[{index}]", depth + 1))
    return None


class Storable(BaseModel):
    """A request body checked whole by `unstorable` before its fields are validated."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        problem = unstorable(data)
        if problem is not None:
            raise ValueError(problem)
        return data
