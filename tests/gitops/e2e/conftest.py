"""Fixtures for the GitOps loop: a fake GitHub on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.fake_github import FakeGitHub


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token="test-token", repositories={"acme/prompts"}) as github:
        yield github
