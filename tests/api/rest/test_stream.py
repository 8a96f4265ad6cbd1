"""``GET /api/v1/stream`` over a real server: authentication, a store change and alert
changes producing messages, partner scoping, the per-caller limit, Last-Event-ID, and the
streams ending when the server stops."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from seawatch.share.db import utcnow
from tests.api.api_store import positions_chunk
from tests.api.conftest import HOST, PARTNER, Sharing, setup_sharing
from tests.share.data import events_frame

SHIP_A, SHIP_B = 735057000, 735057001
"""A off Manta (-1, -81); B far west (-1, -91)."""


@dataclass
class Message:
    event: str
    data: dict
    id: str | None


class SSE:
    """A stream read message by message (blocking, with a timeout)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.request("GET", "/api/v1/stream", headers={"Accept": "text/event-stream",
                                                             **headers})
        self.response = self.conn.getresponse()
        self.comments: list[str] = []

    def next(self, event: str | None = None, timeout: float = 10) -> Message:
        """The next message (of kind ``event``), skipping comments and ``retry``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fields: dict[str, str] = {}
            while True:
                line = self.response.readline().decode()
                if not line:
                    raise EOFError("the stream ended")
                line = line.rstrip("\n")
                if not line:
                    break
                if line.startswith(":"):
                    self.comments.append(line)
                    continue
                key, _, value = line.partition(": ")
                fields[key] = value
            if "event" in fields and (event is None or fields["event"] == event):
                return Message(fields["event"], json.loads(fields["data"]), fields.get("id"))
        raise TimeoutError(f"no {event} message in {timeout} s")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[object, Sharing, object]]:
    from seawatch.api import create_app
    from seawatch.api.server import ServerThread
    from seawatch.share.db import open_state
    from seawatch.store import Store

    store = Store(tmp_path / "s")
    store.ingest_results([positions_chunk([(SHIP_A, "2026-01-15T12:00:00Z", -1.0, -81.0),
                                           (SHIP_B, "2026-01-15T12:00:00Z", -1.0, -91.0)])],
                         name="a", sha256="a" * 64, size=1)
    sharing = setup_sharing(open_state(tmp_path / "s"))
    app = create_app(tmp_path / "s", state=sharing.state)  # type: ignore[arg-type]
    hub = app.state.streams
    hub.poll_s, hub.keepalive_s = 0.05, 0.3
    with ServerThread(app=app) as server:
        yield server, sharing, store


def _move(store, n: int) -> None:
    store.ingest_results(
        [positions_chunk([(SHIP_A, f"2026-01-15T13:0{n}:00Z", -1.1, -81.1),
                          (SHIP_B, f"2026-01-15T13:0{n}:00Z", -1.1, -91.1)])],
        name=f"m{n}", sha256=str(n) * 64, size=1)


def test_needs_credentials_and_is_an_event_stream(served) -> None:
    server, sharing, _ = served
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/api/v1/stream")
    assert conn.getresponse().status == 401
    conn.close()
    sse = SSE(server.port, sharing.headers("admin"))
    assert sse.response.status == 200
    assert sse.response.getheader("Content-Type").startswith("text/event-stream")
    assert sse.response.getheader("Content-Encoding") is None
    hello = sse.next("hello")
    assert hello.data["resumed"] is False and hello.data["resync"] == []
    _epoch, snapshot, version = hello.id.split(".")
    assert int(snapshot) == hello.data["snapshot"] and int(version) == 0
    with pytest.raises(TimeoutError):  # nothing changes: keep-alive comments only
        sse.next(timeout=0.8)
    assert sse.comments and sse.comments[0].startswith(": keep-alive")
    sse.close()


def test_store_change_moves_vessels_scoped_for_partners(served) -> None:
    from seawatch.share.grants import create_grant

    server, sharing, store = served
    create_grant(sharing.state, grantor=HOST, grantee=PARTNER,  # type: ignore[arg-type]
                 expires_at=utcnow() + timedelta(hours=1), bbox=[-82, -2, -80, 0],
                 include_positions=True)
    host = SSE(server.port, sharing.headers("admin"))
    partner = SSE(server.port, sharing.headers("partner_viewer"))
    host.next("hello"), partner.next("hello")
    _move(store, 1)
    got = host.next("store")
    moved = {v["mmsi"]: v for v in got.data["moved"]}
    assert set(moved) == {SHIP_A, SHIP_B}
    assert (moved[SHIP_A]["lat"], moved[SHIP_A]["ts"]) == (-1.1, "2026-01-15T13:01:00Z")
    seen = partner.next("store")
    assert [v["mmsi"] for v in seen.data["moved"]] == [SHIP_A]  # B is outside its grant
    assert seen.data["snapshot"] == got.data["snapshot"]
    # and it is what /vessels shows the partner
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/api/v1/vessels", headers=sharing.headers("partner_viewer"))
    listed = json.load(conn.getresponse())["items"]
    assert [(v["mmsi"], v["lat"]) for v in listed if v["lat"] is not None] == [(SHIP_A, -1.1)]
    host.close(), partner.close()
    # the store changed while the host was away: its next hello asks it to reload the vessels
    _move(store, 2)
    back = SSE(server.port, {**sharing.headers("admin"), "Last-Event-ID": got.id})
    hello = back.next("hello")
    assert (hello.data["resumed"], hello.data["resync"]) == (True, ["store"])
    back.close()


def test_alert_versions_forget_the_oldest(tmp_path: Path, monkeypatch) -> None:
    from seawatch.api import stream
    from seawatch.api.query import StoreQuery
    from seawatch.share.alerts import add_rule
    from seawatch.share.db import open_state
    from seawatch.store import Store

    monkeypatch.setattr(stream, "HISTORY", 2)
    Store(tmp_path / "s")
    sharing = setup_sharing(open_state(tmp_path / "s"))
    add_rule(sharing.state, "all")  # type: ignore[arg-type]
    hub = stream.StreamHub(StoreQuery(tmp_path / "s"), sharing.state,  # type: ignore[arg-type]
                           poll_s=0)
    assert hub.alerts_version() == 0 and hub.alert_changes(0) == {}
    for n in range(3):
        _raise(sharing, [f"e{n}"])
        assert hub.alerts_version() == n + 1
    ids = sorted(hub.alert_changes(1) or {})
    assert len(ids) == 2 and set((hub.alert_changes(1) or {}).values()) == {"raised"}
    assert hub.alert_changes(0) is None  # version 1 left the history: reload
    assert hub.alert_changes(7) is None  # not a version of this hub


def _raise(sharing: Sharing, ids: list[str], lat: float = -1.0, lon: float = -81.0) -> None:
    from seawatch.share.alerts import raise_alerts

    raise_alerts(sharing.state, events_frame(  # type: ignore[arg-type]
        [{"event_id": i, "type": "encounter", "mmsi": SHIP_A, "other_mmsi": SHIP_B,
          "lat": lat, "lon": lon, "start": utcnow() - timedelta(hours=1)} for i in ids]))


def test_alert_changes_and_last_event_id(served) -> None:
    from seawatch.share.alerts import acknowledge, add_rule, list_alerts

    server, sharing, _ = served
    add_rule(sharing.state, "encounters", event_types=["encounter"])  # type: ignore[arg-type]
    sse = SSE(server.port, sharing.headers("watch_officer"))
    partner = SSE(server.port, sharing.headers("partner_viewer"))
    sse.next("hello"), partner.next("hello")
    _raise(sharing, ["e1"])
    raised = sse.next("alert")
    assert raised.data["change"] == "raised"
    assert (raised.data["alert"]["event_id"], raised.data["alert"]["state"]) == ("e1", "new")
    aid = raised.data["alert"]["id"]
    acknowledge(sharing.state, aid)  # type: ignore[arg-type]
    changed = sse.next("alert")
    assert (changed.data["change"], changed.data["alert"]["state"]) == ("state",
                                                                       "acknowledged")
    last_id = changed.id
    sse.close()
    # while away: another alert; on reconnection with Last-Event-ID it comes first
    _raise(sharing, ["e2"])
    time.sleep(0.2)
    again = SSE(server.port, {**sharing.headers("watch_officer"), "Last-Event-ID": last_id})
    hello = again.next("hello")
    assert hello.data["resumed"] is True and hello.data["resync"] == []
    missed = again.next("alert")
    assert missed.data["alert"]["event_id"] == "e2" and missed.data["change"] == "raised"
    again.close()
    # an id of another server (or a restart): told to reload, not given wrong deltas
    stale = SSE(server.port, {**sharing.headers("watch_officer"),
                              "Last-Event-ID": "00000000.1.1"})
    assert stale.next("hello").data["resync"] == ["store", "alerts"]
    stale.close()
    # the partner has no grant: it saw neither alert, only keep-alive comments
    with pytest.raises(TimeoutError):
        partner.next("alert", timeout=0.8)
    assert partner.comments
    partner.close()
    assert len(list_alerts(sharing.state)) == 2  # type: ignore[arg-type]


def test_streams_per_caller_and_shutdown(served) -> None:
    from seawatch.api.stream import STREAMS_PER_CALLER

    server, sharing, _ = served
    streams = [SSE(server.port, sharing.headers("analyst")) for _ in range(STREAMS_PER_CALLER)]
    for s in streams:
        s.next("hello")
    refused = SSE(server.port, sharing.headers("analyst"))
    assert refused.response.status == 429
    assert "streams open" in json.load(refused.response)["detail"]
    other = SSE(server.port, sharing.headers("admin"))  # another caller is not held up
    assert other.next("hello").event == "hello"
    streams.pop().close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        again = SSE(server.port, sharing.headers("analyst"))
        if again.response.status == 200:
            break
        again.close()
        time.sleep(0.1)
    assert again.response.status == 200 and again.next("hello").event == "hello"
    streams.append(again)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5  # the open streams do not hold the server up
    for s in [*streams, other]:
        with pytest.raises((EOFError, OSError, http.client.HTTPException)):
            s.next(timeout=2)


def test_a_grant_given_or_revoked_is_pushed_without_a_new_snapshot(served) -> None:
    """The partner's stream reads its access anew when the grants change: a grant given
    sends the vessels it now sees and asks for a reload; its revocation asks again; the
    host's stream, which sees everything, gets nothing."""
    from seawatch.share.grants import create_grant, revoke_grant

    server, sharing, _ = served
    host = SSE(server.port, sharing.headers("admin"))
    partner = SSE(server.port, sharing.headers("partner_viewer"))
    host.next("hello")
    partner.next("hello")
    grant = create_grant(sharing.state, grantor=HOST, grantee=PARTNER,
                         expires_at=utcnow() + timedelta(hours=1), bbox=[-82, -2, -80, 0],
                         include_positions=True)
    given = partner.next("store", timeout=5)
    assert [v["mmsi"] for v in given.data["moved"]] == [SHIP_A]  # now seen, no new data
    assert given.data["resync"] == ["store", "alerts"]
    revoke_grant(sharing.state, grant.id)
    taken = partner.next("store", timeout=5)
    assert taken.data["moved"] == [] and taken.data["resync"] == ["store", "alerts"]
    assert taken.data["snapshot"] == given.data["snapshot"]  # the store did not change
    with pytest.raises(TimeoutError):
        host.next("store", timeout=0.8)
    host.close()
    partner.close()
