"""Framing: finding sentences in lines, their receive times, and what gets quarantined.

Hand-made lines for every time source seawatch reads (tag block ``c:`` in seconds and
milliseconds, ISO 8601 and epoch line prefixes, trailing receiver epoch fields, Gatehouse
``$PGHP`` lines), talkers, line endings, several sentences on one line, and one line for each
quarantine reason, checked with its line number and raw text.
"""

from __future__ import annotations

import bz2
import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zstandard
from polars.testing import assert_frame_equal

from seawatch.io.nmea import NoTimeError, decode_lines, iter_nmea, read_nmea
from tests.io.nmea import nmea_text as nt

# a type 1 report of MMSI 227006760 (pyais: 49.475577 N, 0.13138 E, 0 kn, course 36.7)
P1 = "13HOI:0P0000VOHLCnHQKwvL05Ip"
S1 = nt.sentence(P1, 0)
assert S1 == "!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23"
T0 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # epoch 1700000000
P5 = "53ufeF826Lb9<mET001<CK;:1H4pMD58@000000N1p733t0Ht;ARDj2CQp2C`4jhAiDP@jh"  # a type 5
DEFAULT = "2020-01-01T00:00:00Z"


def ts(text: str | list[str], **kwargs: object) -> list[datetime]:
    kwargs.setdefault("default_time", DEFAULT)
    return decode_lines(text, **kwargs).positions["ts"].to_list()  # type: ignore[arg-type]


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- time sources ------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    # NMEA 4.10 tag block, c: in seconds or milliseconds
    (nt.tag_block(c=1700000000) + S1, T0),
    (nt.tag_block(s="rx", c=1700000000123) + S1, T0.replace(microsecond=123000)),
    (nt.tag_block(c="1700000000.5") + S1, T0.replace(microsecond=500000)),
    # ISO 8601 prefixes: T or space, Z or not, fractions, brackets, separators
    ("2023-11-14T22:13:20Z " + S1, T0),
    ("2023-11-14 22:13:20 " + S1, T0),
    ("2023-11-14T22:13:20.25Z," + S1, T0.replace(microsecond=250000)),
    ("2023-11-14 22:13:20.123456;" + S1, T0.replace(microsecond=123456)),
    ("[2023-11-14 22:13:20] " + S1, T0),
    ("2023-11-14T22:13:20+00:00 " + S1, T0),
    ("2023-11-15T00:13:20+02:00 " + S1, T0),  # an offset is applied
    ("2023-11-14T17:13:20-0500 " + S1, T0),
    # epoch prefixes: seconds (with fraction) or milliseconds, then a separator
    ("1700000000 " + S1, T0),
    ("1700000000.75\t" + S1, T0.replace(microsecond=750000)),
    ("1700000000123," + S1, T0.replace(microsecond=123000)),
    # trailing receiver fields after the checksum: the first plausible epoch seconds
    (S1 + ",1700000000", T0),
    (S1 + ",d-109,S2105,t050056.00,T56.13718694,r003669946,1700000000,1325394001", T0),
])
def test_time_sources(line: str, expected: datetime) -> None:
    r = decode_lines([line])
    assert r.positions["ts"].to_list() == [expected]
    assert r.positions["mmsi"].to_list() == [227006760]
    assert r.stats["time_default"] == 0 and r.stats["time_inferred"] == 0


def test_time_source_counts_and_priority() -> None:
    lines = [
        "1600000000 " + nt.tag_block(c=1700000000) + S1 + ",1500000000",  # tag block wins
        "1700000001 " + S1 + ",1500000000",  # prefix beats trailing field
        S1 + ",1700000002",
        nt.pghp(at(2023, 11, 14, 22, 13, 23, 456000)),
        S1,  # the $PGHP line stamps the next sentence
        S1,  # ... only that one: this one takes the previous time
    ]
    r = decode_lines(lines)
    assert r.positions["ts"].to_list() == [
        T0, at(2023, 11, 14, 22, 13, 21), at(2023, 11, 14, 22, 13, 22),
        at(2023, 11, 14, 22, 13, 23, 456000), at(2023, 11, 14, 22, 13, 23, 456000),
    ]
    s = r.stats
    assert (s["time_from_tagblock"], s["time_from_line_prefix"], s["time_from_trailing_field"],
            s["time_from_pghp"], s["time_inferred"]) == (1, 1, 1, 1, 1)
    assert s["pghp_lines"] == 1


def test_pghp_applies_to_the_next_sentence_only() -> None:
    line = nt.pghp(at(2014, 10, 2, 16, 30, 3, 887000))
    r = decode_lines([S1 + ",1700000000", line, "# comment", "", S1])
    assert r.positions["ts"].to_list() == [T0, at(2014, 10, 2, 16, 30, 3, 887000)]
    assert r.stats["comment_lines"] == 1 and r.stats["blank_lines"] == 1


def test_untimed_sentences_take_the_previous_time_or_the_first() -> None:
    lines = [S1, S1, nt.tag_block(c=1700000000) + S1, S1, nt.tag_block(c=1700000010) + S1]
    r = decode_lines(lines)  # no default_time needed: the input has times
    later = at(2023, 11, 14, 22, 13, 30)
    assert r.positions["ts"].to_list() == [T0, T0, T0, T0, later]
    assert r.stats["time_inferred"] == 3 and r.stats["time_default"] == 0


def test_no_time_at_all_needs_default_time() -> None:
    with pytest.raises(NoTimeError, match=r"default_time=|--time") as info:
        decode_lines([S1, S1])
    assert "no time" in str(info.value) and "--duration" in str(info.value)
    r = decode_lines([S1, S1], default_time="2024-05-01T00:00:00Z")
    assert r.positions["ts"].to_list() == [at(2024, 5, 1)] * 2
    assert r.stats["time_default"] == 2
    # a datetime works too, naive meaning UTC
    assert ts([S1], default_time=datetime(2024, 5, 1)) == [at(2024, 5, 1)]
    with pytest.raises(ValueError, match="ISO 8601"):
        decode_lines([S1], default_time="yesterday")
    # an input with no AIS sentence needs no time
    assert decode_lines(["$GPGGA,1,2,3*00"]).positions.is_empty()


def test_untimed_lines_follow_the_first_at_the_line_spacing(tmp_path: Path) -> None:
    """Line n of an input with no time is stamped default_time + (n - 1) * line_spacing:
    blank and comment lines count, a multi-sentence message has its first fragment's line."""
    five = nt.sentences(P5, 2, [40], seq="3")  # a type 5 in two sentences
    lines = [S1, "", "# comment", S1, *five, S1]
    r = decode_lines(lines, default_time=DEFAULT, line_spacing="10s")
    assert r.positions["ts"].to_list() == [at(2020, 1, 1, 0, 0, 0), at(2020, 1, 1, 0, 0, 30),
                                           at(2020, 1, 1, 0, 1, 0)]
    assert r.vessels["ts"].to_list() == [at(2020, 1, 1, 0, 0, 40)]
    assert r.stats["time_default"] == 5
    # the same from a file read in chunks of a few lines (held, then stamped at the end)
    path = tmp_path / "untimed.nmea"
    path.write_text("\n".join(lines * 50) + "\n")
    whole = decode_lines(lines * 50, default_time=DEFAULT, line_spacing="10s")
    chunked = read_nmea(path, default_time=DEFAULT, line_spacing="10s", chunk_bytes=256)
    assert_frame_equal(chunked.positions.drop("source"), whole.positions.drop("source"))
    assert_frame_equal(chunked.vessels.drop("source"), whole.vessels.drop("source"))
    assert chunked.positions["ts"].is_sorted() and chunked.positions["ts"].n_unique() == 150


def test_untimed_lines_spread_over_a_duration(tmp_path: Path) -> None:
    lines = [S1] * 7  # 7 lines over 1 minute: 10 s apart, the last at the end
    got = ts(lines, duration="1m")
    assert got == [at(2020, 1, 1, 0, 0, 10 * i) for i in range(6)] + [at(2020, 1, 1, 0, 1)]
    path = tmp_path / "untimed.nmea.gz"
    path.write_bytes(gzip.compress(("\n".join([S1] * 601) + "\n").encode()))
    r = read_nmea(path, default_time=DEFAULT, duration="10min", chunk_bytes=4096)
    assert r.positions["ts"][0] == at(2020, 1, 1) and r.positions["ts"][-1] == at(2020, 1, 1, 0, 10)
    assert r.positions["ts"].diff().drop_nulls().unique().to_list() == [timedelta(seconds=1)]
    assert ts([S1], duration="1h") == [at(2020, 1, 1)]  # a single line: the start


def test_the_untimed_model_applies_only_before_the_input_s_first_time() -> None:
    lines = [S1, S1, nt.tag_block(c=1700000000) + S1, S1]
    assert ts(lines, line_spacing="1h") == [T0] * 4  # the first time is read: no model
    assert ts([S1] * 100_001 + [S1 + ",1700000000"], line_spacing="1s")[-3:] == [
        at(2020, 1, 2, 3, 46, 39), at(2020, 1, 2, 3, 46, 40), T0]  # lines 100,000-100,002


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"default_time": DEFAULT, "line_spacing": "1s", "duration": "1h"}, "not both"),
    ({"line_spacing": "1s"}, "give that time too"),
    ({"default_time": DEFAULT, "line_spacing": "soon"}, "cannot read line spacing"),
    ({"default_time": DEFAULT, "duration": -3}, "duration '-3' is negative"),
])
def test_untimed_model_errors(kwargs: dict[str, object], message: str) -> None:
    from seawatch.errors import InvalidValue

    with pytest.raises(InvalidValue, match=message):
        decode_lines([S1], **kwargs)  # type: ignore[arg-type]


def test_default_time_is_not_used_when_the_input_has_a_time() -> None:
    assert ts([S1, S1 + ",1700000000"], default_time="2024-05-01T00:00:00Z") == [T0, T0]


@pytest.mark.parametrize("prefix", [
    "2023-02-30T00:00:00Z ",  # no 30 February
    "2023-11-14T25:00:00Z ",
    "1989-12-31T23:59:59Z ",  # before 1990: not an AIS time
    "2100-01-01T00:00:00Z ",
    "12345 ",
])
def test_implausible_prefixes_are_not_times(prefix: str) -> None:
    assert ts([prefix + S1]) == [at(2020, 1, 1)]


def _flip(tag_block: str, at: str, to: str) -> str:
    """``tag_block`` with its first ``at`` replaced by ``to``, its checksum left as it was."""
    return tag_block.replace(at, to, 1)


def test_a_tag_block_with_a_wrong_checksum_is_not_used_but_counted() -> None:
    """A flipped digit in ``c:`` gives a wrong tag-block checksum: neither its time (which
    would date the row 2085) nor its station is used; the row takes the time before it."""
    first = nt.tag_block(s="rx9", c=1700000000)
    flipped = _flip(nt.tag_block(s="rx9", c=1700000005), "c:1", "c:3")  # c:3700000005 = 2087
    r = decode_lines([first + S1, flipped + S1, nt.tag_block(s="rx9", c=1700000010) + S1])
    assert r.positions["ts"].to_list() == [T0, T0, at(2023, 11, 14, 22, 13, 30)]
    assert r.positions["source"].to_list() == ["rx9", "lines", "rx9"]
    assert r.stats["tagblock_bad_checksum"] == 1
    assert r.stats["time_ignored_bad_tagblock"] == 1
    assert r.stats["time_from_tagblock"] == 2 and r.stats["time_inferred"] == 1
    assert r.quarantine_counts == {}


def test_a_wrong_tag_block_checksum_leaves_the_line_s_other_times() -> None:
    bad = _flip(nt.tag_block(c=1700000099), "c:1", "c:2")
    assert ts(["2023-11-14T22:13:20Z " + bad + S1]) == [T0]  # the line prefix stands


def test_tag_blocks_with_wrong_checksums_can_be_trusted() -> None:
    bad = nt.tag_block(s="rx9", c=1700000000)[:-3] + "00\\"
    assert bad.endswith("*00\\") and not nt.tag_block(s="rx9", c=1700000000).endswith("*00\\")
    with pytest.raises(NoTimeError, match="no time"):  # every time is in a bad block
        decode_lines([bad + S1])
    r = decode_lines([bad + S1], trust_bad_tagblocks=True)
    assert r.positions["ts"].to_list() == [T0]
    assert r.positions["source"].to_list() == ["rx9"]
    assert r.stats["tagblock_bad_checksum"] == 1 and r.stats["time_ignored_bad_tagblock"] == 0


def test_a_time_after_the_clock_is_an_impossible_value_and_is_not_passed_on() -> None:
    """A receiver clock set decades ahead: its sentence is quarantined, counted, and the
    untimed sentence after it takes the last plausible time, not the impossible one."""
    ahead = nt.tag_block(c=3_000_000_000) + S1  # 2065, with a right checksum
    r = decode_lines([nt.tag_block(c=1700000000) + S1, ahead, S1], line_numbers=True)
    assert r.quarantine.rows() == [("lines", 2, "impossible_value", ahead)]
    assert r.positions["line_no"].to_list() == [1, 3]
    assert r.positions["ts"].to_list() == [T0, T0]
    assert r.stats["time_in_future"] == 1
    # the clock decides: read as of 2066, the same time is fine
    from seawatch.io.nmea.reader import NmeaDecoder

    later = NmeaDecoder("x", now=datetime(2066, 1, 1, tzinfo=UTC))
    assert later.decode(ahead.encode(), 1, final=True).positions.height == 1


def test_a_time_within_a_day_after_the_clock_is_kept() -> None:
    from seawatch.io.nmea.reader import NmeaDecoder

    clock = datetime(2023, 11, 14, 0, 0, tzinfo=UTC)  # T0 is 22 h later
    decoder = NmeaDecoder("x", now=clock)
    kept = decoder.decode((nt.tag_block(c=1700000000) + S1).encode(), 1, final=True)
    assert kept.positions["ts"].to_list() == [T0]


def test_unreadable_tag_block_time_is_an_impossible_value() -> None:
    line = nt.tag_block(c="12415440354") + S1  # 11 digits: neither seconds nor milliseconds
    r = decode_lines([line, S1], line_numbers=True, default_time=DEFAULT)
    assert r.quarantine.rows() == [("lines", 1, "impossible_value", line)]
    assert r.positions["line_no"].to_list() == [2]


# -- talkers, endings, several sentences on a line ---------------------------------------------

@pytest.mark.parametrize(("talker", "kind"), [
    ("AI", "VDM"), ("AB", "VDM"), ("BS", "VDM"), ("B2", "VDM"), ("AI", "VDO"), ("SA", "VDM"),
])
def test_talkers(talker: str, kind: str) -> None:
    r = decode_lines([nt.sentence(P1, 0, talker=talker, kind=kind)], default_time=DEFAULT)
    assert r.positions["mmsi"].to_list() == [227006760]


def test_crlf_and_lf_give_the_same_result() -> None:
    lines = [nt.tag_block(c=1700000000) + S1, "", "# x", S1 + ",1700000005"]
    a = decode_lines("\n".join(lines), line_numbers=True)
    b = decode_lines("\r\n".join(lines) + "\r\n", line_numbers=True)
    assert_frame_equal(a.positions, b.positions)
    assert a.positions["line_no"].to_list() == [1, 4]


def test_several_sentences_on_one_line() -> None:
    second = nt.sentence("H3mKvt0t@@00000000000000000", 2, channel="B")  # type 24 A
    tb1, tb2 = nt.tag_block(s="a", c=1700000000), nt.tag_block(s="b", c=1700000060)
    for line in (S1 + second, tb1 + S1 + tb2 + second, S1 + "\\r\\n" + second,
                 S1 + ",1700000000" + second):
        r = decode_lines([line], default_time=DEFAULT, line_numbers=True)
        assert r.stats["sentences"] == 2, line
        assert r.positions["line_no"].to_list() == [1] and r.vessels["line_no"].to_list() == [1]
    r = decode_lines([tb1 + S1 + tb2 + second])
    assert r.positions.select("ts", "source").row(0) == (T0, "a")
    assert r.vessels.select("ts", "source").row(0) == (at(2023, 11, 14, 22, 14, 20), "b")


def test_nul_bytes_and_surrounding_whitespace_are_trimmed() -> None:
    r = decode_lines(b"\x00 \t" + S1.encode() + b" \x00\r\n", default_time=DEFAULT)
    assert r.positions.height == 1 and r.quarantine_counts == {}


# -- quarantine reasons --------------------------------------------------------------------

def _bad_checksum(s: str) -> str:
    return s[:-2] + ("00" if s[-2:] != "00" else "01")


QUARANTINE_CASES = [
    ("not_ais", "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"),
    ("not_ais", "hello"),
    ("not_ais", "\\s:rx,c:1700000000*00\\"),  # a bare tag block
    ("bad_checksum", _bad_checksum(S1)),
    ("malformed", S1[:-3]),  # no checksum
    ("malformed", "!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip*" + nt.checksum(
        "AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip")),  # a field missing
    ("malformed", nt.sentence(P1, 0, count=0, num=1)),  # fragment count 0
    ("malformed", nt.sentence(P1, 0, count=2, num=3)),  # fragment 3 of 2
    ("malformed", nt.sentence(P1, 0, seq="12")),
    ("bad_payload_char", nt.sentence("13HOI:0P0000VOHLCnHQKwvL05I~", 0)),
    ("empty_payload", nt.sentence("", 0, channel="B")),
    ("bad_fill_bits", nt.sentence("601uEP19bi7P04810", 6, channel="2")),
    ("wrong_length", nt.sentence(P1[:-5], 0)),  # 138 bits: a type 1 cut inside its UTC second
    ("orphan_fragment", nt.sentence("000000000000000", 2, count=2, num=2, seq="1")),
    ("incomplete_group", nt.sentence(P1, 0, count=2, num=1, seq="4")),
    ("impossible_value", nt.sentence("03HOI:0P0000VOHLCnHQKwvL05Ip", 0)),  # type 0
    ("impossible_value", nt.sentence("L3HOI:0P0000VOHLCnHQKwvL05Ip", 0)),  # type 28
    ("impossible_value", nt.sentence("H3mKvt8t@@00000000000000000", 2)),  # type 24 part 2
    ("line_too_long", "!AIVDM," + "0" * 5000),
]


@pytest.mark.parametrize(("reason", "line"), QUARANTINE_CASES)
def test_each_quarantine_reason_with_line_and_raw_text(reason: str, line: str) -> None:
    lines = [S1, line, S1]
    r = decode_lines(lines, default_time=DEFAULT, line_numbers=True)
    assert r.quarantine_counts == {reason: 1}
    assert r.quarantine.rows() == [("lines", 2, reason, line[:512])]
    assert r.positions["line_no"].to_list() == [1, 3]  # the good lines around it still decode


def test_every_bad_line_is_counted_and_lines_add_up() -> None:
    lines = ["junk"] * 30 + [S1, "", "# note", _bad_checksum(S1)]
    r = decode_lines(lines, default_time=DEFAULT)
    assert r.quarantine_counts == {"not_ais": 30, "bad_checksum": 1}
    assert r.quarantine.height == 31
    s = r.stats
    assert s["lines"] == len(lines)
    assert s["lines"] == (r.quarantine_counts["not_ais"] + s["sentences"] + s["blank_lines"]
                          + s["comment_lines"] + s["pghp_lines"])


def test_read_nmea_keeps_the_quarantine_sample_it_is_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "junk.nmea"
    path.write_text("\n".join(["junk"] * 1500 + [S1]) + "\n")
    r = read_nmea(path, default_time=DEFAULT, quarantine_sample=2000)
    assert r.quarantine.height == 1500
    r = read_nmea(path, default_time=DEFAULT, quarantine_sample=10)
    assert r.quarantine.height == 10 and r.quarantine_counts["not_ais"] == 1500


# -- files: compression, sources ---------------------------------------------------------------

def _sample_lines() -> list[str]:
    return [
        nt.tag_block(s="rx1", c=1700000000) + S1,
        "junk",
        "\\s:2573115,c:1733782034*06\\!BSVDM,2,1,1,A,53ufeF826Lb9<mET001<CK;:1H4pMD58@000000N1p7"
        "33t0Ht;ARDj2CQp2C,0*4A",
        "\\s:2573115,c:1733782034*06\\!BSVDM,2,2,1,A,`4jhAiDP@jh,2*24",
        nt.sentence("000000000000000", 2, count=2, num=2, seq="1"),
    ]


@pytest.mark.parametrize("kind", ["gz", "bz2", "zst"])
def test_compressed_inputs_give_identical_results(tmp_path: Path, kind: str) -> None:
    data = ("\n".join(_sample_lines()) + "\n").encode()
    plain = tmp_path / "plain.nmea"
    plain.write_bytes(data)
    packed = {"gz": gzip.compress, "bz2": bz2.compress,
              "zst": zstandard.ZstdCompressor().compress}[kind](data)
    path = tmp_path / f"capture.nmea.{kind}"
    path.write_bytes(packed)
    a = read_nmea(plain, line_numbers=True, source="x")
    b = read_nmea(path, line_numbers=True, source="x")
    for name in ("positions", "vessels", "stations", "other_messages"):
        assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.quarantine.equals(b.quarantine)
    assert a.quarantine_counts == b.quarantine_counts == {"not_ais": 1, "orphan_fragment": 1}
    chunks = list(iter_nmea(path, chunk_bytes=64))
    assert sum(c.stats["input_bytes"] for c in chunks) == len(packed)


def test_source_column() -> None:
    r = decode_lines(_sample_lines(), line_numbers=True)
    assert r.positions["source"].to_list() == ["rx1"]
    assert r.vessels["source"].to_list() == ["2573115"]
    untagged = decode_lines([S1], default_time=DEFAULT, source="feed-7")
    assert untagged.positions["source"].to_list() == ["feed-7"]


def test_decode_lines_accepts_str_bytes_and_iterables() -> None:
    text = "\n".join(_sample_lines())
    a = decode_lines(text)
    b = decode_lines(text.encode())
    c = decode_lines(_sample_lines())
    d = decode_lines(x.encode() for x in _sample_lines())
    for other in (b, c, d):
        assert_frame_equal(a.positions, other.positions)
        assert_frame_equal(a.vessels, other.vessels)
