"""Run every detector over a positions table, or over a whole store.

:func:`detect_all` is the pipeline of DESIGN.md on one table: segment the tracks
(:func:`seawatch.tracks.segment`), then detect ``spoofing``, ``gap``, ``encounter``,
``loitering`` (given the encounters, so a vessel in an encounter is not also loitering),
``zone_entry``/``zone_exit``, ``fishing_in_zone``, ``port_visit``, ``identity_change`` /
``invalid_identity`` (from every identity report), ``type_mismatch`` and ``watchlist_hit``
(:data:`seawatch.detect.registry.DETECTORS`), each with its section of
:class:`seawatch.detect.config.DetectConfig`. :func:`detect_store` gives the events of all
positions of a store as one table (time-ordered per vessel: no day boundaries, so an episode
straddling midnight or two input files is one event) and replaces the store's events table.

Both run the same pipeline (:mod:`seawatch.detect.pipeline`): a table is one chunk, and a
store is read in chunks of whole vessels (ranges of MMSI holding about ``chunk_positions``
positions, :mod:`seawatch.detect.chunks`), so its memory follows the chunk size, not the
store. Between chunks only the events and what the cross-vessel steps need are kept: each
vessel's stationary periods (anchorage inference, a first pass over the chunks), its
10-minute samples (encounters pair them once all chunks are done) and its loitering
candidates (dropped afterwards where they overlap an encounter). The events are identical to
:func:`detect_all` of the whole table, whatever the chunk size.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> track = pl.DataFrame({"mmsi": [735000001] * 13, "lat": [-0.93] * 13,
...                       "lon": [-80.72 - 0.01 * k for k in range(13)], "sog": 5.0,
...                       "ts": [t0 + timedelta(minutes=10 * k) for k in range(13)]})
>>> detect_all(track, types=["port_visit"])["type"].to_list()
['port_visit']
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import polars as pl

from seawatch.detect.chunks import (
    DEFAULT_CHUNK_POSITIONS,
    POSITION_COLUMNS,
    StoreChunks,
    TableChunks,
)
from seawatch.detect.config import DetectConfig
from seawatch.detect.pipeline import Progress, run_pipeline
from seawatch.detect.registry import DETECTED_TYPES
from seawatch.tracks.outliers import outlier_summary

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone
    from seawatch.store import Store

__all__ = ["DETECTED_TYPES", "POSITION_COLUMNS", "detect_all", "detect_store"]


def detect_all(
    positions: pl.DataFrame,
    vessels: pl.DataFrame | None = None,
    *,
    zones: Sequence[Zone] | None = None,
    ports: pl.DataFrame | None = None,
    config: DetectConfig | None = None,
    types: Iterable[str] | None = None,
    progress: Progress | None = None,
    installations: pl.DataFrame | None = None,
    watchlists: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """All events of a positions table.

    Parameters
    ----------
    positions : polars.DataFrame
        Positions (``seawatch.schema.POSITIONS``) of any number of vessels, in any order,
        possibly from several files; rows without a time or a place are ignored. With a
        ``segment_id`` column they are taken as segmented already.
    vessels : polars.DataFrame, optional
        One row per MMSI with ``ship_type`` and ``flag`` (``Store.latest_identity()``).
        Without it no vessel is known to fish (no ``fishing_in_zone``) and loitering
        excludes none.
    zones : sequence of Zone, optional
        Zones for zone crossings and ``fishing_in_zone``. Default:
        :func:`seawatch.geo.default_zones` (docs/detectors.md: the defaults *or* a file).
    ports : polars.DataFrame, optional
        Ports added to the shipped list (docs/detectors.md: shipped *plus* ``--ports``),
        used by encounters, loitering and port visits; see
        :func:`seawatch.detect.ports.port_table`.
    config : DetectConfig, optional
        Parameters of every detector (default: their models' defaults).
    types : iterable of str, optional
        Only these event types (default: all of :data:`DETECTED_TYPES`); detectors that
        produce none of them are skipped, except that encounters run for loitering.
    progress : callable, optional
        ``progress(step, done, total)``, see :data:`seawatch.detect.pipeline.Progress`.
    installations : polars.DataFrame, optional
        Fixed installations (:func:`seawatch.geo.installations.load_installations`), added
        to those of ``[installations] files``: loitering and encounters there are dropped
        or lowered (:mod:`seawatch.detect.installations`).
    watchlists : polars.DataFrame, optional
        Watchlist entries (:data:`seawatch.detect.watchlist.ENTRY_COLUMNS`) for
        ``watchlist_hit`` events; none without it.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``) of every step, sorted by ``start``, ``type``,
        ``mmsi``.

    Raises
    ------
    seawatch.errors.InvalidValue
        An event type no detector produces, or zones with the same name.
    """
    return run_pipeline(
        TableChunks(positions),
        vessels=vessels,
        zones=zones,
        ports=ports,
        config=config,
        types=types,
        progress=progress,
        installations=installations,
        watchlists=watchlists,
    ).events


def detect_store(
    store: Store,
    zones: Sequence[Zone] | None = None,
    ports: pl.DataFrame | None = None,
    config: DetectConfig | None = None,
    progress: Progress | None = None,
    *,
    chunk_positions: int | None = None,
    installations: pl.DataFrame | None = None,
    watchlists: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Detect all events of a store's positions and replace its events table with them.

    The positions are read in chunks of whole vessels (ranges of MMSI, see
    :func:`seawatch.detect.chunks.mmsi_chunks`), so memory follows the chunk size, not the
    store; the events are identical to :func:`detect_all` of all positions as one table (see
    the module docstring), so episodes across midnight and across input files are single
    events.

    Parameters
    ----------
    store : seawatch.store.Store
        The store. Its positions (columns :data:`POSITION_COLUMNS`) are those of the
        snapshot current when the run starts; identities come from
        ``store.latest_identity()``, and the identity detectors read every report
        (``store.vessels()``).
    zones, ports, config, progress
        As :func:`detect_all`. ``progress(step, done, total)`` is called as each step of each
        chunk starts (``read``, ``segment``, ``spoofing``, ... and first ``anchorages`` once
        per chunk), then for the two cross-vessel steps ``encounter`` and ``loitering``.
    chunk_positions : int, optional
        Positions per chunk (default :data:`DEFAULT_CHUNK_POSITIONS`); a vessel is never
        split, so a chunk may hold more. It changes the memory and the time, never the
        events.
    installations : polars.DataFrame, optional
        As :func:`detect_all`. The run info (``Store.events_info()``) records under
        ``installations`` how many were given, the candidates found in the data, the
        events at an installation per type and the user's installations checked
        (``table``: those of ``[installations] files`` and ``installations``).
    watchlists : polars.DataFrame, optional
        As :func:`detect_all`.

    Returns
    -------
    polars.DataFrame
        The events written (:meth:`seawatch.store.Store.write_events`: the whole table is
        replaced atomically, so running detection again never duplicates events). The run's
        description (:meth:`seawatch.store.Store.events_info`) records, besides the
        parameters and timings, the reports flagged ``outlier`` and ignored by every
        detector (``outliers``: :func:`seawatch.tracks.outliers.outlier_summary`).

    Raises
    ------
    seawatch.errors.Unavailable
        The store holds no positions.
    seawatch.errors.Conflict
        The store's positions were replaced during the run.
    """
    began = time.perf_counter()
    cfg = config or DetectConfig()
    per_chunk = DEFAULT_CHUNK_POSITIONS if chunk_positions is None else int(chunk_positions)
    chunks = StoreChunks.of(store, per_chunk)
    run = run_pipeline(
        chunks,
        vessels=store.latest_identity(),
        zones=zones,
        ports=ports,
        config=cfg,
        progress=progress,
        installations=installations,
        identities=store.vessels().collect(),
        watchlists=watchlists,
    )
    stats = chunks.stats
    run_info = {
        "positions": int(stats["n"].sum()),
        "vessels": stats.height,
        "first_ts": stats["t0"].min(),
        "last_ts": stats["t1"].max(),
        "chunks": len(chunks),
        "chunk_positions": per_chunk,
        "zones": None if zones is None else [z.name for z in zones],
        "extra_ports": 0 if ports is None else ports.height,
        "installations": {
            "given": 0 if installations is None else installations.height,
            "candidates": [] if run.candidates is None else run.candidates.select(
                "name", "lat", "lon", "n_vessels", "standby_hours", "first", "last"
            ).to_dicts(),
            "at_installations": run.at_installations,
            # the user's installations as checked (files and --installations), for the map
            "table": [] if run.installations is None else run.installations.select(
                "name", "kind", "lat", "lon", "extent_km", "radius_km", "source"
            ).to_dicts(),
        },
        "config": cfg.as_dict(),
        "outliers": outlier_summary(run.outliers),
        "seconds": {
            **{k: round(v, 3) for k, v in run.seconds.items()},
            "total": round(time.perf_counter() - began, 3),
        },
    }
    store.write_events(run.events, run_info)
    return run.events
