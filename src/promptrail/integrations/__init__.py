"""Automatic tracing for LLM client libraries (imported on demand, never by `import promptrail`)."""
