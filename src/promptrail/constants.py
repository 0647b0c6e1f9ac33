"""Names the whole package agrees on: labels, the preview prefix, markers, formats.

Imports nothing, so the runtime client can use it without cost.
"""

from __future__ import annotations

# The label a prompt is fetched by when none is given, and the one only `deploy` may move.
PRODUCTION = "production"
# Always the highest version of a prompt; computed, never written in a file.
LATEST = "latest"
# Labels starting with it are previews (`pr-<number>`): outside the declared set, never
# protected, removed when the pull request closes.
PREVIEW_PREFIX = "pr-"
# Hidden in the pull-request comment so the bot finds its own comment and edits it.
COMMENT_MARKER = "<!-- promptrail-diff -->"
# The `format` field of a snapshot file; the runtime client refuses any other.
SNAPSHOT_FORMAT = "promptrail-snapshot/1"
