"""OTLP traces in and out: paths, media types and the span attributes promptrail reads and writes.

Shared by the server's OTLP ingest (`store/otlp.py`, `server/api/otlp.py`) and the tracer's
OTLP exporter (`tracing/otlp.py`), so that a span promptrail exports is read back the same
way. Plain constants only: the tracer imports this module, and it must stay light.

The conventions read on ingest, by priority: Langfuse's `langfuse.*` attributes, the
OpenTelemetry GenAI semantic conventions (`gen_ai.*`), OpenInference (`llm.*`,
`input.value`, `output.value`, `openinference.span.kind`), then `session.id` / `user.id`.
"""

from __future__ import annotations

TRACES_PATH = "/v1/traces"
LANGFUSE_TRACES_PATH = "/api/public/otel/v1/traces"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_SPANS = 10_000  # spans in one request, like the native ingest's events

# promptrail's own attributes: the prompt link, exactly as the tracer records it.
PROMPT_NAME = "promptrail.prompt.name"
PROMPT_VERSION = "promptrail.prompt.version"
PROMPT_LABEL = "promptrail.prompt.label"
PROMPT_HASH = "promptrail.prompt.hash"
OBSERVATION_TYPE = "promptrail.observation.type"

# OpenTelemetry GenAI semantic conventions
GEN_AI_OPERATION = "gen_ai.operation.name"
GEN_AI_SYSTEM = "gen_ai.system"
GEN_AI_PROVIDER = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_REQUEST = "gen_ai.request."
GEN_AI_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
GENERATION_OPERATIONS = frozenset(
    {"chat", "text_completion", "completion", "generate_content", "embeddings", "responses"}
)

# Langfuse's attributes (its SDK from v3 on sends these over OTLP)
LF_TRACE_NAME = "langfuse.trace.name"
LF_TRACE_TAGS = "langfuse.trace.tags"
LF_TRACE_PUBLIC = "langfuse.trace.public"
LF_TRACE_METADATA = "langfuse.trace.metadata"
LF_TRACE_INPUT = "langfuse.trace.input"
LF_TRACE_OUTPUT = "langfuse.trace.output"
LF_USER_ID = "langfuse.user.id"
LF_SESSION_ID = "langfuse.session.id"
LF_TYPE = "langfuse.observation.type"
LF_METADATA = "langfuse.observation.metadata"
LF_LEVEL = "langfuse.observation.level"
LF_STATUS_MESSAGE = "langfuse.observation.status_message"
LF_INPUT = "langfuse.observation.input"
LF_OUTPUT = "langfuse.observation.output"
LF_COMPLETION_START = "langfuse.observation.completion_start_time"
LF_MODEL = "langfuse.observation.model.name"
LF_MODEL_PARAMETERS = "langfuse.observation.model.parameters"
LF_USAGE = "langfuse.observation.usage_details"
LF_COST = "langfuse.observation.cost_details"
LF_PROMPT_NAME = "langfuse.observation.prompt.name"
LF_PROMPT_VERSION = "langfuse.observation.prompt.version"
LF_ENVIRONMENT = "langfuse.environment"
LF_RELEASE = "langfuse.release"
LF_VERSION = "langfuse.version"

# OpenInference
OI_KIND = "openinference.span.kind"
OI_MODEL = "llm.model_name"
OI_PARAMETERS = "llm.invocation_parameters"
OI_INPUT_MESSAGES = "llm.input_messages"
OI_OUTPUT_MESSAGES = "llm.output_messages"
OI_INPUT = "input.value"
OI_OUTPUT = "output.value"
OI_METADATA = "metadata"
OI_TAGS = "tag.tags"

SESSION_ID = "session.id"
USER_ID = "user.id"
