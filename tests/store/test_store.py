"""Store (seawatch.store.store): ingest, idempotency, day split, sorting, schema, paths."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import seawatch.io
from seawatch import schema
from seawatch.store import Store, layout
from tests.store import store_synth
from tests.store.store_checks import ingest, same_state, state, stray_files
from tests.store.store_synth import positions, result, table, ts

# ---------------------------------------------------------------- ingest


def test_ingest_report_and_manifest(tmp_path):
    store = Store(tmp_path / "s")
    chunks = store_synth.chunks(
        store_synth.random_input(3000, seed=5), 1000, vessels=store_synth.vessels_frame(50, seed=5)
    )
    seen = []
    report = store.ingest_results(
        chunks,
        name="day.nmea",
        sha256="ab" * 32,
        size=5000,
        on_progress=lambda *a: seen.append(a),
    )
    assert not report.skipped
    assert report.snapshot == 1
    assert report.rows_read["positions"] == 3300
    assert report.rows_added["positions"] == 3000  # the 300 receiver copies removed
    assert report.duplicates["positions"] == 300
    assert report.quarantine == {"bad_checksum": 1, "not_ais": 1}
    assert report.quarantined == 2
    assert report.stats["input_bytes"] == 4000
    assert report.seconds > 0
    assert seen == [("day.nmea", 1000 * i, 5000) for i in range(1, 5)]
    entry = store.snapshot().inputs[0]
    assert entry["name"] == "day.nmea"
    assert entry["sha256"] == "ab" * 32
    assert entry["size"] == 5000
    assert entry["rows"]["positions"] == 3300
    assert entry["added"]["positions"] == 3000
    assert entry["quarantine"] == {"bad_checksum": 1, "not_ais": 1}
    assert datetime.fromisoformat(entry["ingested_at"]).tzinfo is not None
    inputs = store.inputs()
    assert inputs["name"].to_list() == ["day.nmea"]
    assert inputs["positions"].to_list() == [3300]
    assert inputs["quarantined"].to_list() == [2]
    assert inputs.schema["ingested_at"] == schema.TS
    assert inputs["quarantine"].to_list() == [
        [{"reason": "bad_checksum", "count": 1}, {"reason": "not_ais", "count": 1}]
    ]


def test_same_input_twice_is_skipped_and_changes_nothing(tmp_path):
    store = Store(tmp_path / "s")
    ingest(store, "a", store_synth.chunks(store_synth.random_input(2000, seed=3), 500), "f" * 64)
    before = state(store)
    files = sorted(p.name for p in store.path.rglob("*.parquet"))
    again = ingest(
        store, "renamed", store_synth.chunks(store_synth.random_input(9, seed=4), 5), "f" * 64
    )
    assert again.skipped
    assert again.snapshot is None
    assert same_state(state(store), before)
    assert sorted(p.name for p in store.path.rglob("*.parquet")) == files


def test_generator_of_a_skipped_input_is_not_read(tmp_path):
    store = Store(tmp_path / "s")
    ingest(store, "a", [result()], "e" * 64)
    consumed = []

    def gen():
        consumed.append(1)
        yield result()

    assert ingest(store, "b", gen(), "e" * 64).skipped
    assert consumed == []


def test_empty_input_is_recorded(tmp_path):
    store = Store(tmp_path / "s")
    report = ingest(store, "empty.nmea", [])
    assert report.rows_read == {"positions": 0, "vessels": 0, "stations": 0, "other_messages": 0}
    assert store.inputs()["name"].to_list() == ["empty.nmea"]
    assert ingest(store, "empty.nmea", []).skipped


def test_days_split_at_utc_midnight(tmp_path):
    store = Store(tmp_path / "s")
    midnight = datetime.fromisoformat("2024-03-02T00:00:00+00:00")
    rows = [
        {"mmsi": 1, "ts": midnight - timedelta(microseconds=1)},
        {"mmsi": 1, "ts": midnight},
        # 23:30 at UTC-5 (Ecuador) is 04:30 UTC the next day
        {"mmsi": 2, "ts": datetime.fromisoformat("2024-03-01T23:30:00-05:00")},
    ]
    ingest(store, "a", [result(positions=positions(rows))])
    files = store.snapshot().table_files("positions")
    assert sorted(f.day for f in files) == ["2024-03-01", "2024-03-02"]
    by_day = {f.day: pl.read_parquet(store.path / f.path) for f in files}
    assert by_day["2024-03-01"]["ts"].to_list() == [midnight - timedelta(microseconds=1)]
    assert by_day["2024-03-02"].height == 2
    assert all(f.path.startswith(f"positions/day={f.day}/") for f in files)


def test_day_files_are_sorted_by_mmsi_then_ts_and_one_per_day(tmp_path):
    store = Store(tmp_path / "s")
    for i in range(3):
        frame = store_synth.random_input(3000, seed=10 + i, hours=40)
        ingest(store, f"in{i}", store_synth.chunks(frame, 700))
    files = store.snapshot().table_files("positions")
    assert len(files) == len({f.day for f in files}) == 2
    for f in files:
        frame = pl.read_parquet(store.path / f.path)
        assert frame.height == f.rows
        assert frame.equals(frame.sort("mmsi", "ts", maintain_order=True))
        assert str(frame["ts"].min().date()) == f.day == str(frame["ts"].max().date())
        assert layout.format_ts(frame["ts"].min()) == f.ts_min


def test_day_files_use_zstd_and_row_groups_of_128k(tmp_path):
    import pyarrow.parquet as pq

    store = Store(tmp_path / "s")
    frame = store_synth.random_positions(140_000, seed=1, hours=20)
    ingest(store, "big", store_synth.chunks(frame, 70_000))
    (file,) = store.snapshot().table_files("positions")
    meta = pq.read_metadata(store.path / file.path)
    assert meta.num_rows == 140_000
    assert meta.row_group(0).num_rows == 131_072
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_schema_round_trip_keeps_canonical_types(tmp_path):
    store = Store(tmp_path / "s")
    full = {
        "mmsi": 735057000,
        "ts": ts(1.000001),
        "lat": -0.9512345678901,
        "lon": -80.7,
        "sog": 10.3,
        "cog": 359.9,
        "heading": 511 - 500,
        "nav_status": 15,
        "msg_type": 27,
        "source": "rx",
        "accuracy": True,
        "second": 61,
        "mmsi_valid": False,
    }
    pos = positions([full, {"mmsi": 2, "ts": ts(2)}])
    ves = table(
        "vessels",
        [
            {
                "mmsi": 1,
                "ts": ts(0),
                "imo": 9_000_001,
                "ship_type": 255,
                "length": 12.5,
                "draught": 3.2,
                "msg_type": 24,
                "mmsi_valid": True,
            }
        ],
    )
    sta = table(
        "stations",
        [{"mmsi": 3, "ts": ts(0), "msg_type": 4, "station_time": ts(-1), "aid_type": 30}],
    )
    oth = table(
        "other_messages",
        [{"mmsi": 4, "ts": ts(0), "msg_type": 8, "payload": "13u?", "fill_bits": 2}],
    )
    bad = [("malformed", "f.nmea", 3, "!AIVDM,x")]
    ingest(
        store, "a", [result(positions=pos, vessels=ves, stations=sta, other_messages=oth, bad=bad)]
    )
    for name, frame, read in [
        ("positions", pos, store.positions()),
        ("vessels", ves, store.vessels()),
        ("stations", sta, store.stations()),
        ("other_messages", oth, store.other_messages()),
    ]:
        out = read.collect()
        assert out.schema == pl.Schema(schema.TABLES[name]), name
        assert out.sort("mmsi").equals(frame.sort("mmsi")), name
    quarantine = store.quarantine().collect()
    assert quarantine.schema == pl.Schema(schema.QUARANTINE)
    assert quarantine.rows() == [("f.nmea", 3, "malformed", "!AIVDM,x")]


def test_rows_without_time_are_counted_not_stored(tmp_path):
    store = Store(tmp_path / "s")
    frame = positions({"mmsi": [1, 2], "ts": [ts(0), None]})
    report = ingest(store, "a", [result(positions=frame)])
    assert store.positions().collect()["mmsi"].to_list() == [1]
    assert report.quarantine == {"no_time": 1}
    assert report.duplicates["positions"] == 0


def test_quarantine_sample_is_bounded_per_reason_per_input(tmp_path):
    store = Store(tmp_path / "s", quarantine_sample=5)
    for name in ("a", "b"):
        bad = [(r, name, i, f"line {i}") for r in ("bad_checksum", "not_ais") for i in range(8)]
        chunks = [result(bad=bad[:5]), result(bad=bad[5:])]
        report = ingest(store, name, chunks)
        assert report.quarantine == {"bad_checksum": 8, "not_ais": 8}
    sample = store.quarantine().collect()
    counts = Counter(zip(sample["file"], sample["reason"], strict=True))
    assert counts == {(f, r): 5 for f in ("a", "b") for r in ("bad_checksum", "not_ais")}
    assert store.info()["quarantine"] == {"bad_checksum": 16, "not_ais": 16}
    assert store.info()["quarantine_sample_rows"] == 20


def test_failing_reader_leaves_store_unchanged_and_usable(tmp_path):
    store = Store(tmp_path / "s")
    ingest(store, "a", [result(positions=positions([{"mmsi": 1, "ts": ts(0)}]))])
    before = state(store)

    def broken():
        yield result(positions=positions([{"mmsi": 2, "ts": ts(0)}]))
        raise ValueError("decoder exploded")

    with pytest.raises(ValueError, match="exploded"):
        ingest(store, "b", broken())
    assert same_state(state(store), before)
    assert stray_files(store.path) == []
    ingest(store, "b", [result(positions=positions([{"mmsi": 2, "ts": ts(0)}]))])
    assert store.positions().collect()["mmsi"].to_list() == [1, 2]


# ---------------------------------------------------------------- Store.ingest (files)


@pytest.fixture
def fake_reader(monkeypatch):
    """Replace seawatch.io.iter_input by a reader of tiny text files: 'mmsi,unix_seconds'."""
    calls = []

    def iter_input(path, *, format=None, default_time=None, source=None):
        calls.append((str(path), format, default_time))
        lines = [ln.split(",") for ln in Path(path).read_text().split()]
        for i, (mmsi, secs) in enumerate(lines):
            row = {"mmsi": int(mmsi), "ts": ts(float(secs)), "source": path.name, "second": 0}
            frame = positions([row])
            yield result(positions=frame, input_bytes=len(",".join(lines[i])) + 1)

    monkeypatch.setattr(seawatch.io, "iter_input", iter_input, raising=False)
    return calls


def test_ingest_files_skips_known_content(tmp_path, fake_reader):
    store = Store(tmp_path / "s")
    a = tmp_path / "a.csv"
    a.write_text("1,0\n2,0\n1,3600\n")
    b = tmp_path / "b.csv"
    b.write_text("1,0\n2,0\n1,3600\n")  # same bytes, another name
    c = tmp_path / "c.csv"
    c.write_text("1,1\n3,0\n")  # the 1,1 is a copy of 1,0 heard 1 s later
    progress = []
    when = datetime(2024, 1, 1)
    reports = store.ingest(
        [a, b, str(c)], format="x", default_time=when, on_progress=lambda *p: progress.append(p)
    )
    assert [r.skipped for r in reports] == [False, True, False]
    assert [r.name for r in reports] == ["a.csv", "b.csv", "c.csv"]
    assert reports[2].duplicates["positions"] == 1
    assert reports[0].sha256 == reports[1].sha256
    assert fake_reader == [(str(a), "x", when), (str(c), "x", when)]
    assert progress[:3] == [("a.csv", 4, 15), ("a.csv", 8, 15), ("a.csv", 15, 15)]
    assert ("b.csv", 15, 15) in progress
    assert store.positions().collect().height == 4
    assert store.ingest(a)[0].skipped
    with pytest.raises(FileNotFoundError, match="nope"):
        store.ingest(tmp_path / "nope.nmea")


@pytest.mark.skipif(not hasattr(seawatch.io, "iter_input"), reason="seawatch.io.iter_input")
def test_ingest_real_reader_twice(tmp_path):
    src = tmp_path / "in.nmea"
    src.write_text(
        "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C\n"
        "!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*5F\n"
    )
    store = Store(tmp_path / "s")
    (first,) = store.ingest(src, default_time=datetime(2024, 3, 1))
    # one transmission heard on channels A and B: stored once
    assert (first.rows_read["positions"], first.rows_added["positions"]) == (2, 1)
    assert store.positions().collect().schema == pl.Schema(schema.POSITIONS)
    (again,) = store.ingest(src, default_time=datetime(2024, 3, 1))
    assert again.skipped
    assert store.positions().collect().height == 1


def test_merge_runs_bounded_and_spills_inside_staging(tmp_path):
    from seawatch.store.ingest import MergeSettings, connect

    settings = MergeSettings(dedup_window=timedelta(seconds=30), memory_limit="256MB", threads=1)
    con = connect(tmp_path / "staging" / "run" / "duckdb_tmp", settings)
    limit, threads, temp, bar = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('threads'),"
        " current_setting('temp_directory'), current_setting('enable_progress_bar')"
    ).fetchone()
    con.close()
    assert bar is False  # nothing drawn on stdout, into the output of `seawatch ingest`
    assert limit.replace(" ", "") in ("256.0MB", "244.1MiB")
    assert int(threads) == 1
    assert temp == str(tmp_path / "staging" / "run" / "duckdb_tmp")
    store = Store(tmp_path / "s", memory_limit="256MB", threads=1)
    assert store.settings.memory_limit == "256MB"
    report = ingest(store, "a", store_synth.chunks(store_synth.random_input(2000, seed=9), 500))
    assert report.rows_added["positions"] == 2000


def test_merge_limits_are_checked_when_the_store_opens(tmp_path):
    from seawatch.errors import InvalidValue

    for bad in ("lots", "-1GB", "4 parsecs", 0):
        with pytest.raises(InvalidValue, match="memory_limit"):
            Store(tmp_path / "s", memory_limit=bad)
    with pytest.raises(InvalidValue, match="merge_rows"):
        Store(tmp_path / "s", merge_rows=0)
    with pytest.raises(InvalidValue, match="threads"):
        Store(tmp_path / "s", threads=0)
    assert Store(tmp_path / "s", memory_limit=2**30).settings.merge_rows == 2**30 // 500


def test_default_merge_limits_come_from_the_machine(tmp_path):
    from seawatch.store import ingest as ingest_mod

    store = Store(tmp_path / "s")
    limit = ingest_mod.default_memory_limit(ingest_mod.machine_memory())
    assert ingest_mod.memory_bytes(store.settings.memory_limit) == limit
    assert limit <= ingest_mod.memory_bytes(ingest_mod.DEFAULT_MEMORY_LIMIT)
    assert store.settings.merge_rows == max(
        ingest_mod.MIN_MERGE_ROWS, limit // ingest_mod.MERGE_BYTES_PER_ROW
    )
    con = ingest_mod.connect(tmp_path / "tmp", store.settings)
    (set_to,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
    con.close()
    value, unit = set_to.split()
    assert abs(float(value) * {"MiB": 2**20, "GiB": 2**30}[unit] - limit) < 0.01 * limit
    # a machine the size of a small laptop gets a quarter of its memory
    assert ingest_mod.default_memory_limit(4 * 2**30) == 2**30


def test_paths_with_glob_characters_and_quotes(tmp_path):
    plain = Store(tmp_path / "plain")
    odd = Store(tmp_path / "odd [x] *dir? it's")
    for store in (plain, odd):
        ingest(store, "first", store_synth.small_first())
        ingest(store, "second", store_synth.small_second())
    a, b = state(plain), state(odd)
    assert all(a[t].equals(b[t]) for t in ("positions", "vessels", "stations", "quarantine"))
    assert a["positions"].height == 31
