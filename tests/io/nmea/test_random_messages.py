"""Random valid messages, encoded with pyais, decoded by seawatch: every field comes back.

Hypothesis draws field values for message types 1, 2, 3, 4, 5, 18, 19, 21, 24 A/B and 27
(with the "not available" codes and the extremes: latitude ±90, longitude ±180, speed 102.2,
negative coordinates, ...). pyais's encoder (``MessageTypeN.create(...).to_bytes()``) turns them
into bits, which are armoured, split into 1-9 sentences with random talkers, channels and
sequence ids, and given a receive time from a random source (tag block ``c:`` in seconds or
milliseconds, ISO or epoch line prefix, trailing epoch field, ``$PGHP`` line, or none). The
decoded rows must equal the values drawn, as seawatch documents them (docs/nmea.md), and pyais
must decode the same sentences to the same values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyais.messages import AISSentence as PyaisSentence
from pyais.messages import (
    MessageType1,
    MessageType2,
    MessageType3,
    MessageType4,
    MessageType5,
    MessageType18,
    MessageType19,
    MessageType21,
    MessageType24,
    MessageType27,
    NMEASentenceFactory,
)

from seawatch.io.nmea import decode_lines
from tests.io.nmea import nmea_text as nt
from tests.io.nmea.pyais_oracle import aton_name

DEFAULT = datetime(2020, 1, 1, tzinfo=UTC)
LAT_NA, LON_NA = 91 * 600_000, 181 * 600_000

mmsis = st.one_of(st.integers(0, 2**30 - 1),
                  st.sampled_from([0, 1, 999_999_999, 2**30 - 1, 735_057_000, 985_380_123]))
lat_raw = st.one_of(st.integers(-90 * 600_000, 90 * 600_000),
                    st.sampled_from([90 * 600_000, -90 * 600_000, LAT_NA, 0, -1, 1]))
lon_raw = st.one_of(st.integers(-180 * 600_000, 180 * 600_000),
                    st.sampled_from([180 * 600_000, -180 * 600_000, LON_NA, 0, -1]))
speeds = st.one_of(st.integers(0, 1023), st.sampled_from([0, 1022, 1023]))
courses = st.one_of(st.integers(0, 4095), st.sampled_from([0, 3599, 3600, 4095]))
headings = st.one_of(st.integers(0, 511), st.sampled_from([0, 359, 360, 510, 511]))
seconds = st.integers(0, 63)


def text(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=nt.SIXBIT_ALPHABET, max_size=n)


def clean(value: str, width: int) -> str | None:
    """A text field as seawatch returns it: padded with '@' to its width by the encoder,
    then without its padding at the end ('@' and spaces) and its leading spaces."""
    padded = (value + "@" * width)[:width]
    return padded.rstrip("@ ").lstrip(" ") or None


def na(value: int, *codes: int, at_least: int | None = None) -> int | None:
    return None if value in codes or (at_least is not None and value >= at_least) else value


def f32(value: float | None) -> float | None:
    return None if value is None else float(np.float32(value))


@dataclass
class Msg:
    """One drawn message: its bits and the rows seawatch must produce for it."""

    kind: str
    bits: str
    rows: dict[str, dict[str, object]]  # table -> expected values
    pyais: dict[str, object] = field(default_factory=dict)  # pyais .decode() values


def _patch(bits: str, start: int, width: int, value: int) -> str:
    """Overwrite a field (pyais's encoder maps unnamed ship types to 0; put the raw code)."""
    return bits[:start] + format(value, f"0{width}b") + bits[start + width :]


def _encode(msg: object) -> str:
    data, nbits = msg.to_bytes()  # type: ignore[attr-defined]
    return nt.payload_bits(data, nbits)


def _position(t: int, mmsi: int, la: int, lo: int, sp: int, co: int, hd: int | None,
              status: int | None, acc: bool, sec: int | None) -> dict[str, object]:
    scale, sp_na, co_na = (600, 63, 360) if t == 27 else (600_000, 1023, 3600)
    div = 1 if t == 27 else 10
    return {
        "mmsi": mmsi, "msg_type": t,
        "lat": None if la == 91 * scale else la / scale,
        "lon": None if lo == 181 * scale else lo / scale,
        "sog": None if sp == sp_na else f32(sp / div),
        "cog": None if co >= co_na else f32(co / div),
        "heading": None if hd is None else na(hd, at_least=360),
        "nav_status": status, "accuracy": acc, "second": sec,
    }


@st.composite
def class_a(draw: st.DrawFn) -> Msg:
    t = draw(st.sampled_from([1, 2, 3]))
    mmsi, la, lo = draw(mmsis), draw(lat_raw), draw(lon_raw)
    sp, co, hd, sec = draw(speeds), draw(courses), draw(headings), draw(seconds)
    status, acc = draw(st.integers(0, 15)), draw(st.booleans())
    cls = {1: MessageType1, 2: MessageType2, 3: MessageType3}[t]
    # msg_type given: pyais's MessageType2/3.create would otherwise encode type 1
    m = cls.create(msg_type=t, mmsi=mmsi, status=status, speed=sp / 10, accuracy=acc,
                   lon=lo / 600_000, lat=la / 600_000, course=co / 10, heading=hd, second=sec)
    row = _position(t, mmsi, la, lo, sp, co, hd, status, acc, sec)
    return Msg(f"type{t}", _encode(m), {"positions": row},
               {"lat": round(la / 600_000, 6), "lon": round(lo / 600_000, 6), "speed": sp / 10,
                "course": co / 10, "heading": hd, "second": sec, "status": status})


@st.composite
def class_b(draw: st.DrawFn) -> Msg:
    mmsi, la, lo = draw(mmsis), draw(lat_raw), draw(lon_raw)
    sp, co, hd, sec = draw(speeds), draw(courses), draw(headings), draw(seconds)
    acc = draw(st.booleans())
    row = _position(18, mmsi, la, lo, sp, co, hd, None, acc, sec)
    common = {"mmsi": mmsi, "speed": sp / 10, "accuracy": acc, "lon": lo / 600_000,
              "lat": la / 600_000, "course": co / 10, "heading": hd, "second": sec}
    check = {"lat": round(la / 600_000, 6), "speed": sp / 10, "heading": hd}
    if not draw(st.booleans()):
        return Msg("type18", _encode(MessageType18.create(**common)), {"positions": row}, check)
    name, ship_type = draw(text(20)), draw(st.integers(0, 255))
    dims = draw(st.tuples(st.integers(0, 511), st.integers(0, 511), st.integers(0, 63),
                          st.integers(0, 63)))
    m = MessageType19.create(**common, shipname=name, to_bow=dims[0], to_stern=dims[1],
                             to_port=dims[2], to_starboard=dims[3])
    bits = _patch(_encode(m), 263, 8, ship_type)
    row["msg_type"] = 19
    vessel = _vessel(19, mmsi, name=clean(name, 20), ship_type=ship_type, dims=dims)
    return Msg("type19", bits, {"positions": row, "vessels": vessel}, check)


def _vessel(t: int, mmsi: int, *, imo: int | None = None, callsign: str | None = None,
            name: str | None = None, ship_type: int | None = None,
            dims: tuple[int, int, int, int] | None = None, draught: int | None = None,
            destination: str | None = None) -> dict[str, object]:
    length = width = None
    if dims is not None:
        length = float(dims[0] + dims[1]) or None
        width = float(dims[2] + dims[3]) or None
    return {
        "mmsi": mmsi, "msg_type": t, "imo": imo or None, "callsign": callsign, "name": name,
        "ship_type": ship_type, "length": length, "width": width,
        "draught": f32(draught / 10) if draught else None, "destination": destination,
    }


@st.composite
def static_voyage(draw: st.DrawFn) -> Msg:
    mmsi, imo = draw(mmsis), draw(st.one_of(st.integers(0, 2**30 - 1), st.just(0)))
    callsign, name, destination = draw(text(7)), draw(text(20)), draw(text(20))
    ship_type, draught = draw(st.integers(0, 255)), draw(st.integers(0, 255))
    dims = draw(st.tuples(st.integers(0, 511), st.integers(0, 511), st.integers(0, 63),
                          st.integers(0, 63)))
    m = MessageType5.create(mmsi=mmsi, imo=imo, callsign=callsign, shipname=name,
                            to_bow=dims[0], to_stern=dims[1], to_port=dims[2],
                            to_starboard=dims[3], draught=draught / 10, destination=destination)
    bits = _patch(_encode(m), 232, 8, ship_type)
    row = _vessel(5, mmsi, imo=imo, callsign=clean(callsign, 7), name=clean(name, 20),
                  ship_type=ship_type, dims=dims, draught=draught,
                  destination=clean(destination, 20))
    check = {"imo": imo, "callsign": (callsign + "@" * 7)[:7].rstrip("@").strip(),
             "draught": draught / 10}
    return Msg("type5", bits, {"vessels": row}, check)


@st.composite
def static_b(draw: st.DrawFn) -> Msg:
    mmsi = draw(mmsis)
    if draw(st.booleans()):
        name = draw(text(20))
        m = MessageType24.create(mmsi=mmsi, partno=0, shipname=name)
        return Msg("type24A", _encode(m), {"vessels": _vessel(24, mmsi, name=clean(name, 20))},
                   {"partno": 0})
    if draw(st.booleans()):
        mmsi = draw(st.integers(980_000_000, 989_999_999))  # auxiliary craft
    callsign, ship_type = draw(text(7)), draw(st.integers(0, 255))
    dims = draw(st.tuples(st.integers(0, 511), st.integers(0, 511), st.integers(0, 63),
                          st.integers(0, 63)))
    aux = 980_000_000 <= mmsi <= 989_999_999
    fields = {"mmsi": mmsi, "partno": 1, "ship_type": ship_type, "vendorid": draw(text(3)),
              "model": draw(st.integers(0, 15)), "serial": draw(st.integers(0, 2**20 - 1)),
              "callsign": callsign}
    if aux:
        fields["mothership_mmsi"] = draw(mmsis)
    else:
        fields.update(to_bow=dims[0], to_stern=dims[1], to_port=dims[2], to_starboard=dims[3])
    m = MessageType24.create(**fields)
    row = _vessel(24, mmsi, callsign=clean(callsign, 7), ship_type=ship_type,
                  dims=None if aux else dims)
    return Msg("type24B", _encode(m), {"vessels": row}, {"partno": 1, "ship_type": ship_type})


def _station_time(y: int, mo: int, d: int, h: int, mi: int, s: int) -> datetime | None:
    """UTC of a base station report; null for "not available" codes and impossible dates."""
    if s >= 60 or not 1990 <= y < 2100:
        return None
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except ValueError:
        return None


@st.composite
def base_station(draw: st.DrawFn) -> Msg:
    mmsi, la, lo = draw(mmsis), draw(lat_raw), draw(lon_raw)
    ymdhms = draw(st.one_of(
        st.tuples(st.integers(1990, 2099), st.integers(1, 12), st.integers(1, 31),
                  st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)),
        st.tuples(st.integers(0, 16383), st.integers(0, 15), st.integers(0, 31),
                  st.integers(0, 31), st.integers(0, 63), st.integers(0, 63)),
        st.sampled_from([(0, 0, 0, 24, 60, 60), (2024, 2, 30, 0, 0, 0), (2023, 2, 29, 0, 0, 0),
                         (2024, 2, 29, 23, 59, 59), (2024, 1, 1, 0, 0, 60)]),
    ))
    y, mo, d, h, mi, s = ymdhms
    m = MessageType4.create(mmsi=mmsi, year=y, month=mo, day=d, hour=h, minute=mi, second=s,
                            accuracy=draw(st.booleans()), lon=lo / 600_000, lat=la / 600_000)
    row = {"mmsi": mmsi, "msg_type": 4, "lat": None if la == LAT_NA else la / 600_000,
           "lon": None if lo == LON_NA else lo / 600_000, "name": None, "aid_type": None,
           "station_time": _station_time(*ymdhms)}
    return Msg("type4", _encode(m), {"stations": row}, {"year": y, "second": s})


@st.composite
def aid_to_navigation(draw: st.DrawFn) -> Msg:
    mmsi, la, lo = draw(mmsis), draw(lat_raw), draw(lon_raw)
    name = draw(st.one_of(text(20), text(20).map(lambda x: (x + "X" * 20)[:20])))
    ext = draw(st.text(alphabet=nt.SIXBIT_ALPHABET[1:], max_size=14))  # no '@' in it
    aid = draw(st.integers(0, 31))
    m = MessageType21.create(mmsi=mmsi, aid_type=aid, name=name, lon=lo / 600_000,
                             lat=la / 600_000, name_ext=ext)
    # send only the extension's characters, then spare bits up to a byte boundary
    bits = _encode(m)[: 272 + 6 * len(ext)]
    bits += "0" * (-len(bits) % 8)
    padded = (name + "@" * 20)[:20]
    row = {"mmsi": mmsi, "msg_type": 21, "lat": None if la == LAT_NA else la / 600_000,
           "lon": None if lo == LON_NA else lo / 600_000, "aid_type": aid,
           "name": aton_name(padded, ext), "station_time": None}
    return Msg("type21", bits, {"stations": row}, {"aid_type": aid})


@st.composite
def long_range(draw: st.DrawFn) -> Msg:
    mmsi = draw(mmsis)
    la = draw(st.one_of(st.integers(-90 * 600, 90 * 600), st.sampled_from([91 * 600, -54000])))
    lo = draw(st.one_of(st.integers(-180 * 600, 180 * 600), st.sampled_from([181 * 600])))
    sp = draw(st.one_of(st.integers(0, 63), st.just(63)))
    co = draw(st.one_of(st.integers(0, 511), st.sampled_from([359, 360, 511])))
    status, acc = draw(st.integers(0, 15)), draw(st.booleans())
    m = MessageType27.create(mmsi=mmsi, accuracy=acc, status=status, lon=lo / 600,
                             lat=la / 600, speed=sp, course=co)
    row = _position(27, mmsi, la, lo, sp, co, None, status, acc, None)
    return Msg("type27", _encode(m), {"positions": row},
               {"lat": round(la / 600, 6), "speed": float(sp), "course": float(co)})


messages = st.one_of(class_a(), class_b(), static_voyage(), static_b(), base_station(),
                     aid_to_navigation(), long_range())

# -- framing: sentences, talkers, times --------------------------------------------------------

TIME_SOURCES = ("tag_s", "tag_ms", "iso_t", "iso_space", "epoch", "epoch_ms", "trailing",
                "pghp", "none")
times = st.builds(  # 2000 to 2025: a receive time after the reader's clock is impossible
    lambda s, u: datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=s, microseconds=u),
    st.integers(0, 26 * 365 * 86_400 - 1), st.integers(0, 999_999),
)


def _stamp(t: datetime, source: str) -> datetime:
    """The time as the source can carry it (whole seconds, milliseconds or microseconds)."""
    if source in ("tag_s", "trailing"):
        return t.replace(microsecond=0)
    if source in ("tag_ms", "epoch_ms", "pghp"):
        return t.replace(microsecond=t.microsecond // 1000 * 1000)
    return t


def _line(s: str, t: datetime, source: str, rng_sep: str) -> str:
    """A sentence with its time written the way ``source`` writes it."""
    if source == "tag_s":
        return nt.tag_block(s="rx1", c=int(t.timestamp())) + s
    if source == "tag_ms":
        return nt.tag_block(c=nt.us(t) // 1000, s="rx2") + s
    if source == "iso_t":
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") + rng_sep + s
    if source == "iso_space":
        return t.strftime("%Y-%m-%d %H:%M:%S.%f") + rng_sep + s
    if source == "epoch":
        return f"{nt.us(t) // 1_000_000}.{t.microsecond:06d}{rng_sep}{s}"
    if source == "epoch_ms":
        return f"{nt.us(t) // 1000}{rng_sep}{s}"
    if source == "trailing":
        return f"{s},{int(t.timestamp())}"
    return s


@dataclass
class Framed:
    msg: Msg
    lines: list[str]
    first_line: int  # 1-based line of the first fragment within the example
    times: list[int | None]  # receive time (µs) of each sentence, None when untimed


@st.composite
def framed(draw: st.DrawFn, msg: Msg) -> tuple[list[str], list[int | None], int]:
    """(lines, per-sentence times, index of the first fragment's line) of one message."""
    payload, fill = nt.armour_bits(msg.bits)
    n = draw(st.integers(1, min(9, len(payload))))
    cuts = sorted(draw(st.sets(st.integers(1, len(payload) - 1), min_size=n - 1,
                               max_size=n - 1))) if n > 1 else []
    seq = draw(st.sampled_from("0123456789")) if n > 1 or draw(st.booleans()) else ""
    talker = draw(st.sampled_from(["AI", "AB", "BS", "B2", "AN"]))
    kind = draw(st.sampled_from(["VDM", "VDO"]))
    channel = draw(st.sampled_from(["A", "B"]))
    sents = nt.sentences(payload, fill, cuts, seq=seq, channel=channel, talker=talker, kind=kind)
    source = draw(st.sampled_from(TIME_SOURCES))
    t = _stamp(draw(times), source)
    sep = draw(st.sampled_from([" ", ",", ";", "\t"]))
    lines: list[str] = []
    stamps: list[int | None] = []
    first = 0
    if source == "pghp":
        lines.append(nt.pghp(t))
        first = 1
    for i, s in enumerate(sents):
        lines.append(_line(s, t, source, sep))
        timed = source not in ("none", "pghp") or (source == "pghp" and i == 0)
        stamps.append(nt.us(t) if timed else None)
    return lines, stamps, first


def _fill(times_: list[int | None]) -> list[int]:
    """Untimed sentences take the previous time; those before the first take the first."""
    known = [t for t in times_ if t is not None]
    last = known[0] if known else nt.us(DEFAULT)
    out = []
    for t in times_:
        last = t if t is not None else last
        out.append(last)
    return out


@st.composite
def examples(draw: st.DrawFn) -> tuple[str, list[tuple[Msg, int, int]]]:
    """(text, [(message, line of first fragment, expected time)])."""
    msgs = draw(st.lists(messages, min_size=1, max_size=4))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    lines: list[str] = []
    all_times: list[int | None] = []
    starts = []
    for m in msgs:
        ls, ts, first = draw(framed(m))
        starts.append((len(lines) + first + 1, len(all_times)))
        lines.extend(ls)
        all_times.extend(ts)
    filled = _fill(all_times)
    out = [(m, line, filled[k]) for m, (line, k) in zip(msgs, starts, strict=True)]
    return eol.join(lines) + eol, out


def _pyais_decode(lines: list[str]) -> object:
    """pyais's decode of the sentences in ``lines`` (one message)."""
    sents = []
    for line in lines:
        start = line.index("!")
        end = line.index("*", start) + 3
        sents.append(NMEASentenceFactory.produce(line[start:end].encode()))
    return PyaisSentence.assemble_from_iterable(sents).decode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(examples())
def test_random_messages_round_trip(example: tuple[str, list[tuple[Msg, int, int]]]) -> None:
    data, expected = example
    r = decode_lines(data, default_time=DEFAULT, line_numbers=True)
    assert r.quarantine_counts == {}, r.quarantine
    for table in ("positions", "vessels", "stations"):
        want = [(line, t, m.rows[table]) for m, line, t in expected if table in m.rows]
        got = getattr(r, table)
        assert got.height == len(want)
        for row, (line, t, values) in zip(got.iter_rows(named=True), want, strict=True):
            assert row["line_no"] == line
            assert nt.us(row["ts"]) == t
            for k, v in values.items():
                assert row[k] == v, (table, k, row[k], v)
    assert r.other_messages.is_empty()


@settings(max_examples=100, deadline=None)
@given(messages)
def test_pyais_decodes_the_same_values(msg: Msg) -> None:
    """The drawn values are what the bits hold: pyais decodes them back too."""
    payload, fill = nt.armour_bits(msg.bits)
    lines = nt.sentences(payload, fill)
    decoded = _pyais_decode(lines)
    for k, v in msg.pyais.items():
        assert getattr(decoded, k) == v, (k, getattr(decoded, k), v)
    r = decode_lines(lines, default_time=DEFAULT)
    for table, values in msg.rows.items():
        row = getattr(r, table).row(0, named=True)
        assert row["mmsi"] == int(decoded.mmsi)  # type: ignore[attr-defined]
        for k, v in values.items():
            assert row[k] == v


def test_extremes() -> None:
    """Corners, one by one: ±90/±180, 102.2 kn, course 359.9, the last MMSI."""
    cases = [
        (MessageType1.create(mmsi=2**30 - 1, lat=90, lon=180, speed=102.2, course=359.9,
                             heading=359, second=59), (90.0, 180.0, f32(102.2), f32(359.9), 359)),
        (MessageType1.create(mmsi=1, lat=-90, lon=-180, speed=0, course=0, heading=0),
         (-90.0, -180.0, 0.0, 0.0, 0)),
        (MessageType18.create(mmsi=5, lat=-0.000001, lon=-0.000001, speed=102.3, course=360,
                              heading=511), (-1 / 600_000, -1 / 600_000, None, None, None)),
        (MessageType27.create(mmsi=7, lat=-90, lon=-180, speed=62, course=359),
         (-90.0, -180.0, 62.0, 359.0, None)),
    ]
    for m, (la, lo, sp, co, hd) in cases:
        payload, fill = nt.armour_bits(_encode(m))
        r = decode_lines(nt.sentences(payload, fill), default_time=DEFAULT)
        row = r.positions.row(0, named=True)
        assert (row["lat"], row["lon"], row["sog"], row["cog"], row["heading"]) == (
            la, lo, sp, co, hd)


def test_out_of_range_positions_are_impossible_values() -> None:
    """|lat| > 90 or |lon| > 180 (other than 91/181) are quarantined, not decoded."""
    lines = []
    for la, lo in ((90.5, 0), (-91.5, 0), (0, 180.5), (0, -181.5), (91, 181)):
        m = MessageType1.create(mmsi=9, lat=la, lon=lo)
        lines += nt.sentences(*nt.armour_bits(_encode(m)))
    r = decode_lines(lines, default_time=DEFAULT, line_numbers=True)
    assert r.quarantine_counts == {"impossible_value": 4}
    assert r.quarantine["line_no"].to_list() == [1, 2, 3, 4]
    assert r.positions.select("lat", "lon", "line_no").row(0) == (None, None, 5)
    assert r.positions.schema["sog"] == pl.Float32
