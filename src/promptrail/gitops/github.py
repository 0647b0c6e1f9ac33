"""One pull-request comment, posted or updated in place through GitHub's REST API.

The comment is found again by a marker (an HTML comment, invisible once rendered) in its
body, so each push to a pull request edits the same comment instead of adding one.
Everything a runner provides comes from its environment: `GITHUB_TOKEN`,
`GITHUB_REPOSITORY`, `GITHUB_API_URL` and the event file at `GITHUB_EVENT_PATH`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from promptrail.constants import COMMENT_MARKER
from promptrail.errors import GitHubError, UsageError

if TYPE_CHECKING:
    import httpx

DEFAULT_API_URL = "https://api.github.com"
# GitHub refuses comment bodies longer than 65,536 characters.
MAX_BODY = 65_536
PAGE_SIZE = 100
TIMEOUT = 30.0


@dataclass(frozen=True)
class PullRequest:
    repository: str  # owner/name
    number: int


@dataclass(frozen=True)
class Posted:
    action: Literal["created", "updated", "unchanged"]
    id: int
    url: str


def pull_request_from_env(
    env: Mapping[str, str] | None = None, number: int | None = None
) -> PullRequest:
    """The pull request a workflow run is about: `--pr` or the event file's number."""
    env = os.environ if env is None else env
    repository = env.get("GITHUB_REPOSITORY", "")
    if "/" not in repository:
        raise UsageError(
            "GITHUB_REPOSITORY is not set (owner/name); outside GitHub Actions, set it: "
            "GITHUB_REPOSITORY=owner/name promptrail comment --pr N"
        )
    if number is None:
        number = _number_from_event(env.get("GITHUB_EVENT_PATH"))
    return PullRequest(repository, number)


def _number_from_event(path: str | None) -> int:
    if not path:
        raise UsageError(
            "no pull request number: pass --pr N, or run in a pull_request workflow "
            "(GITHUB_EVENT_PATH is not set)"
        )
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except (OSError, ValueError) as exc:
        raise UsageError(f"GITHUB_EVENT_PATH {path}: cannot read the event ({exc})") from None
    for holder in (event.get("pull_request"), event.get("issue"), event):
        if isinstance(holder, dict) and isinstance(holder.get("number"), int):
            return int(holder["number"])
    raise UsageError(
        f"GITHUB_EVENT_PATH {path}: this event is not about a pull request "
        "(run the comment step on `pull_request`, or pass --pr N)"
    )


def with_marker(body: str, marker: str) -> str:
    """The body that will be posted: it carries the marker, and fits GitHub's limit."""
    if marker not in body:
        body = f"{marker}\n{body}"
    if len(body) > MAX_BODY:
        note = "\n\n… (cut: the full output is in the workflow run's log)\n"
        body = body[: MAX_BODY - len(note)] + note
    return body


class GitHub:
    """The few REST calls a PR comment needs. `transport` lets tests route requests."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = TIMEOUT,
    ):
        if not token:
            raise UsageError(
                "GITHUB_TOKEN is not set: in a workflow, add `env: GITHUB_TOKEN: "
                "${{ github.token }}` to the step (and `permissions: pull-requests: write`)"
            )
        import httpx  # imported here: `promptrail` starts faster for every other command

        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self._http = httpx.Client(
            base_url=self.api_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "promptrail",
            },
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GitHub:
        env = os.environ if env is None else env
        return cls(env.get("GITHUB_TOKEN", ""), api_url=env.get("GITHUB_API_URL") or None)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls ------------------------------------------------------------------------------

    def comments(self, pr: PullRequest) -> list[dict[str, Any]]:
        """Every comment of the pull request, following the `Link: rel="next"` pages."""
        url: str | None = f"/repos/{pr.repository}/issues/{pr.number}/comments"
        params: dict[str, Any] | None = {"per_page": PAGE_SIZE}
        found: list[dict[str, Any]] = []
        while url:
            response = self._request("GET", url, pr, params=params)
            page = response.json()
            if not isinstance(page, list):
                raise GitHubError(f"GitHub answered {url} with something other than a list")
            found.extend(page)
            url = response.links.get("next", {}).get("url")
            params = None  # the next link carries them
        return found

    def find_comment(self, pr: PullRequest, marker: str) -> dict[str, Any] | None:
        for comment in self.comments(pr):
            if marker in (comment.get("body") or ""):
                return comment
        return None

    def upsert_comment(self, pr: PullRequest, body: str, marker: str = COMMENT_MARKER) -> Posted:
        """Update the comment that carries `marker`, or create it."""
        body = with_marker(body, marker)
        existing = self.find_comment(pr, marker)
        if existing is None:
            response = self._request(
                "POST", f"/repos/{pr.repository}/issues/{pr.number}/comments", pr, body=body
            )
            return _posted("created", response.json())
        if existing.get("body") == body:
            return _posted("unchanged", existing)
        response = self._request(
            "PATCH", f"/repos/{pr.repository}/issues/comments/{existing['id']}", pr, body=body
        )
        return _posted("updated", response.json())

    def _request(
        self,
        method: str,
        url: str,
        pr: PullRequest,
        *,
        params: dict[str, Any] | None = None,
        body: str | None = None,
    ) -> httpx.Response:
        import httpx

        try:
            response = self._http.request(
                method, url, params=params, json=None if body is None else {"body": body}
            )
        except httpx.HTTPError as exc:
            raise GitHubError(
                f"cannot reach GitHub at {self.api_url} ({type(exc).__name__}: {exc})"
            ) from None
        if response.status_code >= 400:
            raise _error(response, pr)
        return response


def _posted(action: Literal["created", "updated", "unchanged"], data: dict[str, Any]) -> Posted:
    return Posted(action, int(data.get("id", 0)), str(data.get("html_url") or data.get("url")))


def _error(response: httpx.Response, pr: PullRequest) -> GitHubError:
    status = response.status_code
    try:
        detail = str(response.json().get("message", ""))
    except ValueError:
        detail = response.text[:200]
    said = f" (GitHub said: {detail})" if detail else ""
    headers = response.headers
    if status == 429 or (status == 403 and headers.get("x-ratelimit-remaining") == "0"):
        wait = headers.get("retry-after")
        reset = headers.get("x-ratelimit-reset")
        if not wait and reset and reset.isdigit():
            wait = str(max(0, int(reset) - int(time.time())))
        when = f"; try again in {wait} s" if wait else ""
        return GitHubError(f"GitHub rate limit reached{when}{said}", status)
    if status == 401:
        return GitHubError(
            f"GitHub refused the token (401){said}: check GITHUB_TOKEN "
            "(in a workflow: `GITHUB_TOKEN: ${{ github.token }}`)",
            status,
        )
    if status == 403:
        return GitHubError(
            f"the token may not comment on {pr.repository}#{pr.number} (403){said}: give the "
            "workflow `permissions: pull-requests: write`; pull requests from forks get a "
            "read-only token, so skip the step for them",
            status,
        )
    if status == 404:
        return GitHubError(
            f"{pr.repository}#{pr.number} not found (404){said}: check GITHUB_REPOSITORY and "
            "the pull request number, and that the token can see the repository",
            status,
        )
    return GitHubError(f"GitHub answered {status} to {response.request.url.path}{said}", status)
