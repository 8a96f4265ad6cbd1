"""Compaction: records of the log decoded as a file is, with the receive time for lines
without their own, committed in steps whose ranges follow each other."""

from __future__ import annotations

import itertools

import polars as pl

from seawatch.live.compact import compact, compacted_position, compacted_ranges, decode_records
from seawatch.live.wal import LINES, START, Record, Wal
from seawatch.store import Store
from tests.live.conftest import sentence

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

