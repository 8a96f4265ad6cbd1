"""Decoded values against two other decoders' recorded output: gpsd and libais.

- gpsd's regression logs (``ais-nmea/gpsd/*.log``) with the JSON gpsd printed for them
  (``*.log.chk``, unscaled: latitude/longitude in 1/600000 degree (1/600 in message 27),
  speed in 0.1 knot, course in 0.1 degree). seawatch's rows, rescaled to those integers,
  must equal gpsd's objects as multisets of per-type tuples.
- libais's ``typeexamples.nmea`` / ``typeexamples.json`` (one sentence of each type, scaled
  float32 values) and ``tagblock.nmea`` / ``tagblock.json`` (ORBCOMM tag blocks, with the
  tag-block timestamp), compared line by line.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from seawatch.io.nmea import read_nmea
from tests.conftest import shared_data_path
from tests.io.nmea.pyais_oracle import DEFAULT_TIME

GPSD_LOGS = (
    "ais-nmea.log",
    "ais-nmea-type6-fid55.log",
    "ais-raw-messages.log",
    "ais-18-27.log",
    "ais_unpack_sixbit.log",
)


def gpsd_objects(chk: Path) -> list[dict]:
    """The AIS objects gpsd printed for the sentences of the log, in order.

    gpsd echoes each input line and prints the object of a message right after the echo of
    its last sentence. In ``ais-nmea.log``, where AIS is mixed with GPS sentences, it prints
    the last AIS object once more at the end of each GPS reporting cycle (after a TPV or SKY
    object); those repeats are not messages of the log and are left out.
    """
    out = []
    lines = chk.read_text(encoding="utf-8", errors="replace").splitlines()
    for before, line in zip(["", *lines], lines, strict=False):
        if line.startswith('{"class":"AIS"'):
            obj = json.loads(line)
            assert obj["scaled"] is False
            if before.startswith("!"):
                out.append(obj)
            else:
                assert before.startswith('{"class":"'), before  # a repeat after TPV / SKY
    return out


def _na(value: int | None, na: int | None = None, at_least: int | None = None) -> int | None:
    if value is None or value == na or (at_least is not None and value >= at_least):
        return None
    return value


def _raw(x: float | None, scale: float) -> int | None:
    return None if x is None else round(x * scale)


def gpsd_position(o: dict) -> tuple:
    t = o["type"]
    if t == 27:
        return (t, o["mmsi"], _na(o["lat"], 91 * 600), _na(o["lon"], 181 * 600),
                _na(o["speed"], 63), _na(o["course"], at_least=360), None, o["status"],
                o["accuracy"], None)
    return (t, o["mmsi"], _na(o["lat"], 91 * 600_000), _na(o["lon"], 181 * 600_000),
            _na(o["speed"], 1023), _na(o["course"], at_least=3600),
            _na(o["heading"], at_least=360), o.get("status"), o["accuracy"], o["second"])


def our_position(r: dict) -> tuple:
    t = r["msg_type"]
    scale = 600 if t == 27 else 600_000
    speed = 1 if t == 27 else 10
    return (t, r["mmsi"], _raw(r["lat"], scale), _raw(r["lon"], scale),
            _raw(r["sog"], speed), _raw(r["cog"], speed), r["heading"], r["nav_status"],
            r["accuracy"], r["second"])


def _dims(o: dict) -> tuple[float | None, float | None]:
    length = o["to_bow"] + o["to_stern"]
    width = o["to_port"] + o["to_starboard"]
    return (float(length) if length else None, float(width) if width else None)


def text(value: str | None) -> str | None:
    """Text as both sides can be compared: up to the first '@', without outer spaces.

    gpsd ends a text field at its first '@' and keeps leading spaces (``" PD8288"``);
    seawatch, like pyais, keeps an '@' followed by other characters (``"@@J130B"``) and
    strips spaces at both ends (the exact text is checked against pyais in the parity test).
    """
    if value is None:
        return None
    return value.split("@")[0].strip(" ") or None


def gpsd_static(o: dict) -> tuple:
    """(type, mmsi, imo, call sign, name, ship type, length, width, draught, destination)."""
    t = o["type"]
    if t == 5:
        return (t, o["mmsi"], o["imo"] or None, text(o["callsign"]), text(o["shipname"]),
                o["shiptype"], *_dims(o), o["draught"] or None, text(o["destination"]))
    if t == 19:
        return (t, o["mmsi"], None, None, text(o["shipname"]), o["shiptype"], *_dims(o),
                None, None)
    # a type 24 object is gpsd's merge of part A (name) with the part B that follows it
    return (t, o["mmsi"], None, text(o["callsign"]), None, o["shiptype"], *_dims(o),
            None, None)


def our_static(r: dict) -> tuple:
    draught = _raw(r["draught"], 10)
    return (r["msg_type"], r["mmsi"], r["imo"], text(r["callsign"]), text(r["name"]),
            r["ship_type"], r["length"], r["width"], draught, text(r["destination"]))


def gpsd_station(o: dict) -> tuple:
    if o["type"] == 4:
        try:
            when = datetime.strptime(o["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:  # gpsd prints "not available" codes (hour 24, second 60...) as is
            when = None
        return (4, o["mmsi"], _na(o["lat"], 91 * 600_000), _na(o["lon"], 181 * 600_000),
                when, None, None)
    return (21, o["mmsi"], _na(o["lat"], 91 * 600_000), _na(o["lon"], 181 * 600_000), None,
            o["aid_type"], text(o["name"]))


def our_station(r: dict) -> tuple:
    return (r["msg_type"], r["mmsi"], _raw(r["lat"], 600_000), _raw(r["lon"], 600_000),
            r["station_time"], r["aid_type"], text(r["name"]))


@pytest.mark.parametrize("log", GPSD_LOGS)
def test_matches_gpsd(log: str) -> None:
    path = shared_data_path("ais-nmea", "gpsd", log)
    gpsd = gpsd_objects(path.with_name(log + ".chk"))
    r = read_nmea(path, default_time=DEFAULT_TIME, line_numbers=True)

    positions = [gpsd_position(o) for o in gpsd if o["type"] in (1, 2, 3, 18, 19, 27)]
    assert Counter(positions) == Counter(our_position(x) for x in r.positions.iter_rows(named=True))

    stations = [gpsd_station(o) for o in gpsd if o["type"] in (4, 21)]
    assert Counter(stations) == Counter(our_station(x) for x in r.stations.iter_rows(named=True))

    vessels = r.vessels.iter_rows(named=True)
    ours = Counter(our_static(x) for x in vessels if x["msg_type"] != 24)
    assert Counter(gpsd_static(o) for o in gpsd if o["type"] in (5, 19)) == ours

    # message 24: gpsd keeps the last 8 part A reports in a ring (MAX_TYPE24_INTERLEAVE in
    # driver_aivdm.c) and prints one merged object for a part B whose MMSI is in it (the
    # slot is then emptied); nothing for part 3, which ais-18-27.log has 69 of and seawatch
    # quarantines as impossible_value
    ring: list[tuple[int, str | None] | None] = [None] * 8
    slot = 0
    expected = []
    for row in r.vessels.filter(pl.col("msg_type") == 24).sort("line_no").iter_rows(named=True):
        if row["name"] is not None or (row["callsign"] is None and row["ship_type"] is None):
            ring[slot] = (row["mmsi"], text(row["name"]))  # part A
            slot = (slot + 1) % len(ring)
            continue
        for i, entry in enumerate(ring):
            if entry is not None and entry[0] == row["mmsi"]:
                expected.append((our_static(row), entry[1]))
                ring[i] = None
                break
    got = [(gpsd_static(o), text(o["shipname"])) for o in gpsd if o["type"] == 24]
    assert Counter(got) == Counter(expected)
    if log == "ais-18-27.log":
        assert r.quarantine_counts["impossible_value"] == 69

    # everything else is kept undecoded, with its type and MMSI
    other = Counter((o["type"], o["mmsi"]) for o in gpsd
                    if o["type"] not in (1, 2, 3, 4, 5, 18, 19, 21, 24, 27))
    assert other == Counter(r.other_messages.select("msg_type", "mmsi").rows())


def _f32(x: float | None) -> np.float32 | None:
    return None if x is None else np.float32(x)


def _f32_of(x: float | None, scale: float) -> np.float32 | None:
    """The float32 the libais/gpsd Python JSON holds: float32(raw) / float32(scale)."""
    if x is None:
        return None
    return np.float32(round(x * scale)) / np.float32(scale)


def test_matches_libais_typeexamples() -> None:
    path = shared_data_path("ais-edge-cases", "libais", "typeexamples.nmea")
    expected = [json.loads(x) for x in path.with_suffix(".json").read_text().splitlines()]
    r = read_nmea(path, line_numbers=True)  # trailing receiver fields carry the time
    assert r.stats["time_from_trailing_field"] == 26
    rows: dict[int, dict] = {}
    for table in ("positions", "vessels", "stations", "other_messages"):
        for row in getattr(r, table).iter_rows(named=True):
            rows.setdefault(row["line_no"], {}).update(row)
    quarantined = dict(zip(r.quarantine["line_no"], r.quarantine["reason"], strict=True))
    for line, e in enumerate(expected, 1):
        if line in quarantined:  # |lat| > 90 or |lon| > 180: no report can carry it
            assert quarantined[line] == "impossible_value"
            assert abs(e["lat"]) > 90 or abs(e["lon"]) > 180
            continue
        got = rows[line]
        assert (got["msg_type"], got["mmsi"]) == (e["type"], e["mmsi"])
        if e["type"] in (1, 2, 3, 18, 27, 4, 21):
            for c in ("lat", "lon"):
                na = 91.0 if c == "lat" else 181.0
                assert _f32_of(got[c], 600_000) == (None if e[c] == na else np.float32(e[c]))
        if e["type"] in (1, 2, 3, 18):
            assert _f32_of(got["sog"], 10) == np.float32(e["speed"])
            assert _f32_of(got["cog"], 10) == np.float32(e["course"])
            assert got["heading"] == (None if e["heading"] >= 360 else e["heading"])
            assert got["second"] == e["second"]
            assert got["accuracy"] == e["accuracy"]
            assert got["nav_status"] == e.get("status")
        if e["type"] == 5:
            assert got["name"] == e["shipname"] and got["callsign"] == e["callsign"]
            assert got["destination"] == e["destination"]
            assert got["imo"] == int(e["imo"]) and got["ship_type"] == e["shiptype"]
            assert _f32_of(got["draught"], 10) == np.float32(e["draught"])
            assert got["length"] == e["to_bow"] + e["to_stern"]
        if e["type"] == 24:
            assert got["name"] == e["shipname"]
        if e["type"] == 21:  # libais's 6-bit table has '-' for 31 and '`' for 39 (ITU: _ ')
            assert got["aid_type"] == e["aid_type"]
            assert got["name"].translate(str.maketrans("_'", "-`")) == e["name"]
        if e["type"] == 4:  # every UTC field "not available": no station time
            assert e["timestamp"] == "0000-00-00T24:60:60Z" and got["station_time"] is None
    assert len(quarantined) == 2


def test_matches_libais_tagblock() -> None:
    path = shared_data_path("ais-edge-cases", "libais", "tagblock.nmea")
    expected = [json.loads(x) for x in path.with_suffix(".json").read_text().splitlines()]
    r = read_nmea(path, line_numbers=True)
    rows = {(x["msg_type"], x["ts"]): x for x in
            [*r.positions.iter_rows(named=True), *r.vessels.iter_rows(named=True)]}
    assert len(rows) == len(expected) == 4
    for e in expected:
        ts = datetime.strptime(e["tagblock_timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
        got = rows[(e["type"], ts.replace(tzinfo=UTC))]  # the time of the c: field
        assert got["source"] == e["tagblock_station"]
        assert (got["msg_type"], got["mmsi"]) == (e["type"], e["mmsi"])
        if e["type"] == 1:
            assert _f32_of(got["lat"], 600_000) == np.float32(e["lat"])
            assert _f32_of(got["lon"], 600_000) == np.float32(e["lon"])
            assert _f32_of(got["sog"], 10) == np.float32(e["speed"])
            assert _f32_of(got["cog"], 10) == np.float32(e["course"])
            assert (got["heading"], got["nav_status"]) == (e["heading"], e["status"])
        else:
            assert (got["name"], got["callsign"]) == (e["shipname"], e["callsign"])
            assert got["length"] == e["to_bow"] + e["to_stern"]
            assert got["imo"] is None and e["imo"] == "0"
