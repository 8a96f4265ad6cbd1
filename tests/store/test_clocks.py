"""Station clocks and displaced copies (seawatch.store.clocks), through real ingests of NMEA
files written per station."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.io.nmea.encode import write_nmea
from seawatch.store import Store, layout
from seawatch.store.clocks import (
    ClockSettings,
    estimate_offsets,
    station_clocks,
)
from seawatch.store.ingest import IngestReport

T0 = datetime(2024, 3, 1, 6, tzinfo=UTC)
H5 = timedelta(hours=-5)


def traffic(seed: int, vessels: int = 12, minutes: int = 60, start: datetime = T0,
            step_s: int = 10) -> pl.DataFrame:
    """Transmissions of ``vessels`` vessels making 10 kn on straight lines, one report every
    ``step_s`` seconds: ``mmsi``, ``ts`` (true UTC) and the report's fields."""
    rng = np.random.default_rng(seed)
    n = minutes * 60 // step_s
    t = np.arange(n) * step_s
    parts = []
    for v in range(vessels):
        lat0, lon0 = rng.uniform(-3, 1), rng.uniform(-82, -80)
        cog = rng.uniform(0, 360)
        dist_deg = 10 * 1852 / 111_320 * t / 3600
        parts.append(pl.DataFrame({
            "mmsi": np.full(n, 735_000_000 + v),
            "t": t + int(rng.integers(0, step_s)),
            "lat": lat0 + dist_deg * np.cos(np.radians(cog)),
            "lon": lon0 + dist_deg * np.sin(np.radians(cog)),
            "sog": np.full(n, 10.0),
            "cog": np.full(n, round(cog, 1)),
        }))
    frame = pl.concat(parts)
    return frame.with_columns(
        ts=pl.lit(start) + pl.duration(seconds=pl.col("t")),
        msg_type=pl.lit(1),
        heading=pl.col("cog").round().cast(pl.Int64),
        nav_status=pl.lit(0),
    ).with_columns(second=pl.col("ts").dt.second()).drop("t")


def heard(frame: pl.DataFrame, station: str, share: float, seed: int,
          offset: timedelta = timedelta(0)) -> pl.DataFrame:
    """The copies ``station`` received: a ``share`` of the transmissions, each 0-2 s late,
    stamped by a clock ``offset`` from UTC."""
    rng = np.random.default_rng(seed)
    keep = rng.random(frame.height) < share
    delay = rng.integers(0, 3, frame.height)[keep]
    return frame.filter(pl.Series(keep)).with_columns(
        ts=pl.col("ts") + pl.duration(seconds=pl.Series(delay)) + offset,
        source=pl.lit(station),
    )


def write(path: Path, frame: pl.DataFrame) -> Path:
    write_nmea(path, frame.sort("ts"), None, source_column="source")
    return path


def stored(store: Store) -> pl.DataFrame:
    return store.positions().collect()


@pytest.fixture
def three_stations(tmp_path: Path) -> tuple[pl.DataFrame, list[Path]]:
    """One hour of 12 vessels heard by stations a, b (on UTC) and c (five hours behind),
    each station in a file of its own."""
    tx = traffic(1)
    paths = [
        write(tmp_path / "a.nmea", heard(tx, "a", 0.8, 1)),
        write(tmp_path / "b.nmea", heard(tx, "b", 0.5, 2)),
        write(tmp_path / "c.nmea", heard(tx, "c", 0.5, 3, H5)),
    ]
    return tx, paths


def test_station_on_local_time_is_corrected(tmp_path: Path, three_stations) -> None:
    tx, paths = three_stations
    store = Store(tmp_path / "store")
    reports = store.ingest(paths)
    pos = stored(store)
    # every transmission heard is one row, at its true time (give or take the delay)
    assert pos.height == pos.select(pl.struct("mmsi", "second", "lat", "lon").n_unique()).item()
    assert pos["ts"].min() >= T0 and pos["ts"].max() <= tx["ts"].max() + timedelta(seconds=3)
    c_rows = pos.filter(pl.col("source") == "c")
    assert c_rows.height > 0  # c heard some transmissions first
    (report_c,) = [r for r in reports if r.name == "c.nmea"]
    (entry,) = report_c.clocks
    assert entry["station"] == "c" and entry["action"] == "corrected"
    assert entry["offset_s"] == pytest.approx(-5 * 3600, abs=2)
    assert entry["rows"] == report_c.rows_read["positions"]
    assert not [r.clocks for r in reports if r.name != "c.nmea" and r.clocks]
    clocks = station_clocks(store.path, store.snapshot().table_files(layout.CLOCKS))
    assert clocks["station"].to_list() == ["a", "b", "c"]
    assert clocks["action"].to_list() == ["on_time", "on_time", "corrected"]
    assert clocks.filter(pl.col("station") == "c")["copies"].item() >= 30


def test_uncorrected_offset_would_double_reports(tmp_path: Path, three_stations) -> None:
    """Without the correction, station c's copies survive as second reports five hours
    early (a jump back along each track)."""
    _, paths = three_stations
    store = Store(tmp_path / "store")
    store.ingest(paths)
    pos = stored(store)
    early = pos.filter(pl.col("ts") < T0 - timedelta(hours=1))
    assert early.height == 0


def test_offset_crossing_midnight_moves_rows_to_their_day(tmp_path: Path) -> None:
    late = datetime(2024, 3, 1, 23, 30, tzinfo=UTC)
    tx = traffic(2, minutes=50, start=late)
    paths = [
        write(tmp_path / "a.nmea", heard(tx, "a", 0.8, 1)),
        write(tmp_path / "b.nmea", heard(tx, "b", 0.5, 2)),
        write(tmp_path / "c.nmea", heard(tx, "c", 0.6, 3, H5)),
    ]
    store = Store(tmp_path / "store")
    store.ingest(paths)
    days = sorted({f.day for f in store.snapshot().table_files("positions")})
    assert days == ["2024-03-01", "2024-03-02"]
    pos = stored(store)
    assert pos["ts"].min() >= late - timedelta(seconds=2)  # (the median delay goes too)
    after = pos.filter(pl.col("source") == "c", pl.col("ts") >= datetime(2024, 3, 2, tzinfo=UTC))
    assert after.height > 0


def test_displaced_copies_are_dropped_and_repeats_kept(tmp_path: Path) -> None:
    tx = traffic(3)
    a = heard(tx, "a", 1.0, 1)
    b = heard(tx, "b", 0.6, 2)
    wrong = np.zeros(b.height, dtype=bool)
    wrong[::50] = True  # 2 % of b's lines an hour late, each also heard on time by a
    b = b.with_columns(ts=pl.when(pl.Series(wrong)).then(pl.col("ts") + timedelta(hours=1))
                       .otherwise(pl.col("ts")))
    moored = pl.DataFrame({
        "mmsi": [735_100_000] * 20, "ts": [T0 + timedelta(minutes=3 * i, seconds=7)
                                          for i in range(20)],
        "lat": [-2.2] * 20, "lon": [-80.9] * 20, "sog": [0.0] * 20, "cog": [0.0] * 20,
        "heading": [90] * 20, "nav_status": [5] * 20, "msg_type": [1] * 20,
        "second": [7] * 20, "source": ["a"] * 20,
    })
    # one MMSI used by the moored vessel and by a vessel 300 km away, reports alternating:
    # the track zigzags, so nothing there can be judged and every repeat is kept
    far = moored.with_columns(ts=pl.col("ts") + timedelta(seconds=40), lat=pl.lit(0.5),
                              second=pl.lit(47))
    far = far.with_columns(lon=pl.Series([-80.9 + 0.001 * j for j in range(20)]))
    shared = pl.concat([moored, far], how="diagonal_relaxed").with_columns(
        mmsi=pl.lit(735_200_000))
    paths = [write(tmp_path / "a.nmea", pl.concat([a, moored, shared],
                                                  how="diagonal_relaxed")),
             write(tmp_path / "b.nmea", b)]
    store = Store(tmp_path / "store")
    reports = store.ingest(paths)
    pos = stored(store)
    assert pos.filter(pl.col("mmsi") == 735_100_000).height == 20  # repeats are reports
    assert pos.filter(pl.col("mmsi") == 735_200_000).height == 40
    moving = pos.filter(pl.col("mmsi") < 735_100_000)
    assert moving.filter(pl.col("ts") > tx["ts"].max() + timedelta(seconds=3)).height == 0
    assert moving.height == tx.height
    assert sum(r.duplicates["positions"] for r in reports) == b.height


def ingest_beside_a_and_b(tmp_path: Path, tx: pl.DataFrame, c: pl.DataFrame
                          ) -> tuple[Store, IngestReport]:
    """Ingest station ``c``'s lines with on-time stations a and b hearing ``tx``: the store
    and c's report."""
    paths = [
        write(tmp_path / "a.nmea", heard(tx, "a", 0.8, 1)),
        write(tmp_path / "b.nmea", heard(tx, "b", 0.5, 2)),
        write(tmp_path / "c.nmea", c),
    ]
    store = Store(tmp_path / "store")
    reports = store.ingest(paths)
    (report_c,) = [r for r in reports if r.name == "c.nmea"]
    return store, report_c


def test_unstable_clock_is_quarantined(tmp_path: Path) -> None:
    tx = traffic(4)
    c = heard(tx, "c", 0.6, 3)
    jump = np.random.default_rng(5).integers(0, 2, c.height).astype(bool)
    c = c.with_columns(ts=pl.when(pl.Series(jump)).then(pl.col("ts") + timedelta(minutes=20))
                       .otherwise(pl.col("ts") - timedelta(minutes=20)))
    store, report_c = ingest_beside_a_and_b(tmp_path, tx, c)
    assert report_c.quarantine == {"clock_unstable": c.height}
    assert report_c.clocks[0]["action"] == "quarantined"
    assert report_c.rows_added["positions"] == 0 and report_c.duplicates["positions"] == 0
    assert stored(store).filter(pl.col("source") == "c").height == 0
    assert store.info()["quarantine"] == {"clock_unstable": c.height}


def test_a_feed_with_wandering_latency_is_kept_as_it_is(tmp_path: Path) -> None:
    """A feed stamped on arrival (latency of 5-90 s, varying) keeps the others' clock within
    a minute or two: grouped with them, its rows stored as they are, never quarantined."""
    tx = traffic(4)
    c = heard(tx, "c", 0.6, 3)
    late = np.random.default_rng(6).uniform(5, 90, c.height)
    c = c.with_columns(ts=pl.col("ts") + pl.duration(microseconds=pl.Series((late * 1e6)
                                                                            .astype(np.int64))))
    store, report_c = ingest_beside_a_and_b(tmp_path, tx, c)
    assert report_c.quarantine == {} and report_c.clocks == []
    listed = station_clocks(store.path, store.snapshot().table_files(layout.CLOCKS))
    assert listed.filter(pl.col("station") == "c")["action"].to_list() == ["on_time"]
    assert stored(store).filter(pl.col("source") == "c").height > 0


def test_lone_drifting_station_is_corrected_by_the_second_field(tmp_path: Path) -> None:
    tx = traffic(5)
    path = write(tmp_path / "a.nmea", heard(tx, "a", 0.8, 1, timedelta(seconds=17)))
    store = Store(tmp_path / "store")
    (report,) = store.ingest([path])
    assert report.clocks[0]["offset_s"] == pytest.approx(17, abs=1)
    pos = stored(store)
    lag = (pos["ts"].dt.epoch("s") - pos["second"] + 30) % 60 - 30  # receive delay
    assert lag.min() >= -2 and lag.max() <= 2  # the median delay (1 s) goes with the offset
    assert pos["ts"].min() >= T0 - timedelta(seconds=2)


def test_two_stations_that_disagree_are_left_undecided(tmp_path: Path) -> None:
    tx = traffic(6)
    paths = [write(tmp_path / "a.nmea", heard(tx, "a", 0.7, 1)),
             write(tmp_path / "c.nmea", heard(tx, "c", 0.7, 3, H5))]
    store = Store(tmp_path / "store")
    reports = store.ingest(paths)
    assert not any(r.clocks for r in reports)
    clocks = station_clocks(store.path, store.snapshot().table_files(layout.CLOCKS))
    assert clocks["action"].to_list() == ["undecided", "undecided"]
    assert stored(store).height == reports[0].rows_read["positions"] + reports[
        1].rows_read["positions"] - sum(r.duplicates["positions"] for r in reports)


def test_clean_stations_change_nothing(tmp_path: Path) -> None:
    tx = traffic(7)
    frames = [heard(tx, s, 0.6, i) for i, s in enumerate("abc")]
    paths = [write(tmp_path / f"{s}.nmea", f) for s, f in zip("abc", frames, strict=True)]
    store = Store(tmp_path / "store")
    reports = store.ingest(paths)
    assert not any(r.clocks for r in reports)
    first = pl.concat(frames).sort("ts").unique(["mmsi", "second", "lat"], keep="first")
    assert stored(store).height == first.height


def test_estimate_needs_enough_copies() -> None:
    pairs = pl.DataFrame({"a": ["a"], "b": ["c"], "copies": [10],
                          "median_us": [5 * 3600 * 10**6], "agree": [1.0]})
    st = pl.DataFrame({"source": ["a", "c"], "rows": [50, 50], "second_rows": [50, 50],
                       "residual_s": [0, 0], "residual_agree": [1.0, 1.0]})
    out = estimate_offsets(pairs, st, ClockSettings())
    assert out["action"].to_list() == ["on_time", "on_time"]  # second residual only
    assert out["reference"].to_list() == ["second", "second"]


def test_clocks_table_schema(tmp_path: Path, three_stations) -> None:
    _, paths = three_stations
    store = Store(tmp_path / "store")
    store.ingest(paths)
    (f,) = store.snapshot().table_files(layout.CLOCKS)
    frame = pl.read_parquet(store.path / f.path)
    assert frame.schema["estimated_at"] == schema.TS
    assert f.rows == 3


def test_a_big_batch_is_matched_on_a_sample_of_vessels(tmp_path: Path) -> None:
    """``match_rows`` below the batch's rows: the offsets come from some vessels' copies."""
    from seawatch.store.clocks import check_batch
    from seawatch.store.ingest import Staging, connect, merge_settings
    from tests.store.store_synth import result

    tx = traffic(8, vessels=24)
    frames = [heard(tx, "a", 0.8, 1), heard(tx, "b", 0.5, 2), heard(tx, "c", 0.5, 3, H5)]

    def staged(run: str) -> list[Staging]:
        out = []
        for i, frame in enumerate(frames):
            st = Staging(tmp_path / run / f"{i:05d}")
            st.add(result(positions=schema.conform(frame, schema.POSITIONS)))
            out.append(st)
        return out

    con = connect(tmp_path / "tmp", merge_settings(timedelta(seconds=30)))
    full = check_batch(con, staged("full"), ClockSettings())
    rows = sum(f.height for f in frames)
    sampled = check_batch(con, staged("sampled"), ClockSettings(match_rows=rows // 4))
    c_full = full.stations.filter(pl.col("station") == "c").row(0, named=True)
    c_sampled = sampled.stations.filter(pl.col("station") == "c").row(0, named=True)
    assert c_full["action"] == c_sampled["action"] == "corrected"
    assert c_sampled["offset_s"] == c_full["offset_s"] == pytest.approx(-5 * 3600, abs=2)
    assert 30 <= c_sampled["copies"] < c_full["copies"]


def test_a_station_ingested_later_is_matched_against_the_store(tmp_path: Path,
                                                               three_stations) -> None:
    """Stations delivered in separate ingests: c, alone in the second, is placed by its
    copies of the reports a and b delivered in the first (already in the store)."""
    _, (a, b, c) = three_stations
    store = Store(tmp_path / "store")
    store.ingest([a, b])
    (report,) = store.ingest([c])
    (entry,) = report.clocks
    assert entry["action"] == "corrected"
    assert entry["offset_s"] == pytest.approx(-5 * 3600, abs=2)
    pos = stored(store)
    assert pos["ts"].min() >= T0 - timedelta(seconds=2)
    assert pos.height == pos.select(pl.struct("mmsi", "second", "lat", "lon").n_unique()).item()
    clocks = station_clocks(store.path, store.snapshot().table_files(layout.CLOCKS))
    assert clocks["station"].to_list() == ["a", "b", "c"]  # the stored ones are not listed
    assert clocks.filter(pl.col("station") == "c")["reference"].item() == "(stored)"


def test_a_store_takes_its_own_clock_settings(tmp_path: Path, three_stations) -> None:
    """``Store(clock_settings=...)`` reaches the check (``seawatch ingest --same-clock`` and
    the others build it): demanding more copies than the stations share leaves c unplaced
    by copies (its second residual then says on time modulo a minute: five hours early)."""
    _, paths = three_stations
    strict = Store(tmp_path / "strict", clock_settings=ClockSettings(min_copies=10**6))
    strict.ingest(paths)
    clocks = station_clocks(strict.path, strict.snapshot().table_files(layout.CLOCKS))
    assert clocks.filter(pl.col("station") == "c")["reference"].item() == "second"
    assert stored(strict).filter(pl.col("ts") < T0 - timedelta(hours=1)).height > 0
    assert strict.settings.clock_settings.window == strict.dedup_window
