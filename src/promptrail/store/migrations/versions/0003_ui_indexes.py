"""Web UI: daily aggregates for the dashboard, their invalidation, an index, a cookie secret.

`ui_day_*` hold per-UTC-day totals of the days before today (see `store/ui_rollup.py`);
triggers note in `ui_dirty_days` each such day that a late write touches, so its totals
are computed again on the next read. Writes of current data skip the triggers' bodies: the
WHEN clause compares the row's start with today's midnight (an ERROR observation, rare,
also marks the day of its trace).

`ix_observations_level_trace_id` serves "traces with an error" without a full scan.

Revision ID: 0003
Revises: 0002
Create Date: 2024-07-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY = sa.String(10)
NAME = sa.String(200)
COUNT = sa.BigInteger
TS = sa.DateTime(timezone=True)


def _counts() -> list[sa.Column[Any]]:
    return [
        sa.Column("input_tokens", COUNT, nullable=False),
        sa.Column("output_tokens", COUNT, nullable=False),
        sa.Column("total_tokens", COUNT, nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "ui_secrets",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_observations_level_trace_id", "observations", ["level", "trace_id"])
    op.create_table(
        "ui_dirty_days",
        sa.Column("day", DAY, primary_key=True),
        sa.Column("n", COUNT, nullable=False, server_default="0"),
    )
    op.create_table(
        "ui_days",
        sa.Column("day", DAY, primary_key=True),
        sa.Column("traces", COUNT, nullable=False),
        sa.Column("error_traces", COUNT, nullable=False),
        sa.Column("latency_p50", sa.Float),
        sa.Column("latency_p95", sa.Float),
        sa.Column("computed_at", TS, nullable=False),
    )
    op.create_table(
        "ui_day_models",
        sa.Column("day", DAY, primary_key=True),
        sa.Column("model", NAME, primary_key=True),
        sa.Column("generations", COUNT, nullable=False),
        sa.Column("errors", COUNT, nullable=False),
        *_counts(),
    )
    op.create_table(
        "ui_day_prompts",
        sa.Column("day", DAY, primary_key=True),
        sa.Column("prompt_name", NAME, primary_key=True),
        sa.Column("prompt_version", sa.Integer, primary_key=True),
        sa.Column("generations", COUNT, nullable=False),
        sa.Column("errors", COUNT, nullable=False),
        *_counts(),
        sa.Column("latency_sum", sa.Float, nullable=False),
        sa.Column("latency_n", COUNT, nullable=False),
    )
    op.create_table(
        "ui_day_prompt_latency",
        sa.Column("day", DAY, primary_key=True),
        sa.Column("prompt_name", NAME, primary_key=True),
        sa.Column("prompt_version", sa.Integer, primary_key=True),
        sa.Column("histogram", sa.Text, nullable=False),
    )
    op.create_table(
        "ui_day_prompt_scores",
        sa.Column("day", DAY, primary_key=True),
        sa.Column("prompt_name", NAME, primary_key=True),
        sa.Column("prompt_version", sa.Integer, primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("score_sum", sa.Float, nullable=False),
        sa.Column("score_n", COUNT, nullable=False),
    )
    op.create_table(
        "ui_day_users",
        sa.Column("day", DAY, primary_key=True),
        sa.Column("user_id", NAME, primary_key=True),
        sa.Column("traces", COUNT, nullable=False),
        sa.Column("error_traces", COUNT, nullable=False),
        sa.Column("generations", COUNT, nullable=False),
        *_counts(),
        sa.Column("latency_sum", sa.Float, nullable=False),
        sa.Column("latency_n", COUNT, nullable=False),
    )
    op.create_table(
        "ui_day_user_scores",
        sa.Column("day", DAY, primary_key=True),
        sa.Column("user_id", NAME, primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("score_sum", sa.Float, nullable=False),
        sa.Column("score_n", COUNT, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_triggers()
    else:
        _sqlite_triggers()


# -- SQLite: times are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC) --------------------------

_SQLITE_TODAY = "strftime('%Y-%m-%d 00:00:00', 'now')"
# Not INSERT OR IGNORE: in a trigger, the conflict policy of the statement that fired it
# wins, and ingest's upserts would then fail on a day already marked.
_SQLITE_MARK = (
    "INSERT INTO ui_dirty_days (day) SELECT DISTINCT substr({column}, 1, 10) {source}"
    "WHERE {where}{column} < {today} "
    "AND substr({column}, 1, 10) NOT IN (SELECT day FROM ui_dirty_days);"
)
# For each table: (WHEN for a written row, the rows whose days it touches: None for the row
# itself). An observation touches its own day and, being an ERROR, its trace's count of
# failed traces; a trace its own day and the days its generations count on; a score its
# trace's and observations' days.
# table -> (when a row marks its day, the rows touched: None for its own, or (table, where))
_SQLITE_TRIGGERS: dict[str, tuple[str, list[tuple[str, str] | None]]] = {
    "traces": (
        "{row}.start_time < {today}",
        [None, ("observations", "trace_id = {row}.id")],
    ),
    "observations": (
        "{row}.start_time < {today} OR {row}.level = 'ERROR'",
        [None, ("traces", "id = {row}.trace_id")],
    ),
    "scores": (
        "{row}.trace_id IS NOT NULL",
        [("traces", "id = {row}.trace_id"), ("observations", "trace_id = {row}.trace_id")],
    ),
}


def _mark(row: str, touched: tuple[str, str] | None, today: str) -> str:
    if touched is None:
        return _SQLITE_MARK.format(column=f"{row}.start_time", source="", where="", today=today)
    table, where = touched
    return _SQLITE_MARK.format(
        column="start_time",
        source=f"FROM {table} ",
        where=where.format(row=row) + " AND ",
        today=today,
    )


def _sqlite_triggers(tables: Sequence[str] = tuple(_SQLITE_TRIGGERS)) -> None:
    """The marking triggers of `tables` (0009 drops the observations' and recreates them
    on its downgrade)."""
    today = _SQLITE_TODAY
    for table in tables:
        when, touched = _SQLITE_TRIGGERS[table]
        for event, rows in (("INSERT", ["NEW"]), ("UPDATE", ["NEW", "OLD"])):
            condition = " OR ".join(f"({when.format(row=row, today=today)})" for row in rows)
            body = " ".join(_mark(row, each, today) for row in rows for each in touched)
            op.execute(
                f"CREATE TRIGGER ui_mark_{table}_{event.lower()} AFTER {event} ON {table} "
                f"WHEN {condition} BEGIN {body} END"
            )


# -- PostgreSQL ------------------------------------------------------------------------------

_PG_TODAY = "(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
_PG_FUNCTION = """
CREATE FUNCTION ui_mark_days() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched timestamptz[];
BEGIN
    IF TG_TABLE_NAME = 'traces' THEN
        touched := ARRAY[NEW.start_time]
            || ARRAY(SELECT start_time FROM observations WHERE trace_id = NEW.id);
    ELSIF TG_TABLE_NAME = 'observations' THEN
        touched := ARRAY[NEW.start_time]
            || ARRAY(SELECT start_time FROM traces WHERE id = NEW.trace_id);
    ELSE  -- scores
        touched := ARRAY(SELECT start_time FROM traces WHERE id = NEW.trace_id)
            || ARRAY(SELECT start_time FROM observations WHERE trace_id = NEW.trace_id);
    END IF;
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME <> 'scores' THEN
        touched := touched || OLD.start_time;
    END IF;
    -- A counter rather than DO NOTHING: a refresh deleting this mark then waits for this
    -- transaction, so it cannot compute the day without this row and forget it.
    INSERT INTO ui_dirty_days (day)
    SELECT DISTINCT to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM unnest(touched) AS moment
    WHERE moment < TODAY
    ON CONFLICT (day) DO UPDATE SET n = ui_dirty_days.n + 1;
    RETURN NULL;
END $$
"""


_PG_WHENS = {
    "traces": "NEW.start_time < {today}",
    "observations": "NEW.start_time < {today} OR NEW.level = 'ERROR'",
}


def _postgres_triggers() -> None:
    op.execute(_PG_FUNCTION.replace("TODAY", _PG_TODAY))
    _postgres_row_triggers(tuple(_PG_WHENS))
    op.execute(
        "CREATE TRIGGER ui_mark_scores AFTER INSERT OR UPDATE ON scores FOR EACH ROW "
        "WHEN (NEW.trace_id IS NOT NULL) EXECUTE FUNCTION ui_mark_days()"
    )


def _postgres_row_triggers(tables: Sequence[str]) -> None:
    for table in tables:
        new = _PG_WHENS[table].format(today=_PG_TODAY)
        old = new.replace("NEW.", "OLD.")
        op.execute(
            f"CREATE TRIGGER ui_mark_{table}_insert AFTER INSERT ON {table} FOR EACH ROW "
            f"WHEN ({new}) EXECUTE FUNCTION ui_mark_days()"
        )
        op.execute(
            f"CREATE TRIGGER ui_mark_{table}_update AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({new} OR {old}) EXECUTE FUNCTION ui_mark_days()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("traces", "observations"):
            op.execute(f"DROP TRIGGER IF EXISTS ui_mark_{table}_insert ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS ui_mark_{table}_update ON {table}")
        op.execute("DROP TRIGGER IF EXISTS ui_mark_scores ON scores")
        op.execute("DROP FUNCTION IF EXISTS ui_mark_days()")
    else:
        for table in ("traces", "observations", "scores"):
            for event in ("insert", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS ui_mark_{table}_{event}")
    for table in (
        "ui_day_prompt_scores",
        "ui_day_prompt_latency",
        "ui_day_user_scores",
        "ui_day_users",
        "ui_day_prompts",
        "ui_day_models",
        "ui_days",
        "ui_dirty_days",
        "ui_secrets",
    ):
        op.drop_table(table)
    op.drop_index("ix_observations_level_trace_id", "observations")
