"""Synthetic ReadResult chunks for the store tests (no decoder needed).

Imported by the tests and by the subprocess of the kill test, so it depends only on
seawatch, Polars and NumPy.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.io.quarantine import QuarantineLog
from seawatch.io.result import ReadResult

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def ts(seconds: float, base: datetime = T0) -> datetime:
    """``base`` plus ``seconds``."""
    return base + timedelta(seconds=seconds)


def positions(rows: list[dict[str, Any]] | dict[str, list[Any]]) -> pl.DataFrame:
    """A canonical positions frame from rows or columns (missing columns are null)."""
    frame = pl.DataFrame(rows) if isinstance(rows, dict) else pl.from_dicts(rows)
    return schema.conform(frame, schema.POSITIONS)


def table(name: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    return schema.conform(pl.from_dicts(rows), schema.TABLES[name])


def result(
    positions: pl.DataFrame | None = None,
    vessels: pl.DataFrame | None = None,
    stations: pl.DataFrame | None = None,
    other_messages: pl.DataFrame | None = None,
    bad: list[tuple[str, str, int, str]] | None = None,
    input_bytes: int = 0,
) -> ReadResult:
    """A ReadResult; ``bad`` lists quarantined lines as (reason, file, line_no, raw)."""
    out = ReadResult()
    if positions is not None:
        out.positions = positions
    if vessels is not None:
        out.vessels = vessels
    if stations is not None:
        out.stations = stations
    if other_messages is not None:
        out.other_messages = other_messages
    log = QuarantineLog()
    for reason, file, line_no, raw in bad or []:
        log.add(reason, file, line_no, raw)
    out.quarantine_log = log
    out.stats = Counter({"input_bytes": input_bytes, "messages": out.positions.height})
    return out


def random_positions(
    n: int, *, seed: int, start: datetime = T0, hours: float = 48, vessels: int = 40
) -> pl.DataFrame:
    """``n`` position reports of ``vessels`` MMSIs spread over ``hours`` from ``start``."""
    rng = np.random.default_rng(seed)
    offset_us = rng.integers(0, int(hours * 3600e6), n)
    ts_us = int(start.timestamp() * 1e6) + offset_us
    frame = pl.DataFrame(
        {
            "mmsi": 735_000_000 + rng.integers(0, vessels, n),
            "ts": ts_us,
            "lat": np.round(rng.uniform(-3, 1, n), 5),
            "lon": np.round(rng.uniform(-92, -80, n), 5),
            "sog": np.round(rng.uniform(0, 15, n), 1),
            "cog": np.round(rng.uniform(0, 360, n), 1),
            "heading": rng.integers(0, 360, n),
            "nav_status": rng.integers(0, 9, n),
            "msg_type": rng.choice([1, 3, 18], n),
            "source": rng.choice(["rx-manta", "rx-salinas", "sat"], n),
            "accuracy": rng.random(n) < 0.5,
            "mmsi_valid": np.ones(n, dtype=bool),
        }
    ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    frame = frame.with_columns(pl.col("ts").dt.second().alias("second"))
    # nulls where AIS says 'not available'
    frame = frame.with_columns(
        pl.when(pl.col("msg_type") == 18)
        .then(None)
        .otherwise(pl.col("nav_status"))
        .alias("nav_status"),
        pl.when(pl.col("heading") > 350).then(None).otherwise(pl.col("heading")).alias("heading"),
    )
    return schema.conform(frame, schema.POSITIONS)


def with_copies(frame: pl.DataFrame, fraction: float, *, seed: int) -> pl.DataFrame:
    """``frame`` plus copies of a fraction of its rows heard 0-5 s later by another receiver."""
    rng = np.random.default_rng(seed)
    copies = frame.sample(fraction=fraction, seed=seed)
    delay_us = rng.integers(0, 5_000_000, copies.height)
    copies = copies.with_columns(
        (pl.col("ts") + pl.Series(delay_us).cast(pl.Duration("us"))).alias("ts"),
        pl.lit("rx-copy").alias("source"),
    )
    return pl.concat([frame, copies])


def random_input(n: int, *, seed: int, start: datetime = T0, hours: float = 48) -> pl.DataFrame:
    """Positions with ~10 % receiver copies, shuffled as a feed would deliver them."""
    frame = with_copies(random_positions(n, seed=seed, start=start, hours=hours), 0.1, seed=seed)
    return frame.sample(fraction=1.0, shuffle=True, seed=seed)


def vessels_frame(n: int, *, seed: int, start: datetime = T0, hours: float = 48) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    ts_us = int(start.timestamp() * 1e6) + rng.integers(0, int(hours * 3600e6), n)
    mmsi = 735_000_000 + rng.integers(0, 40, n)
    frame = pl.DataFrame(
        {
            "mmsi": mmsi,
            "ts": ts_us,
            "name": [f"VESSEL {m % 1000}" for m in mmsi],
            "callsign": [f"HC{m % 1000}" for m in mmsi],
            "ship_type": rng.choice([30, 70, 80], n),
            "length": rng.choice([20.0, 90.0], n),
            "msg_type": 5,
            "source": rng.choice(["rx-manta", "sat"], n),
            "flag": "ECU",
        }
    ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    return schema.conform(frame, schema.VESSELS)


def chunks(
    frame: pl.DataFrame, size: int, *, vessels: pl.DataFrame | None = None
) -> list[ReadResult]:
    """Split positions into ReadResult chunks of ``size`` rows; vessels go in the first."""
    out = [
        result(positions=frame.slice(i, size), input_bytes=1000)
        for i in range(0, max(frame.height, 1), size)
    ]
    if vessels is not None:
        out[0].vessels = vessels
    out[0].quarantine_log.add("bad_checksum", "synthetic.nmea", 7, "!AIVDM,bad*00")
    out[0].quarantine_log.add("not_ais", "synthetic.nmea", 9, "$GPGGA,junk")
    return out


def first_input() -> list[ReadResult]:
    """The input already in the store before the kill test's ingest."""
    return chunks(random_input(20_000, seed=1, hours=36), 5_000, vessels=vessels_frame(300, seed=1))


def second_input() -> list[ReadResult]:
    """The input the kill test interrupts: overlaps the first in time and content."""
    frame = random_input(30_000, seed=2, start=T0 + timedelta(hours=24), hours=60)
    overlap = random_input(10_000, seed=1, hours=36).head(3_000)  # copies of stored rows
    return chunks(pl.concat([frame, overlap]), 5_000, vessels=vessels_frame(500, seed=2))


def small_first() -> list[ReadResult]:
    """A few rows in every table over two days (the failure-injection tests)."""
    day = 86_400
    pos = positions(
        [{"mmsi": 1, "ts": ts(10 * i), "lat": 0.1 * i, "second": i % 60} for i in range(20)]
        + [{"mmsi": 2, "ts": ts(day + 5), "lat": 1.0, "second": 5}]
    )
    ves = table("vessels", [{"mmsi": 1, "ts": ts(0), "name": "UNO", "msg_type": 5}])
    sta = table("stations", [{"mmsi": 7350001, "ts": ts(0), "msg_type": 4, "lat": -0.9}])
    oth = table("other_messages", [{"mmsi": 1, "ts": ts(day + 1), "msg_type": 8, "payload": "a"}])
    bad = [("bad_checksum", "first.nmea", 1, "x")]
    return [result(positions=pos, vessels=ves, stations=sta, other_messages=oth, bad=bad)]


def small_second() -> list[ReadResult]:
    """Overlaps small_first: 5 receiver copies, one station copy, a third day."""
    day = 86_400
    copies = positions(
        [{"mmsi": 1, "ts": ts(10 * i + 1), "lat": 0.1 * i, "second": i % 60} for i in range(5)]
    )
    pos = positions(
        [{"mmsi": 2, "ts": ts(day + 7 + 60 * i), "lat": 1.0 + i, "second": 7} for i in range(9)]
        + [{"mmsi": 3, "ts": ts(2 * day + 3), "lat": 2.0}]
    )
    ves = table("vessels", [{"mmsi": 1, "ts": ts(day), "name": "UNO", "callsign": "HC1"}])
    sta = table("stations", [{"mmsi": 7350001, "ts": ts(2), "msg_type": 4, "lat": -0.9}])
    oth = table("other_messages", [{"mmsi": 1, "ts": ts(day + 2), "msg_type": 8, "payload": "b"}])
    bad = [("malformed", "second.nmea", 4, "y")]
    return [
        result(positions=copies, vessels=ves, bad=bad),
        result(positions=pos, stations=sta, other_messages=oth),
    ]


SHA_FIRST = "1" * 64
SHA_SECOND = "2" * 64
