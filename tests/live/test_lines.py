"""Cutting a connection's bytes into whole lines: reads that end anywhere, lines too long,
blank lines, multi-sentence messages held back until complete or too old."""

from __future__ import annotations

import random

from seawatch.live.lines import MAX_LINE, LineFramer

SINGLE = b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23\n"
FIRST = b"\\s:rx,c:1700000000*5E\\!AIVDM,2,1,7,B,55CDg602=h6G<IGMUL0l58F1=0U8U@0000000017L9,0*12\n"
SECOND = b"\\s:rx,c:1700000000*5E\\!AIVDM,2,2,7,B,00000000000,2*25\n"


def test_any_split_of_a_stream_gives_its_lines_whole_and_in_order():
    stream = (SINGLE + FIRST + SECOND) * 40
    rng = random.Random(3)
    for _ in range(20):
        framer = LineFramer()
        out = b""
        i = 0
        while i < len(stream):
            j = i + rng.randrange(1, 200)
            out += framer.feed(stream[i:j], now=0.0)
            assert out.endswith(b"\n") or not out
            i = j
        out += framer.close()
        assert out == stream


def test_the_first_fragments_wait_for_the_rest_then_for_hold_s_at_most():
    framer = LineFramer(hold_s=2.0)
    assert framer.feed(SINGLE + FIRST, now=10.0) == SINGLE
    assert framer.expired(now=11.0) == b""
    assert framer.feed(SECOND, now=11.5) == FIRST + SECOND
    # a first fragment whose second never comes is logged as it is after hold_s
    assert framer.feed(FIRST, now=20.0) == b""
    assert framer.expired(now=21.9) == b""
    assert framer.expired(now=22.0) == FIRST
    # a flood of first fragments: only the last one waits, each time
    flood = FIRST.replace(b",7,", b",3,") * 500
    assert framer.feed(flood, now=30.0) == FIRST.replace(b",7,", b",3,") * 499
    assert framer.close() == FIRST.replace(b",7,", b",3,")


def test_a_line_too_long_is_cut_and_reported_and_the_next_line_is_whole():
    framer = LineFramer()
    junk = bytes(range(11, 256)) * 100  # no line break in it
    out = b""
    for i in range(0, len(junk), 1000):
        out += framer.feed(junk[i : i + 1000])
    out += framer.feed(b"tail of the junk\n" + SINGLE)
    assert out == SINGLE
    assert [c.reason for c in framer.cuts] == ["line_too_long"]
    assert len(framer.cuts[0].sample) == MAX_LINE


def test_blank_lines_are_dropped_and_counted_and_a_cut_line_is_truncated():
    framer = LineFramer()
    assert framer.feed(b"\r\n  \n\x00\x00\n" + SINGLE + b"\n") == SINGLE
    assert framer.blank == 4
    assert framer.feed(b"!AIVDM,1,1,,A,13HO") == b""
    assert framer.close(broken=True) == b""
    assert [c.reason for c in framer.cuts] == ["truncated"]
    clean = LineFramer()
    clean.feed(b"!AIVDM,1,1,,A,13HO")
    assert clean.close(broken=False) == b"!AIVDM,1,1,,A,13HO\n"  # a stream that ends cleanly
