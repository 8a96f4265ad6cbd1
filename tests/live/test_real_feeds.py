"""Real captures (shared/data, skipped when absent) through a live TCP feed named after the
file: the store ends as ``seawatch ingest`` of the file leaves it, but for the times of the
lines that carry none of their own, which are the moment they arrived (a file's take the
time of the line before, docs/nmea.md)."""

from __future__ import annotations

import time

import polars as pl
import pytest

from seawatch.live.replay import replay, timed_lines
from seawatch.store import Store
from tests.conftest import shared_data_path
from tests.live.conftest import bound, positions, running, wait_for

CAPTURES = [  # (path, lines without a time of their own that carry a position)
    (("ais-nmea", "kystverket", "norwegian.raw"), 10),  # tag blocks, 28 lines without
    (("ais-nmea", "dma-aislib", "replay_dump.txt"), 0),  # Gatehouse $PGHP lines
    (("ais-edge-cases", "libais", "tagblock.nmea"), 0),  # g: groups, fragments apart
]


@pytest.mark.parametrize(("parts", "untimed"), CAPTURES, ids=[c[0][-1] for c in CAPTURES])
def test_a_real_capture_lands_as_ingest_puts_it(tmp_path, parts, untimed):
    path = shared_data_path(*parts)
    reference = Store(tmp_path / "reference")
    reference.ingest(path)
    timed = timed_lines(path)
    started = time.time()
    with running(tmp_path / "store", [f"listen {path.name}=tcp://127.0.0.1:0"]) as service:
        replay(timed, bound(service, path.name), speed=0)
        wait_for(lambda: service.feeds[0].stats.clients == 0
                 and service.writer.pending_lines == 0 and service.feeds[0].stats.lines > 0,
                 what="the capture")
    ended = time.time()
    got, want = positions(Store(tmp_path / "store")), positions(reference)
    keys = [c for c in want.columns if c != "ts"]
    assert got.height == want.height
    pairs = got.join(want, on=keys, how="inner", suffix="_file", nulls_equal=True)
    assert pairs.height == want.height
    arrived = pairs.filter(pl.col("ts") != pl.col("ts_file"))
    assert arrived.height == untimed
    seconds = arrived["ts"].dt.epoch("us") / 1e6
    assert ((seconds >= started) & (seconds <= ended)).all()
