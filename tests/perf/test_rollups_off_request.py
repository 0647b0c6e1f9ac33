"""The UI's daily totals are computed by the server's Refresher, never in a page request:
a page after a bulk load answers at once, says what is pending, and fills in shortly.
(The Refresher itself: tests/store/test_ui_rollup.py.)"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from serverproc import ServerProcess


def _past_trace(index: int, days_ago: int) -> list[dict[str, Any]]:
    moment = datetime.now(UTC).replace(hour=12, minute=0) - timedelta(days=days_ago)
    trace = f"{index:032x}"
    return [
        {
            "id": f"t{index}",
            "type": "trace-create",
            "body": {"id": trace, "name": "chat", "start_time": moment.isoformat()},
        },
        {
            "id": f"o{index}",
            "type": "observation-create",
            "body": {"id": f"{index:016x}", "trace_id": trace, "start_time": moment.isoformat()},
        },
    ]


def test_the_dashboard_after_a_bulk_load_answers_without_backfilling(db_url: str) -> None:
    with ServerProcess(db_url) as server:
        events = [e for i in range(1, 41) for e in _past_trace(i, days_ago=1 + i % 20)]
        answer = httpx.post(f"{server.url}/api/v1/ingest", json={"batch": events}, timeout=30)
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 30
        while True:
            page = httpx.get(f"{server.url}/?days=30", timeout=30)
            assert page.status_code == 200
            shown = re.search(r'id="total-traces">([^<]+)<', page.text)
            assert shown is not None
            if shown.group(1).strip() == "40":
                assert 'id="pending-days"' not in page.text
                break
            # Not summed yet: the page says so rather than summing in the request.
            assert 'id="pending-days"' in page.text
            assert time.monotonic() < deadline, "the totals never appeared"
            time.sleep(0.3)
