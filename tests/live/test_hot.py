"""The hot path (seawatch.live.hot): zone crossings from the acknowledged stream, served by
the API before any compaction, equal (same ids) to the store's run that confirms them;
a restart carries the state from the store and raises no second alert; bad input does not
stop it."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest
import shapely

from seawatch import schema
from seawatch.detect.run import detect_store
from seawatch.detect.zone_crossing import detect_zone_crossings
from seawatch.geo import Zone
from seawatch.live.detect import LiveDetection
from seawatch.live.hot import (
    HotState,
    hot_file,
    read_hot_events,
    with_hot_events,
    write_hot_events,
)
from seawatch.store import Store
from tests.live.conftest import bound, running, wait_for

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.live.service import LiveService
    from seawatch.share.db import State

ZONES = ("zone_entry", "zone_exit")
T0 = datetime(2026, 1, 15, tzinfo=UTC)
BOX = Zone("Box", "user", shapely.box(-81, -1, -80, 0))


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The lines of a scenario of 30 vessels over 4 h, with the reception model."""
    from seawatch.sim import write_scenario

    out = tmp_path_factory.mktemp("hot-scenario")
    write_scenario(out, 3, 4.0, 30, csv=False)
    return (out / "traffic.nmea").read_bytes().splitlines(keepends=True)


def _send(service, detection: LiveDetection, lines: list[bytes], parts: int) -> set[str]:
    """``lines`` through the service's TCP feed in ``parts``, each acknowledged and taken by
    the hot path before the next; the ids of the hot events raised meanwhile."""
    feed = bound(service, "tcp:127.0.0.1:0")
    hot = detection.hot
    assert hot is not None
    ids: set[str] = set()
    sent = service.writer.acknowledged_lines
    step = -(-len(lines) // parts)
    with socket.create_connection((feed.host, feed.port)) as conn:
        for k in range(0, len(lines), step):
            chunk = lines[k:k + step]
            conn.sendall(b"".join(chunk))
            sent += len(chunk)
            wait_for(partial(_acked, service, sent), 60, "the part acked")
            wait_for(lambda: idle(service, detection), 60, "the hot path to publish")
            ids |= set(read_hot_events(service.store_path)["event_id"].to_list())
    return ids


def _acked(service: LiveService, n: int) -> bool:
    return service.writer.acknowledged_lines >= n


def _started(detection: LiveDetection) -> bool:
    return detection.hot is not None and detection.hot.started


def _alerted(state: State, ids: set[str]) -> bool:
    from seawatch.share.alerts import list_alerts

    return {a.event_id for a in list_alerts(state)} >= ids


def idle(service, detection: LiveDetection) -> bool:
    """Whether the hot path has taken every batch acknowledged and published its events."""
    hot = detection.hot
    return hot is not None and hot.started and (
        hot.batches >= service.writer.batches and hot.published == hot.version)


def _zone_ids(frame: pl.DataFrame) -> set[str]:
    return set(frame.filter(pl.col("type").is_in(ZONES))["event_id"].to_list())


def test_the_kernel_is_the_batch_definition_across_batches():
    t = [T0 + timedelta(minutes=k) for k in range(6)]
    track = pl.DataFrame({"mmsi": [1] * 6 + [2] * 2, "ts": t + t[:2],
                          "lat": [-0.5] * 8,
                          "lon": [-81.002, -80.998, -80.994, -80.996, -81.0005, -81.004,
                                  -79.998, -80.002]})
    batch = detect_zone_crossings(track, [BOX])
    hot = HotState(zones=[BOX])
    found = [hot.step(track.slice(k, 1), heard=1000.0) for k in (0, 6, 1, 2, 3, 7, 4, 5)]
    assert pl.concat(found).sort("event_id").equals(batch.sort("event_id"))
    assert hot.state.height == 2 and hot.late == 0
    # a report older than the vessel's last one is not placed (the store's run does)
    assert hot.step(track.slice(1, 1), heard=1001.0).height == 0 and hot.late == 1
    # a jump no vessel could make is a new track: no crossing, as the segmenter cuts there
    jump = pl.DataFrame({"mmsi": [1], "ts": [t[5] + timedelta(minutes=1)],
                         "lat": [-0.5], "lon": [-80.5]})
    assert hot.step(jump, heard=1002.0).height == 0
    # vessels not heard for forget_h are forgotten
    assert hot.step(jump.head(0), heard=1002.0 + 25 * 3600).height == 0
    assert hot.state.height == 0


@pytest.mark.parametrize("process", [True, False], ids=["process", "thread"])
def test_hot_events_reach_the_api_before_any_compaction_and_equal_the_batch_ones(
        tmp_path, traffic, process):
    from seawatch.api.query import StoreQuery

    store_path = tmp_path / "store"
    detection = LiveDetection()
    with running(store_path, ["listen tcp://127.0.0.1:0"], compact_every_s=3600,
                 detection=detection, hot_process=process) as service:
        ids = _send(service, detection, traffic, 6)
        assert service.compactions == 0  # nothing in the store yet
        assert Store(store_path).positions().select(pl.len()).collect().item() == 0
        query = StoreQuery(store_path)
        served = query.events(types=list(ZONES))
        assert ids and set(served["event_id"].to_list()) == ids
        assert served["provisional"].all()
        status = service.status()["hot"]
        assert status["raised"] == len(ids) and status["errors"] == 0
        assert status["batches"] >= 6 and status["vessels"] > 0
        assert status.get("process", False) is process
    # the service stopped: last compaction and detection run, which settled them all
    store = Store(store_path)
    batch = detect_store(store)
    assert _zone_ids(store.events().collect()) == _zone_ids(batch) == ids
    status = service.status()["hot"]
    assert (status["confirmed"], status["dropped"], status["hot"]) == (len(ids), 0, 0)
    assert read_hot_events(store_path).height == 0
    after = StoreQuery(store_path).events()
    assert "provisional" not in after.columns and _zone_ids(after) == ids


def test_a_restart_carries_the_state_and_raises_no_second_alert(tmp_path, traffic):
    from seawatch.cli.serve import _demo_state
    from seawatch.share.alerts import add_rule, list_alerts
    from seawatch.share.db import open_state

    store_path = tmp_path / "store"
    Store(store_path)
    _demo_state(store_path)
    state = open_state(store_path)
    add_rule(state, "crossings", event_types=list(ZONES))
    half = len(traffic) // 2
    ids: set[str] = set()
    carried: list[int] = []
    for part in (traffic[:half], traffic[half:]):
        detection = LiveDetection()
        with running(store_path, ["listen tcp://127.0.0.1:0"], compact_every_s=3600,
                     detection=detection) as service:
            hot = detection.hot
            assert hot is not None
            wait_for(partial(_started, detection), 60, "the hot path to start")
            carried.append(hot.status()["vessels"])
            raised = _send(service, detection, part, 3)
            ids |= raised
            # the hot events' alerts are raised before any compaction
            wait_for(partial(_alerted, state, raised), 30, "the hot alerts")
    # the second service carried the first one's vessels from the store
    assert carried[0] == 0 and carried[1] > 0
    store = Store(store_path)
    assert _zone_ids(store.events().collect()) == _zone_ids(detect_store(store)) == ids
    alerts = list_alerts(state)
    keys = [(a.rule_id, a.event_id) for a in alerts]
    assert len(keys) == len(set(keys)) == len(ids)
    state.close()


def test_bad_input_does_not_stop_the_hot_path(tmp_path):
    from tests.live.conftest import sentence

    store_path = tmp_path / "store"
    detection = LiveDetection(zones=[BOX])
    # a vessel stepping into the box after junk of every kind
    good = [_report(735000001, T0 + timedelta(minutes=k), -0.5, lon)
            for k, lon in enumerate((-81.002, -80.998, -80.994))]
    junk = [b"garbage\n", b"\x00\xff\xfe binary\n", b"$GPGGA,1,2,3*00\n",
            sentence("AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0"),  # no tag: now
            sentence("AIVDM,2,1,7,A,53u?etP00000,0"),  # a fragment never completed
            b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*00\n",  # bad checksum
            _report(735000001, T0 + timedelta(minutes=1), 91.0, 181.0)]  # not available
    with running(store_path, ["listen tcp://127.0.0.1:0"], compact_every_s=3600,
                 detection=detection) as service:
        feed = bound(service, "tcp:127.0.0.1:0")
        hot = detection.hot
        assert hot is not None
        with socket.create_connection((feed.host, feed.port)) as conn:
            conn.sendall(b"".join([good[0], *junk]))
            wait_for(lambda: service.writer.acknowledged_lines >= 8 and idle(
                service, detection), 30, "the junk")
            time.sleep(0.05)
            conn.sendall(b"".join(good[1:]))
            wait_for(lambda: read_hot_events(store_path).height == 1, 30, "the entry")
        assert hot.status()["errors"] == 0
    assert read_hot_events(store_path).height == 0  # settled at the stop
    assert _zone_ids(Store(store_path).events().collect()) == {
        f"zone_entry:735000001:Box:{(T0 + timedelta(minutes=1)):%Y%m%dT%H%M%SZ}"}


def _report(mmsi: int, ts: datetime, lat: float, lon: float) -> bytes:
    from seawatch.io.nmea.encode import encode_lines

    frame = pl.DataFrame({"mmsi": [mmsi], "ts": [ts], "lat": [lat], "lon": [lon],
                          "sog": [9.0], "cog": [90.0], "msg_type": [1]})
    return encode_lines(frame, None)


def test_the_api_merges_hot_events_under_the_events_policy(tmp_path):
    """The store's event wins over a hot one of the same id; a partner sees a hot event only
    as it would see the stored one; the stream pushes a change of the hot events."""
    from seawatch.api import create_app
    from seawatch.api.query import StoreQuery
    from seawatch.api.server import ServerThread
    from seawatch.share.db import open_state, utcnow
    from seawatch.share.grants import create_grant
    from tests.api.api_store import positions_chunk
    from tests.api.conftest import HOST, PARTNER, setup_sharing
    from tests.api.rest.test_stream import SSE

    store = Store(tmp_path / "s")
    store.ingest_results([positions_chunk([(735000001, "2026-01-15T12:00:00Z", -1.0, -81.0)])],
                         name="a", sha256="a" * 64, size=1)
    track = pl.DataFrame({"mmsi": [735000001] * 2 + [735000002] * 2,
                          "ts": [T0, T0 + timedelta(minutes=1)] * 2,
                          "lat": [-0.5, -0.5, -0.5, -0.5],
                          "lon": [-81.002, -80.998, -90.002, -89.998]})
    far = Zone("Far", "user", shapely.box(-90, -1, -89, 0))
    crossings = detect_zone_crossings(track, [BOX, far]).with_columns(
        pl.lit(3, dtype=pl.Int64).alias("log_segment"), pl.lit(16, dtype=pl.Int64)
        .alias("log_offset"))
    stored = crossings.filter(pl.col("zone") == "Box").select(*schema.EVENTS)
    store.write_events(stored, {})
    merged = with_hot_events(stored, read_hot_events(tmp_path / "s"))
    assert merged.equals(stored)  # no file: unchanged
    sharing = setup_sharing(open_state(tmp_path / "s"))
    create_grant(sharing.state, grantor=HOST, grantee=PARTNER,  # type: ignore[arg-type]
                 expires_at=utcnow() + timedelta(hours=1), bbox=[-82, -2, -80, 0],
                 include_positions=True)
    app = create_app(tmp_path / "s", state=sharing.state)  # type: ignore[arg-type]
    app.state.streams.poll_s = 0.05
    with ServerThread(app=app) as server:
        host = SSE(server.port, sharing.headers("admin"))
        partner = SSE(server.port, sharing.headers("partner_viewer"))
        host.next("hello"), partner.next("hello")
        write_hot_events(hot_file(tmp_path / "s"), crossings, {})
        assert host.next("store").data["new_events"] == 1  # Far's: Box's is the store's
        assert partner.next("store").data["new_events"] == 0  # Far is outside its grant
        query = StoreQuery(tmp_path / "s")
        table = query.events_table()
        assert table.filter(pl.col("provisional"))["zone"].to_list() == ["Far"]
        assert table.filter(~pl.col("provisional"))["zone"].to_list() == ["Box"]
        import http.client
        import json

        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/api/v1/events", headers=sharing.headers("admin"))
        items = json.load(conn.getresponse())["items"]
        assert {(e["zone"], e["provisional"]) for e in items} == {("Box", False),
                                                                  ("Far", True)}
        conn.request("GET", "/api/v1/events", headers=sharing.headers("partner_viewer"))
        assert [e["zone"] for e in json.load(conn.getresponse())["items"]] == ["Box"]
        conn.close()
        host.close()
        partner.close()


def test_the_file_round_trips(tmp_path):
    track = pl.DataFrame({"mmsi": [1, 1], "ts": [T0, T0 + timedelta(seconds=61.5)],
                          "lat": [-0.5, -0.5], "lon": [-81.002, -80.998]})
    events = detect_zone_crossings(track, [BOX]).with_columns(
        pl.lit(2, dtype=pl.Int64).alias("log_segment"), pl.lit(99, dtype=pl.Int64)
        .alias("log_offset"))
    write_hot_events(hot_file(tmp_path), events, {"wal_id": "ab"})
    back = read_hot_events(tmp_path)
    assert back.drop("log_position").equals(events.select(*schema.EVENTS))
    assert back["log_position"].to_list() == ["2.99"]
    hot_file(tmp_path).write_text("{not json", encoding="utf-8")
    assert read_hot_events(tmp_path).height == 0
    for damaged in ('{"events": [[1, 2]]}', '{"events": [{"start": "yesterday"}]}',
                    '{"events": "many"}'):  # valid JSON, not the file's shape: no events
        hot_file(tmp_path).write_text(damaged, encoding="utf-8")
        assert read_hot_events(tmp_path).height == 0, damaged
    assert read_hot_events(Path(tmp_path) / "none").height == 0


def test_a_service_without_the_hot_path_takes_back_the_hot_events_left(tmp_path):
    store_path = tmp_path / "store"
    Store(store_path)
    track = pl.DataFrame({"mmsi": [1, 1], "ts": [T0, T0 + timedelta(minutes=1)],
                          "lat": [-0.5, -0.5], "lon": [-81.002, -80.998]})
    events = detect_zone_crossings(track, [BOX]).with_columns(
        pl.lit(1, dtype=pl.Int64).alias("log_segment"), pl.lit(16, dtype=pl.Int64)
        .alias("log_offset"))
    write_hot_events(hot_file(store_path), events, {})
    with running(store_path, ["listen tcp://127.0.0.1:0"], detection=None):
        pass
    assert not hot_file(store_path).exists()
    write_hot_events(hot_file(store_path), events, {})
    detection = LiveDetection(zones=[BOX])
    with running(store_path, ["listen tcp://127.0.0.1:0"], detection=detection,
                 hot=False) as service:
        assert detection.hot is None and service.status()["hot"] is None
    assert not hot_file(store_path).exists()


def test_the_hot_path_process_exits_when_the_service_is_killed(tmp_path):
    """kill -9 of ``seawatch live``: its hot path's process sees its pipe closed and exits."""
    import json
    import os
    import signal
    import subprocess
    import sys

    store_path = tmp_path / "store"
    live = store_path / "live"
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-c", "from seawatch.cli import main; main()", "live",
               "--store", str(store_path), "--listen", "tcp://127.0.0.1:0", "--detect",
               "--set", "status_every_s=0.05", "--set", "compact_every_s=0.3",
               "--set", "hot_process=true"]
    with open(tmp_path / "live.log", "wb") as out:
        proc = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(root)},
                                stdout=out, stderr=out, cwd=tmp_path)
    try:
        def child() -> int | None:
            try:
                hot = json.loads((live / "status.json").read_text())["hot"]
            except (OSError, ValueError, KeyError, TypeError):
                return None
            return hot.get("pid") if hot and hot.get("started") else None

        pid = wait_for(child, 120, "the hot path's process")
        assert _alive(pid)
        assert _nice(pid) == min(19, _nice(proc.pid) + 10)  # [live] hot_nice
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        wait_for(lambda: not _alive(pid), 30, "the hot path's process to exit")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (an exited one not yet reaped, a zombie, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _nice(pid: int) -> int:
    """The niceness of process ``pid`` (field 19 of its stat)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
