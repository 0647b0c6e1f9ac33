"""The CLI's registry client (`promptrail.api.client`) against a real server behind a proxy."""

from __future__ import annotations

import pytest

from promptrail.api.client import RegistryClient
from promptrail.api.registry import PublishRequest
from promptrail.errors import RegistryUnavailable

from .faultproxy import FaultProxy


def test_a_read_is_retried_while_the_registry_restarts(proxy: FaultProxy) -> None:
    proxy.set_mode("503")
    with RegistryClient(proxy.url) as client, pytest.raises(RegistryUnavailable) as caught:
        client.state()
    assert "failed (503): restarting" in str(caught.value)
    assert proxy.requests("/api/v1/state") == 3  # the first try and two retries


def test_a_publish_is_never_retried(proxy: FaultProxy) -> None:
    proxy.set_mode("503")
    with RegistryClient(proxy.url) as client, pytest.raises(RegistryUnavailable):
        client.publish(PublishRequest())
    assert proxy.requests("/api/v1/publish") == 1  # a retry might apply a stale plan twice
