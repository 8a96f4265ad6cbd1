"""Compaction: records of the log decoded as a file is, with the receive time for lines
without their own, committed in steps whose ranges follow each other."""

from __future__ import annotations

import itertools
import socket

import polars as pl

from seawatch.live.compact import (
    carry_path,
    compact,
    compacted_position,
    compacted_ranges,
    decode_records,
    load_carry,
    prune_carry,
)
from seawatch.live.wal import LINES, START, Record, Wal
from seawatch.store import Store
from tests.live.conftest import bound, positions, running, sentence, wait_for

RECV = 1_768_478_500_123_456
PAYLOAD = "AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0"
BARE = sentence(PAYLOAD)
TAGGED = sentence(PAYLOAD, "s:rx9,c:1768478400")
TRAILING = BARE.replace(b"\n", b",1768478300\r\n")


def test_a_line_without_its_own_time_takes_the_time_it_was_received():
    (bare,) = decode_records([Record("feed-a", RECV, LINES, BARE)])
    (tagged,) = decode_records([Record("feed-a", RECV, LINES, TAGGED)])
    (trailing,) = decode_records([Record("feed-a", RECV, LINES, TRAILING)])
    assert bare.positions["ts"].dt.epoch("us").to_list() == [RECV]
    assert bare.positions["source"].to_list() == ["feed-a"]  # the feed, without a station
    assert tagged.positions["ts"].dt.epoch("us").to_list() == [1_768_478_400_000_000]
    assert tagged.positions["source"].to_list() == ["rx9"]
    assert trailing.positions["ts"].dt.epoch("us").to_list() == [1_768_478_300_000_000]
    # junk after the sentence hides the appended time from it: the record's time still holds
    (hidden,) = decode_records([Record("feed-a", RECV, LINES, BARE.replace(b"\n", b",x!y\n"))])
    assert hidden.positions["ts"].dt.epoch("us").to_list() == [RECV]


def test_each_feed_decodes_apart_and_a_message_split_across_records_of_it_assembles():
    first = sentence("AIVDM,2,1,3,A,55CDg602=h6G<IGMUL0l58F1=0U8U@0000000017L9:FF00HtE40BE0@0000,0")
    second = sentence("AIVDM,2,2,3,A,00000000000,2")
    records = [Record("a", RECV, LINES, first), Record("b", RECV, LINES, BARE),
               Record("a", RECV + 1, LINES, second)]
    a, b = decode_records(records)
    assert not a.quarantine_counts and a.vessels.height == 1
    assert a.stats["lines"] == 2 and b.stats["lines"] == 1
    assert b.positions.height == 1


def test_a_backlog_is_compacted_in_steps_that_follow_each_other(tmp_path):
    wal = Wal(tmp_path / "wal")
    for i in range(10):
        line = sentence(PAYLOAD, f"s:rx9,c:{1_768_478_400 + 60 * i}")
        wal.append([Record("rx", RECV + i, LINES, line) for _ in range(3)])
    wal.sync()
    store = Store(tmp_path / "store")
    steps = []
    while (done := compact(store, wal, compacted_position(store, wal.id), wal.end,
                           max_lines=7)) is not None:
        steps.append(done)
    assert [s.lines for s in steps] == [7, 7, 7, 7, 2]  # records of 3 lines: 3 records a step
    ranges = compacted_ranges(store, wal.id)
    assert ranges[0][0] == START and ranges[-1][1] == wal.end
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    got = store.positions().collect()
    assert got.height == 10  # three copies of each report, one kept
    assert got["ts"].dt.epoch("s").to_list() == [1_768_478_400 + 60 * i for i in range(10)]
    assert isinstance(store.inputs(), pl.DataFrame)



FIRST = sentence("AIVDM,2,1,3,A,55CDg602=h6G<IGMUL0l58F1=0U8U@0000000017L9:FF00HtE40BE0@0000,0")
SECOND = sentence("AIVDM,2,2,3,A,00000000000,2")


def test_a_group_open_at_the_end_of_a_compaction_is_carried_to_the_next(tmp_path):
    """A message's first fragment, then other lines, then a compaction, then its second
    fragment: carried, it is assembled as in a file; the carry is written before the commit
    under the range's end, read back after a restart, and removed once passed."""
    wal = Wal(tmp_path / "wal")
    wal.append([Record("a", RECV, LINES, FIRST + BARE)])
    wal.sync()
    store = Store(tmp_path / "store")
    folder = tmp_path / "carry"
    one = compact(store, wal, START, wal.end, carry={}, carry_dir=folder)
    assert one is not None and one.carry is not None and set(one.carry) == {"a"}
    assert one.carry["a"].next_line == 3  # the feed's lines numbered on
    assert carry_path(folder, wal.id, one.end).is_file()
    assert store.info()["quarantine"] == {}  # not quarantined: carried
    # a restart: the carry at the store's position, and the rest of the message
    carried = load_carry(folder, wal.id, compacted_position(store, wal.id))
    assert set(carried) == {"a"} and load_carry(folder, wal.id, START) == {}
    assert load_carry(folder, "another", one.end) == {}  # another log's position
    wal.append([Record("a", RECV + 5, LINES, TAGGED + SECOND)])
    wal.sync()
    two = compact(store, wal, one.end, wal.end, carry=carried, carry_dir=folder)
    assert two is not None and two.carry == {}
    assert not carry_path(folder, wal.id, two.end).exists()  # nothing left open: no file
    prune_carry(folder, wal.id, two.end)
    assert list(folder.glob("*.npz")) == []
    assert store.info()["quarantine"] == {}
    vessels = store.vessels().collect()
    assert vessels.height == 1 and vessels["ts"].dt.epoch("us").to_list() == [RECV]
    # without a carry the range ends the group, as the end of a file: quarantined
    other = Store(tmp_path / "other")
    for start, end in ((START, one.end), (one.end, two.end)):
        compact(other, wal, start, end)
    assert other.vessels().collect().height == 0
    assert other.info()["quarantine"] == {"incomplete_group": 1, "orphan_fragment": 1}


def test_fragments_interleaved_across_compactions_land_as_ingest_puts_them(tmp_path, scenario):
    """The scenario with every message's last fragment sent a few lines after its first
    (other vessels' lines between), through a feed compacted between the fragments of a
    message: the store holds what ``seawatch ingest`` of the same lines gives."""
    lines = scenario.read_bytes().splitlines(keepends=True)
    moved = list(lines)
    firsts = []
    for i in range(len(moved) - 6):
        if b"VDM,2,1," in moved[i] and b"VDM,2,2," in moved[i + 1]:
            moved.insert(i + 5, moved.pop(i + 1))  # the second four lines later
            firsts.append(i)
    assert len(firsts) >= 4
    cuts = [firsts[k * len(firsts) // 4] + 2 for k in range(1, 4)]  # between two fragments
    source = tmp_path / "moved.nmea"
    source.write_bytes(b"".join(moved))
    reference = Store(tmp_path / "reference")
    reference.ingest(source)
    store_path = tmp_path / "store"
    with running(store_path, ["listen tcp://127.0.0.1:0"], compact_every_s=60) as service:
        feed = bound(service, "tcp:127.0.0.1:0")
        sent = 0

        def acknowledged() -> bool:
            return service.writer.acknowledged_lines >= sent

        def compacted() -> bool:
            return service.compacted_lines >= sent

        with socket.create_connection((feed.host, feed.port)) as conn:
            for a, b in itertools.pairwise([0, *cuts, len(moved)]):
                conn.sendall(b"".join(moved[a:b]))
                sent = b
                wait_for(acknowledged, what="the part acknowledged")
                service._compact_now.set()  # type: ignore[union-attr]
                wait_for(compacted, what="the compaction")
        assert service.compactions >= 4
    st = Store(store_path)
    assert positions(st).equals(positions(reference))
    by = ["mmsi", "ts", "source", "msg_type"]
    assert st.vessels().collect().sort(by).equals(reference.vessels().collect().sort(by))
    assert "incomplete_group" not in st.info()["quarantine"]
