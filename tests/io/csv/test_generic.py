"""Generic CSV with a mapping: times, quoting, guessing, batching, garbage."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.io.csv import CsvFormatError, iter_csv, lines, read_csv
from tests.io.csv.csv_helpers import AIS_CSV, assert_canonical, write

MAPPING = {"mmsi": "Id", "ts": "Time", "lat": "Y", "lon": "X", "sog": "Speed"}


def test_mapping_with_epoch_seconds_and_milliseconds(tmp_path: Path) -> None:
    text = "Id,Time,Y,X,Speed\n735057000,1700000000,-0.95,-80.7,3.5\n735057001,1700000000250,1,2,\n"
    result = read_csv(write(tmp_path / "epoch.csv", text), mapping=MAPPING)
    assert_canonical(result)
    assert result.positions["ts"].to_list() == [
        datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=UTC),
    ]
    assert result.positions["sog"].to_list() == [3.5, None]
    assert result.positions["msg_type"].to_list() == [0, 0]
    assert result.vessels.height == 0  # no identity columns at all


def test_custom_time_format(tmp_path: Path) -> None:
    text = "Id,Time,Y,X\n735057000,14.11.2023 22:13,-0.95,-80.7\n735057001,2023-11-14,1,2\n"
    path = write(tmp_path / "custom.csv", text)
    result = read_csv(path, mapping=MAPPING | {"sog": None}, time_format="%d.%m.%Y %H:%M")
    assert result.positions["ts"].to_list() == [datetime(2023, 11, 14, 22, 13, tzinfo=UTC)]
    assert result.quarantine.select("line_no", "reason").rows() == [(3, "bad_row")]


def test_custom_time_format_with_offset(tmp_path: Path) -> None:
    text = "Id,Time,Y,X\n735057000,14/11/2023 22:13:00 -0500,-0.95,-80.7\n"
    path = write(tmp_path / "offset.csv", text)
    result = read_csv(path, mapping=MAPPING | {"sog": None}, time_format="%d/%m/%Y %H:%M:%S %z")
    assert result.positions["ts"].to_list() == [datetime(2023, 11, 15, 3, 13, tzinfo=UTC)]


def test_iso_variants(tmp_path: Path) -> None:
    times = [
        "2023-11-14T22:13:20",
        "2023-11-14 22:13:20",
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:13:20.5",
        "2023-11-14T23:13:20+01:00",
        "2023-11-14T22:13",
    ]
    body = "".join(f"73505700{i},{t},1.0,2.0\n" for i, t in enumerate(times))
    result = read_csv(write(tmp_path / "iso.csv", "mmsi,timestamp,lat,lon\n" + body))
    expected = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert result.positions["ts"].to_list() == [
        expected,
        expected,
        expected,
        datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC),
        expected,
        datetime(2023, 11, 14, 22, 13, tzinfo=UTC),
    ]


def test_columns_found_by_usual_names(tmp_path: Path) -> None:
    text = (
        "MMSI,Timestamp,Latitude,Longitude,Speed,Course,Heading,VesselName,Ship_Type,Draft\n"
        "735057000,2024-03-01 12:00:00,-0.95,-80.7,12.5,181.0,511,LA CONCHA,Fishing,4.5\n"
    )
    result = read_csv(write(tmp_path / "usual.csv", text))  # auto -> generic
    position = result.positions.row(0, named=True)
    assert (position["sog"], position["cog"], position["heading"]) == (12.5, 181.0, None)
    vessel = result.vessels.row(0, named=True)
    assert (vessel["name"], vessel["ship_type"], vessel["flag"]) == ("LA CONCHA", 30, "ECU")
    assert vessel["draught"] == 4.5


def test_cannot_tell_the_format(tmp_path: Path) -> None:
    path = write(tmp_path / "mystery.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(CsvFormatError) as caught:
        read_csv(path)
    message = str(caught.value)
    assert "mystery.csv" in message and "cannot tell" in message and "['a', 'b', 'c']" in message
    assert "--map mmsi=COLUMN" in message
    with pytest.raises(CsvFormatError, match=r"no column for \['mmsi', 'ts', 'lat', 'lon'\]"):
        read_csv(path, format="generic")


def test_bad_mappings(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "Id,Time,Y,X\n1,0,1,2\n")
    with pytest.raises(CsvFormatError, match=r"column 'Speed' \(mapped to 'sog'\) missing"):
        read_csv(path, mapping=MAPPING)
    with pytest.raises(CsvFormatError, match="not columns seawatch reads"):
        read_csv(path, mapping={"speed": "Speed"})
    with pytest.raises(ValueError, match="format must be one of"):
        read_csv(path, format="ais")


def test_quoted_fields(tmp_path: Path) -> None:
    text = (
        "mmsi,ts,lat,lon,name,destination\n"
        '735057000,2024-03-01 12:00:00,1,2,"DOE, JOHN","SAY ""HI"""\n'
        '735057001,2024-03-01 12:00:00,1,2,5" GUN,PORT\n'
        '735057002,2024-03-01 12:00:00,1,2,"UNCLOSED, X\n'
    )
    result = read_csv(write(tmp_path / "quoted.csv", text))
    assert result.vessels.select("name", "destination").rows() == [
        ("DOE, JOHN", 'SAY "HI"'),
        ('5" GUN', "PORT"),
        ('"UNCLOSED', "X"),
    ]


def test_crlf_bom_and_non_utf8(tmp_path: Path) -> None:
    data = (
        b"\xef\xbb\xbfmmsi,ts,lat,lon,name\r\n"
        b"219000001,2024-03-01 12:00:00,55,11,K\xf8BENHAVN\r\n"
        b"219000002,2024-03-01 12:00:01,55,11,AALBORG"  # no final line end
    )
    path = tmp_path / "crlf.csv"
    path.write_bytes(data)
    result = read_csv(path)
    assert result.positions["mmsi"].to_list() == [219000001, 219000002]
    assert result.vessels["name"].to_list() == ["K\ufffdBENHAVN", "AALBORG"]


def test_overlong_line_is_quarantined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "MAX_LINE_BYTES", 64)
    monkeypatch.setattr(lines, "BLOCK_BYTES_MIN", 16)
    monkeypatch.setattr(lines, "BLOCK_BYTES_MAX", 16)
    text = "mmsi,ts,lat,lon\n1,1700000000,1,2\n" + "9," * 500 + "\n2,1700000000,3,4\n"
    result = read_csv(write(tmp_path / "long.csv", text))
    assert result.positions["mmsi"].to_list() == [1, 2]
    assert result.quarantine.select("line_no", "reason").rows() == [(3, "bad_row")]
    assert result.quarantine["raw"].item() == "9," * 32  # cut at MAX_LINE_BYTES


def test_source_and_validity(tmp_path: Path) -> None:
    text = "mmsi,ts,lat,lon\n0,1700000000,1,2\n123456789,1700000000,1,2\n735057000,1700000000,1,2\n"
    result = read_csv(write(tmp_path / "v.csv", text), source="feed-7")
    assert result.positions["mmsi_valid"].to_list() == [False, False, True]
    assert result.positions["source"].unique().to_list() == ["feed-7"]
    assert result.sources == ["feed-7"]


def test_vessels_deduplicated_keeping_first_time(tmp_path: Path) -> None:
    text = (
        "mmsi,ts,lat,lon,name,callsign\n"
        "735057000,2024-03-01 12:00:05,1,2,ALFA,HC1\n"
        "735057000,2024-03-01 12:00:00,1,2,ALFA,HC1\n"  # same identity, earlier
        "735057000,2024-03-01 12:00:10,1,2,ALFA,HC2\n"  # new call sign
        "735057001,2024-03-01 12:00:10,1,2,,\n"  # no identity at all
    )
    vessels = read_csv(write(tmp_path / "v.csv", text)).vessels
    assert vessels.select("mmsi", "ts", "callsign").rows() == [
        (735057000, datetime(2024, 3, 1, 12, 0, tzinfo=UTC), "HC1"),
        (735057000, datetime(2024, 3, 1, 12, 0, 10, tzinfo=UTC), "HC2"),
    ]


def test_batches_union_equals_whole_and_progress(tmp_path: Path) -> None:
    rows = [
        f"{735057000 + i % 7},{1700000000 + i},{i % 80}.5,{i % 170}.25,{i % 20},"
        f"{'NAME' + str(i % 3)},{i % 5 * 10}"
        for i in range(200)
    ]
    rows[17] = "garbage"
    rows[101] = "735057000,1700000000,99.0,1,1,X,30"
    text = "mmsi,ts,lat,lon,sog,name,ship_type\n" + "\n".join(rows) + "\n"
    path = tmp_path / "many.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    whole = read_csv(path)
    batches = list(iter_csv(path, batch_rows=3))
    assert len(batches) == 67
    assert pl.concat([b.positions for b in batches]).equals(whole.positions)
    vessels = pl.concat([b.vessels for b in batches])
    assert vessels.height == whole.vessels.height
    assert vessels.sort("mmsi", "name", "ship_type").equals(
        whole.vessels.sort("mmsi", "name", "ship_type")
    )
    assert sum(b.stats["input_bytes"] for b in batches) == path.stat().st_size
    assert sum(b.stats["rows"] for b in batches) == 200
    assert sum(b.quarantine_log.total for b in batches) == whole.quarantine_log.total == 2
    assert whole.quarantine.sort("line_no")["line_no"].to_list() == [19, 103]


# --- garbage in the body --------------------------------------------------------------------

VALID_HEADER = "mmsi,ts,lat,lon,sog,name"
garbage_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=80,
).filter(lambda s: s.strip() != "")
valid_row = st.builds(
    lambda i, sec, lat, lon, sog, name: (
        f"{201000000 + i},{1700000000 + sec},{lat:.5f},{lon:.5f},{sog:.1f},{name}"
    ),
    st.integers(0, 999),
    st.integers(0, 86400),
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.floats(0, 102),
    st.text(alphabet="ABCDEFGHIJ KLM", max_size=12).map(str.strip),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(st.tuples(st.booleans(), valid_row, garbage_line), min_size=1, max_size=25),
    batch_rows=st.sampled_from([3, 1_000_000]),
)
def test_garbage_lines_do_not_crash_and_valid_rows_survive(
    tmp_path_factory: pytest.TempPathFactory,
    body: list[tuple[bool, str, str]],
    batch_rows: int,
) -> None:
    chosen = [valid if keep else junk for keep, valid, junk in body]
    valid = [valid for keep, valid, _ in body if keep]
    path = tmp_path_factory.mktemp("garbage") / "garbage.csv"
    write(path, VALID_HEADER + "\n" + "\n".join(chosen) + "\n")
    batches = list(iter_csv(path, batch_rows=batch_rows))
    positions = pl.concat([b.positions for b in batches])
    quarantined = sum(b.quarantine_log.total for b in batches)
    # Every data line is either a position or quarantined.
    assert positions.height + quarantined == len(chosen)
    expected = pl.DataFrame(
        {
            "mmsi": [int(v.split(",")[0]) for v in valid],
            "sec": [int(v.split(",")[1]) for v in valid],
        },
        schema={"mmsi": pl.Int64, "sec": pl.Int64},
    )
    found = positions.select("mmsi", pl.col("ts").dt.epoch("s").alias("sec"))
    # Each valid row is there (a garbage line may happen to be a valid row too).
    counts = found.group_by("mmsi", "sec").len()
    wanted = expected.group_by("mmsi", "sec").len()
    joined = wanted.join(counts, on=["mmsi", "sec"], how="left", suffix="_found")
    assert (joined["len_found"].fill_null(0) >= joined["len"]).all()


def test_implausible_times_are_quarantined(tmp_path: Path) -> None:
    text = ("Id,Time,Y,X\n"
            "735057000,2300-01-01T00:00:00Z,-0.95,-80.7\n"  # year 2300: a corrupt field
            "735057001,1970-01-01T00:00:05Z,-0.95,-80.7\n"  # before AIS existed
            "735057002,2023-11-14T22:13:20Z,-0.95,-80.7\n")  # a real report survives
    result = read_csv(write(tmp_path / "years.csv", text),
                      mapping={"mmsi": "Id", "ts": "Time", "lat": "Y", "lon": "X"})
    assert result.positions["mmsi"].to_list() == [735057002]
    assert result.quarantine_counts == {"impossible_value": 2}


def test_iso_basic_and_underscore_times(tmp_path: Path) -> None:
    text = ("mmsi,ts,lat,lon\n"
            "735057000,20210701_185151,-0.95,-80.7\n"  # aisdb / MERIDIAN exports
            "735057001,20210701T185151Z,-0.95,-80.7\n")  # ISO 8601 basic form
    result = read_csv(write(tmp_path / "basic.csv", text))
    assert result.positions["ts"].to_list() == [datetime(2021, 7, 1, 18, 51, 51, tzinfo=UTC)] * 2


@pytest.mark.skipif(not (AIS_CSV / "aisdb").is_dir(), reason="needs ../shared/data/ais-csv/aisdb")
def test_aisdb_export_reads_without_a_mapping() -> None:
    result = read_csv(AIS_CSV / "aisdb" / "test_data_20210701.csv")
    assert result.quarantine.height == 0
    assert result.positions.height == 2498
    assert result.positions["ts"].dt.date().unique().to_list() == [datetime(2021, 7, 1).date()]
