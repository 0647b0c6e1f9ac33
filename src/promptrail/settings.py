"""Every `PROMPTRAIL_*` environment variable, declared once and read here.

    from promptrail import settings
    url = settings.URL.get()          # None when unset or empty

Who reads what: the runtime client (URL, API_KEY, SNAPSHOT, PROMPTS_DIR), the tracer
(URL, API_KEY, TRACING, SAMPLE_RATE, TRACE_FILE, ENVIRONMENT, RELEASE, OTLP), the CLI (URL,
API_KEY, DB, HOST, PORT, PRICES as option defaults) and the server (`server/settings.py`
builds its settings on DB, AUTH, PROTECTED_LABELS, PREVIEW_PREFIX, MAX_BODY_BYTES, HOST,
MIGRATE, POLL_INTERVAL; the price table on PRICES). Imports only `os`: the runtime client
reads it on import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

PREFIX = "PROMPTRAIL_"
TRUE = frozenset({"1", "true", "on", "yes"})
FALSE = frozenset({"0", "false", "off", "no"})


def switch(raw: str) -> bool | None:
    """on/off, 1/0, true/false, yes/no as a bool; None for anything else."""
    word = raw.strip().lower()
    return True if word in TRUE else False if word in FALSE else None


class Variable:
    """One environment variable: its full name and what it is for."""

    __slots__ = ("help", "name")

    def __init__(self, suffix: str, help: str):
        self.name = PREFIX + suffix
        self.help = help

    def get(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The value, or None when unset; an empty value counts as unset."""
        value = (os.environ if environ is None else environ).get(self.name)
        return value or None

    def switch(self, default: bool, environ: Mapping[str, str] | None = None) -> bool | None:
        """on/off (1/0, true/false, yes/no); `default` when unset, None when unreadable."""
        raw = self.get(environ)
        return default if raw is None else switch(raw)

    def __repr__(self) -> str:
        return f"Variable({self.name!r})"


URL = Variable("URL", "the registry's address, e.g. http://127.0.0.1:8700")
API_KEY = Variable("API_KEY", "the API key sent to the registry")
SNAPSHOT = Variable("SNAPSHOT", "the runtime client's snapshot file (a fallback)")
PROMPTS_DIR = Variable("PROMPTS_DIR", "the runtime client's prompts folder (a fallback)")
TRACING = Variable("TRACING", "off: every tracer call becomes a no-op")
SAMPLE_RATE = Variable("SAMPLE_RATE", "the share of traces kept, 0 to 1")
TRACE_FILE = Variable("TRACE_FILE", "append trace events to this JSONL file instead")
SHUTDOWN_TIMEOUT = Variable("SHUTDOWN_TIMEOUT", "seconds process exit waits for traces, 2")
ENVIRONMENT = Variable("ENVIRONMENT", "the default environment of every trace")
RELEASE = Variable("RELEASE", "the default release of every trace")
OTLP = Variable("OTLP", "on: also export traces as OTLP to OTEL_EXPORTER_OTLP_ENDPOINT")
PRICES = Variable("PRICES", "a YAML file of model prices over the shipped table")
DB = Variable("DB", "the server's database URL (sqlite:///path or postgresql://...)")
AUTH = Variable("AUTH", "on/off: whether the server asks for API keys")
PROTECTED_LABELS = Variable("PROTECTED_LABELS", "labels only a `deploy` key may move")
PREVIEW_PREFIX = Variable("PREVIEW_PREFIX", "labels starting with it are previews")
MAX_BODY_BYTES = Variable("MAX_BODY_BYTES", "the largest request body the server accepts")
HOST = Variable("HOST", "the address the server binds")
PORT = Variable("PORT", "the port the server binds")
MIGRATE = Variable("MIGRATE", "on/off: whether the server upgrades an older schema")
POLL_INTERVAL = Variable("POLL_INTERVAL", "seconds between a server's revision checks")
LANGFUSE_WRITES = Variable("LANGFUSE_WRITES", "on/off: accept prompt writes via the Langfuse API")
AUTH_FAILURE_LIMIT = Variable("AUTH_FAILURE_LIMIT", "wrong API keys a minute per address, 60")
INGEST_LIMIT = Variable("INGEST_LIMIT", "ingest requests a minute per key, 12000 (0: none)")

VARIABLES: tuple[Variable, ...] = tuple(v for v in globals().values() if isinstance(v, Variable))
