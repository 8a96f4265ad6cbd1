"""MarineCadastre (US NOAA) CSV: the real 1,000-row sample and hand-made edge cases."""

from __future__ import annotations

import bz2
import gzip
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import zstandard

from seawatch.io.csv import CsvFormatError, iter_csv, read_csv
from tests.io.csv.csv_helpers import assert_canonical, write

HEADER = (
    "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
    "Length,Width,Draft,Cargo,TransceiverClass"
)
GOOD_1 = "636021061,2023-01-11T00:00:00,26.09241,-80.04806,8.8,272.7,270.0,MSC NAISHA III,IMO9307839,5LCB4,70,8.0,208.0,30.0,8.0,70.0,A"  # noqa: E501
GOOD_2 = "367752440,2023-01-11T00:00:05,43.07917,-70.75733,0.0,360.0,511.0,SAN JOSE,,WDI9818,31,0.0,,,,52.0,A"  # noqa: E501


# --- the real sample ------------------------------------------------------------------------


def test_sample_rows_types_and_stats(marinecadastre_sample: Path) -> None:
    result = read_csv(marinecadastre_sample)
    assert_canonical(result)
    positions = result.positions
    assert positions.height == 1000
    assert positions["mmsi"].n_unique() == 1000
    assert result.quarantine_log.total == 0
    assert result.stations.height == 0
    assert result.stats["rows"] == 1000
    assert result.stats["input_bytes"] == marinecadastre_sample.stat().st_size
    assert result.sources == [marinecadastre_sample.name]
    assert positions["source"].unique().to_list() == [marinecadastre_sample.name]
    assert positions["msg_type"].unique().to_list() == [0]
    assert positions["second"].null_count() == 1000
    assert positions["accuracy"].null_count() == 1000
    # Despite the file's name, the timestamps are 2023-01-11 (SOURCES.md).
    assert positions["ts"].min() == datetime(2023, 1, 11, tzinfo=UTC)
    assert positions["ts"].max() == datetime(2023, 1, 11, 23, 59, 1, tzinfo=UTC)
    assert positions["lat"].null_count() == 0 and positions["lon"].null_count() == 0


def test_sample_same_with_explicit_format(marinecadastre_sample: Path) -> None:
    auto = read_csv(marinecadastre_sample)
    named = read_csv(marinecadastre_sample, format="marinecadastre")
    assert auto.positions.equals(named.positions)
    assert auto.vessels.equals(named.vessels)


def test_sample_values_of_one_vessel(marinecadastre_sample: Path) -> None:
    result = read_csv(marinecadastre_sample)
    row = result.positions.filter(pl.col("mmsi") == 636021061).row(0, named=True)
    assert row["ts"] == datetime(2023, 1, 11, tzinfo=UTC)
    assert row["lat"] == 26.09241 and row["lon"] == -80.04806
    assert row["sog"] == pytest.approx(8.8, abs=1e-5)
    assert row["cog"] == pytest.approx(272.7, abs=1e-4)
    assert row["heading"] == 270
    assert row["nav_status"] == 8
    assert row["mmsi_valid"] is True
    vessel = result.vessels.filter(pl.col("mmsi") == 636021061).row(0, named=True)
    assert vessel["imo"] == 9307839  # "IMO9307839" in the file
    assert vessel["callsign"] == "5LCB4"
    assert vessel["name"] == "MSC NAISHA III"
    assert vessel["ship_type"] == 70 and vessel["ship_type_label"] == "Cargo"
    assert (vessel["length"], vessel["width"], vessel["draught"]) == (208.0, 30.0, 8.0)
    assert vessel["flag"] == "LBR"
    assert vessel["msg_type"] == 0


def test_sample_not_available_sentinels(marinecadastre_sample: Path) -> None:
    raw = pl.read_csv(marinecadastre_sample, infer_schema=False)
    positions = read_csv(marinecadastre_sample).positions
    n_511 = raw.filter(pl.col("Heading") == "511.0").height
    n_360 = raw.filter(pl.col("COG") == "360.0").height
    n_102 = raw.filter(pl.col("SOG") == "102.3").height
    assert (n_511, n_360, n_102) == (426, 90, 4)
    assert positions["heading"].null_count() == n_511
    assert positions["cog"].null_count() == n_360
    assert positions["sog"].null_count() == n_102
    # 338926283: SOG 102.3, COG 360.0, Heading 511.0 all at once.
    row = positions.filter(pl.col("mmsi") == 338926283).row(0, named=True)
    assert row["sog"] is None and row["cog"] is None and row["heading"] is None
    # Class B rows have no status; class A status 15 ('not defined') is kept as the code.
    by_class = raw.select("MMSI", "TransceiverClass").with_columns(pl.col("MMSI").cast(pl.Int64))
    joined = positions.join(by_class, left_on="mmsi", right_on="MMSI")
    assert joined.filter(pl.col("TransceiverClass") == "B")["nav_status"].null_count() == 46
    assert joined.filter(pl.col("TransceiverClass") == "A")["nav_status"].null_count() == 0
    assert positions.filter(pl.col("mmsi") == 338926283)["nav_status"].item() == 15


def test_sample_vessels_one_per_identity(marinecadastre_sample: Path) -> None:
    result = read_csv(marinecadastre_sample)
    vessels = result.vessels
    # 1,000 MMSIs with one report each; two carry no identity at all (no name, IMO, call
    # sign, type 0, sizes 0), so they get no vessels row.
    assert vessels.height == 998
    assert vessels["mmsi"].n_unique() == 998
    assert set(result.positions["mmsi"]) - set(vessels["mmsi"]) == {3669882, 338926283}
    # VesselType 0 ('not available') is null: 16 rows, two of them the identity-less ones.
    assert vessels["ship_type"].null_count() == 14
    # 442 rows have an IMO, 22 of them "IMO0000000", which is no IMO number.
    assert vessels.filter(pl.col("imo").is_not_null()).height == 420
    assert vessels.filter(pl.col("mmsi") == 368018310)["imo"].item() == 1  # "IMO0000001"
    assert vessels.filter(pl.col("mmsi") == 367752440)["imo"].item() is None


@pytest.mark.parametrize("kind", ["gz", "bz2", "zst", "zip"])
def test_sample_compressed(marinecadastre_sample: Path, tmp_path: Path, kind: str) -> None:
    data = marinecadastre_sample.read_bytes()
    path = tmp_path / f"{marinecadastre_sample.name}.{kind}"
    if kind == "gz":
        path.write_bytes(gzip.compress(data))
    elif kind == "bz2":
        path.write_bytes(bz2.compress(data))
    elif kind == "zst":
        path.write_bytes(zstandard.ZstdCompressor().compress(data))
    else:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(marinecadastre_sample.name, data)
    plain = read_csv(marinecadastre_sample)
    packed = read_csv(path)
    assert_canonical(packed)
    assert packed.positions.drop("source").equals(plain.positions.drop("source"))
    assert packed.positions["source"].unique().to_list() == [path.name]
    assert packed.vessels.height == plain.vessels.height
    assert packed.stats["input_bytes"] == path.stat().st_size


def test_sample_batches_union_equals_whole(marinecadastre_sample: Path) -> None:
    whole = read_csv(marinecadastre_sample)
    batches = list(iter_csv(marinecadastre_sample, batch_rows=97))
    assert len(batches) == 11  # 1,001 lines (header included) in batches of 97
    assert all(b.stats["lines"] <= 97 for b in batches)
    assert sum(b.stats["rows"] for b in batches) == 1000
    assert sum(b.stats["input_bytes"] for b in batches) == marinecadastre_sample.stat().st_size
    assert all(b.stats["input_bytes"] > 0 for b in batches)
    union = pl.concat([b.positions for b in batches])
    assert union.equals(whole.positions)
    vessels = pl.concat([b.vessels for b in batches])
    assert vessels.sort("mmsi", "ts").equals(whole.vessels.sort("mmsi", "ts"))


# --- hand-made files ------------------------------------------------------------------------


def test_bad_rows_quarantined_good_rows_kept(tmp_path: Path) -> None:
    lines = [
        HEADER,
        GOOD_1,
        "notanumber,2023-01-11T00:00:00,43.0,-70.0,0.0,1.0,95.0,X,,Y,31,0.0,,,,,A",  # line 3
        "367000001,yesterday,43.0,-70.0,0.0,1.0,95.0,X,,Y,31,0.0,,,,,A",  # line 4: bad time
        "367000002,2023-01-11T00:00:01,95.0,-70.0,0.0,1.0,95.0,X,,Y,31,0.0,,,,,A",  # lat 95
        "367000003,2023-01-11T00:00:01,45.0,-190.5,0.0,1.0,95.0,X,,Y,31,0.0,,,,,A",  # lon
        "367000004,2023-01-11T00:00:01,north,-70.0,0.0,1.0,95.0,X,,Y,31,0.0,,,,,A",  # lat text
        "short,line",  # line 8: wrong number of fields
        "",  # blank lines are skipped, not quarantined
        GOOD_2,
    ]
    path = write(tmp_path / "bad.csv", "\n".join(lines) + "\n")
    result = read_csv(path)
    assert_canonical(result)
    assert result.positions["mmsi"].to_list() == [636021061, 367752440]
    assert result.quarantine_counts == {"bad_row": 4, "impossible_value": 2}
    quarantine = result.quarantine.sort("line_no")
    assert quarantine["line_no"].to_list() == [3, 4, 5, 6, 7, 8]
    assert quarantine["reason"].to_list() == [
        "bad_row",
        "bad_row",
        "impossible_value",
        "impossible_value",
        "bad_row",
        "bad_row",
    ]
    assert quarantine["file"].unique().to_list() == ["bad.csv"]
    assert quarantine.filter(pl.col("line_no") == 8)["raw"].item() == "short,line"
    assert quarantine.filter(pl.col("line_no") == 5)["raw"].item() == lines[4]
    assert result.stats["rows"] == 8  # the blank line is not a row


def test_not_available_values_hand_made(tmp_path: Path) -> None:
    row = "538000001,2023-01-11T00:00:00,91.0,181.0,102.3,360.0,511,,IMO0,,0,15,0,0,0,,A"
    path = write(tmp_path / "na.csv", f"{HEADER}\n{row}\n")
    result = read_csv(path)
    position = result.positions.row(0, named=True)
    assert position["lat"] is None and position["lon"] is None
    assert position["sog"] is None and position["cog"] is None and position["heading"] is None
    assert result.quarantine_log.total == 0
    assert result.vessels.height == 0  # IMO 0, type 0 and sizes 0 say nothing


def test_out_of_range_motion_values_become_null_and_are_counted(tmp_path: Path) -> None:
    rows = ["538000001,2023-01-11T00:00:00,10.0,20.0,-3.5,-12.0,400,,,,,,,,,,A",
            "538000001,2023-01-11T00:00:10,10.0,20.0,250,365.5,359,,,,,,,,,,A",
            "538000001,2023-01-11T00:00:20,10.0,20.0,102.3,360,511,,,,,,,,,,A"]  # n/a: no
    path = write(tmp_path / "range.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    result = read_csv(path)
    assert result.positions.select("sog", "cog", "heading").rows() == [
        (None, None, None), (None, None, 359), (None, None, None)]
    assert result.positions.height == 3 and result.quarantine_log.total == 0
    assert (result.stats["implausible_sog"], result.stats["implausible_cog"],
            result.stats["implausible_heading"]) == (2, 2, 1)


def test_a_name_of_five_million_characters_is_capped_and_counted(tmp_path: Path) -> None:
    from seawatch.io.plausible import MAX_TEXT_CHARS

    name = "X" * 5_000_000
    rows = [GOOD_1.replace("MSC NAISHA III", name), GOOD_2]
    path = write(tmp_path / "long.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    result = read_csv(path)
    assert result.positions.height == 2
    assert result.vessels["name"].to_list() == ["X" * MAX_TEXT_CHARS, "SAN JOSE"]
    assert result.stats["text_capped"] == 1
    assert int(result.vessels["name"].str.len_chars().max()) == MAX_TEXT_CHARS  # type: ignore[arg-type]


def test_a_time_after_the_clock_is_an_impossible_value(tmp_path: Path) -> None:
    future = GOOD_2.replace("2023-01-11T00:00:05", "2085-01-11T00:00:05")
    path = write(tmp_path / "future.csv", f"{HEADER}\n{GOOD_1}\n{future}\n")
    result = read_csv(path)
    assert result.positions["mmsi"].to_list() == [636021061]
    assert result.quarantine_counts == {"impossible_value": 1}


def test_wrong_columns_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path / "renamed.csv", HEADER.replace("LAT,", "Lat_deg,") + "\n" + GOOD_1)
    with pytest.raises(CsvFormatError) as caught:
        read_csv(path)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert "renamed.csv" in message
    assert "column 'LAT' missing; found: ['MMSI', 'BaseDateTime', 'Lat_deg'" in message
    assert 'format="generic"' in message and '"lat": COLUMN' in message
    assert "--map lat=COLUMN" in message


def test_mapping_overrides_a_named_format_column(tmp_path: Path) -> None:
    path = write(tmp_path / "renamed.csv", HEADER.replace("LAT,", "Lat_deg,") + "\n" + GOOD_1)
    result = read_csv(path, format="marinecadastre", mapping={"lat": "Lat_deg"})
    assert result.positions["lat"].to_list() == [26.09241]
    assert result.vessels["imo"].to_list() == [9307839]


def test_dma_file_read_as_marinecadastre_is_refused(tmp_path: Path) -> None:
    header = "# Timestamp,Type of mobile,MMSI,Latitude,Longitude"
    path = write(tmp_path / "dma.csv", f"{header}\n01/06/2018 00:00:00,Class A,1,2,3\n")
    with pytest.raises(CsvFormatError, match="column 'BaseDateTime' missing"):
        read_csv(path, format="marinecadastre")


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    for text in ("", HEADER + "\n", HEADER, "\n\n"):
        result = read_csv(write(tmp_path / "empty.csv", text))
        assert_canonical(result)
        assert result.positions.height == result.vessels.height == 0
        assert result.stats["rows"] == 0


def test_gz_and_zst_hand_made(tmp_path: Path) -> None:
    data = (HEADER + "\n" + GOOD_1 + "\n" + "bad,row\n" + GOOD_2 + "\n").encode()
    (tmp_path / "x.csv.gz").write_bytes(gzip.compress(data))
    # Two zstd frames in one file, as streaming compressors write them.
    half = len(data) // 2
    compressor = zstandard.ZstdCompressor()
    (tmp_path / "x.csv.zst").write_bytes(
        compressor.compress(data[:half]) + compressor.compress(data[half:])
    )
    for name in ("x.csv.gz", "x.csv.zst"):
        result = read_csv(tmp_path / name)
        assert result.positions["mmsi"].to_list() == [636021061, 367752440]
        assert result.quarantine["line_no"].to_list() == [3]
