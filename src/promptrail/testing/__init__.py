"""Helpers for testing applications that use promptrail (fake LLM servers)."""
