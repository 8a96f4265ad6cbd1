"""Positions in chunks of whole vessels: MMSI ranges, a table, a store."""

from __future__ import annotations

import itertools

import polars as pl
import pytest

from seawatch.detect.chunks import mmsi_chunks


def test_mmsi_chunks_cover_every_mmsi_once():
    counts = pl.DataFrame(
        {"mmsi": [None, 7, 3, 100, 5, 9, 11], "n": [50, 1, 10, 40, 2, 2, 5]},
        schema={"mmsi": pl.Int64, "n": pl.UInt32},
    )
    chunks = mmsi_chunks(counts, 10)  # 60 positions with an MMSI: 6 shares of 10 positions
    assert chunks[0][0] is None and chunks[-1][1] is None
    for (_, high), (low, _) in itertools.pairwise(chunks):
        assert high is not None and low == high + 1
    # MMSI 100 (40 positions, shares 2 to 5) is never split: a chunk of its own
    assert chunks == [(None, 4), (5, 99), (100, None)]
    assert mmsi_chunks(counts, 1_000) == [(None, None)]
    assert mmsi_chunks(counts.filter(pl.col("mmsi").is_null()), 10) == [(None, None)]
    with pytest.raises(ValueError, match="at least 1 position"):
        mmsi_chunks(counts, 0)
