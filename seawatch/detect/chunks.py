"""Positions in chunks of whole vessels: one table in memory, or a store read by MMSI range.

The pipeline (:mod:`seawatch.detect.pipeline`) reads the positions chunk by chunk
(:class:`Chunks`). A table in memory is one chunk (:class:`TableChunks`); a store is cut into
ranges of MMSI holding about ``chunk_positions`` positions each (:func:`mmsi_chunks`,
:class:`StoreChunks`): day files are sorted by MMSI, so a range reads few row groups, and a
vessel is never split, so every per-vessel step sees all of a vessel's positions.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, UTC
>>> table = pl.DataFrame({"mmsi": [1, 2], "ts": [datetime(2026, 1, 15, tzinfo=UTC), None],
...                       "lat": [0.0, 0.0], "lon": [0.0, 0.0]})
>>> chunks = TableChunks(table)
>>> len(chunks), chunks.read(0, POSITION_COLUMNS).height   # rows without a time are dropped
(1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import polars as pl

from seawatch.detect.positions import prepare_positions
from seawatch.errors import Conflict, InvalidValue, Unavailable

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.store import Store

POSITION_COLUMNS: tuple[str, ...] = (
    "mmsi",
    "ts",
    "lat",
    "lon",
    "sog",
    "cog",
    "heading",
    "nav_status",
    "msg_type",
    "source",
)
"""Columns a store chunk is read with (the motion, the transponder class and the feed, which
the gap detector checks the coverage of); ``accuracy``, ``second`` and ``mmsi_valid`` are used
by no detector. ``source`` is read as a categorical: a few distinct feeds, so it adds about a
tenth to a chunk's memory where text would add a quarter."""

ANCHORAGE_COLUMNS: tuple[str, ...] = ("mmsi", "ts", "lat", "lon", "sog")
"""Columns the anchorage pass reads (:mod:`seawatch.detect.ports`)."""

DEFAULT_CHUNK_POSITIONS = 2_000_000
"""Positions per chunk of a store (whole vessels, so a chunk may hold more). Measured peaks
(docs/benchmarks.md): 1.2 GB on 10 M positions and 1.8 GB on 50 M; chunks of 1 M: 0.9 and
1.6 GB, a little slower. The samples kept for the encounters add about 60 MB per million
positions."""


class Chunks(Protocol):
    """Positions in chunks of whole vessels, read one at a time."""

    @property
    def in_memory(self) -> bool:
        """The positions are one table in memory: reading it is no step of its own, and the
        detectors that pair vessels run on it whole (no :class:`~seawatch.detect.detector.Split`).
        """
        ...

    def __len__(self) -> int: ...

    def read(self, k: int, columns: Sequence[str]) -> pl.DataFrame:
        """Chunk ``k``'s positions with a time and a place (at least ``columns``)."""
        ...

    def coverage(self) -> pl.DataFrame:
        """What each feed heard per hour and grid cell over all the chunks
        (:data:`seawatch.schema.COVERAGE`)."""
        ...


class TableChunks:
    """One positions table, held in memory: one chunk (all its columns, whatever asked)."""

    in_memory = True

    def __init__(self, positions: pl.DataFrame) -> None:
        self.positions = prepare_positions(positions)

    def __len__(self) -> int:
        return 1

    def read(self, k: int, columns: Sequence[str]) -> pl.DataFrame:
        return self.positions

    def coverage(self) -> pl.DataFrame:
        from seawatch.store.coverage import coverage

        return coverage(self.positions)


@dataclass(frozen=True)
class StoreChunks:
    """The positions of a store's current snapshot, in ranges of MMSI (:func:`mmsi_chunks`).

    Build it with :meth:`of`. ``stats`` holds ``mmsi``, ``n``, ``t0``, ``t1`` per vessel.
    """

    store: Store
    scan: pl.LazyFrame
    stats: pl.DataFrame
    ranges: list[tuple[int | None, int | None]]
    snapshot: int
    in_memory: bool = False

    @classmethod
    def of(cls, store: Store, chunk_positions: int) -> StoreChunks:
        """The chunks of ``store``'s positions, about ``chunk_positions`` each.

        Raises
        ------
        seawatch.errors.Unavailable
            The store holds no positions (ingest first).
        """
        snapshot = store.snapshot_id
        scan = store.positions()  # the files of this snapshot, for every chunk
        stats = (
            scan.group_by("mmsi")
            .agg(
                pl.len().alias("n"),
                pl.col("ts").min().alias("t0"),
                pl.col("ts").max().alias("t1"),
            )
            .collect()
        )
        if not stats.height or int(stats["n"].sum()) == 0:
            raise Unavailable(
                f"store {store.path} holds no positions: ingest AIS first "
                f"(seawatch ingest FILE --store {store.path})"
            )
        return cls(store, scan, stats, mmsi_chunks(stats, chunk_positions), snapshot)

    def __len__(self) -> int:
        return len(self.ranges)

    def read(self, k: int, columns: Sequence[str]) -> pl.DataFrame:
        """Chunk ``k`` with ``columns``.

        Raises
        ------
        seawatch.errors.Conflict
            The store's positions were replaced since the chunks were made (an ingest ran).
        """
        low, high = self.ranges[k]
        wanted = [pl.col(c).cast(pl.Categorical) if c == "source" else pl.col(c) for c in columns]
        try:
            frame = self.scan.filter(in_range(low, high)).select(wanted).collect()
        except (OSError, pl.exceptions.ComputeError) as exc:
            if self.store.snapshot_id != self.snapshot:
                raise Conflict(
                    f"the positions of store {self.store.path} changed during detection "
                    f"(snapshot {self.snapshot} -> {self.store.snapshot_id}: an ingest ran); "
                    "run detect again"
                ) from exc
            raise
        return prepare_positions(frame)

    def coverage(self) -> pl.DataFrame:
        """The store's coverage (:meth:`seawatch.store.Store.coverage`): recorded at ingest
        for the whole store, so every chunk's vessels are judged against all the others."""
        return self.store.coverage()


def mmsi_chunks(counts: pl.DataFrame, max_positions: int) -> list[tuple[int | None, int | None]]:
    """Ranges of MMSI that split a store's vessels into chunks of about ``max_positions``.

    Parameters
    ----------
    counts : polars.DataFrame
        ``mmsi`` and ``n``, the positions of each MMSI (null MMSIs are ignored).
    max_positions : int
        The positions are cut, in MMSI order, into the fewest equal shares of at most this
        many; each vessel goes to the share where its first position falls, so a chunk holds
        a share plus at most one vessel's positions (a vessel is never split).

    Returns
    -------
    list of (low, high)
        Inclusive MMSI bounds of each chunk, in increasing order; the first has no lower bound
        and the last no upper bound (``None``), so together they cover every MMSI once.

    Raises
    ------
    seawatch.errors.InvalidValue
        ``max_positions`` is less than 1.

    Examples
    --------
    >>> counts = pl.DataFrame({"mmsi": [5, 1, 9, 7], "n": [3, 3, 3, 3]})
    >>> mmsi_chunks(counts, 6)  # 12 positions: 2 shares of 6
    [(None, 6), (7, None)]
    >>> mmsi_chunks(counts, 5)  # 3 shares of 4: MMSI 5 starts at position 3, in the first
    [(None, 6), (7, 8), (9, None)]
    >>> mmsi_chunks(counts, 100)
    [(None, None)]
    """
    if max_positions < 1:
        raise InvalidValue(f"chunks must hold at least 1 position; got {max_positions}")
    ordered = counts.select("mmsi", "n").drop_nulls("mmsi").sort("mmsi")
    n = ordered["n"].cast(pl.Int64).to_numpy()
    total = int(n.sum())
    if total == 0:
        return [(None, None)]
    shares = -(-total // max_positions)  # ceil
    before = np.cumsum(n) - n  # positions of the vessels before each one
    share = np.minimum(before * shares // total, shares - 1)
    first = np.flatnonzero(np.r_[True, share[1:] != share[:-1]])
    starts = [int(m) for m in ordered["mmsi"].to_numpy()[first]]
    lows: list[int | None] = [None, *starts[1:]]
    highs: list[int | None] = [*(s - 1 for s in starts[1:]), None]
    return list(zip(lows, highs, strict=True))


def in_range(low: int | None, high: int | None) -> pl.Expr:
    """``mmsi`` within the inclusive bounds of a chunk (None: unbounded).

    >>> pl.DataFrame({"mmsi": [1, 5, 9]}).filter(in_range(2, None))["mmsi"].to_list()
    [5, 9]
    """
    mmsi = pl.col("mmsi")
    if low is None and high is None:
        return mmsi.is_not_null()
    if low is None:
        return mmsi <= high
    if high is None:
        return mmsi >= low
    return mmsi.is_between(low, high)
