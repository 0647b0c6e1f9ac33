"""A traced customer-support workflow: classify a ticket, look up facts, draft the reply.

    python examples/customer_support.py --registry http://127.0.0.1:8700 --llm URL

`--llm` is an OpenAI-compatible base URL; `python -m promptrail.testing.fake_openai`
serves a deterministic one locally (`make demo` starts it for you). Prompts come from
the registry (`support/triage` and `support/reply` by the `production` label) through
`promptrail.Client`, falling back to this repository's prompts/ folder. Each step is an
observation of one trace: the classification is a generation with structured output
(a pydantic model), the lookup a span, the reply a streamed generation, and the trace
ends with two scores. Traces go to the same server (`PROMPTRAIL_API_KEY` needs the
`read` and `ingest` scopes when auth is on). It prints the trace id and its cost.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from openai import OpenAI
from pydantic import BaseModel

import promptrail
from promptrail.integrations.openai import trace_openai

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = "Acme Cloud"
FACTS = {
    "billing": [
        "Refunds go back to the original card within 5 business days.",
        "Invoices are under Settings > Billing.",
    ],
    "bug": ["Status page: status.acme.example", "Attach the request id from the error page."],
    "account": ["Password resets are at acme.example/reset and expire after 1 hour."],
    "other": ["Our team answers within one business day."],
}


class Classification(BaseModel):
    """What the triage step must return (OpenAI structured output)."""

    queue: Literal["billing", "bug", "account", "other"]
    urgency: Literal["low", "normal", "high"]
    summary: str


@dataclass
class Result:
    trace_id: str
    queue: str
    reply: str
    cost: float | None


class SupportBot:
    def __init__(self, prompts: promptrail.Client, llm: OpenAI):
        self.prompts = prompts
        self.llm = llm

    @promptrail.observe()
    def handle(self, ticket: str, *, user_id: str, session_id: str) -> tuple[str, str]:
        promptrail.update_current_trace(
            user_id=user_id,
            session_id=session_id,
            tags=["support", "example"],
            metadata={"channel": "email"},
        )
        ticket_class = self.classify(ticket)
        with promptrail.start_span("lookup-context", input={"queue": ticket_class.queue}) as span:
            facts = FACTS[ticket_class.queue]
            span.update(output=facts, metadata={"source": "faq"})
        reply = self.draft_reply(ticket, facts)
        # A cheap automatic check; user feedback would arrive later with the trace id.
        promptrail.score("mentions-product", PRODUCT in reply or "Thanks" in reply)
        promptrail.score("queue", ticket_class.queue)
        return ticket_class.queue, reply

    @promptrail.observe()
    def classify(self, ticket: str) -> Classification:
        prompt = self.prompts.get_prompt("support/triage")
        completion = self.llm.chat.completions.parse(
            model=prompt.config.get("model", "gpt-4o-mini"),
            temperature=prompt.config.get("temperature", 0),
            messages=prompt.compile(product=PRODUCT, ticket=ticket, history=[]),
            response_format=Classification,
            promptrail_prompt=prompt,
            promptrail_name="classify-ticket",
        )
        parsed = completion.choices[0].message.parsed
        if parsed is None:
            return Classification(queue="other", urgency="normal", summary=ticket[:80])
        return parsed

    @promptrail.observe()
    def draft_reply(self, ticket: str, facts: list[str]) -> str:
        prompt = self.prompts.get_prompt("support/reply")
        stream = self.llm.chat.completions.create(
            model=prompt.config.get("model", "gpt-4o-mini"),
            temperature=prompt.config.get("temperature", 0.3),
            max_tokens=prompt.config.get("max_tokens", 400),
            messages=prompt.compile(product=PRODUCT, context="\n".join(facts), ticket=ticket),
            stream=True,
            stream_options={"include_usage": True},
            promptrail_prompt=prompt,
            promptrail_name="draft-reply",
        )
        parts = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
        return "".join(parts)


def run(
    registry: str,
    llm_url: str,
    ticket: str = "I was charged twice for my subscription this month, please refund one.",
    *,
    api_key: str | None = None,
    user_id: str = "user-42",
    session_id: str | None = None,
) -> Result:
    """One traced run against `registry` (prompts and traces) and `llm_url`; waits until
    the trace is stored and returns its id and cost as the server computed it."""
    api_key = api_key or os.environ.get("PROMPTRAIL_API_KEY")
    tracer = promptrail.configure(url=registry, api_key=api_key, release="example-1")
    prompts = promptrail.Client(url=registry, api_key=api_key, prompts_dir=ROOT / "prompts")
    llm = trace_openai(OpenAI(base_url=llm_url, api_key="not-needed-for-the-fake"))
    bot = SupportBot(prompts, llm)
    trace_id: list[str] = []

    @promptrail.observe(name="support-ticket")
    def ticket_flow() -> tuple[str, str]:
        trace_id.append(promptrail.get_current_trace_id() or "")
        return bot.handle(ticket, user_id=user_id, session_id=session_id or uuid.uuid4().hex[:8])

    try:
        queue, reply = ticket_flow()
    finally:
        tracer.flush(timeout=10)
        prompts.close()
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = httpx.get(f"{registry}/api/v1/traces/{trace_id[0]}", headers=headers, timeout=10)
    cost = response.json().get("cost") if response.status_code == 200 else None
    return Result(trace_id[0], queue, reply, cost)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A traced customer-support workflow.")
    parser.add_argument("--registry", default=os.environ.get("PROMPTRAIL_URL"), required=False)
    parser.add_argument("--llm", required=True, help="OpenAI-compatible base URL (…/v1)")
    parser.add_argument("--ticket", default=None)
    args = parser.parse_args(argv)
    if not args.registry:
        parser.error("--registry (or PROMPTRAIL_URL) is required")
    kwargs = {"ticket": args.ticket} if args.ticket else {}
    result = run(args.registry.rstrip("/"), args.llm, **kwargs)
    print(f"queue: {result.queue}")
    print(f"reply: {result.reply}")
    print(f"trace: {result.trace_id}  ({args.registry}/api/v1/traces/{result.trace_id})")
    cost = "unknown" if result.cost is None else f"${result.cost:.6f}"
    print(f"cost:  {cost}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
