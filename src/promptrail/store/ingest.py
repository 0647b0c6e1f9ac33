"""Storing a batch of ingest events: validated one by one, written in one transaction.

Every write is an upsert keyed by the object's id that merges the fields it carries
(`COALESCE(new, old)`), so delivering a batch twice, or an update before its create,
ends in the same rows. SQLite and PostgreSQL share the `ON CONFLICT` syntax; only the
`insert` construct differs. Cost is computed here from the price table unless the
event carries one.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from promptrail.api.inputs import as_utc
from promptrail.api.tracing import (
    EVENT_ADAPTER,
    EventError,
    IngestBatch,
    ObservationBody,
    ScoreBody,
    TraceBody,
)
from promptrail.store.bulk import insert_missing, json_text, upsert
from promptrail.store.pricing import PriceTable
from promptrail.store.tracing import observations, scores, trace_tags, traces
from promptrail.store.ui_sums import mark_observation_days

_json = json_text


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() * 1000.0


class Batch:
    """The rows one ingest request writes, gathered before the transaction opens."""

    def __init__(self, prices: PriceTable, now: datetime):
        self.prices = prices
        self.now = now
        self.traces: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, list[str]] = {}
        self.stubs: dict[str, datetime | None] = {}  # trace ids observations point to
        self.creates: dict[str, dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []
        self.scores: dict[str, dict[str, Any]] = {}

    # -- rows -------------------------------------------------------------------------------
    def add_trace(self, body: TraceBody) -> None:
        start, end = as_utc(body.start_time), as_utc(body.end_time)
        row = {
            "name": clean(body.name),
            "user_id": clean(body.user_id),
            "session_id": clean(body.session_id),
            "release": clean(body.release),
            "environment": clean(body.environment),
            "tags": None if body.tags is None else [clean(t) for t in body.tags],
            "metadata": _json(body.metadata),
            "input": _json(body.input),
            "output": _json(body.output),
            "public": body.public,
            "start_time": start,
            "end_time": end,
            "latency_ms": _ms(start, end),
            "created_at": self.now,
            "updated_at": self.now,
        }
        old = self.traces.get(body.id)
        if old is not None:  # two events for one trace in one batch: merge them here
            row = {k: (v if v is not None else old.get(k)) for k, v in row.items()}
        self.traces[body.id] = {"id": body.id, **row}
        if body.tags is not None:
            self.tags[body.id] = sorted({clean(t) or "" for t in body.tags})

    def add_observation(self, body: ObservationBody, *, create: bool) -> None:
        start = as_utc(body.start_time)
        if start is None and create:
            start = self.now
        end = as_utc(body.end_time)
        first_token = as_utc(body.completion_start_time)
        usage: dict[str, int | None] = {}
        if body.usage is not None:
            u = body.usage
            usage = {"input": u.input, "output": u.output, "total": u.total}
            usage |= {"cached": u.cached, "reasoning": u.reasoning}
            if u.total is None and (u.input is not None or u.output is not None):
                usage["total"] = (u.input or 0) + (u.output or 0)
        cost_in = cost_out = cost_total = None
        cost_source = None
        given = body.cost
        if given is not None and not (given.input is given.output is given.total is None):
            cost_in, cost_out, cost_total = given.input, given.output, given.total
            if cost_total is None:
                cost_total = (cost_in or 0.0) + (cost_out or 0.0)
            cost_source = "given"
        elif usage and body.model:
            cost = self.prices.cost(body.model, usage, start)
            if cost is not None:
                cost_in, cost_out, cost_total = cost.input, cost.output, cost.total
                cost_source = "computed"
        prompt = body.prompt
        row = {
            "id": body.id,
            "trace_id": body.trace_id,
            "parent_id": body.parent_id,
            "type": body.type,
            "name": clean(body.name),
            "start_time": start,
            "end_time": end,
            "completion_start_time": first_token,
            "latency_ms": _ms(start, end),
            "time_to_first_token_ms": _ms(start, first_token),
            "level": body.level,
            "status_message": clean(body.status_message),
            "version": clean(body.version),
            "input": _json(body.input),
            "output": _json(body.output),
            "metadata": _json(body.metadata),
            "model": clean(body.model),
            "model_parameters": _json(body.model_parameters),
            "usage_input": usage.get("input"),
            "usage_output": usage.get("output"),
            "usage_total": usage.get("total"),
            "usage_cached": usage.get("cached"),
            "usage_reasoning": usage.get("reasoning"),
            "cost_input": cost_in,
            "cost_output": cost_out,
            "cost_total": cost_total,
            "cost_source": cost_source,
            "prompt_name": prompt.name if prompt else None,
            "prompt_version": prompt.version if prompt else None,
            "prompt_label": prompt.label if prompt else None,
            "prompt_hash": prompt.hash if prompt else None,
            "prompt_resolved": getattr(prompt, "resolved", None),  # checked for OTLP spans
            "created_at": self.now,
        }
        if create:
            old = self.creates.get(body.id)
            if old is not None:
                row = {k: (v if v is not None else old[k]) for k, v in row.items()}
            self.creates[body.id] = row
        else:
            self.updates.append(row)
        known = self.stubs.get(body.trace_id)
        if body.trace_id not in self.stubs or (start and (known is None or start < known)):
            self.stubs[body.trace_id] = start

    def add_score(self, body: ScoreBody, event_id: str) -> None:
        value = body.value
        if body.data_type == "categorical":
            number, text = None, str(value)
        elif body.data_type == "boolean":
            number = 1.0 if value in (True, 1) else 0.0
            text = "true" if number else "false"
        else:
            number, text = float(value), None
        # Without an id of its own a score takes its event's: a redelivered event stays one.
        score_id = body.id or event_id
        self.scores[score_id] = {
            "id": score_id,
            "name": clean(body.name),
            "value": number,
            "string_value": text,
            "data_type": body.data_type,
            "trace_id": body.trace_id,
            "observation_id": body.observation_id,
            "session_id": clean(body.session_id),
            "source": body.source,
            "comment": clean(body.comment),
            "metadata": _json(body.metadata),
            "timestamp": as_utc(body.timestamp) or self.now,
            "created_at": self.now,
        }

    # -- writing ----------------------------------------------------------------------------
    def write(self, conn: Connection) -> None:
        # Traces that observations point to exist even before their trace-create arrives.
        stubs = [
            {"id": tid, "start_time": start, "created_at": self.now, "updated_at": self.now}
            for tid, start in self.stubs.items()
            if tid not in self.traces
        ]
        insert_missing(conn, traces, stubs)
        upsert(conn, traces, list(self.traces.values()), replace=("updated_at",))
        if self.tags:
            ids = list(self.tags)
            conn.execute(delete(trace_tags).where(trace_tags.c.trace_id.in_(ids)))
            rows = [{"trace_id": t, "tag": tag} for t, tags in self.tags.items() for tag in tags]
            insert_missing(conn, trace_tags, rows, keys=("trace_id", "tag"))
        created = list(self.creates.values())
        if conn.dialect.name == "sqlite":  # PostgreSQL's triggers do it (migration 0009)
            mark_observation_days(conn, created + self.updates)
        upsert(conn, observations, created)
        for row in self.updates:  # rare; in order, so two updates of one id apply in turn
            upsert(conn, observations, [row])
        if self.updates:
            self._fill_latency(conn, {row["id"] for row in self.updates})
        upsert(conn, scores, list(self.scores.values()), replace=_SCORE_REPLACE)

    @staticmethod
    def _fill_latency(conn: Connection, ids: set[str]) -> None:
        """An update may bring the end time of an observation created earlier."""
        rows = conn.execute(
            select(
                observations.c.id,
                observations.c.start_time,
                observations.c.end_time,
                observations.c.completion_start_time,
            ).where(observations.c.id.in_(list(ids)))
        ).all()
        for oid, start, end, first in rows:
            start, end, first = as_utc(start), as_utc(end), as_utc(first)
            conn.execute(
                update(observations)
                .where(observations.c.id == oid)
                .values(latency_ms=_ms(start, end), time_to_first_token_ms=_ms(start, first))
            )


_SCORE_REPLACE = ("value", "string_value", "data_type", "comment", "metadata", "source")


@dataclass
class Outcome:
    """What `IngestResult` documents; successes are plain dicts (a batch has thousands),
    errors `EventError`s (few; `.message` for callers)."""

    successes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[EventError] = field(default_factory=list)
    count_only: bool = False  # version 2 answers {"stored": n, "errors": [...]}

    def to_json(self) -> bytes:
        errors = [e.model_dump() for e in self.errors]
        body: dict[str, Any] = {"errors": errors}
        if self.count_only:
            body["stored"] = len(self.successes)
        else:
            body["successes"] = self.successes
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def event_error(
    event_id: str | None, message: str, status: int = 400, code: str = "invalid"
) -> EventError:
    return EventError(id=event_id, status=status, error=code, message=message)


def parse_events(raw_events: list[Any]) -> tuple[Outcome, list[Any]]:
    """Validate each event alone: (the per-event result, the valid events in order).
    An event id seen twice in one batch is stored once and reported as a success twice."""
    result = Outcome()
    valid: list[Any] = []
    seen: set[str] = set()
    for raw in raw_events:
        event_id = raw.get("id") if isinstance(raw, dict) else None
        event_id = event_id if isinstance(event_id, str) else None
        try:
            event = EVENT_ADAPTER.validate_python(raw)
        except ValidationError as exc:
            result.errors.append(event_error(event_id, describe(exc)))
            continue
        if event.id not in seen:
            seen.add(event.id)
            valid.append(event)
        result.successes.append({"id": event.id, "status": 201})
    return result, valid


_BODY_ADAPTER: TypeAdapter[IngestBatch] = TypeAdapter(IngestBatch)


def parse_body(data: bytes) -> tuple[Outcome, list[Any]] | None:
    """The whole request body parsed and validated in one pass (pydantic's JSON parser);
    None when anything in it is invalid: then validate event by event (`parse_events`)."""
    try:
        events = _BODY_ADAPTER.validate_json(data).batch
    except ValidationError:
        return None
    result = Outcome(successes=[{"id": e.id, "status": 201} for e in events])
    unique = {e.id: e for e in events}
    return result, events if len(unique) == len(events) else list(unique.values())


def add_events(batch: Batch, events: list[Any]) -> None:
    for event in events:
        if event.type == "trace-create":
            batch.add_trace(event.body)
        elif event.type == "observation-create":
            batch.add_observation(event.body, create=True)
        elif event.type == "observation-update":
            batch.add_observation(event.body, create=False)
        else:
            batch.add_score(event.body, event.id)


def describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "event"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def new_score_id() -> str:
    return uuid.uuid4().hex[:16]


def clean(text: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters; nobody needs them in a name."""
    if text is not None and "\x00" in text:
        return text.replace("\x00", "")
    return text


def store_events(engine: Engine, prices: PriceTable, raw_events: list[Any]) -> Outcome:
    """Validate and store a batch in one transaction.

    Should the database refuse the batch (a value it cannot hold), the events are
    stored one by one so that only the offending ones are reported; a database that is
    down raises, and the caller answers 503 so the SDK retries.
    """
    return store_valid(engine, prices, *parse_events(raw_events))


def store_valid(engine: Engine, prices: PriceTable, result: Outcome, events: list[Any]) -> Outcome:
    """Store events already validated (see `parse_body`, `parse_events`)."""
    now = datetime.now(UTC)
    try:
        _write(engine, prices, now, events)
    except OperationalError:
        raise
    except DBAPIError:
        failed: dict[str, str] = {}
        for event in events:
            try:
                _write(engine, prices, now, [event])
            except OperationalError:
                raise
            except DBAPIError as exc:
                failed[event.id] = str(exc.orig).splitlines()[0][:300]
        if failed:
            result.successes = [ok for ok in result.successes if ok["id"] not in failed]
            result.errors += [
                event_error(eid, message, 422, "unstorable") for eid, message in failed.items()
            ]
    return result


# SQLite has one writer at a time; waiting on an in-process lock is far cheaper than
# sqlite3's busy handler, which sleeps for growing intervals while another thread writes.
_SQLITE_WRITERS: dict[int, threading.Lock] = {}


def _write(engine: Engine, prices: PriceTable, now: datetime, events: list[Any]) -> None:
    batch = Batch(prices, now)
    add_events(batch, events)
    if engine.dialect.name == "sqlite":
        lock = _SQLITE_WRITERS.setdefault(id(engine), threading.Lock())
        with lock:
            _commit(engine, batch)
    else:
        _commit(engine, batch)


def _commit(engine: Engine, batch: Batch) -> None:
    with engine.connect() as conn:
        # Traces are telemetry: their commits do not wait for the disk (a power cut may
        # lose the last moments, never corrupt anything); the registry's writes still do.
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA synchronous=NORMAL")  # type: ignore[union-attr]
        try:
            # SQLite: take the write lock at BEGIN (no deadlock between two upgrading readers).
            conn = conn.execution_options(promptrail_write=True)
            with conn.begin():
                if not sqlite:
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                batch.write(conn)
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA synchronous=FULL")  # type: ignore[union-attr]
