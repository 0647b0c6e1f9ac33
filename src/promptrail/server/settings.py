"""The server's settings: CLI flags over `PROMPTRAIL_*` environment variables over defaults.

The variables are declared in `promptrail.settings`; this module gives them types.

| setting            | env                            | default                            |
|--------------------|--------------------------------|------------------------------------|
| db_url             | PROMPTRAIL_DB                  | sqlite:///.promptrail/registry.db  |
| auth               | PROMPTRAIL_AUTH (on/off)       | on                                 |
| protected_labels   | PROMPTRAIL_PROTECTED_LABELS    | production (comma-separated)       |
| preview_prefix     | PROMPTRAIL_PREVIEW_PREFIX      | pr-                                |
| max_body_bytes     | PROMPTRAIL_MAX_BODY_BYTES      | 33554432 (32 MiB)                  |
| host               | PROMPTRAIL_HOST                | 127.0.0.1                          |
| migrate            | PROMPTRAIL_MIGRATE (on/off)    | on (upgrade an older schema)       |
| langfuse_writes    | PROMPTRAIL_LANGFUSE_WRITES     | off (Langfuse API prompt writes)   |
| auth_failure_limit | PROMPTRAIL_AUTH_FAILURE_LIMIT  | 60 wrong keys a minute per address |
| ingest_limit       | PROMPTRAIL_INGEST_LIMIT        | 12000 ingest requests a minute/key |

A limit of 0 switches it off; over one, the answer is 429 with Retry-After.

With auth on, every route but health and the OpenAPI document needs an API key:
GETs the `read` scope, publishing `publish` (and `deploy` for protected labels), key
management `admin`. Auth off is allowed only on a loopback address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from promptrail import settings as env
from promptrail.constants import PREVIEW_PREFIX, PRODUCTION
from promptrail.errors import UsageError
from promptrail.repo.spec import LABEL_RE
from promptrail.store import DEFAULT_DB_URL

# Each field and the variable that sets it.
VARIABLES: dict[str, env.Variable] = {
    "db_url": env.DB,
    "auth": env.AUTH,
    "protected_labels": env.PROTECTED_LABELS,
    "preview_prefix": env.PREVIEW_PREFIX,
    "max_body_bytes": env.MAX_BODY_BYTES,
    "host": env.HOST,
    "migrate": env.MIGRATE,
    "poll_interval": env.POLL_INTERVAL,
    "langfuse_writes": env.LANGFUSE_WRITES,
    "auth_failure_limit": env.AUTH_FAILURE_LIMIT,
    "ingest_limit": env.INGEST_LIMIT,
}


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    auth: bool = True
    protected_labels: tuple[str, ...] = (PRODUCTION,)
    preview_prefix: str = PREVIEW_PREFIX
    max_body_bytes: int = 32 * 1024 * 1024
    host: str = "127.0.0.1"
    migrate: bool = True
    poll_interval: float = 0.2  # seconds between checks of the registry revision
    # Accept prompt writes through the Langfuse-compatible API (recorded as outside git).
    langfuse_writes: bool = False
    auth_failure_limit: int = 60  # wrong or revoked keys a minute per client address
    ingest_limit: int = 12_000  # ingest requests a minute per key

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `PROMPTRAIL_*` variables, then `overrides` that are not None."""
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = VARIABLES[spec.name].get(environ)
            if raw is not None:
                values[spec.name] = _parse(spec.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "protected_labels" in values:
            values["protected_labels"] = tuple(values["protected_labels"])
        return replace(cls(), **values)

    def to_env(self) -> dict[str, str]:
        """The variables that rebuild these settings in another process (uvicorn workers)."""
        out: dict[str, str] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, bool):
                text = "on" if value else "off"
            elif isinstance(value, tuple):
                text = ",".join(value)
            else:
                text = str(value)
            out[VARIABLES[spec.name].name] = text
        return out

    def check(self) -> Settings:
        if not self.auth and not is_loopback(self.host):
            raise UsageError(
                f"--no-auth is refused on {self.host}: without keys anyone who can reach the "
                "server could publish. Bind a loopback address (--host 127.0.0.1), or keep "
                "auth on and create a key: `promptrail keys create --db URL --scope admin`"
            )
        for label in self.protected_labels:
            if not LABEL_RE.match(label):
                raise UsageError(f"protected label {label!r} is not a valid label name")
            if self.preview_prefix and label.startswith(self.preview_prefix):
                raise UsageError(
                    f"protected label {label!r} starts with the preview prefix "
                    f"{self.preview_prefix!r}; previews can never be protected"
                )
        if self.preview_prefix and not LABEL_RE.match(self.preview_prefix + "1"):
            raise UsageError(f"preview prefix {self.preview_prefix!r} cannot start a label name")
        if self.max_body_bytes < 1024:
            raise UsageError(f"max body size {self.max_body_bytes} is below 1024 bytes")
        return self


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parse(name: str, raw: str) -> Any:
    where = f"{VARIABLES[name].name}={raw!r}"
    if name in ("auth", "migrate", "langfuse_writes"):
        value = env.switch(raw)
        if value is None:
            raise UsageError(f"{where}: use on or off")
        return value
    if name == "protected_labels":
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    if name in ("max_body_bytes", "poll_interval", "auth_failure_limit", "ingest_limit"):
        try:
            return float(raw) if name == "poll_interval" else int(raw)
        except ValueError:
            raise UsageError(f"{where}: expected a number") from None
    return raw
