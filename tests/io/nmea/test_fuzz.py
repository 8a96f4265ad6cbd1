"""Fuzzing the decoder: damaged lines never make it raise, nor change the good lines' rows.

Good lines (real single-sentence reports, each with its own tag-block time) are mixed with bad
ones: mutated copies of real lines (bytes flipped, cut, inserted: NUL, CR, LF, ``!``, ``\\``,
``*``, non-ASCII...), random bytes, lines longer than the line limits. The decoder must not
raise (a default time is always given, so :class:`NoTimeError` cannot happen), each good line
must decode to exactly the row it gives alone, and the counts of lines must add up.
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.io.nmea import decode_lines, read_nmea
from seawatch.io.result import ReadResult
from tests.io.nmea import nmea_text as nt

DEFAULT = "2020-01-01T00:00:00Z"
TABLES = ("positions", "vessels", "stations", "other_messages")

GOOD = [
    "\\s:2573238,c:1733782034*0A\\!BSVDM,1,1,,A,13o4g`00000I2ENRH4g83S0L088C,0*3F",
    "\\s:2573210,c:1733782034*00\\!BSVDM,1,1,,B,13mOO:9000PI6p`QrbwW646L2D1j,0*6B",
    "\\s:2573253,c:1733782034*07\\!BSVDM,1,1,,B,33mShV50000GPB4SL?MmM1nJ0Dw:,0*09",
    "\\s:2573135,c:1733782034*04\\!BSVDM,1,1,,B,H3mKvt0t@@00000000000000000,2*15",
    "\\s:2573345,c:1733782034*01\\!BSVDM,1,1,,A,EhHPVa14:VbV2WJ0000000000000J1eeBU8sp00003VP00,"
    "4*19",
    "\\s:2573125,c:1733782036*07\\!BSVDO,1,1,,B,ENjUbT0:2ab@;0b7W0000000000@DfA;AHO2000003vf3P,"
    "4*56",
    nt.tag_block(c=1700000000) + nt.sentence("13HOI:0P0000VOHLCnHQKwvL05Ip", 0),
    nt.tag_block(c=1700000001123, s="x") + nt.sentence("B3KLehP0B@LTN6`Vl;rrBE063P06", 0,
                                                          channel="B"),
    nt.tag_block(c=1700000002) + nt.sentence("K3KLehP0rPTJ10Qr", 0, talker="AB"),
    nt.tag_block(c=1700000003) + nt.sentence("402E35Auho;N;PE3b0MkuH000000", 0, channel="B"),
]
"""Single-sentence reports (types 1, 3, 4, 18, 21, 24, 27; VDM and VDO) with their times."""

FRAGMENTS = [  # real fragments and other lines to mutate
    "\\s:2573115,c:1733782034*06\\!BSVDM,2,1,1,A,53ufeF826Lb9<mET001<CK;:1H4pMD58@000000N1p73"
    "3t0Ht;ARDj2CQp2C,0*4A",
    "\\s:2573115,c:1733782034*06\\!BSVDM,2,2,1,A,`4jhAiDP@jh,2*24",
    "$PGHP,1,2014,10,2,16,30,3,887,219,1,992190917,1,7B*5C",
    "!AIVDM,1,1,,A,13aIkM@P00PJ@qPNL=e@0?wJ28JO,5*63,1357134218",
    "2023-11-14T22:13:20Z !AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23",
]


@cache
def alone(line: str) -> dict[str, tuple]:
    """The rows (without line_no) a good line decodes to on its own, per table."""
    r = decode_lines([line], default_time=DEFAULT, line_numbers=True)
    assert r.quarantine_counts == {}
    return {t: _rows(getattr(r, t)) for t in TABLES}


def _rows(frame: pl.DataFrame) -> tuple:
    return tuple(frame.drop("line_no").rows())


SPECIAL = [b"\n", b"\r", b"\x00", b"!", b"\\", b"*", b",", b"$", b"#", b"\xff", b"\xc3\xa9",
           b"!AIVDM,", b"\\c:", b"*00", b"\r\n"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(GOOD + FRAGMENTS)).encode())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        else:
            data[pos:pos] = draw(st.one_of(st.sampled_from(SPECIAL), st.binary(max_size=12)))
    return bytes(data)


bad_lines = st.one_of(
    mutated(),
    st.binary(max_size=200),
    st.binary(min_size=1, max_size=40).map(lambda b: b * 120),  # past MAX_LINE (4096)
    st.sampled_from([b"", b"\x00" * 10, "é ñ 北".encode(), b"!AIVDM,1,1,,A,,0*25", b"\\"]),
)


def _check_counts(r: ReadResult, data: bytes) -> None:
    """The counts of lines, sentences, messages and quarantined entries add up."""
    s, q = r.stats, r.quarantine_counts
    n_lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    assert s["lines"] == n_lines
    without = (s["blank_lines"] + s["comment_lines"] + s["pghp_lines"] + q["not_ais"]
               + q["line_too_long"])
    assert 0 <= s["lines"] - without <= s["sentences"]  # the others hold 1+ sentences
    assert s["messages"] == sum(v for k, v in s.items() if k.startswith("msg_type_"))
    rows = sum(getattr(r, t).height for t in TABLES) - r.vessels.filter(
        pl.col("msg_type") == 19).height  # a type 19 gives a position and a vessel row
    failed = s["messages"] - rows  # messages quarantined after assembly
    assert 0 <= failed <= q["wrong_length"] + q["impossible_value"]
    assert sum(q.values()) == r.quarantine.height  # every one kept (fewer than the sample)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.one_of(st.sampled_from(GOOD).map(str.encode).map(lambda b: (True, b)),
                          bad_lines.map(lambda b: (False, b))), min_size=1, max_size=25),
       st.sampled_from([b"\n", b"\r\n"]), st.booleans())
def test_bad_lines_do_not_disturb_good_ones(pieces: list[tuple[bool, bytes]], eol: bytes,
                                            final_eol: bool) -> None:
    data = eol.join(b for _, b in pieces) + (eol if final_eol else b"")
    r = decode_lines(data, default_time=DEFAULT, line_numbers=True)
    _check_counts(r, data)
    line = 1
    for good, piece in pieces:
        if good:
            for table, rows in alone(piece.decode()).items():
                frame = getattr(r, table)
                got = _rows(frame.filter(pl.col("line_no") == line))
                assert got == rows, (table, line, piece)
        line += piece.count(b"\n") + 1


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_never_raise(data: bytes) -> None:
    r = decode_lines(data, default_time=DEFAULT)
    _check_counts(r, data)


def test_lines_longer_than_a_megabyte() -> None:
    good = GOOD[0].encode()
    huge = b"!AIVDM,1,1,,A," + b"0" * (1 << 21)  # 2 MB, cut at 1 MB when read
    for data in (good + b"\n" + huge + b"\n" + good + b"\n",
                 good + b"\n" + huge,  # no newline at the end
                 huge + b"\r\n" + good):
        r = decode_lines(data, default_time=DEFAULT, line_numbers=True)
        assert r.quarantine_counts == {"line_too_long": 1}
        (raw,) = r.quarantine["raw"]
        assert len(raw) == 512 and raw.startswith("!AIVDM,1,1,,A,000")
        lines = [n for n, piece in enumerate(data.split(b"\n"), 1) if piece.strip() == good]
        assert r.positions["line_no"].to_list() == lines
        assert r.stats["lines"] == data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.one_of(st.sampled_from(GOOD + FRAGMENTS).map(str.encode), bad_lines),
                min_size=1, max_size=15),
       st.sampled_from([100, 400, 1500]))
def test_chunked_reading_of_damaged_input_is_exact(pieces: list[bytes], chunk_bytes: int) -> None:
    # a good first line: a file starting with random bytes may look compressed (gzip, bzip2
    # and zstd are told by their first bytes) and rightly fail to read as such
    data = b"\n".join([GOOD[0].encode(), *pieces]) + b"\n"
    whole = decode_lines(data, default_time=DEFAULT, line_numbers=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.nmea"
        path.write_bytes(data)
        parts = read_nmea(path, default_time=DEFAULT, line_numbers=True, source="lines",
                          chunk_bytes=chunk_bytes)
    for table in TABLES:
        assert getattr(whole, table).equals(getattr(parts, table)), table
    # rows are grouped by reason in the order reasons first occur, which chunks can change
    order = ["line_no", "reason", "raw"]
    assert whole.quarantine.sort(order).equals(parts.quarantine.sort(order))
    assert whole.quarantine_counts == parts.quarantine_counts
