"""Data for the browser tests, put in through the real paths: publishes to the registry API
and traces recorded by the tracer SDK, exported to the server's ingest API."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from promptrail import Client
from promptrail.api.client import RegistryClient
from promptrail.api.registry import LabelMove, PublishRequest, PublishSource, VersionUpload
from promptrail.tracing import Tracer
from uploads import upload
from waiting import wait_until

REPO = "https://github.com/acme/support-prompts"
TRIAGE = "support/triage"
EMAIL = "customer-email"
TRIAGE_V1 = [
    {"role": "system", "content": "You triage support tickets for {{product}}."},
    {"role": "user", "content": "{{ticket}}"},
]
TRIAGE_V2 = [
    {"role": "system", "content": "You triage support tickets for {{product}}.\nBe brief."},
    {"role": "user", "content": "{{ticket}}"},
]
TRIAGE_V3 = [
    {
        "role": "system",
        "content": "You triage support tickets for {{product}} in {{language}}.\nBe brief.",
    },
    {"role": "placeholder", "name": "history"},
    {"role": "user", "content": "{{ticket}}"},
]


def chat(version: int, messages: list[dict[str, str]], **config: Any) -> VersionUpload:
    return upload(
        TRIAGE,
        version,
        messages=messages,
        config=config,
        commit=f"{version}" * 40,
        author="Ada Lovelace",
        message=f"triage v{version}",
        path="prompts/support/triage.yaml",
    )


def text(name: str, version: int, prompt: str) -> VersionUpload:
    return upload(
        name, version, prompt=prompt, config={"model": "gpt-4o-mini"}, path=f"prompts/{name}.yaml"
    )


def source(commit: str, message: str) -> PublishSource:
    return PublishSource(
        commit=commit,
        ref="refs/heads/main",
        author="CI",
        message=message,
        ci_run_url=f"{REPO}/actions/runs/{commit[:4]}",
        repository_url=REPO,
    )


def publish_prompts(url: str, api_key: str | None = None) -> None:
    """Three publishes of support/triage (production v1 → v2, staging v2 → v3), one email."""
    v2 = chat(2, TRIAGE_V2, model="gpt-4o-mini", temperature=0.2)
    with RegistryClient(url, api_key) as registry:
        registry.publish(
            PublishRequest(
                source=source("1" * 40, "add triage"),
                versions=[
                    chat(1, TRIAGE_V1, model="gpt-4o-mini", temperature=0.2),
                    text(EMAIL, 1, "Dear {{customer_name}}, about {{topic}}..."),
                ],
                labels=[
                    LabelMove(name=TRIAGE, label="production", version=1),
                    LabelMove(name=EMAIL, label="production", version=1),
                ],
            )
        )
        registry.publish(
            PublishRequest(
                source=source("2" * 40, "stage triage v2"),
                versions=[v2],
                labels=[LabelMove(name=TRIAGE, label="staging", version=2)],
            )
        )
        registry.publish(
            PublishRequest(
                source=source("3" * 40, "promote v2, stage v3"),
                versions=[chat(3, TRIAGE_V3, model="gpt-4o", temperature=0.0, max_tokens=200)],
                labels=[
                    LabelMove(name=TRIAGE, label="production", version=2, expected=1),
                    LabelMove(name=TRIAGE, label="staging", version=3, expected=2),
                ],
                expect_versions={TRIAGE: {2: v2.hash}},
            )
        )


@dataclass
class Seeded:
    trace_ids: dict[str, str] = field(default_factory=dict)  # user -> a trace of theirs
    multi_step: str = ""  # a trace with spans, two generations and an event


def record_traces(url: str, api_key: str | None = None) -> Seeded:
    """Support runs by alice (production, v2) and bob (staging, v3), traced by the SDK."""
    seeded = Seeded()
    tracer = Tracer(url, api_key, flush_interval=0.05)
    with Client(url, api_key) as prompts:
        production = prompts.get_prompt(TRIAGE, label="production")
        staging = prompts.get_prompt(TRIAGE, label="staging")
        for user, prompt, session in (
            ("alice", production, "chat-alice"),
            ("bob", staging, "chat-bob"),
        ):
            for turn in range(2):
                ticket = f"My invoice is wrong ({user}, message {turn + 1})"
                with tracer.start_span("handle-ticket", input={"message": ticket}) as root:
                    root.update_trace(user_id=user, session_id=session, tags=["support"])
                    with tracer.start_span("retrieve", input={"query": ticket}) as retrieve:
                        time.sleep(0.01)
                        retrieve.end(output={"documents": ["refund-policy.md"]})
                    variables = {"product": "Acme", "ticket": ticket, "language": "English"}
                    if "history" in prompt.placeholders:
                        variables["history"] = []
                    messages = prompt.compile(**variables)
                    with tracer.start_generation(
                        "triage",
                        model="gpt-4o-mini",
                        model_parameters={"temperature": 0.2},
                        input=messages,
                        prompt=prompt,
                    ) as generation:
                        time.sleep(0.02)
                        generation.update(
                            output={"role": "assistant", "content": "queue: billing"},
                            usage={"input": 120, "output": 8},
                        )
                    tracer.event("routed", input={"queue": "billing"})
                    with tracer.start_generation(
                        "reply", model="gpt-4o-mini", input=[{"role": "user", "content": ticket}]
                    ) as reply:
                        time.sleep(0.01)
                        reply.update(
                            output="We are sorry: a corrected invoice is on its way.",
                            usage={"input": 80, "output": 24},
                        )
                    root.update_trace(output={"answer": f"Corrected invoice sent to {user}."})
                    seeded.trace_ids.setdefault(user, root.trace_id)
                    seeded.multi_step = seeded.multi_step or root.trace_id
    assert tracer.flush(10), "the tracer could not deliver the traces"
    tracer.shutdown()
    _wait_for(url, api_key, seeded.trace_ids.values())
    return seeded


def _wait_for(url: str, api_key: str | None, ids: Any) -> None:
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    for trace_id in ids:
        wait_until(
            lambda t=trace_id: httpx.get(f"{url}/api/v1/traces/{t}", headers=headers),
            lambda response: response.status_code == 200,
            within=10,
            every=0.05,
            what=f"trace {trace_id} arriving",
        )
