"""Stopping the server leaves no database connection behind."""

from __future__ import annotations

import time

from starlette.testclient import TestClient


def test_shutdown_waits_for_the_revision_poll_before_closing_the_database(db_url: str) -> None:
    from promptrail.server.app import create_app
    from promptrail.server.settings import Settings
    from promptrail.store import Store, migrate

    checked_out_at_close: list[int] = []

    class SlowStore(Store):
        """A store whose revision reads hold their connection a while, as on a busy server."""

        def revision(self) -> int:
            with self.read():
                time.sleep(0.3)
            return super().revision()

        def close(self) -> None:
            checked_out_at_close.append(self.engine.pool.checkedout())  # type: ignore[attr-defined]
            super().close()

    store = SlowStore.open(db_url)
    migrate.upgrade(store.engine)
    app = create_app(Settings(db_url=db_url, poll_interval=0.01), store=store)
    with TestClient(app):
        time.sleep(0.1)  # the poller is inside a revision read now
    # A connection still out when the pool is disposed goes back to a pool nobody holds,
    # and is closed by the garbage collector some tests later (psycopg warns then).
    assert checked_out_at_close == [0]
