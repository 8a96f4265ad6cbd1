"""How many position queries one caller may run at once (seawatch.api.concurrency): a small
semaphore per caller; excess requests wait briefly, then get 503 with Retry-After."""

from __future__ import annotations

import threading
import time

import pytest

from seawatch.api.concurrency import Busy, CallerSlots
from seawatch.errors import InvalidValue
from tests.api.conftest import PARTNER, USERS

VIEWER = (PARTNER, USERS["partner_viewer"][0])
"""The partner viewer's key in the slots."""


def wait_until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


def test_each_caller_holds_at_most_its_slots():
    slots = CallerSlots(per_caller=2, wait_s=0.01, retry_after=3)
    with slots.hold("ana"), slots.hold("ana"):
        assert slots.in_use("ana") == 2
        with pytest.raises(Busy) as info, slots.hold("ana"):
            pass  # pragma: no cover
        assert info.value.http_status == 503 and info.value.headers() == {"Retry-After": "3"}
        with slots.hold("ben"):  # another caller is not held up
            assert slots.in_use("ben") == 1
    assert slots.in_use("ana") == 0 and slots.callers() == 0  # nothing kept per caller


def test_a_waiting_request_gets_the_slot_released():
    slots = CallerSlots(per_caller=1, wait_s=10.0)
    got: list[int] = []
    leave = threading.Event()

    def second() -> None:
        with slots.hold("ana"):
            got.append(slots.in_use("ana"))
            leave.wait(5)

    thread = threading.Thread(target=second)
    with slots.hold("ana"):
        thread.start()
        wait_until(lambda: slots.waiting("ana") == 1)
        assert not got
    wait_until(lambda: bool(got))
    assert got == [1] and slots.waiting("ana") == 0
    leave.set()
    thread.join(5)
    assert slots.callers() == 0


@pytest.mark.parametrize("bad", [{"per_caller": 0}, {"wait_s": -1.0},
                                 {"wait_s": float("nan")}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(InvalidValue):
        CallerSlots(**bad)


@pytest.fixture
def served(store_dir, sharing):
    """A fresh app over the session's store whose callers have one slot each and wait
    50 ms for it."""
    from fastapi.testclient import TestClient

    from seawatch.api import create_app

    app = create_app(store_dir, state=sharing.state)
    app.state.query.callers = CallerSlots(per_caller=1, wait_s=0.05, retry_after=4)
    return app.state.query.callers, TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("url", ["/api/v1/stats", "/api/v1/positions?limit=1",
                                 "/api/v1/vessels", "/ogc/collections/positions/items"])
def test_a_caller_over_its_slots_gets_503_with_retry_after(served, sharing, url):
    slots, client = served
    viewer = sharing.headers("partner_viewer")
    with slots.hold(VIEWER):  # a request of the viewer's in flight
        busy = client.get(url, headers=viewer)
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "4"
        assert set(busy.json()) == {"detail"} and "retry in 4 s" in busy.json()["detail"]
        # others are served meanwhile
        assert client.get(url, headers=sharing.headers("analyst")).status_code == 200
    assert client.get(url, headers=viewer).status_code == 200


def _stats_lock(client, sharing) -> threading.Lock:
    """The lock of the viewer's statistics (its scope's summary, built once for concurrent
    requests): held by a test, it keeps the viewer's /stats requests busy in their slots."""
    from seawatch.api.scope import position_scope
    from seawatch.share.policy import Principal, access_for

    principal = Principal(0, USERS["partner_viewer"][0], PARTNER, "partner_viewer")
    scope = position_scope(access_for(sharing.state, principal))
    query = client.app.state.query
    return query._locks.setdefault(f"scoped:summary:{scope.key}", threading.Lock())


@pytest.mark.parametrize("wait_s", [30.0, 0.2])
def test_a_burst_of_one_caller_runs_its_slots_at_a_time(served, sharing, wait_s):
    """Six concurrent /stats of one partner with two slots: two run, four wait; with a long
    enough wait all are answered, with a short one the four get 503."""
    _, client = served
    slots = client.app.state.query.callers = CallerSlots(per_caller=2, wait_s=wait_s)
    viewer = sharing.headers("partner_viewer")
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(
        client.get("/api/v1/stats", headers=viewer).status_code)) for _ in range(6)]
    with _stats_lock(client, sharing):
        for t in threads:
            t.start()
        if wait_s > 1:
            wait_until(lambda: slots.in_use(VIEWER) == 2 and slots.waiting(VIEWER) == 4)
        else:
            wait_until(lambda: statuses.count(503) == 4)
        assert slots.in_use(VIEWER) == 2  # never more than its slots
        assert client.get("/api/v1/stats", headers=sharing.headers("analyst")).status_code \
            == 200  # another caller is served meanwhile
    for t in threads:
        t.join(30)
    want = [200] * 6 if wait_s > 1 else [503] * 4 + [200] * 2
    assert statuses == want and slots.callers() == 0
