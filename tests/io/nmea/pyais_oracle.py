"""pyais 3.3.1 as an independent oracle of the NMEA decoder, and the shared-data file list.

The oracle finds every ``!xxVDM`` / ``!xxVDO`` sentence in each line of a file (a line can hold
several), cuts it after its ``*hh`` checksum (pyais would otherwise read trailing receiver
fields such as ``*3E,1357134218`` as the fill-bit field, see SOURCES.md footnote 3), parses it
with ``pyais.messages.NMEASentenceFactory.produce``, sets aside sentences whose checksum is
wrong (seawatch quarantines those; pyais would decode them), joins multi-sentence messages on
(fragment count, sequence id, channel) and decodes each with ``.decode()``.

It shares no code with ``seawatch.io.nmea``: line splitting, sentence search, grouping and the
reading of fields are written here from NMEA 0183 / ITU-R M.1371 and pyais's API. It also says,
for every sentence and message, what seawatch is expected to do with it (decode it into a
table, or quarantine it with a given reason), so the parity test can account for everything.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from pyais.bit_vector import _SIXBIT_CHAR
from pyais.exceptions import (
    InvalidNMEAMessageException,
    MissingPayloadException,
    UnknownMessageException,
    UnknownPartNoException,
)
from pyais.messages import AISSentence, GatehouseSentence, NMEASentenceFactory

NMEA_FILES = (
    "ais-nmea/gpsd/ais-nmea.log",
    "ais-nmea/gpsd/ais-nmea-type6-fid55.log",
    "ais-nmea/gpsd/ais-raw-messages.log",
    "ais-nmea/gpsd/ais-18-27.log",
    "ais-nmea/gpsd/ais_unpack_sixbit.log",
    "ais-nmea/aishub-sample/ais-nmea-sample.log",
    "ais-nmea/kystverket/norwegian.raw",
    "ais-nmea/dma-aislib/stream_example.txt",
    "ais-nmea/dma-aislib/decode_encode_messages.txt",
    "ais-nmea/dma-aislib/replay_dump.txt",
    "ais-nmea/dma-aislib/retry_example.txt",
    "ais-nmea/dma-aislib/small_cb_example.txt",
    "ais-nmea/dma-aislib/small_example.txt",
    "ais-nmea/dma-aislib/ais250.txt",
    "ais-edge-cases/pyais/ais_test_messages",
    "ais-edge-cases/pyais/gatehouse.nmea",
    "ais-edge-cases/pyais/messages.ais",
    "ais-edge-cases/pyais/mixed.txt",
    "ais-edge-cases/pyais/nmea_data_sample.txt",
    "ais-edge-cases/pyais/sample.ais",
    "ais-edge-cases/pyais/timestamped.ais",
    "ais-edge-cases/libais/test.aivdm",
    "ais-edge-cases/libais/typeexamples.nmea",
    "ais-edge-cases/libais/tagblock.nmea",
    "ais-edge-cases/gfw-ais-tools/bad-tagblock-group.nmea",
    "ais-edge-cases/gfw-ais-tools/bad-type5.nmea",
    "ais-edge-cases/gfw-ais-tools/ee-multiline.nmea",
    "ais-edge-cases/gfw-ais-tools/errors.nmea",
    "ais-edge-cases/gfw-ais-tools/mixed_types.nmea",
    "ais-edge-cases/gfw-ais-tools/multi-part.nmea",
    "ais-edge-cases/gfw-ais-tools/sample.nmea",
    "ais-edge-cases/gfw-ais-tools/single-message-type-5.nmea",
    "ais-edge-cases/gfw-ais-tools/spire-test.nmea",
    "ais-edge-cases/gfw-ais-tools/type1-bad-bitcount.nmea",
    "ais-edge-cases/gfw-ais-tools/type8.nmea",
    "ais-csv/aisdb/test_data_20211101.nm4",
    "reference/dma-aisabnormal/212123000_drift_1.ais",
    "reference/dma-aisabnormal/219165000_ssc_1.ais",
    "reference/dma-aisabnormal/538004030_drift_1.ais",
    "reference/dma-aisabnormal/ais-sample-micro.txt.gz",
    "reference/dma-aisabnormal/ais-sample.txt.gz",
)
"""Every NMEA-bearing file of shared/data (the pyais sanity table of SOURCES.md and the
DMA AisAbnormal captures)."""

DEFAULT_TIME = "2020-01-01T00:00:00Z"

SENTENCE_START = re.compile(rb"![A-Z0-9]{2}VD[MO],")
CHECKSUM_END = re.compile(rb"^[^*]*\*[0-9A-Fa-f]{1,2}")
MAX_LINE = 4096  # seawatch quarantines longer lines whole (framing.MAX_LINE)

MIN_BITS = {1: 143, 2: 143, 3: 143, 4: 134, 5: 420, 18: 139, 19: 301, 21: 219, 27: 94}
"""Shortest message seawatch decodes, per type: every field it reads must be complete
(ITU-R M.1371-5 bit positions; 420 for type 5, which some transceivers send 4 bits short, as
libais also accepts). See seawatch.io.nmea.payload.MIN_BITS_*."""
MIN_BITS_24 = {0: 160, 1: 162}  # part A ends with its name at bit 160; B with its dimensions

POSITION_TYPES = (1, 2, 3, 18, 19, 27)
STATIC_TYPES = (5, 19, 24)
STATION_TYPES = (4, 21)
DECODED_TYPES = frozenset(POSITION_TYPES + STATIC_TYPES + STATION_TYPES)
TABLES = ("positions", "vessels", "stations", "other_messages")

SIXBIT = _SIXBIT_CHAR  # pyais's 6-bit alphabet: index -> character


@dataclass
class Sentence:
    line_no: int
    raw: bytes  # the sentence, cut after its checksum
    parsed: AISSentence | None
    error: str | None  # pyais's reason when it rejected the sentence


@dataclass
class Message:
    line_no: int  # line of the first fragment
    sentence: AISSentence  # the assembled sentence
    nbits: int
    msg_type: int  # first 6 bits of the payload
    mmsi: int | None
    decoded: object | None
    error: str | None  # pyais exception name when .decode() failed

    def bits(self, start: int, width: int) -> int:
        """``width`` bits from ``start`` of the payload, read by pyais's bit vector."""
        return int(self.sentence.bv.get(start, width))

    def chars(self, start: int, n: int) -> str:
        """``n`` raw 6-bit characters from bit ``start`` (no stripping)."""
        return "".join(SIXBIT[self.bits(start + 6 * i, 6)] for i in range(n))


@dataclass
class OracleResult:
    lines: list[bytes]
    sentences: list[Sentence]
    messages: list[Message]
    orphans: list[Sentence]
    incomplete: list[Sentence]  # first fragment of each group that never completed
    line_kinds: Counter[str] = field(default_factory=Counter)
    not_ais: list[int] = field(default_factory=list)
    too_long: list[int] = field(default_factory=list)

    @property
    def decoded(self) -> list[Message]:
        return [m for m in self.messages if m.decoded is not None]

    @property
    def bad_checksum(self) -> list[Sentence]:
        return [s for s in self.sentences if s.parsed is not None and not s.parsed.is_valid]

    @property
    def rejected(self) -> list[Sentence]:
        return [s for s in self.sentences if s.parsed is None]


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def file_lines(data: bytes) -> list[bytes]:
    """Lines as the decoder numbers them: split on LF only (CR is trimmed with spaces)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def trim(line: bytes) -> bytes:
    """The line without whitespace, CR and control bytes at both ends."""
    a, b = 0, len(line)
    while a < b and line[a] <= 32:
        a += 1
    while b > a and line[b - 1] <= 32:
        b -= 1
    return line[a:b]


def find_sentences(line: bytes) -> list[bytes]:
    """Every AIS sentence in a line, each cut after its ``*hh`` checksum if it has one.

    A sentence runs to the next ``!`` or ``\\`` (the next sentence or tag block).
    """
    out = []
    for m in SENTENCE_START.finditer(line):
        end = len(line)
        for j in range(m.start() + 1, len(line)):
            if line[j] in b"!\\":
                end = j
                break
        text = line[m.start() : end]
        cut = CHECKSUM_END.match(text)
        out.append(cut.group(0) if cut else trim(text))
    return out


def run(data: bytes) -> OracleResult:
    """Decode ``data`` (a whole file) with pyais, keeping track of every line and sentence."""
    lines = file_lines(data)
    sentences: list[Sentence] = []
    kinds: Counter[str] = Counter()
    not_ais: list[int] = []
    too_long: list[int] = []
    for no, line in enumerate(lines, 1):
        text = trim(line)
        if len(text) > MAX_LINE:
            too_long.append(no)
            continue
        found = find_sentences(text)
        for raw in found:
            try:
                sentences.append(Sentence(no, raw, NMEASentenceFactory.produce(raw), None))
            except (InvalidNMEAMessageException, UnknownMessageException) as exc:
                sentences.append(Sentence(no, raw, None, str(exc)))
        if found:
            continue
        if not text:
            kinds["blank"] += 1
        elif text.startswith(b"#"):
            kinds["comment"] += 1
        elif _is_gatehouse(text):
            kinds["pghp"] += 1
        else:
            not_ais.append(no)

    messages: list[Message] = []
    orphans: list[Sentence] = []
    incomplete: list[Sentence] = []
    groups: dict[tuple[int, int, str], dict[int, Sentence]] = {}
    for s in sentences:
        p = s.parsed
        if p is None or not p.is_valid:
            continue
        if p.frag_cnt == 1:
            messages.append(_message([s]))
            continue
        key = (p.frag_cnt, -1 if p.seq_id is None else p.seq_id, p.channel)
        if p.frag_num == 1:
            if key in groups:
                incomplete.append(groups.pop(key)[1])
            groups[key] = {1: s}
        elif key in groups and p.frag_num not in groups[key]:
            groups[key][p.frag_num] = s
        else:
            orphans.append(s)
            continue
        if len(groups[key]) == p.frag_cnt:
            frags = groups.pop(key)
            messages.append(_message([frags[k] for k in sorted(frags)]))
    incomplete.extend(g[1] for g in groups.values())
    return OracleResult(lines, sentences, messages, orphans, incomplete, kinds, not_ais,
                        too_long)


def _is_gatehouse(text: bytes) -> bool:
    if not text.startswith(b"$PGHP,1,"):
        return False
    try:
        return isinstance(NMEASentenceFactory.produce(text), GatehouseSentence)
    except (InvalidNMEAMessageException, UnknownMessageException, ValueError):
        return False


def _message(frags: list[Sentence]) -> Message:
    # assemble_from_iterable rewrites its first sentence in place: give it fresh copies
    copies = [NMEASentenceFactory.produce(f.raw) for f in frags]
    sentence = AISSentence.assemble_from_iterable(copies)  # type: ignore[arg-type]
    nbits = len(sentence.payload) * 6 - copies[-1].fill_bits  # type: ignore[union-attr]
    bv = sentence.bv
    msg_type = int(bv.get(0, 6)) if len(bv) >= 6 else -1
    mmsi = int(bv.get(8, 30)) if len(bv) >= 38 else None
    try:
        decoded, err = sentence.decode(), None
    except (MissingPayloadException, UnknownPartNoException, UnknownMessageException) as exc:
        decoded, err = None, type(exc).__name__
    return Message(frags[0].line_no, sentence, nbits, msg_type, mmsi, decoded, err)


# -- what seawatch should do with each message ---------------------------------------------

def lat_lon_range_ok(m: Message) -> bool:
    """False when pyais's latitude or longitude is one no report can carry."""
    d = m.decoded
    lat, lon = getattr(d, "lat", None), getattr(d, "lon", None)
    bad_lat = lat is not None and abs(lat) > 90 and lat != 91
    bad_lon = lon is not None and abs(lon) > 180 and lon != 181
    return not (bad_lat or bad_lon)


def min_bits(m: Message) -> int:
    if m.msg_type == 24:
        return MIN_BITS_24.get(m.bits(38, 2), 0)
    return MIN_BITS.get(m.msg_type, 0)


def verdict(m: Message) -> str:
    """The table seawatch should put a message in, or its quarantine reason."""
    if m.error == "MissingPayloadException":
        return "empty_payload"
    if m.error == "UnknownPartNoException":  # type 24 part 2 or 3
        return "impossible_value"
    if m.msg_type == 0 or m.msg_type > 27:  # undefined in ITU-R M.1371-5
        return "impossible_value"
    assert m.error is None, m.error
    if m.msg_type not in DECODED_TYPES:
        return "other_messages"
    if m.nbits < min_bits(m):
        return "wrong_length"
    if not lat_lon_range_ok(m):
        return "impossible_value"
    return "decoded"


def sentence_reason(s: Sentence) -> str | None:
    """Quarantine reason of a sentence pyais rejected or flagged, or None."""
    if s.parsed is None:
        return "bad_fill_bits" if "fill bit" in (s.error or "") else "malformed"
    if not s.parsed.is_valid:
        return "malformed" if b"*" not in s.raw else "bad_checksum"
    return None


def expected_quarantine(o: OracleResult) -> Counter[tuple[int, str]]:
    """(line, reason) of everything seawatch should quarantine, from pyais's view of it."""
    out: Counter[tuple[int, str]] = Counter()
    out.update((no, "not_ais") for no in o.not_ais)
    out.update((no, "line_too_long") for no in o.too_long)
    for s in o.sentences:
        reason = sentence_reason(s)
        if reason:
            out[(s.line_no, reason)] += 1
    out.update((s.line_no, "orphan_fragment") for s in o.orphans)
    out.update((s.line_no, "incomplete_group") for s in o.incomplete)
    for m in o.messages:
        v = verdict(m)
        if v not in ("decoded", "other_messages"):
            out[(m.line_no, v)] += 1
    return out


# -- pyais's values of the fields seawatch outputs --------------------------------------

def _int(v: object) -> int | None:
    return None if v is None else int(v)  # type: ignore[call-overload]


def position_row(m: Message) -> dict[str, object]:
    d = m.decoded
    t = m.msg_type
    return {
        "line_no": m.line_no,
        "msg_type": t,
        "mmsi": int(d.mmsi),  # type: ignore[attr-defined]
        "lat": d.lat,  # type: ignore[attr-defined]
        "lon": d.lon,  # type: ignore[attr-defined]
        "sog": float(d.speed),  # type: ignore[attr-defined]
        "cog": float(d.course),  # type: ignore[attr-defined]
        "heading": None if t == 27 else _int(d.heading),  # type: ignore[attr-defined]
        "nav_status": _int(d.status) if t in (1, 2, 3, 27) else None,  # type: ignore[attr-defined]
        "accuracy": bool(d.accuracy),  # type: ignore[attr-defined]
        "second": None if t == 27 else _int(d.second),  # type: ignore[attr-defined]
    }


SHIP_TYPE_BIT = {5: 232, 19: 263, 24: 40}


def vessel_row(m: Message) -> dict[str, object]:
    d = m.decoded
    t = m.msg_type
    row: dict[str, object] = {"line_no": m.line_no, "msg_type": t, "mmsi": int(d.mmsi)}  # type: ignore[attr-defined]
    for name in ("imo", "callsign", "shipname", "ship_type", "to_bow", "to_stern", "to_port",
                 "to_starboard", "draught", "destination"):
        v = getattr(d, name, None)
        row["name" if name == "shipname" else name] = (
            v if v is None or isinstance(v, str | float) else int(v)
        )
    # pyais turns ship-type codes it has no name for into 0 or a category; the raw code:
    row["ship_type_bits"] = m.bits(SHIP_TYPE_BIT[t], 8) if row["ship_type"] is not None else None
    return row


def station_row(m: Message) -> dict[str, object]:
    d = m.decoded
    row: dict[str, object] = {
        "line_no": m.line_no, "msg_type": m.msg_type, "mmsi": int(d.mmsi),  # type: ignore[attr-defined]
        "lat": d.lat, "lon": d.lon,  # type: ignore[attr-defined]
        "name": None, "aid_type": None, "station_time": None,
        "name20": None, "name_ext_raw": None,
    }
    if m.msg_type == 4:
        try:
            row["station_time"] = dt.datetime(
                d.year, d.month, d.day, d.hour, d.minute, d.second,  # type: ignore[attr-defined]
                tzinfo=dt.UTC,
            )
        except ValueError:  # a "not available" code (hour 24, second 60, month 0, ...)
            row["station_time"] = None
    else:
        row["name"] = d.full_name  # type: ignore[attr-defined]
        row["aid_type"] = int(d.aid_type)  # type: ignore[attr-defined]
        row["name20"] = m.chars(43, 20)
        row["name_ext_raw"] = m.chars(272, min(14, max(0, (m.nbits - 272) // 6)))
    return row


def other_row(m: Message) -> dict[str, object]:
    return {
        "line_no": m.line_no, "msg_type": m.msg_type, "mmsi": m.mmsi,
        "payload": m.sentence.payload.decode("ascii"),
        "fill_bits": len(m.sentence.payload) * 6 - m.nbits,
    }


def frames(o: OracleResult) -> dict[str, pl.DataFrame]:
    """pyais's messages that seawatch should decode, as frames like seawatch's tables."""
    kept = [m for m in o.messages if verdict(m) in ("decoded", "other_messages")]
    rows: dict[str, list[dict[str, object]]] = {t: [] for t in TABLES}
    for m in kept:
        t = m.msg_type
        if t in POSITION_TYPES:
            rows["positions"].append(position_row(m))
        if t in STATIC_TYPES:
            rows["vessels"].append(vessel_row(m))
        if t in STATION_TYPES:
            rows["stations"].append(station_row(m))
        if t not in DECODED_TYPES:
            rows["other_messages"].append(other_row(m))
    text = {"callsign": pl.String, "name": pl.String, "destination": pl.String,
            "name20": pl.String, "name_ext_raw": pl.String}
    out = {}
    for t, r in rows.items():
        frame = pl.DataFrame(r, infer_schema_length=None)
        out[t] = frame.cast({c: d for c, d in text.items() if c in frame.columns})
    return out


# -- gpsd's rule for the name of an aid to navigation (ITU-R M.1371-5 table 74) ------------

def aton_name(name20: str, ext: str) -> str | None:
    """The name of a type 21 report from its 20 raw characters and raw extension characters.

    The extension continues a name that fills all 20 characters and uses no '@'; spare bits
    follow it. pyais instead strips both parts and joins them whatever they hold.
    """
    full = name20 + ext.split("@")[0] if name20[-1] != "@" else name20
    text = full.rstrip("@ ").lstrip(" ")
    return text or None
