"""The write-ahead log: records framed with their length and CRC, segments, recovery of a
torn tail, reading a range, dropping what the store holds."""

from __future__ import annotations

import hashlib
import os
import random

import pytest

from seawatch.live.wal import (
    FRAME,
    HEADER,
    LINES,
    QUARANTINED,
    START,
    Position,
    Record,
    Wal,
    quarantined,
    scan,
    unpack_quarantined,
)


def records(n: int, feed: str = "rx1", size: int = 80) -> list[Record]:
    rng = random.Random(n)
    return [
        Record(feed, 1_768_478_400_000_000 + i, LINES,
               b"".join(b"!AIVDM,%d,%d\n" % (i, rng.randrange(10**size)) for _ in range(3)))
        for i in range(n)
    ]


def read_all(wal: Wal, start: Position = START) -> list[Record]:
    return [r for _, r in wal.read(start, wal.end)]


def test_records_come_back_as_written_across_segments_and_reopening(tmp_path):
    wal = Wal(tmp_path, segment_bytes=2000)
    written = records(40)
    for i in range(0, 40, 4):
        wal.append(written[i : i + 4])
    wal.sync()
    assert len(wal.segments()) > 3
    assert read_all(wal) == written
    wal.close()
    again = Wal(tmp_path, segment_bytes=2000)
    assert again.id == wal.id and again.recovery.torn_bytes == 0
    assert again.recovery.records == 40
    assert read_all(again) == written
    more = records(3, feed="tcp:rx2")
    again.append(more)
    assert read_all(again) == written + more


def test_a_range_is_read_from_its_start_to_its_end_with_a_fingerprint(tmp_path):
    wal = Wal(tmp_path, segment_bytes=1500)
    written = records(30)
    ends = [wal.append([r]) for r in written]
    a, b = hashlib.sha256(), hashlib.sha256()
    got = list(wal.read(ends[9], ends[24], a))
    assert [r for _, r in got] == written[10:25]
    assert [p for p, _ in got] == ends[10:25]
    list(wal.read(ends[9], ends[24], b))
    assert a.hexdigest() == b.hexdigest()
    assert a.hexdigest() != hashlib.sha256().hexdigest()


@pytest.mark.parametrize("seed", range(6))
def test_a_torn_tail_is_truncated_at_the_last_whole_record(tmp_path, seed):
    """A crash can leave any prefix of the last write: recovery keeps the whole records
    before it, drops the rest, and the log takes new records after them."""
    rng = random.Random(seed)
    wal = Wal(tmp_path)
    kept = records(5)
    wal.append(kept)
    wal.sync()
    good = wal.end
    wal.append(records(3, feed="torn"))
    wal.close()
    path = wal.path(good.segment)
    size = path.stat().st_size
    cut = rng.randrange(good.offset + 1, size)  # somewhere inside the last write
    with open(path, "r+b") as fh:
        fh.truncate(cut)
    again = Wal(tmp_path)
    assert path.stat().st_size <= cut
    assert again.recovery.torn_bytes == cut - path.stat().st_size
    got = read_all(again)
    assert got[:5] == kept and all(r.feed == "torn" for r in got[5:])
    assert len(got) < 8
    new = records(2, feed="after")
    again.append(new)
    assert read_all(again)[-2:] == new


def test_a_zero_filled_or_flipped_tail_is_no_record(tmp_path):
    wal = Wal(tmp_path)
    kept = records(4)
    wal.append(kept)
    wal.close()
    path = wal.path(1)
    with open(path, "ab") as fh:  # a file extended by the crash but never written
        fh.write(b"\0" * 64)
    again = Wal(tmp_path)
    assert again.recovery.torn_bytes == 64 and read_all(again) == kept
    again.append(records(1, feed="last"))
    again.close()
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40  # a bit flipped in the last record's data
    path.write_bytes(bytes(data))
    third = Wal(tmp_path)
    assert read_all(third) == kept


def test_damage_in_an_older_segment_is_kept_aside_and_the_rest_still_reads(tmp_path):
    wal = Wal(tmp_path, segment_bytes=1000)
    for r in records(20):
        wal.append([r])
    wal.close()
    first = wal.path(wal.segments()[0])
    in_first = len(list(wal.read(START, Position(first.stat().st_size and 1, 10**9))))
    data = bytearray(first.read_bytes())
    data[HEADER.size + FRAME.size + 20] ^= 0xFF
    first.write_bytes(bytes(data))
    again = Wal(tmp_path, segment_bytes=1000)
    assert again.recovery.corrupt == [first.name]
    (aside,) = tmp_path.glob("*.corrupt")
    assert aside.read_bytes() == bytes(data[HEADER.size :])  # kept for a person to look at
    # the records after the damage in that segment are set aside; the other segments read
    assert read_all(again) == records(20)[in_first:]


def test_a_segment_torn_as_it_was_made_is_started_again(tmp_path):
    wal = Wal(tmp_path, segment_bytes=200)
    wal.append(records(3))
    wal.close()
    torn = wal.path(wal.seq + 1)
    torn.write_bytes(HEADER.pack(b"SWWAL\x00\x01\n", wal.seq + 1)[:5])
    again = Wal(tmp_path, segment_bytes=200)
    assert again.seq == wal.seq + 1 and torn.stat().st_size == HEADER.size
    assert len(read_all(again)) == 3


def test_segments_before_a_position_are_dropped_never_the_one_written(tmp_path):
    wal = Wal(tmp_path, segment_bytes=600)
    ends = [wal.append([r]) for r in records(20)]
    segments = wal.segments()
    assert len(segments) > 3
    middle = ends[10]
    dropped = wal.drop_before(middle)
    assert dropped == len([s for s in segments if s < middle.segment])
    assert [r for _, r in wal.read(middle, wal.end)] == records(20)[11:]
    assert wal.drop_before(wal.end) >= 1
    assert wal.segments() == [wal.seq]
    assert os.path.exists(wal.path(wal.seq))


def test_quarantined_records_carry_their_reason_count_and_sample():
    record = quarantined("rx", 5, 11, 3, b"\x00junk")
    assert record.kind == QUARANTINED and record.lines == 0
    assert unpack_quarantined(record.data) == (11, 3, b"\x00junk")
    data = record.encode()
    ((end, back),) = list(scan(data, 0, len(data)))
    assert end == len(data) and back == record
