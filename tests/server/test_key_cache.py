"""A wrong key is answered from the key cache without keeping each request alive."""

from __future__ import annotations

import asyncio
import traceback

import pytest

from promptrail.errors import ApiProblem
from promptrail.server.auth import KeyCache


def test_a_cached_refusal_does_not_collect_the_frames_of_every_request(db_url: str) -> None:
    from promptrail.store import Store, migrate

    store = Store.open(db_url)
    try:
        migrate.upgrade(store.engine)
        cache = KeyCache()
        frames: list[int] = []
        for _ in range(20):
            with pytest.raises(ApiProblem) as refused:
                asyncio.run(cache.resolve(store, "Bearer prk_wrongwrongwrongwrong"))
            assert refused.value.status == 401
            frames.append(len(traceback.extract_tb(refused.value.__traceback__)))
        assert frames[-1] == frames[1], frames  # the twentieth refusal is as light as the second
    finally:
        store.close()
