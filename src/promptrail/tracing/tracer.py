"""The Tracer: configuration, sampling and the way out (a worker and an exporter).

Configuration comes from arguments, then the environment:

    PROMPTRAIL_TRACING=false       every call becomes a no-op
    PROMPTRAIL_URL / PROMPTRAIL_API_KEY   send to that server's ingest API (key: `ingest` scope)
    PROMPTRAIL_TRACE_FILE=path     append events to a JSONL file instead
    PROMPTRAIL_SAMPLE_RATE=0.1     keep one trace in ten (decided by trace id)
    PROMPTRAIL_ENVIRONMENT, PROMPTRAIL_RELEASE   defaults for every trace
    PROMPTRAIL_OTLP=true           also (or only, without a promptrail URL) export OTLP/HTTP
                                   to OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT with its _HEADERS

With no destination at all, spans still nest and have ids but nothing is sent.
`Tracer(...)` checks its arguments (ValueError); from then on nothing it does raises.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from promptrail import settings
from promptrail.tracing.context import current
from promptrail.tracing.observation import (
    NOOP,
    NoopObservation,
    Observation,
    Score,
    Trace,
    emit_score,
)
from promptrail.tracing.serialize import capture

if TYPE_CHECKING:
    from promptrail.tracing.exporter import Exporter
    from promptrail.tracing.worker import Worker

log = logging.getLogger("promptrail.tracing")

SHUTDOWN_TIMEOUT = 2.0  # seconds process exit may wait for traces to be delivered


def _discard(item: Any) -> None:
    pass


class Tracer:
    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        enabled: bool | None = None,
        exporter: Exporter | None = None,
        sample_rate: float | None = None,
        mask: Callable[[Any], Any] | None = None,
        environment: str | None = None,
        release: str | None = None,
        max_queue: int = 1_000_000,
        max_queue_bytes: int = 64 * 1024 * 1024,
        batch_size: int = 1000,
        flush_interval: float = 1.0,
        max_retry_delay: float = 10.0,
        request_timeout: float = 10.0,
        max_field_chars: int = 100_000,
        shutdown_timeout: float | None = None,
        otlp_endpoint: str | None = None,
        otlp_headers: dict[str, str] | None = None,
    ):
        if enabled is None:
            enabled = settings.TRACING.switch(True) is not False  # unreadable: stay on
        if sample_rate is None:
            sample_rate = _env_rate(settings.SAMPLE_RATE, 1.0)
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be between 0 and 1, not {sample_rate}")
        if max_queue < 1 or batch_size < 1 or max_queue_bytes < 1:
            raise ValueError("max_queue, max_queue_bytes and batch_size must be at least 1")
        if mask is not None and not callable(mask):
            raise ValueError("mask must be a function taking a value and returning a value")
        self.enabled = bool(enabled)
        self.sample_rate = sample_rate
        self._sample_threshold = int(sample_rate * 2**64)
        if shutdown_timeout is None:
            shutdown_timeout = _env_seconds(settings.SHUTDOWN_TIMEOUT, SHUTDOWN_TIMEOUT)
        self.shutdown_timeout = shutdown_timeout  # the longest exit waits for delivery
        self.max_field_chars = max_field_chars
        if exporter is None and self.enabled:
            exporter = _exporter_from(url, api_key, request_timeout)
        if self.enabled:
            exporter = _with_otlp(exporter, otlp_endpoint, otlp_headers, request_timeout)
        self.exporter = exporter
        self._worker: Worker | None = None
        self._emit: Callable[[Any], None] = _discard
        if exporter is not None and self.enabled:
            # Imported here so that `import promptrail.tracing` stays small.
            from promptrail.tracing.events import EventBuilder
            from promptrail.tracing.worker import Worker

            builder = EventBuilder(
                mask=mask,
                max_chars=max_field_chars,
                environment=environment or settings.ENVIRONMENT.get(),
                release=release or settings.RELEASE.get(),
            )
            self._worker = Worker(
                exporter,
                builder,
                max_queue=max_queue,
                max_queue_bytes=max_queue_bytes,
                batch_size=batch_size,
                flush_interval=flush_interval,
                max_retry_delay=max_retry_delay,
            )
            self._emit = self._worker.put
        _tracers.add(self)

    # -- counters ------------------------------------------------------------------------
    @property
    def dropped(self) -> int:
        """Observations dropped because the queue was full (the destination was too slow)."""
        return self._worker.dropped if self._worker else 0

    @property
    def exported(self) -> int:
        return self._worker.exported if self._worker else 0

    @property
    def failed(self) -> int:
        """Events given up: refused batches, or still unsent when the process ended."""
        return self._worker.failed if self._worker else 0

    @property
    def rejected(self) -> int:
        """Events the server refused one by one (malformed); see the server's answer."""
        return self._worker.rejected if self._worker else 0

    @property
    def queue_size(self) -> int:
        return len(self._worker.queue) if self._worker else 0

    # -- recording -----------------------------------------------------------------------
    def start_span(
        self, name: str, *, input: Any = None, **fields: Any
    ) -> Observation | NoopObservation:
        """A span under the current observation (or a new trace); use it in `with` or end()."""
        return self._start(name, "span", input, fields)

    def start_generation(
        self,
        name: str,
        *,
        model: str | None = None,
        model_parameters: dict[str, Any] | None = None,
        input: Any = None,
        prompt: Any = None,
        **fields: Any,
    ) -> Observation | NoopObservation:
        """An LLM call: model, parameters, input, and `prompt=` the fetched prompt it used."""
        for key, value in (("model", model), ("model_parameters", model_parameters)):
            if value is not None:
                fields[key] = value
        if prompt is not None:
            fields["prompt"] = prompt
        return self._start(name, "generation", input, fields)

    def event(self, name: str, *, input: Any = None, **fields: Any) -> None:
        """A point in time under the current observation."""
        obs = self._start(name, "event", input, fields)
        obs.end()

    def _start(
        self, name: str, type_: str, input_: Any, fields: dict[str, Any]
    ) -> Observation | NoopObservation:
        if not self.enabled:
            return NOOP
        try:
            input_ = capture(input_, self.max_field_chars)
            obs = Observation(self, current.get(), name, type_, input_)
            if fields:
                obs.update(**fields)
            return obs
        except Exception:
            log.debug("promptrail: could not start %s %r", type_, name, exc_info=True)
            return NOOP

    def update_current_trace(self, **attrs: Any) -> None:
        """user_id, session_id, tags, metadata, release, environment, name, input, output."""
        obs = current.get()
        if obs is not None:
            obs.trace.update(**attrs)

    def update_current_observation(self, **fields: Any) -> None:
        """output, usage, metadata, level, status_message, model, cost, prompt..."""
        obs = current.get()
        if obs is not None:
            obs.update(**fields)

    def score(
        self,
        name: str,
        value: float | bool | str,
        *,
        trace_id: str | None = None,
        observation_id: str | None = None,
        session_id: str | None = None,
        data_type: str | None = None,
        comment: str | None = None,
    ) -> None:
        """Score the current trace, or the trace/observation/session whose id you give."""
        if not self.enabled:
            return
        try:
            if trace_id is None and observation_id is None and session_id is None:
                obs = current.get()
                if obs is None:
                    log.warning("promptrail: score %r outside any trace; pass trace_id=", name)
                    return
                emit_score(obs.trace, name, value, None, None, data_type, comment)
                return
            score = Score(name, value)
            score.trace_id = trace_id
            score.observation_id = observation_id
            score.session_id = session_id
            score.data_type = data_type
            score.comment = comment
            self._emit(score)
        except Exception:
            log.debug("promptrail: score failed", exc_info=True)

    # -- delivery ------------------------------------------------------------------------
    def flush(self, timeout: float | None = 5.0) -> bool:
        """Block until what was recorded so far is delivered; False if `timeout` ran out."""
        if self._worker is None:
            return True
        try:
            return self._worker.flush(timeout)
        except Exception:
            log.debug("promptrail: flush failed", exc_info=True)
            return False

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush (bounded by `timeout`, default `shutdown_timeout`) and stop exporting."""
        _tracers.discard(self)
        if self._worker is None:
            return True
        try:
            return self._worker.shutdown(self.shutdown_timeout if timeout is None else timeout)
        except Exception:
            log.debug("promptrail: shutdown failed", exc_info=True)
            return False


def _env_rate(variable: settings.Variable, default: float) -> float:
    raw = variable.get()
    if raw is None:
        return default
    try:
        return min(1.0, max(0.0, float(raw)))
    except ValueError:
        log.warning("promptrail: %s=%r is not a number; using %s", variable.name, raw, default)
        return default


def _env_seconds(variable: settings.Variable, default: float) -> float:
    raw = variable.get()
    try:
        return max(0.0, float(raw)) if raw else default
    except ValueError:
        log.warning(
            "promptrail: %s=%r is not a number of seconds; using %s", variable.name, raw, default
        )
        return default


def _exporter_from(url: str | None, api_key: str | None, timeout: float) -> Exporter | None:
    from promptrail.tracing.exporter import HttpExporter, JsonlExporter

    url = url or settings.URL.get()
    if url:
        return HttpExporter(url, api_key or settings.API_KEY.get(), timeout=timeout)
    path = settings.TRACE_FILE.get()
    if path:
        return JsonlExporter(path)
    return None


def _with_otlp(
    exporter: Exporter | None,
    endpoint: str | None,
    headers: dict[str, str] | None,
    timeout: float,
) -> Exporter | None:
    """`exporter` with an OTLP exporter beside it (or alone) when asked for: by
    `otlp_endpoint=` (errors raise), or PROMPTRAIL_OTLP=true (errors are logged)."""
    from_env = bool(settings.OTLP.switch(False))
    if endpoint is None and not from_env:
        return exporter
    from promptrail.tracing.otlp import FanoutExporter, OtlpExporter

    try:
        otlp = OtlpExporter(endpoint, headers, timeout=timeout)
    except ValueError as exc:
        if endpoint is not None:
            raise
        log.warning("promptrail: PROMPTRAIL_OTLP is set but %s; not exporting OTLP", exc)
        return exporter
    return otlp if exporter is None else FanoutExporter([exporter, otlp])


# -- the process-wide tracer -------------------------------------------------------------

_tracers: weakref.WeakSet[Tracer] = weakref.WeakSet()
_lock = threading.Lock()
active: Tracer | None = None  # read by the decorators on every call


def get_tracer() -> Tracer:
    """The process-wide tracer, configured from the environment on first use."""
    global active
    tracer = active
    if tracer is None:
        with _lock:
            if active is None:
                active = Tracer()
            tracer = active
    return tracer


def configure(*args: Any, **kwargs: Any) -> Tracer:
    """Replace the process-wide tracer (the previous one is flushed); takes Tracer's arguments."""
    global active
    tracer = Tracer(*args, **kwargs)
    with _lock:
        previous, active = active, tracer
    if previous is not None:
        previous.shutdown(timeout=previous.shutdown_timeout)
    return tracer


@contextmanager
def installed(tracer: Tracer, flush_timeout: float = 10.0) -> Iterator[Tracer]:
    """`tracer` is the process-wide one inside the block; after it, `tracer` is flushed
    (within `flush_timeout`) and stopped, and the one before is back, untouched. For a
    command run inside someone else's process (a test, a notebook), which must neither
    shut down the caller's tracer nor leave its own export thread and sockets behind."""
    global active
    with _lock:
        previous, active = active, tracer
    try:
        yield tracer
    finally:
        with _lock:
            if active is tracer:
                active = previous
        tracer.shutdown(timeout=flush_timeout)


def _shutdown_all() -> None:
    """At exit: every tracer flushes, all within the longest of their bounds together."""
    import time

    tracers = list(_tracers)
    if not tracers:
        return
    deadline = time.monotonic() + max(t.shutdown_timeout for t in tracers)
    for tracer in tracers:
        tracer.shutdown(timeout=max(0.0, deadline - time.monotonic()))


atexit.register(_shutdown_all)

__all__ = ["Trace", "Tracer", "configure", "get_tracer", "installed"]
