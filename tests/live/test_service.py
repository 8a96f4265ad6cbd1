"""``seawatch live`` end to end: a replayed scenario through UDP, TCP and a reconnecting TCP
client lands in the store as ``seawatch ingest`` of the file puts it there; bad input on a
feed is quarantined and counted and the service keeps running."""

from __future__ import annotations

import itertools
import os
import socket
import struct
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from seawatch.live.compact import compacted_ranges
from seawatch.live.outages import outages_frame
from seawatch.live.replay import replay, timed_lines
from seawatch.store import Store
from tests.live.conftest import bound, checked, positions, running, sentence, wait_for

TAG = "\\" + checked("s:rx9,c:1768478500") + "\\"
VALID = (TAG + "!" + checked("AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0") + "\n").encode()


@pytest.mark.parametrize("scheme", ["udp", "tcp"])
def test_a_replayed_scenario_lands_as_ingest_puts_it(tmp_path, scenario, ingested, scheme):
    timed = timed_lines(scenario)
    store = tmp_path / "store"
    with running(store, [f"listen {scheme}://127.0.0.1:0"]) as service:
        to = bound(service, f"{scheme}:127.0.0.1:0")
        report = replay(timed, to, speed=7200)  # the 2 h in one second
        assert report.lines == len(timed)
        wait_for(lambda: service.writer.acknowledged_lines == len(timed), what="every line")
    st = Store(store)
    got = positions(st)
    assert got.height == ingested.height
    assert got.equals(ingested)
    ranges = compacted_ranges(st, service.wal.id)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))  # contiguous
    lines = sum(e["stats"]["lines"] for e in st.snapshot().inputs)
    assert lines == len(timed)  # each line compacted once
    assert service.wal.segments() == [service.wal.seq]  # the compacted log was dropped


def test_many_compactions_into_parts_and_merges_of_parts_land_as_ingest_puts_it(
        tmp_path, scenario, ingested):
    """Each compaction adds a part to the days it touches (docs/store.md, "Parts of a live
    day"); with two parts a day at most, the parts are merged again and again: the store
    still holds what one ingest of the file gives, its coverage too."""
    timed = timed_lines(scenario)
    store = tmp_path / "store"
    with running(store, ["listen tcp://127.0.0.1:0"], compact_every_s=0.1, day_parts=2,
                 part_merge_rows=2000) as service:
        to = bound(service, "tcp:127.0.0.1:0")
        replay(timed, to, speed=1800)  # the 2 h in four seconds
        wait_for(lambda: service.writer.acknowledged_lines == len(timed), what="every line")
    st = Store(store)
    assert service.compactions >= 8
    snap = st.snapshot()
    days = {f.day for f in snap.table_files("positions")}
    assert all(len(snap.day_files("positions", d)) <= 2 for d in days)
    assert positions(st).equals(ingested)
    reference = Store(tmp_path / "reference")
    reference.ingest(scenario)
    assert st.coverage().equals(reference.coverage())
    added = sum(e["added"]["positions"] for e in snap.inputs)
    assert added == ingested.height


def test_a_connect_feed_reconnects_and_records_its_outage(tmp_path, scenario, ingested):
    """The receiver sends half the file, goes away, comes back and sends the rest: the
    client reconnects with back-off, every line arrives, and the span without a connection
    is one outage of the feed."""
    lines = scenario.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    marks: dict[str, float] = {}
    done = threading.Event()

    def receiver() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"".join(lines[:half]))
        time.sleep(0.2)
        conn.close()
        listener.close()
        marks["down"] = time.time()
        time.sleep(0.6)  # refused meanwhile: the client waits longer each time
        again = socket.create_server(("127.0.0.1", port))
        marks["up"] = time.time()
        conn, _ = again.accept()
        conn.sendall(b"".join(lines[half:]))
        done.wait(30)
        conn.close()
        again.close()

    thread = threading.Thread(target=receiver, daemon=True)
    thread.start()
    store = tmp_path / "store"
    try:
        with running(store, [f"connect rx=tcp://127.0.0.1:{port}"]) as service:
            wait_for(lambda: service.writer.acknowledged_lines == len(lines), what="all lines")
            feed = service.feeds[0].stats
            assert feed.connects == 2 and feed.connected
    finally:
        done.set()
        thread.join(10)
    assert positions(Store(store)).equals(ingested)
    spans = service.outages.spans
    assert len(spans) == 1
    (span,) = spans
    assert span["source"] == "rx" and span["reason"].startswith("disconnected")
    assert marks["down"] - 0.5 <= span["start"] <= marks["down"] + 0.5
    assert marks["up"] <= span["end"] <= marks["up"] + 3.0  # the back-off is 0.2 s at most
    frame = outages_frame(spans)
    assert frame.select("kind", "source", "hours").row(0) == ("feed", "rx", 0)
    assert frame["seconds"][0] == pytest.approx(span["end"] - span["start"], abs=1e-5)


def test_bad_input_is_quarantined_and_counted_and_the_service_keeps_running(tmp_path):
    store = tmp_path / "store"
    fragments = [(TAG + "!" + checked(f"AIVDM,2,1,{i % 10},A,55CDg602=h6G<IGMUL0l58F1=0U8,0")
                  + "\n").encode() for i in range(300)]
    with running(store, ["listen tcp://127.0.0.1:0", "listen udp://127.0.0.1:0"],
                 idle_timeout_s=0.5) as service:
        tcp = bound(service, "tcp:127.0.0.1:0")
        udp = bound(service, "udp:127.0.0.1:0")
        silent = socket.create_connection((tcp.host, tcp.port))  # connects, sends nothing
        with socket.create_connection((tcp.host, tcp.port)) as client:
            client.sendall(b"hello, this is no AIS\n$GPGGA,123519,4807.038,N*47\n")
            client.sendall(b"A" * 20_000 + b"\n")  # a line far too long
            client.sendall(b"".join(fragments))  # never complete
            client.sendall(os.urandom(3000).replace(b"\n", b"\n#") + b"\n")  # binary junk
        with socket.create_connection((tcp.host, tcp.port)) as cut:
            cut.sendall(b"!AIVDM,1,1,,A,13HOI:0P0000VOHLC")  # half a line, then a reset
            cut.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagrams:
            for _ in range(20):
                datagrams.sendto(os.urandom(200), (udp.host, udp.port))
        wait_for(lambda: service.feeds[0].stats.idle_closed == 1, what="the idle client")
        silent.close()
        with socket.create_connection((tcp.host, tcp.port)) as good:  # still running
            good.sendall(VALID)
        wait_for(lambda: service.feeds[0].stats.refused_lines >= 1, what="the cut line", timeout=5)
        wait_for(lambda: service.writer.pending_lines == 0 and service.feeds[0].stats.lines
                 >= 304, what="the lines")
    st = Store(store)
    counts: dict[str, int] = {}
    for entry in st.snapshot().inputs:
        for reason, n in entry["quarantine"].items():
            counts[reason] = counts.get(reason, 0) + n
    assert counts["line_too_long"] == 1
    assert counts["truncated"] == 1
    assert counts["not_ais"] >= 2 + 20  # the text, the junk lines, every datagram
    # the groups the decoder's window closed are quarantined; the last of each sequence id
    # is still open (its rest may come): carried to the next compaction
    assert carried(store) == 10
    assert counts["incomplete_group"] + counts.get("orphan_fragment", 0) == 300 - 10
    assert st.info()["quarantine"] == counts
    assert st.quarantine().collect().height > 0
    got = positions(st)
    assert got["mmsi"].to_list() == [227006760] and got["source"].to_list() == ["rx9"]
    assert service.status()["quarantined"] == counts


def test_without_feeds_it_compacts_what_the_log_holds_and_stops(tmp_path):
    from seawatch.live.wal import LINES, Record, Wal

    store = tmp_path / "store"
    Store(store)
    wal = Wal(store / "live" / "wal")
    for minute in range(5):
        line = sentence("AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0",
                        f"s:rx9,c:{1768478500 + 60 * minute}")
        wal.append([Record("rx", 1_768_478_500_000_000, LINES, line)])
    wal.close()
    with running(store, [], compact_max_lines=2) as service:  # a backlog: in steps
        pass
    assert service.status()["compacted_lines"] == 5 and service.compactions == 3
    assert positions(Store(store)).height == 5
    assert isinstance(outages_frame([]), pl.DataFrame)


def test_the_time_the_service_was_not_running_is_an_outage_of_its_feeds(tmp_path):
    store = tmp_path / "store"
    with running(store, ["listen rx=udp://127.0.0.1:0"]):
        pass
    stopped = time.time()
    time.sleep(1.2)
    with running(store, ["listen rx=udp://127.0.0.1:0"]) as service:
        started = service.started_at
    (span,) = service.outages.spans
    assert span["source"] == "rx" and "not running" in span["reason"]
    assert stopped - 0.5 <= span["start"] <= stopped and span["end"] == started


def test_a_log_that_cannot_be_written_stops_the_service_with_its_error(tmp_path):
    """Nothing could be acknowledged any more: the service stops (a supervisor restarts it)
    rather than receive lines it cannot keep."""

    def full(records: object) -> None:
        raise OSError(28, "No space left on device")

    with (pytest.raises(OSError, match="No space left"),  # the service's error
          running(tmp_path / "store", ["listen tcp://127.0.0.1:0"]) as service):
        service.wal.append = full  # type: ignore[method-assign,assignment]
        to = bound(service, "tcp:127.0.0.1:0")
        with socket.create_connection((to.host, to.port)) as client:
            client.sendall(VALID)
        wait_for(lambda: service.wal.closed, what="the service to stop")
    assert service.writer.acknowledged_lines == 0


def test_clients_past_max_clients_are_refused_and_counted(tmp_path):
    with running(tmp_path / "store", ["listen tcp://127.0.0.1:0"], max_clients=1) as service:
        to = bound(service, "tcp:127.0.0.1:0")
        with socket.create_connection((to.host, to.port)) as first:
            wait_for(lambda: service.feeds[0].stats.clients == 1, what="the first client")
            with socket.create_connection((to.host, to.port)) as second:
                second.settimeout(5)
                assert second.recv(10) == b""  # closed at once
            first.sendall(VALID)
        wait_for(lambda: service.feeds[0].stats.lines == 1, what="the first client's line")
        assert service.feeds[0].stats.clients_refused == 1


def test_at_a_stop_what_connected_clients_sent_is_logged_and_compacted(tmp_path):
    """A client still connected when the service stops: its unfinished line reaches the
    store (quarantined) with its whole lines, and its held fragment the log (carried, open:
    its rest may come after a restart)."""
    fragment = sentence("AIVDM,2,1,4,A,55CDg602=h6G<IGMUL0l58F1=0U8,0", "s:rx9,c:1768478500")
    store = tmp_path / "store"
    with running(store, ["listen tcp://127.0.0.1:0"], group_hold_s=600) as service:
        to = bound(service, "tcp:127.0.0.1:0")
        client = socket.create_connection((to.host, to.port))
        client.sendall(VALID + fragment + b"!AIVDM,1,1,,A,13HOI")
        wait_for(lambda: service.writer.acknowledged_lines == 1, what="the whole line")
    client.close()
    st = Store(store)
    assert positions(st).height == 1
    assert st.info()["quarantine"] == {"truncated": 1}
    assert carried(store) == 1


def carried(store: Path) -> int:
    """How many multi-sentence groups the store's live folder carries, open, to the next
    compaction."""
    from seawatch.live.compact import compacted_position, load_carry

    live = store / "live"
    wal_id = (live / "wal" / "WAL-ID").read_text().strip()
    carry = load_carry(live / "carry", wal_id, compacted_position(Store(store), wal_id))
    return sum(int(c.groups.state.open_keys().size) for c in carry.values())


def test_a_connect_feed_that_goes_quiet_is_made_again(tmp_path):
    """A server that accepts and then sends nothing: after idle_timeout_s the client drops
    the connection, records the outage, and connects again."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def quiet_server() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)  # never writes

    thread = threading.Thread(target=quiet_server, daemon=True)
    thread.start()
    try:
        with running(tmp_path / "store", [f"connect quiet=tcp://127.0.0.1:{port}"],
                     idle_timeout_s=0.3) as service:
            wait_for(lambda: service.feeds[0].stats.connects >= 2, what="a second connection")
            assert service.feeds[0].stats.idle_closed >= 1
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()
    reasons = [s["reason"] for s in service.outages.spans]
    assert reasons and reasons[0] == "disconnected: no data for 0.3 s"
    assert all(s["end"] is not None for s in service.outages.spans)
