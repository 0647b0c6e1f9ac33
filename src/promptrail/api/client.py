"""The one synchronous client of the registry API: state, publish, get, listings, metrics,
keys. The CLI, snapshots and the PR comment use it (sync httpx).

    with RegistryClient() as registry:          # PROMPTRAIL_URL, PROMPTRAIL_API_KEY
        state = registry.state()
        result = registry.publish(request)

Reads are retried (twice, with backoff) when the registry cannot be reached or answers
502/503/504; a publish never is, since its plan is checked against the state it was
made from: the fix for a failed publish is to plan again.

Errors are translated here, at the boundary: 409 -> Conflict, 401/403 -> Unauthorized,
404 -> PromptNotFound, unreachable / 5xx / not JSON -> RegistryUnavailable, any other 4xx
-> RegistryError. Each carries the server's message, `status`, and `details` (a list).
(The runtime client applications use lives in `promptrail.client`.)
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx

from promptrail import __version__, settings
from promptrail.api.eval import (
    DatasetList,
    DatasetVersion,
    DatasetVersionList,
    RunComparison,
    RunCreated,
    RunList,
    RunResult,
)
from promptrail.api.quality import VersionComparison
from promptrail.api.registry import (
    KeyCreated,
    KeyInfo,
    KeyList,
    LabelHistory,
    PromptList,
    PublishedVersion,
    PublishRequest,
    PublishResult,
    RegistryState,
    VersionList,
)
from promptrail.api.tracing import Metrics, ScoreBody, ScoreOut, TraceDetail, TraceList
from promptrail.errors import (
    Conflict,
    PromptNotFound,
    RegistryError,
    RegistryUnavailable,
    Unauthorized,
    UsageError,
)
from promptrail.retry import Backoff, Retry

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_URL", "RegistryClient"]

DEFAULT_URL = "http://127.0.0.1:8700"
DEFAULT_TIMEOUT = 60.0  # a publish of thousands of prompts takes a few seconds
MAX_QUERY_NAMES = 1500  # characters of names in a query string; more go in a POST body
DEFAULT_RETRIES = 2  # extra attempts of a read the registry did not answer
READ_RETRY = Backoff(0.2, 2.0)
RETRY_STATUSES = frozenset({502, 503, 504})  # a proxy in front of a restarting registry


class RegistryClient:
    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        transport: httpx.BaseTransport | None = None,
    ):
        self.url = (url or settings.URL.get() or DEFAULT_URL).rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise UsageError(
                f"registry address {self.url!r} must start with http:// or https:// "
                "(--registry or PROMPTRAIL_URL)"
            )
        key = api_key if api_key is not None else settings.API_KEY.get()
        headers = {"user-agent": f"promptrail/{__version__}"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        self.timeout = timeout
        self.retries = retries
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the API ---------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return dict(self._request("GET", "/api/v1/health"))

    def state(self, names: list[str] | None = None) -> RegistryState:
        """What the registry holds (all prompts, or only `names`), as a plan needs it."""
        if names is None:
            data = self._request("GET", "/api/v1/state")
        elif sum(len(n) + 1 for n in names) <= MAX_QUERY_NAMES:
            data = self._request("GET", "/api/v1/state", params={"names": ",".join(names)})
        else:
            data = self._request("POST", "/api/v1/state", json={"names": list(names)}, read=True)
        return RegistryState.model_validate(data)

    def publish(self, request: PublishRequest) -> PublishResult:
        body = request.model_dump(mode="json")
        data = self._request("POST", "/api/v1/publish", json=body, read=False)
        return PublishResult.model_validate(data)

    def get(
        self, name: str, *, label: str | None = None, version: int | None = None
    ) -> PublishedVersion:
        params: dict[str, Any] = {}
        if label is not None:
            params["label"] = label
        if version is not None:
            params["version"] = version
        data = self._request("GET", f"/api/v1/prompts/{_path(name)}", params=params)
        return PublishedVersion.model_validate(data)

    def list_prompts(self) -> PromptList:
        return PromptList.model_validate(self._request("GET", "/api/v1/prompts"))

    def versions(self, name: str) -> VersionList:
        return VersionList.model_validate(self._request("GET", f"/api/v1/versions/{_path(name)}"))

    def label_history(self, name: str, label: str | None = None) -> LabelHistory:
        params = {"label": label} if label else None
        data = self._request("GET", f"/api/v1/history/{_path(name)}", params=params)
        return LabelHistory.model_validate(data)

    def metrics(self, group_by: str, **query: str | None) -> Metrics:
        """Traced calls grouped by `group_by` (`from`, `to`, `unit`, filters: see the API)."""
        params = {"group_by": group_by, **{k: v for k, v in query.items() if v is not None}}
        return Metrics.model_validate(self._request("GET", "/api/v1/metrics", params=params))

    def compare_versions(
        self,
        prompt: str,
        *,
        base: int | None = None,
        head: int | None = None,
        since: str | None = None,
        until: str | None = None,
        sample_limit: int | None = None,
    ) -> VersionComparison:
        """Two versions of `prompt` on live traffic: scores with a 95% interval, cost and
        latency (`GET /api/v1/metrics/compare`). base defaults to `production`, head to the
        newest other version with traffic; since/until take `7d` or an ISO 8601 time."""
        query = {
            "prompt": prompt,
            "base": base,
            "head": head,
            "since": since,
            "until": until,
            "sample_limit": sample_limit,
        }
        params = {k: str(v) for k, v in query.items() if v is not None}
        data = self._request("GET", "/api/v1/metrics/compare", params=params)
        return VersionComparison.model_validate(data)

    def create_key(
        self, scopes: list[str], description: str | None = None, pair: bool = False
    ) -> KeyCreated:
        body: dict[str, object] = {"scopes": scopes, "description": description}
        if pair:
            body["pair"] = True
        data = self._request("POST", "/api/v1/keys", json=body, read=False)
        return KeyCreated.model_validate(data)

    def list_keys(self) -> list[KeyInfo]:
        return KeyList.model_validate(self._request("GET", "/api/v1/keys")).keys

    def revoke_key(self, key_id: int) -> KeyInfo:
        data = self._request("DELETE", f"/api/v1/keys/{key_id}", read=False)
        return KeyInfo.model_validate(data)

    # -- evaluation: datasets and runs ---------------------------------------------------

    def create_run(self, run: RunResult) -> RunCreated:
        body = run.model_dump(mode="json")
        # Safe to retry: the same run sent twice is stored once.
        data = self._request("POST", "/api/v1/runs", json=body, read=True)
        return RunCreated.model_validate(data)

    def get_run(self, run_id: str) -> RunResult:
        return RunResult.model_validate(self._request("GET", f"/api/v1/runs/{quote(run_id)}"))

    def list_runs(
        self,
        *,
        prompt: str | None = None,
        dataset: str | None = None,
        limit: int = 50,
        prompt_hash: str | None = None,
        dataset_hash: str | None = None,
    ) -> RunList:
        params: dict[str, Any] = {"limit": limit}
        if prompt:
            params["prompt"] = prompt
        if dataset:
            params["dataset"] = dataset
        if prompt_hash:
            params["prompt_hash"] = prompt_hash
        if dataset_hash:
            params["dataset_hash"] = dataset_hash
        return RunList.model_validate(self._request("GET", "/api/v1/runs", params=params))

    def compare_runs(self, base: str, head: str) -> RunComparison:
        params = {"base": base, "head": head}
        data = self._request("GET", "/api/v1/runs/compare", params=params)
        return RunComparison.model_validate(data)

    def dataset_versions(self, name: str) -> DatasetVersionList:
        data = self._request("GET", f"/api/v1/dataset-versions/{_path(name)}")
        return DatasetVersionList.model_validate(data)

    def list_datasets(self) -> DatasetList:
        return DatasetList.model_validate(self._request("GET", "/api/v1/datasets"))

    def get_dataset(
        self, name: str, *, version: int | None = None, hash: str | None = None
    ) -> DatasetVersion:
        params: dict[str, Any] = {}
        if version is not None:
            params["version"] = version
        if hash is not None:
            params["hash"] = hash
        data = self._request("GET", f"/api/v1/datasets/{_path(name)}", params=params)
        return DatasetVersion.model_validate(data)

    # -- traces and scores: what `eval --traces` reads and writes ------------------------

    def list_traces(self, **params: Any) -> TraceList:
        """`GET /api/v1/traces` with its filters (`prompt_name`, `from`, `to`, `page`, ...)."""
        return TraceList.model_validate(self._request("GET", "/api/v1/traces", params=params))

    def get_trace(self, trace_id: str) -> TraceDetail:
        data = self._request("GET", f"/api/v1/traces/{quote(trace_id, safe='')}")
        return TraceDetail.model_validate(data)

    def create_score(self, score: ScoreBody) -> ScoreOut:
        body = score.model_dump(mode="json", exclude_none=True)
        # Idempotent (the same id replaces), so a dropped answer may be retried.
        data = self._request("POST", "/api/v1/scores", json=body, read=True)
        return ScoreOut.model_validate(data)

    # -- one request, errors translated ----------------------------------------------------

    def _request(self, method: str, path: str, *, read: bool | None = None, **kwargs: Any) -> Any:
        """One call; `read` (GETs by default) may be retried, a write never is."""
        reads = method == "GET" if read is None else read
        retry = Retry(READ_RETRY, self.retries if reads else 0)
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:  # waiting again would double a long wait
                raise RegistryUnavailable(
                    f"the registry at {self.url} did not answer within {self.timeout:g}s"
                ) from exc
            except httpx.TransportError as exc:
                delay = retry.next_delay()
                if delay is None:
                    raise RegistryUnavailable(
                        f"cannot reach the registry at {self.url} ({exc}); is `promptrail "
                        "serve` running there? (set --registry or PROMPTRAIL_URL)"
                    ) from exc
                time.sleep(delay)
                continue
            if response.status_code in RETRY_STATUSES:
                delay = retry.next_delay()
                if delay is not None:
                    time.sleep(delay)
                    continue
            return self._answer(method, path, response)

    def _answer(self, method: str, path: str, response: httpx.Response) -> Any:
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success:
            if data is None:
                raise RegistryUnavailable(
                    f"the registry at {self.url} answered {method} {path} with something that "
                    "is not JSON (is that address a promptrail registry?)",
                    response.status_code,
                )
            return data
        raise _error(self.url, response.status_code, data)


def _path(name: str) -> str:
    return quote(name, safe="/")


def _error(url: str, status: int, data: Any) -> RegistryError:
    body = data if isinstance(data, dict) else {}
    message = str(body.get("message") or f"HTTP {status}")
    details = body.get("details") if isinstance(body.get("details"), list) else []
    error: RegistryError
    if status == 409:
        error = Conflict(message, status)
    elif status in (401, 403):
        error = Unauthorized(f"{message} (registry {url})", status)
    elif status == 404:
        error = PromptNotFound(message, status)
    elif status >= 500 or not body:
        error = RegistryUnavailable(f"the registry at {url} failed ({status}): {message}", status)
    else:
        error = RegistryError(message, status)
    error.details = details  # type: ignore[attr-defined]
    error.code = body.get("error")  # type: ignore[attr-defined]
    return error
