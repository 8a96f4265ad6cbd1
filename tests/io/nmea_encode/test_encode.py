"""Tests of seawatch.io.nmea.encode: round trips through our decoder and pyais, framing."""

from __future__ import annotations

import gzip
import re
from functools import reduce
from pathlib import Path

import numpy as np
import polars as pl
import pyais
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.io.nmea import decode_lines, read_nmea
from seawatch.io.nmea.encode import encode_lines, encode_payloads, iter_encoded, write_nmea

T0_US = 1_768_435_200_000_000  # 2026-01-15T00:00:00Z
SIXBIT = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?"
LINE_RE = re.compile(
    r"^(?:\\(?P<tag>[^*\\]*)\*(?P<tcs>[0-9A-F]{2})\\)?"
    r"!(?P<body>AIVDM,(?P<count>\d),(?P<num>\d),(?P<seq>\d?),(?P<chan>[AB12]?),"
    r"(?P<payload>[0-9:;<=>?@A-W`a-w]+),(?P<fill>\d))\*(?P<cs>[0-9A-F]{2})$"
)


def _xor(text: str) -> str:
    return f"{reduce(lambda a, c: a ^ ord(c), text, 0):02X}"


def _random_positions(n: int, seed: int = 0) -> pl.DataFrame:
    """Positions of every supported type at the resolution their message carries."""
    rng = np.random.default_rng(seed)
    msg_type = rng.choice(np.array([1, 2, 3, 18, 27], np.int8), n)
    is27 = msg_type == 27
    lat = np.where(is27, rng.integers(-54_000, 54_000, n) / 600,
                   rng.integers(-54_000_000, 54_000_000, n) / 600_000)
    lon = np.where(is27, rng.integers(-108_000, 108_000, n) / 600,
                   rng.integers(-108_000_000, 108_000_000, n) / 600_000)
    sog = np.where(is27, rng.integers(0, 63, n), rng.integers(0, 1023, n) / 10)
    cog = np.where(is27, rng.integers(0, 360, n), rng.integers(0, 3600, n) / 10)
    return pl.DataFrame({
        "mmsi": rng.integers(200_000_000, 800_000_000, n),
        "ts": T0_US + np.sort(rng.integers(0, 86_400, n)) * 1_000_000,
        "lat": lat, "lon": lon, "sog": sog, "cog": cog,
        "heading": rng.integers(0, 360, n), "nav_status": rng.integers(0, 16, n),
        "msg_type": msg_type, "second": rng.integers(0, 60, n),
        "accuracy": rng.random(n) < 0.5,
    })


def _random_vessels(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -"))

    def words(k: int) -> list[str]:
        return ["".join(rng.choice(letters, rng.integers(1, k + 1))).strip() or "X"
                for _ in range(n)]

    mt = rng.choice(np.array([5, 24], np.int8), n)
    return pl.DataFrame({
        "mmsi": rng.integers(200_000_000, 800_000_000, n),
        "ts": T0_US + np.sort(rng.integers(0, 86_400, n)) * 1_000_000,
        "imo": rng.integers(1_000_000, 9_999_999, n),
        "callsign": words(7), "name": words(20),
        "ship_type": rng.choice([30, 31, 36, 37, 52, 55, 60, 70, 79, 80, 89, 90], n),
        "length": rng.integers(5, 400, n).astype(float),
        "width": rng.integers(2, 60, n).astype(float),
        "draught": rng.integers(1, 200, n) / 10, "destination": words(20), "msg_type": mt,
    })


def _expected_positions(frame: pl.DataFrame) -> pl.DataFrame:
    """What the decoder gives back for ``frame`` (class B: no status; type 27: no heading)."""
    b = pl.col("msg_type") == 18
    t27 = pl.col("msg_type") == 27
    return frame.select(
        "mmsi", "lat", "lon",
        pl.col("sog").cast(pl.Float32), pl.col("cog").cast(pl.Float32),
        pl.when(~t27).then(pl.col("heading")).cast(pl.Int16).alias("heading"),
        pl.when(~b).then(pl.col("nav_status").fill_null(15)).cast(pl.Int8).alias("nav_status"),
        pl.col("msg_type").cast(pl.Int8),
        pl.col("accuracy").fill_null(False),
        pl.when(~t27).then(pl.col("second").fill_null((pl.col("ts") // 1_000_000) % 60))
        .cast(pl.Int8).alias("second"),
    )


def _split_lines(data: bytes) -> list[str]:
    return data.decode("ascii").splitlines()


# -- round trips through seawatch's decoder ------------------------------------------------------
def test_positions_round_trip_exact() -> None:
    frame = _random_positions(3000)
    result = decode_lines(encode_lines(frame))
    assert result.quarantine.height == 0
    got = result.positions
    assert got.height == frame.height
    assert (got["ts"].dt.epoch("us") == frame["ts"]).all()
    assert got["source"].unique().to_list() == ["seawatch-sim"]
    assert_frames_equal(got.select(_expected_positions(frame).columns),
                        _expected_positions(frame))


def assert_frames_equal(got: pl.DataFrame, want: pl.DataFrame) -> None:
    for name in want.columns:
        g, w = got[name], want[name]
        if not g.equals(w):  # equals treats null == null
            bad = ~(g.eq_missing(w)).fill_null(False)
            raise AssertionError(
                f"column {name}: {int(bad.sum())} differ, e.g. got {g.filter(bad).head(3)} "
                f"want {w.filter(bad).head(3)}"
            )


@st.composite
def position_rows(draw: st.DrawFn) -> dict:
    t = draw(st.sampled_from([1, 2, 3, 18, 27]))
    res, sres = (600, 1) if t == 27 else (600_000, 10)
    maybe = lambda s: draw(st.one_of(st.none(), s))  # noqa: E731
    lat = maybe(st.integers(-90 * res, 90 * res).map(lambda v: v / res))
    lon = maybe(st.integers(-180 * res, 180 * res).map(lambda v: v / res))
    sog = maybe(st.integers(0, 62 if t == 27 else 1022).map(lambda v: v / sres))
    cog = maybe(st.integers(0, 359 if t == 27 else 3599).map(lambda v: v / sres))
    return {
        "mmsi": draw(st.integers(0, (1 << 30) - 1)),
        # up to 231 days on: a receive time after the reader's clock is an impossible value
        "ts": T0_US + draw(st.integers(0, 2 * 10**7)) * 1_000_000 + draw(st.integers(0, 999_999)),
        "lat": lat, "lon": lon, "sog": sog, "cog": cog,
        "heading": maybe(st.integers(0, 359)),
        "nav_status": maybe(st.integers(0, 15)),
        "msg_type": t,
        "second": maybe(st.integers(0, 63)),
        "accuracy": maybe(st.booleans()),
    }


_POSITION_SCHEMA = {"mmsi": pl.Int64, "ts": pl.Int64, "lat": pl.Float64, "lon": pl.Float64,
                    "sog": pl.Float64, "cog": pl.Float64, "heading": pl.Int64,
                    "nav_status": pl.Int64, "msg_type": pl.Int64, "second": pl.Int64,
                    "accuracy": pl.Boolean}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(position_rows(), min_size=1, max_size=40))
def test_positions_round_trip_hypothesis(rows: list[dict]) -> None:
    frame = pl.DataFrame(rows, schema=_POSITION_SCHEMA).sort("ts", maintain_order=True)
    got = decode_lines(encode_lines(frame)).positions
    assert got.height == frame.height
    assert (got["ts"].dt.epoch("s") == frame["ts"] // 1_000_000).all()
    assert_frames_equal(got, _expected_positions(frame))


def test_positions_values_are_rounded_to_resolution() -> None:
    frame = pl.DataFrame({
        "mmsi": [735000001, 735000002], "ts": [T0_US, T0_US], "msg_type": [1, 27],
        "lat": [-1.23456789, -1.23456789], "lon": [-80.98765432, -80.98765432],
        "sog": [12.34, 12.6], "cog": [359.96, 359.6], "heading": [200, 200],
    })
    got = decode_lines(encode_lines(frame)).positions
    assert got["lat"].to_list() == [round(-1.23456789 * 600_000) / 600_000,
                                    round(-1.23456789 * 600) / 600]
    assert got["sog"].to_list() == pytest.approx([12.3, 13.0])
    assert got["cog"].to_list() == pytest.approx([0.0, 0.0])  # 360.0 wraps to 0


def test_not_available_codes() -> None:
    frame = pl.DataFrame({"mmsi": [735000001, 735000002, 735000003], "ts": [T0_US] * 3,
                          "msg_type": [1, 18, 27],
                          "lat": [None, 95.0, None], "lon": [None, -200.0, None]},
                         schema_overrides={"lat": pl.Float64, "lon": pl.Float64})
    lines = _split_lines(encode_lines(frame, tag_blocks=False))
    decoded = [pyais.decode(line).asdict() for line in lines]
    for msg in decoded:
        assert (msg["lat"], msg["lon"]) == (91.0, 181.0)
    assert decoded[0]["speed"] == 102.3 and decoded[0]["course"] == 360.0
    assert decoded[0]["heading"] == 511 and decoded[0]["status"] == 15
    assert decoded[1]["speed"] == 102.3 and decoded[1]["heading"] == 511
    assert decoded[2]["speed"] == 63 and decoded[2]["course"] == 511
    got = decode_lines("\n".join(lines), default_time="2026-01-15T00:00:00Z").positions
    assert got.select(pl.all().exclude("mmsi", "ts", "msg_type", "source", "nav_status",
                                       "accuracy", "second", "mmsi_valid")
                      .is_null().all()).row(0) == (True,) * 5
    # 102.3 kn and more are sent as 102.2 ("102.2 knots or higher")
    fast = frame.head(1).with_columns(sog=pl.lit(150.0))
    assert decode_lines(encode_lines(fast)).positions["sog"].item() == pytest.approx(102.2)


def test_identities_round_trip() -> None:
    frame = _random_vessels(500)
    got = decode_lines(encode_lines(None, frame)).vessels
    is5 = frame["msg_type"] == 5
    # a message 24 row with both parts becomes two rows: part A (name), then part B
    n24 = int((~is5).sum())
    assert got.height == int(is5.sum()) + 2 * n24
    five = got.filter(pl.col("msg_type") == 5)
    want5 = frame.filter(is5)
    assert_frames_equal(
        five.select("mmsi", "imo", "callsign", "name", "ship_type", "length", "width",
                    "draught", "destination"),
        want5.select(
            "mmsi", "imo", "callsign", "name", pl.col("ship_type").cast(pl.Int16),
            pl.col("length").cast(pl.Float32), pl.col("width").cast(pl.Float32),
            pl.col("draught").cast(pl.Float32), "destination",
        ),
    )
    parts = got.filter(pl.col("msg_type") == 24)
    part_a = parts.filter(pl.col("name").is_not_null())
    part_b = parts.filter(pl.col("callsign").is_not_null())
    want24 = frame.filter(~is5)
    assert part_a["name"].to_list() == want24["name"].to_list()
    assert part_b["callsign"].to_list() == want24["callsign"].to_list()
    assert part_b["length"].to_list() == want24["length"].to_list()
    assert part_b["width"].to_list() == want24["width"].to_list()
    assert part_b["ship_type"].to_list() == want24["ship_type"].to_list()


_VESSEL_SCHEMA = {"name": pl.String, "callsign": pl.String, "destination": pl.String,
                  "imo": pl.Int64, "ship_type": pl.Int64, "draught": pl.Float64}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries({
            "mmsi": st.integers(1, (1 << 30) - 1),
            "name": st.one_of(st.none(), st.text(SIXBIT[1:], min_size=1, max_size=20)),
            "callsign": st.one_of(st.none(), st.text(SIXBIT[1:], min_size=1, max_size=7)),
            "imo": st.one_of(st.none(), st.integers(1, (1 << 30) - 1)),
            "ship_type": st.one_of(st.none(), st.integers(1, 255)),
            "to_bow": st.integers(0, 511), "to_stern": st.integers(0, 511),
            "to_port": st.integers(0, 63), "to_starboard": st.integers(0, 63),
            "draught": st.one_of(st.none(), st.integers(1, 255).map(lambda v: v / 10)),
            "destination": st.one_of(st.none(), st.text(SIXBIT[1:], min_size=1, max_size=20)),
        }),
        min_size=1, max_size=20,
    )
)
def test_type5_round_trip_hypothesis(rows: list[dict]) -> None:
    frame = pl.DataFrame(rows, schema_overrides=_VESSEL_SCHEMA).with_columns(
        ts=pl.lit(T0_US), msg_type=pl.lit(5)
    )
    got = decode_lines(encode_lines(None, frame)).vessels
    assert got.height == frame.height

    def clean(name: str) -> pl.Expr:  # the decoder strips '@' padding and spaces
        c = pl.col(name).str.strip_chars_end("@").str.strip_chars(" ")
        return pl.when(c.str.len_bytes() > 0).then(c).alias(name)

    length = pl.col("to_bow") + pl.col("to_stern")
    width = pl.col("to_port") + pl.col("to_starboard")
    want = frame.select(
        "mmsi", "imo", clean("callsign"), clean("name"),
        pl.col("ship_type").fill_null(0).cast(pl.Int16),  # 0: "not available"
        pl.when(length > 0).then(length).cast(pl.Float32).alias("length"),
        pl.when(width > 0).then(width).cast(pl.Float32).alias("width"),
        pl.col("draught").cast(pl.Float32), clean("destination"),
    )
    assert_frames_equal(got.select(want.columns), want)


def test_text_is_upper_cased_and_accents_dropped() -> None:
    frame = pl.DataFrame({"mmsi": [735000001], "ts": [T0_US], "msg_type": [5],
                          "name": ["Doña Ñusta ~é"], "destination": ["Guayaquil, Ecuador!"],
                          "callsign": ["hc1234xyz"]})
    got = decode_lines(encode_lines(None, frame)).vessels.row(0, named=True)
    assert got["name"] == "DONA NUSTA ?E"
    assert got["destination"] == "GUAYAQUIL, ECUADOR!"
    assert got["callsign"] == "HC1234X"  # cut to 7 characters


# -- pyais as an independent oracle ------------------------------------------------------------
def test_pyais_decodes_encoded_positions() -> None:
    frame = _random_positions(400, seed=3)
    lines = _split_lines(encode_lines(frame, tag_blocks=False))
    assert len(lines) == frame.height
    for line, row in zip(lines, frame.iter_rows(named=True), strict=True):
        msg = pyais.decode(line).asdict()
        assert msg["msg_type"] == row["msg_type"]
        assert msg["mmsi"] == row["mmsi"]
        assert msg["lat"] == pytest.approx(row["lat"], abs=1e-6)  # pyais rounds to 6 places
        assert msg["lon"] == pytest.approx(row["lon"], abs=1e-6)
        assert msg["speed"] == pytest.approx(row["sog"], abs=1e-9)
        assert msg["course"] == pytest.approx(row["cog"], abs=1e-9)
        if row["msg_type"] != 27:
            assert msg["heading"] == row["heading"]
            assert msg["second"] == row["second"]
        if row["msg_type"] != 18:
            assert msg["status"] == row["nav_status"]
        assert bool(msg["accuracy"]) == row["accuracy"]


def test_pyais_decodes_encoded_identities() -> None:
    frame = _random_vessels(200, seed=5)
    text = encode_lines(None, frame, tag_blocks=False)
    lines = _split_lines(text)
    decoded = []
    i = 0
    while i < len(lines):
        m = LINE_RE.match(lines[i])
        assert m is not None
        count = int(m["count"])
        decoded.append(pyais.decode(*lines[i : i + count]).asdict())
        i += count
    rows = list(frame.iter_rows(named=True))
    k = 0
    for row in rows:
        if row["msg_type"] == 5:
            msg = decoded[k]
            k += 1
            assert msg["msg_type"] == 5 and msg["mmsi"] == row["mmsi"]
            assert msg["shipname"] == row["name"] and msg["callsign"] == row["callsign"]
            assert msg["destination"] == row["destination"] and msg["imo"] == row["imo"]
            assert msg["to_bow"] + msg["to_stern"] == row["length"]
            assert msg["to_port"] + msg["to_starboard"] == row["width"]
            assert msg["draught"] == pytest.approx(row["draught"])
            assert msg["ship_type"] == row["ship_type"]
        else:
            a, b = decoded[k], decoded[k + 1]
            k += 2
            assert (a["partno"], b["partno"]) == (0, 1)
            assert a["shipname"] == row["name"] and b["callsign"] == row["callsign"]
            assert b["to_bow"] + b["to_stern"] == row["length"]
            assert b["ship_type"] == row["ship_type"]
    assert k == len(decoded)


def _pyais_payload(data: dict) -> tuple[str, int]:
    """Armoured payload and fill bits of pyais's own encoder, joined across sentences."""
    sentences = pyais.encode_dict(data, talker_id="AI", sentence_type="VDM")
    parts = [s.split(",") for s in sentences]
    return "".join(p[5] for p in parts), int(parts[-1][6][0])


def test_payloads_bit_exact_with_pyais_encoder() -> None:
    positions = pl.DataFrame({
        "mmsi": [735057000, 352123000, 636012345, 735999001, 412440123],
        "ts": [T0_US] * 5, "msg_type": [1, 3, 2, 18, 27],
        "lat": [-0.93, 8.85, -12.01, -2.2, -2.5], "lon": [-80.72, -79.45, -77.22, -81.2, -96.0],
        "sog": [12.3, 0.0, 15.5, 6.1, 1.0], "cog": [201.5, 0.0, 180.2, 33.3, 270.0],
        "heading": [200, 511, 181, None, None], "nav_status": [0, 1, 0, None, 7],
        "second": [12, 59, 0, 30, None], "accuracy": [True, False, True, False, True],
    })
    got = encode_payloads(positions)
    want = []
    for row in positions.iter_rows(named=True):
        t = row["msg_type"]
        d = {"type": t, "msg_type": t, "mmsi": row["mmsi"], "lat": row["lat"],
             "lon": row["lon"], "speed": row["sog"], "course": row["cog"],
             "accuracy": row["accuracy"]}
        if t == 27:
            d.update(status=row["nav_status"])
        else:
            d.update(heading=row["heading"] if row["heading"] is not None else 511,
                     second=row["second"])
            if t == 18:
                d.update(cs=True)
            else:
                d.update(status=row["nav_status"], turn=-128, maneuver=0)
        want.append(_pyais_payload(d))
    assert list(zip(got["payload"], got["fill_bits"], strict=True)) == want

    vessels = pl.DataFrame({
        "mmsi": [735057000, 735999001], "ts": [T0_US] * 2, "msg_type": [5, 24],
        "imo": [9074729, None], "callsign": ["HC4501", "HC7788"],
        "name": ["PACIFIC TRADER", "DON LUCHO"], "ship_type": [70, 30],
        "to_bow": [150, 12], "to_stern": [33, 4], "to_port": [16, 3], "to_starboard": [16, 3],
        "draught": [9.4, None], "destination": ["GUAYAQUIL", None],
    })
    got = encode_payloads(None, vessels)
    want = [
        _pyais_payload({"type": 5, "mmsi": 735057000, "imo": 9074729, "callsign": "HC4501",
                        "shipname": "PACIFIC TRADER", "ship_type": 70, "to_bow": 150,
                        "to_stern": 33, "to_port": 16, "to_starboard": 16, "draught": 9.4,
                        "destination": "GUAYAQUIL", "hour": 24, "minute": 60}),
        _pyais_payload({"type": 24, "mmsi": 735999001, "partno": 0, "shipname": "DON LUCHO"}),
        _pyais_payload({"type": 24, "mmsi": 735999001, "partno": 1, "ship_type": 30,
                        "callsign": "HC7788", "to_bow": 12, "to_stern": 4, "to_port": 3,
                        "to_starboard": 3}),
    ]
    assert list(zip(got["payload"], got["fill_bits"], strict=True)) == want


# -- framing -----------------------------------------------------------------------------------
def test_lines_are_well_formed_with_valid_checksums() -> None:
    text = encode_lines(_random_positions(300), _random_vessels(100), source="station-7")
    lines = _split_lines(text)
    # every vessel row takes two lines: message 5 in two sentences, or 24 A and 24 B
    assert text.endswith(b"\n") and len(lines) == 300 + 2 * 100
    for line in lines:
        m = LINE_RE.match(line)
        assert m is not None, line
        assert len(line) - (len(m["tag"]) + 5 if m["tag"] is not None else 0) <= 82
        assert _xor(m["body"]) == m["cs"]
        assert _xor(m["tag"]) == m["tcs"]
        assert re.fullmatch(r"s:station-7,c:\d{10}", m["tag"])


def test_tag_block_times_follow_ts_and_interleave_tables() -> None:
    positions = _random_positions(200, seed=1)
    vessels = _random_vessels(50, seed=2)
    lines = _split_lines(encode_lines(positions, vessels))
    times = [int(LINE_RE.match(x)["tag"].split("c:")[1]) for x in lines]
    assert times == sorted(times)
    want = np.sort(np.concatenate([positions["ts"].to_numpy(), vessels["ts"].to_numpy()]))
    assert set(times) == set((want // 1_000_000).tolist())
    parsed = [LINE_RE.match(x) for x in lines]
    is_vessel = [m["num"] == "2" or m["payload"][0] in "5H" for m in parsed]
    assert sum(is_vessel) == 100
    first_vessel = is_vessel.index(True)
    last_position = len(is_vessel) - 1 - is_vessel[::-1].index(False)
    assert first_vessel < last_position  # the tables are interleaved, not appended


def test_multi_sentence_messages_reassemble_with_cycling_sequence_ids() -> None:
    n = 25
    vessels = pl.DataFrame({"mmsi": np.arange(n) + 735000000, "ts": T0_US + np.arange(n),
                            "name": [f"SHIP {i}" for i in range(n)], "msg_type": [5] * n})
    lines = _split_lines(encode_lines(None, vessels, channel_cycle="AB"))
    assert len(lines) == 2 * n
    parsed = [LINE_RE.match(x) for x in lines]
    assert [(m["count"], m["num"]) for m in parsed] == [("2", "1"), ("2", "2")] * n
    seqs = [int(m["seq"]) for m in parsed]
    assert seqs[::2] == seqs[1::2] == [i % 10 for i in range(n)]
    assert [m["chan"] for m in parsed[::2]] == ["A", "B"] * (n // 2) + ["A"]
    assert all(a["chan"] == b["chan"] for a, b in zip(parsed[::2], parsed[1::2], strict=True))
    assert [len(m["payload"]) for m in parsed[:2]] == [60, 11]
    assert [m["fill"] for m in parsed[:2]] == ["0", "2"]
    got = decode_lines("\n".join(lines)).vessels
    assert got["name"].to_list() == vessels["name"].to_list()
    assert got["mmsi"].to_list() == vessels["mmsi"].to_list()


def test_chunks_continue_channel_and_sequence_counters() -> None:
    positions = _random_positions(500, seed=4)
    vessels = _random_vessels(120, seed=4)
    whole = encode_lines(positions, vessels)
    pieces = list(iter_encoded(positions, vessels, chunk_messages=37))
    assert len(pieces) > 10
    assert b"".join(p.tobytes() for p, _ in pieces) == whole
    assert sum(n for _, n in pieces) == len(_split_lines(whole))


def test_options_channel_and_source() -> None:
    frame = _random_positions(4)
    lines = _split_lines(encode_lines(frame, channel_cycle="", source=None))
    assert all(",,," not in x.split("!")[0] for x in lines)
    assert all(LINE_RE.match(x)["chan"] == "" for x in lines)
    assert all(LINE_RE.match(x)["tag"].startswith("c:") for x in lines)
    lines = _split_lines(encode_lines(frame, channel_cycle="B"))
    assert {LINE_RE.match(x)["chan"] for x in lines} == {"B"}


# -- files ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".nmea", ".nmea.gz", ".nmea.zst"])
def test_write_nmea_round_trip(tmp_path: Path, suffix: str) -> None:
    positions = _random_positions(700, seed=9)
    vessels = _random_vessels(80, seed=9)
    path = tmp_path / f"capture{suffix}"
    n = write_nmea(path, positions, vessels, chunk_messages=100)
    raw = path.read_bytes()
    if suffix == ".nmea.gz":
        raw = gzip.decompress(raw)
    elif suffix == ".nmea.zst":
        import zstandard

        raw = zstandard.ZstdDecompressor().stream_reader(raw).read()
    assert raw == encode_lines(positions, vessels)
    assert n == raw.count(b"\n")
    result = read_nmea(path)
    assert result.quarantine.height == 0
    assert_frames_equal(result.positions, _expected_positions(positions))  # same order
    assert result.vessels.height == n - positions.height - int(
        (vessels["msg_type"] == 5).sum())


def test_write_nmea_without_tag_blocks_needs_a_time(tmp_path: Path) -> None:
    path = tmp_path / "plain.nmea"
    write_nmea(path, _random_positions(5), tag_blocks=False)
    assert not path.read_text().startswith("\\")
    assert read_nmea(path, default_time="2026-01-15T00:00:00Z").positions.height == 5


def test_schema_frames_and_datetime_ts() -> None:
    from seawatch import schema

    frame = schema.conform(_random_positions(50), schema.POSITIONS)
    assert frame.schema["ts"] == schema.TS
    got = decode_lines(encode_lines(frame)).positions
    assert (got["ts"] == frame["ts"]).all()
    assert got["lat"].equals(frame["lat"])


def test_empty_inputs() -> None:
    assert encode_lines(None) == b""
    assert encode_lines(_random_positions(3).head(0), _random_vessels(2).head(0)) == b""
    assert encode_payloads().height == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"msg_type": 4}, "msg_type"),
        ({"mmsi": -1}, "MMSI"),
        ({"mmsi": 1 << 30}, "MMSI"),
    ],
)
def test_bad_positions_are_refused(change: dict, message: str) -> None:
    frame = _random_positions(3).with_columns(**{k: pl.lit(v) for k, v in change.items()})
    with pytest.raises(ValueError, match=message):
        encode_lines(frame)


def test_bad_arguments_are_refused() -> None:
    frame = _random_positions(3)
    with pytest.raises(ValueError, match="source"):
        encode_lines(frame, source="a,b")
    with pytest.raises(ValueError, match="channel"):
        encode_lines(frame, channel_cycle="AC")
    with pytest.raises(ValueError, match="null ts"):
        encode_lines(frame.with_columns(ts=pl.lit(None, pl.Int64)))
    with pytest.raises(ValueError, match="msg_type"):
        encode_lines(None, _random_vessels(2).with_columns(msg_type=pl.lit(21)))
    with pytest.raises(ValueError, match="'ts' missing"):
        encode_lines(frame.drop("ts"))
