"""Danish Maritime Authority aisdk CSV: the real samples and hand-made edge cases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from seawatch.io.csv import CsvFormatError, iter_csv, read_csv, values
from tests.io.csv.csv_helpers import assert_canonical, write

HEADER = (
    "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,"
    "Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing device,"
    "Draught,Destination,ETA,Data source type"
)


def dma_row(
    mmsi: str = "219000001",
    ts: str = "01/06/2018 00:00:00",
    mobile: str = "Class A",
    lat: str = "55.5",
    lon: str = "11.5",
    status: str = "Under way using engine",
    ship_type: str = "Undefined",
    name: str = "",
    width: str = "",
    length: str = "",
) -> str:
    return (
        f"{ts},{mobile},{mmsi},{lat},{lon},{status},0.0,10.0,90.0,91,Unknown,,{name},"
        f"{ship_type},,{width},{length},GPS,,,,AIS"
    )


# --- the real samples -----------------------------------------------------------------------


def test_sample_with_index_column(dma_sample: Path) -> None:
    result = read_csv(dma_sample)  # header starts with an unnamed index column
    assert_canonical(result)
    positions = result.positions
    assert positions.height == 10
    assert result.quarantine_log.total == 0
    assert positions["mmsi"].to_list()[:3] == [265177000, 244678000, 265410000]
    assert positions["ts"].to_list()[0] == datetime(2018, 2, 8, tzinfo=UTC)
    assert positions["ts"].to_list()[-1] == datetime(2018, 2, 8, 0, 0, 2, tzinfo=UTC)
    # Under way using engine, At anchor, ..., Reserved [HSC] = 9, Unknown value = 15, fishing 7
    assert positions["nav_status"].to_list() == [0, 1, 0, 9, 15, 0, 7, 0, 15, 0]
    assert positions.row(0, named=True)["lat"] == 57.602225
    assert positions.row(0, named=True)["heading"] == 63
    assert positions["sog"].to_list()[0] == pytest.approx(15.7, abs=1e-5)
    # Every identity field is "Unknown", "Undefined" or empty: no vessels rows.
    assert result.vessels.height == 0
    assert result.stations.height == 0


def test_sample_same_with_explicit_format(dma_sample: Path) -> None:
    assert read_csv(dma_sample, format="dma").positions.equals(read_csv(dma_sample).positions)


def test_head_routes_mobile_types(dma_head: Path) -> None:
    result = read_csv(dma_head)
    assert_canonical(result)
    assert result.quarantine_log.total == 0
    # 116 class A + 10 class B are positions; 8 base stations + 4 AtoN are stations.
    assert result.positions.height == 126
    stations = result.stations
    assert stations.height == 12
    assert stations.filter(pl.col("msg_type") == 4).height == 8
    assert stations.filter(pl.col("msg_type") == 21).height == 4
    aton = stations.filter(pl.col("msg_type") == 21).sort("mmsi")
    assert aton["name"].to_list() == [
        "WIND FARM BALTIC1NW",
        "BALTIC2 WINDFARM NW",
        "DAGMAR",
        "YBY Q(9) 15S",
    ]
    assert stations.filter(pl.col("msg_type") == 4)["name"].null_count() == 8
    base = stations.filter(pl.col("mmsi") == 2190066).row(0, named=True)
    assert (base["lat"], base["lon"]) == (56.530063, 8.166943)
    assert set(stations["mmsi"]).isdisjoint(result.positions["mmsi"])
    assert set(stations["mmsi"]).isdisjoint(result.vessels["mmsi"])
    assert stations["source"].unique().to_list() == [dma_head.name]


def test_head_not_available_positions_are_null(dma_head: Path) -> None:
    positions = read_csv(dma_head).positions
    missing = positions.filter(pl.col("lat").is_null())
    assert missing.height == 10  # the ten 91.000000,181.000000 rows
    assert missing["lon"].null_count() == 10
    assert positions.filter(pl.col("lat") == 91.0).height == 0
    assert positions.filter(pl.col("lon") == 181.0).height == 0
    assert positions["lat"].drop_nulls().is_between(53, 59).all()


def test_head_navigational_status(dma_head: Path) -> None:
    raw = pl.read_csv(dma_head, infer_schema=False)
    positions = read_csv(dma_head).positions.with_columns(
        raw.filter(pl.col("Type of mobile").is_in(["Class A", "Class B"]))
        .get_column("Type of mobile")
        .alias("mobile")
    )
    class_b = positions.filter(pl.col("mobile") == "Class B")
    assert class_b["nav_status"].null_count() == 10  # class B reports carry no status
    class_a = positions.filter(pl.col("mobile") == "Class A")
    assert class_a["nav_status"].null_count() == 0
    counts = dict(class_a.group_by("nav_status").len().iter_rows())
    assert counts[0] == 77  # Under way using engine
    assert counts[7] == 13  # Engaged in fishing
    assert counts[8] == 3  # Under way sailing
    assert counts[3] == 2  # Restricted maneuverability
    assert counts[4] == 1  # Constrained by her draught
    assert counts[5] == 3 and counts[1] == 2
    assert row_of(positions, 215810000)["nav_status"] == 4


def row_of(frame: pl.DataFrame, mmsi: int) -> dict[str, object]:
    return frame.filter(pl.col("mmsi") == mmsi).row(0, named=True)


def test_head_vessels(dma_head: Path) -> None:
    vessels = read_csv(dma_head).vessels
    astina = row_of(vessels, 266220000)
    assert astina["imo"] == 9320063
    assert (astina["callsign"], astina["name"]) == ("SHZA", "ASTINA")
    assert astina["ship_type"] == 80 and astina["ship_type_label"] == "Tanker"
    assert (astina["width"], astina["length"]) == (20.0, 130.0)
    assert astina["draught"] == pytest.approx(5.9, abs=1e-6)  # Float32
    assert astina["destination"] == "FREDERICIA"
    assert astina["flag"] == "SWE"
    # The class B yacht 265518830 first reports only its name, then name, call sign, type and
    # size: two distinct identities, two rows.
    suvi = vessels.filter(pl.col("mmsi") == 265518830)
    assert suvi.height == 2
    assert suvi["callsign"].to_list() == [None, "SA9908"]
    assert suvi["ship_type"].to_list() == [None, 36]
    assert vessels.group_by("mmsi", *values_of_identity()).len()["len"].max() == 1
    # Base stations and AtoN (which have names and sizes) are not vessels.
    assert 992111840 not in vessels["mmsi"].to_list()


def values_of_identity() -> list[str]:
    return ["imo", "callsign", "name", "ship_type", "length", "width", "draught", "destination"]


def test_head_batches_union_equals_whole(dma_head: Path) -> None:
    whole = read_csv(dma_head)
    batches = list(iter_csv(dma_head, batch_rows=5))
    assert pl.concat([b.positions for b in batches]).equals(whole.positions)
    assert pl.concat([b.stations for b in batches]).equals(whole.stations)
    vessels = pl.concat([b.vessels for b in batches])
    assert vessels.sort("mmsi", "ts", "name").equals(whole.vessels.sort("mmsi", "ts", "name"))
    assert sum(b.stats["input_bytes"] for b in batches) == dma_head.stat().st_size


# --- names to codes -------------------------------------------------------------------------


def test_ship_type_names() -> None:
    names = {
        "Fishing": 30,
        "Cargo": 70,
        "Tanker": 80,
        "Passenger": 60,
        "Tug": 52,
        "Pilot": 50,
        "Sailing": 36,
        "Pleasure": 37,
        "Military": 35,
        "Law enforcement": 55,
        "SAR": 51,
        "Towing": 31,
        "Towing long/wide": 32,
        "Dredging": 33,
        "Diving": 34,
        "HSC": 40,
        "WIG": 20,
        "Port tender": 53,
        "Anti-pollution": 54,
        "Medical": 58,
        "Not party to conflict": 59,
        "Other": 90,
        "Undefined": None,
        "Reserved": None,
        "Unknown": None,
        "70": 70,
        "0": None,
        "pleasure craft": 37,
    }
    series = pl.Series(list(names))
    assert pl.select(values.ship_type(pl.lit(series))).to_series().to_list() == list(names.values())


def test_navigational_status_names() -> None:
    names = {
        "Under way using engine": 0,
        "At anchor": 1,
        "Not under command": 2,
        "Restricted maneuverability": 3,
        "Restricted manoeuvrability": 3,
        "Constrained by her draught": 4,
        "Moored": 5,
        "Aground": 6,
        "Engaged in fishing": 7,
        "Under way sailing": 8,
        "Reserved for future amendment [HSC]": 9,
        "Reserved for future amendment [WIG]": 10,
        "Power-driven vessel towing astern": 11,
        "Power-driven vessel pushing ahead or towing alongside": 12,
        "Reserved for future use": 13,
        "AIS-SART": 14,
        "Unknown value": 15,
        "12": 12,
        "16": None,
        "Floating": None,
    }
    series = pl.Series(list(names))
    assert pl.select(values.nav_status(pl.lit(series))).to_series().to_list() == list(
        names.values()
    )


# --- hand-made files ------------------------------------------------------------------------


def test_day_first_time_and_bad_rows(tmp_path: Path) -> None:
    lines = [
        HEADER,
        dma_row(mmsi="219000001", ts="02/01/2018 13:14:15"),
        dma_row(mmsi="219000002", ts="31/02/2018 00:00:00"),  # line 3: no such day
        dma_row(mmsi="219000003", lat="95.000000"),  # line 4: impossible
        dma_row(mmsi="219000004", lat="91.000000", lon="181.000000", mobile="Class B"),
        dma_row(mmsi="Unknown"),  # line 6: no MMSI
        "01/06/2018 00:00:00,Class A,219000005",  # line 7: cut short
        dma_row(mmsi="219000006", lon="-181.5"),  # line 8: impossible
    ]
    result = read_csv(write(tmp_path / "aisdk.csv", "\n".join(lines) + "\n"))
    assert_canonical(result)
    assert result.positions["mmsi"].to_list() == [219000001, 219000004]
    assert result.positions["ts"][0] == datetime(2018, 1, 2, 13, 14, 15, tzinfo=UTC)
    not_available = row_of(result.positions, 219000004)
    assert not_available["lat"] is None and not_available["lon"] is None
    assert not_available["nav_status"] is None  # class B
    quarantine = result.quarantine.sort("line_no")
    assert quarantine.select("line_no", "reason").rows() == [
        (3, "bad_row"),
        (4, "impossible_value"),
        (6, "bad_row"),
        (7, "bad_row"),
        (8, "impossible_value"),
    ]
    assert quarantine["raw"].to_list()[3] == lines[6]


def test_placeholders_and_padding(tmp_path: Path) -> None:
    row = dma_row(name="Unknown value", ship_type="Undefined", width="0", length="0")
    padded = dma_row(mmsi="219000002", name=" FRIGG @@", ship_type=" Fishing ")
    result = read_csv(write(tmp_path / "aisdk.csv", f"{HEADER}\n{row}\n{padded}\n"))
    assert result.vessels["mmsi"].to_list() == [219000002]
    assert result.vessels.row(0, named=True)["name"] == "FRIGG"
    assert result.vessels.row(0, named=True)["ship_type"] == 30


def test_dimensions_from_antenna_offsets(tmp_path: Path) -> None:
    header = HEADER + ",A,B,C,D"
    with_length = dma_row(name="ONE", width="10", length="50") + ",40,10,5,5"
    offsets_only = dma_row(mmsi="219000002", name="TWO") + ",30,12,4,3"
    result = read_csv(write(tmp_path / "aisdk.csv", f"{header}\n{with_length}\n{offsets_only}\n"))
    sizes = result.vessels.sort("mmsi").select("length", "width").rows()
    assert sizes == [(50.0, 10.0), (42.0, 7.0)]


def test_missing_column_error(tmp_path: Path) -> None:
    header = HEADER.replace("Latitude,", "Lat,")
    with pytest.raises(CsvFormatError) as caught:
        read_csv(write(tmp_path / "aisdk.csv", f"{header}\n{dma_row()}\n"))
    message = str(caught.value)
    assert "column 'Latitude' missing; found: ['# Timestamp', 'Type of mobile'" in message
    assert '"ts": "# Timestamp"' in message and "--map lat=COLUMN" in message
    # The mapping the message suggests reads the file.
    path = tmp_path / "aisdk.csv"
    assert read_csv(path, format="dma", mapping={"lat": "Lat"}).positions.height == 1


def test_rows_without_the_optional_abcd_tail(tmp_path: Path) -> None:
    header = HEADER + ",A,B,C,D"
    full = dma_row(name="ONE") + ",40,10,5,5"
    short = dma_row(mmsi="219000002", name="TWO")  # the four offsets left out altogether
    cut = ",".join(dma_row(mmsi="219000003").split(",")[:20])  # more fields missing
    text = f"{header}\n{full}\n{short}\n{cut}\n"
    result = read_csv(write(tmp_path / "aisdk.csv", text))
    assert result.positions["mmsi"].to_list() == [219000001, 219000002]
    assert result.vessels.sort("mmsi").select("name", "length").rows() == [
        ("ONE", 50.0),
        ("TWO", None),
    ]
    assert result.quarantine.select("line_no", "reason").rows() == [(4, "bad_row")]
