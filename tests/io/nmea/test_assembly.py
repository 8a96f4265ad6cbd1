"""Assembly of multi-sentence messages, and state carried across chunks.

Groups are joined on (channel, sequence id, fragment count); fragment 1 opens a group, the
others fill it in any order. A fragment with no open group (or a repeat) is an orphan; a group
that does not complete within ``window`` sentences, or by the end of the input, is incomplete.
Reading a file in chunks (any ``chunk_bytes``) must give exactly what reading it whole gives.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from seawatch.io.nmea import NoTimeError, decode_lines, iter_nmea, read_nmea, reader
from seawatch.io.result import ReadResult
from tests.conftest import shared_data_path
from tests.io.nmea import nmea_text as nt

DEFAULT = "2020-01-01T00:00:00Z"
# a type 5 report of MMSI 266055000 (SD622 VANGUARD), from the Kystverket capture
P5 = "53ufeF826Lb9<mET001<CK;:1H4pMD58@000000N1p733t0Ht;ARDj2CQp2C`4jhAiDP@jh"
FILL5 = 2
S1 = "!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23"  # type 1, MMSI 227006760


def frags(cuts: list[int], **kw: object) -> list[str]:
    return nt.sentences(P5, FILL5, cuts, **kw)  # type: ignore[arg-type]


def vessels(lines: list[str], **kw: object) -> ReadResult:
    kw.setdefault("default_time", DEFAULT)
    return decode_lines(lines, line_numbers=True, **kw)  # type: ignore[arg-type]


def test_two_part_message() -> None:
    a, b = frags([60], seq="3")
    r = vessels([nt.tag_block(s="rx1", c=1700000000) + a, S1,
                 nt.tag_block(s="rx2", c=1700000099) + b])
    row = r.vessels.row(0, named=True)
    assert (row["mmsi"], row["name"], row["callsign"], row["line_no"]) == (
        266055000, "SD622 VANGUARD", "SMUY", 1)
    assert row["ts"].timestamp() == 1700000000 and row["source"] == "rx1"  # the first fragment
    assert r.quarantine_counts == {} and r.stats["messages"] == 2


@pytest.mark.parametrize("order", [(1, 2, 3), (1, 3, 2)])
def test_fragments_after_the_first_in_any_order(order: tuple[int, ...]) -> None:
    parts = frags([20, 50], seq="7", channel="B")
    r = vessels([parts[i - 1] for i in order])
    assert r.vessels["name"].to_list() == ["SD622 VANGUARD"]
    assert r.vessels["line_no"].to_list() == [1]


def test_fragment_before_its_first_is_an_orphan() -> None:
    a, b = frags([60], seq="1")
    r = vessels([b, a])
    assert r.vessels.is_empty()
    assert r.quarantine.rows() == [("lines", 1, "orphan_fragment", b),
                                   ("lines", 2, "incomplete_group", a)]


def test_interleaved_groups_on_sequence_channel_and_count() -> None:
    a1, a2 = frags([60], seq="1", channel="A")
    b1, b2 = frags([60], seq="2", channel="A")
    c1, c2 = frags([60], seq="1", channel="B")
    d1, d2, d3 = frags([10, 60], seq="1", channel="A")  # same seq/channel, 3 fragments
    r = vessels([a1, b1, c1, d1, S1, d2, c2, b2, a2, d3])
    assert r.vessels["line_no"].to_list() == [3, 2, 1, 4]  # completed in this order
    assert r.quarantine_counts == {}


def test_repeated_fragment_is_an_orphan() -> None:
    a, b = frags([60], seq="5")
    r = vessels([a, b, b])
    assert r.vessels["line_no"].to_list() == [1]
    assert r.quarantine.rows() == [("lines", 3, "orphan_fragment", b)]
    parts = frags([20, 50], seq="5")
    r = vessels([parts[0], parts[1], parts[1], parts[2]])
    assert r.vessels.height == 1
    assert r.quarantine.rows() == [("lines", 3, "orphan_fragment", parts[1])]


def test_new_first_fragment_closes_the_open_group() -> None:
    a, b = frags([60], seq="5")
    r = vessels([a, a, b])
    assert r.vessels["line_no"].to_list() == [2]
    assert r.quarantine.rows() == [("lines", 1, "incomplete_group", a)]


def test_group_open_at_the_end_is_incomplete() -> None:
    a, _ = frags([60], seq="0")
    r = vessels([S1, a])
    assert r.quarantine.rows() == [("lines", 2, "incomplete_group", a)]


def test_bad_fragment_leaves_its_group_incomplete() -> None:
    a, b = frags([60], seq="0")
    bad_b = b[:-2] + ("00" if b[-2:] != "00" else "01")
    r = vessels([a, bad_b])
    assert Counter(r.quarantine["reason"]) == {"bad_checksum": 1, "incomplete_group": 1}


@pytest.mark.parametrize(("window", "assembled"), [(3, False), (5, True), (1000, True)])
def test_window_expiry(tmp_path: Path, window: int, assembled: bool) -> None:
    a, b = frags([60], seq="2")
    path = tmp_path / "w.nmea"
    path.write_text("\n".join([a, S1, S1, S1, S1, b]) + "\n")
    r = read_nmea(path, default_time=DEFAULT, window=window, line_numbers=True)
    if assembled:
        assert r.vessels["line_no"].to_list() == [1] and r.quarantine_counts == {}
    else:
        assert r.vessels.is_empty()
        assert sorted(r.quarantine.select("line_no", "reason").rows()) == [
            (1, "incomplete_group"), (6, "orphan_fragment")]


# -- chunks ------------------------------------------------------------------------------------

def assert_same(a: ReadResult, b: ReadResult) -> None:
    """Two results are the same: tables, quarantine sample and counts, statistics."""
    for name in ("positions", "vessels", "stations", "other_messages"):
        assert_frame_equal(getattr(a, name), getattr(b, name))
    # the sample's rows are grouped by reason in the order reasons first occur
    order = ["line_no", "reason", "raw"]
    assert a.quarantine.sort(order).equals(b.quarantine.sort(order))
    assert a.quarantine_counts == b.quarantine_counts
    skip = {"input_bytes"}
    assert {k: v for k, v in a.stats.items() if k not in skip and v} == {
        k: v for k, v in b.stats.items() if k not in skip and v}


def _handmade() -> list[str]:
    p = nt.pghp
    from datetime import UTC, datetime

    t = datetime(2014, 10, 2, 16, 30, 3, 887000, tzinfo=UTC)
    groups = [frags([15, 40, 60], seq=str(i % 10), channel="AB"[i % 2]) for i in range(12)]
    lines = [S1, "junk", S1]  # untimed: they wait for the first time of the input
    for i, g in enumerate(groups):
        lines += [p(t), g[0], "", S1, g[1]]
        if i % 5 != 4:  # every fifth group never completes
            lines += g[2:]
        lines += [nt.tag_block(s=f"rx{i}", c=1412267403 + i) + S1, "# c"]
    lines += [nt.sentence("000000000000000", 2, count=2, num=2, seq="9"), groups[0][0]]
    return lines


@pytest.mark.parametrize("chunk_bytes", [1, 50, 333, 4096])
def test_chunks_give_the_one_chunk_result(tmp_path: Path, chunk_bytes: int) -> None:
    path = tmp_path / "groups.nmea"
    path.write_text("\r\n".join(_handmade()) + "\r\n")
    whole = read_nmea(path, line_numbers=True)
    assert whole.vessels.height == 10 and whole.stats["time_from_pghp"] == 12
    assert whole.quarantine_counts == {"not_ais": 1, "incomplete_group": 3,
                                       "orphan_fragment": 1}
    parts = read_nmea(path, line_numbers=True, chunk_bytes=chunk_bytes)
    assert_same(whole, parts)
    chunks = list(iter_nmea(path, line_numbers=True, chunk_bytes=chunk_bytes))
    assert sum(c.stats["input_bytes"] for c in chunks) == path.stat().st_size
    if chunk_bytes < 100:
        assert len(chunks) > 10
        # the raw text of a group's first fragment read in an earlier chunk is still shown
        assert "earlier chunk" not in "".join(parts.quarantine["raw"])


REAL_FILES = [
    ("ais-nmea/kystverket/norwegian.raw", 700),
    ("ais-nmea/dma-aislib/stream_example.txt", 16384),
    ("ais-nmea/dma-aislib/retry_example.txt", 50),
    ("ais-nmea/dma-aislib/small_cb_example.txt", 50),
    ("ais-edge-cases/pyais/nmea_data_sample.txt", 1000),
    ("ais-edge-cases/pyais/sample.ais", 64),
    ("ais-edge-cases/gfw-ais-tools/multi-part.nmea", 128),
    ("reference/dma-aisabnormal/219165000_ssc_1.ais", 200),
    ("reference/dma-aisabnormal/ais-sample-micro.txt.gz", 100),
]


@pytest.mark.parametrize(("name", "chunk_bytes"), REAL_FILES)
def test_chunks_give_the_one_chunk_result_on_real_files(name: str, chunk_bytes: int) -> None:
    path = shared_data_path(*name.split("/"))
    whole = read_nmea(path, line_numbers=True, default_time=DEFAULT)
    parts = read_nmea(path, line_numbers=True, default_time=DEFAULT, chunk_bytes=chunk_bytes)
    assert_same(whole, parts)
    assert len(list(iter_nmea(path, default_time=DEFAULT, chunk_bytes=chunk_bytes))) > 2


def test_pghp_line_at_the_end_of_a_chunk_stamps_the_next_chunk(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    t = datetime(2014, 10, 2, 16, 30, 3, 887000, tzinfo=UTC)
    path = tmp_path / "pghp.nmea"
    head = nt.tag_block(c=1412267000) + S1 + "\n" + nt.pghp(t) + "\n"
    path.write_text(head + S1 + "\n")
    r = read_nmea(path, chunk_bytes=len(head))
    assert r.positions["ts"].to_list()[1] == t
    assert r.stats["time_from_pghp"] == 1


def test_lead_sentences_wait_for_the_first_time(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lead.nmea"
    lines = [S1] * 6 + [S1 + ",1700000000", S1]
    path.write_text("\n".join(lines) + "\n")
    for chunk_bytes in (10, 60, 10_000):
        r = read_nmea(path, chunk_bytes=chunk_bytes)
        assert {t.timestamp() for t in r.positions["ts"]} == {1700000000}
        assert r.stats["time_default"] == 0
    # past LEAD_LIMIT sentences the lead ones take default_time, however the file is read
    monkeypatch.setattr(reader, "LEAD_LIMIT", 3)
    results = [read_nmea(path, default_time=DEFAULT, chunk_bytes=c) for c in (10, 60, 10_000)]
    for r in results:
        assert_same(results[-1], r)
        assert r.stats["time_default"] == 6
        assert [t.year for t in r.positions["ts"]] == [2020] * 6 + [2023] * 2
    with pytest.raises(NoTimeError, match="first 3 sentences"):
        read_nmea(path, chunk_bytes=10)
