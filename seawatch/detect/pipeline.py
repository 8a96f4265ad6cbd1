"""The detection pipeline: every detector of the registry over positions in chunks of vessels.

One pipeline serves a table in memory (one chunk, :class:`seawatch.detect.chunks.TableChunks`)
and a store read in chunks of whole vessels (:class:`seawatch.detect.chunks.StoreChunks`):

1. **Ports** (when a detector needs them): the shipped list, the user's, and with
   ``[ports] infer_anchorages`` the anchorages of the stationary periods of every chunk
   (:mod:`seawatch.detect.ports`, :mod:`seawatch.geo.anchorages`; a first pass over the
   chunks).
2. **Zones** (when a detector needs them): one index for both zone detectors; **coverage**
   (when a detector needs it, the gaps): what each feed heard, over all the positions
   (:meth:`seawatch.detect.chunks.Chunks.coverage`), never a chunk's alone.
3. **Each chunk**: read it, cut it into tracks (:func:`seawatch.detect.positions.segment_tracks`),
   flag the outliers (:func:`seawatch.tracks.flag_outliers`: single garbled reports no track
   explains; they are kept in :attr:`Run.outliers` and given to no detector), and run every
   detector in registry order with its section of the config and the
   :class:`~seawatch.detect.detector.Context`. A detector whose events of a chunk are final
   gives them; one that pairs vessels of different chunks (encounters), or needs such a
   detector's events (loitering), keeps its :class:`~seawatch.detect.detector.Split` part
   instead, unless the chunk is the whole table.
4. **Cross-vessel steps**: the split detectors combine the parts of all chunks, in order
   (the encounters, then loitering without the episodes that overlap one).
5. **Installations** (when loitering or encounters run): the loitering and encounter events
   at a fixed installation (the user's, and with ``[installations] use_inferred`` the
   candidates where those events of several vessels recur over days,
   :mod:`seawatch.geo.installations`) are dropped or lowered
   (:mod:`seawatch.detect.installations`).

Every detector is per vessel or per track apart from the split ones, so the events are the
same whatever the chunks. ``progress(step, done, total)`` is called as each step starts
(:data:`Progress`).

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> from seawatch.detect.chunks import TableChunks
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> track = pl.DataFrame({"mmsi": [735000001] * 13, "lat": [-0.93] * 13,
...                       "lon": [-80.72 - 0.01 * k for k in range(13)], "sog": 5.0,
...                       "ts": [t0 + timedelta(minutes=10 * k) for k in range(13)]})
>>> steps = []
>>> run = run_pipeline(TableChunks(track), types=["port_visit"],
...                    progress=lambda step, done, total: steps.append(step))
>>> run.events["type"].to_list(), steps
(['port_visit'], ['anchorages', 'segment', 'port_visit', 'done'])
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch import schema
from seawatch.detect.chunks import ANCHORAGE_COLUMNS, POSITION_COLUMNS, Chunks
from seawatch.detect.config import DetectConfig
from seawatch.detect.detector import Context, Detector
from seawatch.detect.events import empty_events
from seawatch.detect.installations import (
    AFFECTED_TYPES,
    at_installations,
    candidates_of,
    installation_table,
    with_candidates,
)
from seawatch.detect.ports import port_table
from seawatch.detect.positions import segment_tracks
from seawatch.detect.registry import detectors_for, wanted_types
from seawatch.detect.zones import as_zone_index
from seawatch.geo.anchorages import anchorages_from_periods, stationary_periods
from seawatch.tracks.outliers import OUTLIER_COLUMN, outlier_mask

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called as each step starts (``done`` steps finished) and
once more as ``progress("done", total, total)``."""


@dataclass
class Timer:
    """Calls ``progress`` as each step starts and adds up the seconds of each step name."""

    total: int
    progress: Progress | None
    seconds: dict[str, float] = field(default_factory=dict)
    done: int = 0
    _last: tuple[str, float] | None = None

    def start(self, step: str) -> None:
        now = time.perf_counter()
        if self._last is not None:
            name, since = self._last
            self.seconds[name] = self.seconds.get(name, 0.0) + now - since
        self._last = (step, now)
        if self.progress is not None:
            self.progress(step, min(self.done, self.total), self.total)
        self.done += 1


@dataclass(frozen=True)
class Run:
    """What :func:`run_pipeline` gives: the events, the seconds of each step name, the
    reports flagged ``outlier`` (``mmsi``, ``ts``, ``lat``, ``lon``, in that order), which
    no detector saw, the installation candidates found in the data
    (:func:`seawatch.geo.installations.installations_from_periods`; None when not searched)
    and the number of events at an installation per type (dropped, or lowered:
    ``[installations] score_factor``), and the installations the events were checked
    against that the user gave (:data:`seawatch.geo.installations.INSTALLATION_COLUMNS`;
    None when neither loitering nor encounters ran)."""

    events: pl.DataFrame
    seconds: dict[str, float]
    outliers: pl.DataFrame = field(default_factory=lambda: Run.no_outliers())
    candidates: pl.DataFrame | None = None
    at_installations: dict[str, int] = field(default_factory=dict)
    installations: pl.DataFrame | None = None

    @staticmethod
    def no_outliers() -> pl.DataFrame:
        """An empty :attr:`outliers` table."""
        return pl.DataFrame(schema=OUTLIER_ROWS)


OUTLIER_ROWS: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "ts": schema.TS,
    "lat": pl.Float64(),
    "lon": pl.Float64(),
}
"""The columns of :attr:`Run.outliers`: the key of a position (``seawatch.tracks.clean``)."""


def run_pipeline(
    chunks: Chunks,
    *,
    vessels: pl.DataFrame | None = None,
    zones: Sequence[Zone] | None = None,
    ports: pl.DataFrame | None = None,
    config: DetectConfig | None = None,
    types: Iterable[str] | None = None,
    progress: Progress | None = None,
    installations: pl.DataFrame | None = None,
    anchorages: pl.DataFrame | None = None,
    at_installations_step: bool = True,
    identities: pl.DataFrame | None = None,
    watchlists: pl.DataFrame | None = None,
) -> Run:
    """The events of positions in chunks of whole vessels (see the module docstring).

    Parameters
    ----------
    chunks
        The positions (:class:`seawatch.detect.chunks.Chunks`).
    vessels, zones, ports, config, types, progress, installations
        As :func:`seawatch.detect.run.detect_all`.
    anchorages
        With ``[ports] infer_anchorages``: the anchorages to use
        (:func:`seawatch.geo.anchorages.anchorages_from_periods` of all the positions)
        instead of inferring them from ``chunks``; incremental detection
        (:mod:`seawatch.live.detect`) gives those of the whole store to a window of it.
    identities
        Every identity report (the store's ``vessels`` table) for the identity detectors;
        default: ``vessels`` (which may hold several reports per MMSI).
    watchlists
        The watchlist entries to match (:data:`seawatch.detect.watchlist.ENTRY_COLUMNS`).
    at_installations_step
        False leaves out step 5 (the events are then as found, none dropped or lowered at
        an installation): incremental detection applies it to all its events at once.

    Returns
    -------
    Run
        The events of the wanted types (``seawatch.schema.EVENTS``), sorted by ``start``,
        ``type``, ``mmsi``; the seconds of each step name, summed over the chunks; and the
        reports flagged ``outlier``, sorted by ``mmsi``, ``ts``.
    """
    cfg = config or DetectConfig()
    wanted = wanted_types(types)
    detectors = detectors_for(wanted)
    needs = {n for d in detectors for n in d.needs}
    infer = "ports" in needs and cfg.ports.infer_anchorages
    at_inst = bool({d.name for d in detectors} & set(AFFECTED_TYPES))
    # the user's installations are read first: a bad file fails the run before it starts
    fixed = installation_table(cfg.installations, installations) if at_inst else None
    split = {} if chunks.in_memory else {d.name: d.split for d in detectors if d.split}
    per_chunk = ((1 if infer and anchorages is None else 0) + (0 if chunks.in_memory else 1)
                 + 1 + len(detectors))
    timer = Timer(total=len(chunks) * per_chunk + len(split) + int("traffic" in needs),
                  progress=progress)

    port_rows = None
    if "ports" in needs:
        found_anchorages = anchorages
        if infer and anchorages is None:
            periods = []
            for k in range(len(chunks)):
                timer.start("anchorages")
                periods.append(
                    stationary_periods(chunks.read(k, ANCHORAGE_COLUMNS), params=cfg.ports)
                )
            found_anchorages = anchorages_from_periods(pl.concat(periods), params=cfg.ports)
            del periods
        port_rows = port_table(None, ports, cfg, anchorages=found_anchorages)
    zone_index = as_zone_index(zones)[1] if "zones" in needs else None
    coverage = chunks.coverage() if "coverage" in needs else None
    traffic = None
    if "traffic" in needs:  # one picture of every chunk, before any is judged against it
        from seawatch.traffic.density import picture_of_chunks

        timer.start("traffic")
        resolution = cfg.section("route_anomaly").resolution  # type: ignore[attr-defined]
        traffic = picture_of_chunks(chunks, vessels, resolution)
    context = Context(vessels=vessels, ports=port_rows, zones=zone_index, coverage=coverage,
                      identities=vessels if identities is None else identities,
                      watchlists=watchlists, traffic=traffic)

    found: dict[str, list[Any]] = {d.name: [] for d in detectors}
    outliers: list[pl.DataFrame] = []
    for k in range(len(chunks)):
        if not chunks.in_memory:
            timer.start("read")
        positions = chunks.read(k, POSITION_COLUMNS)
        timer.start("segment")
        segmented, flagged = _without_outliers(segment_tracks(positions, cfg.segment))
        outliers.append(flagged)
        del positions
        for d in detectors:
            timer.start(d.name)
            params = cfg.section(d.name)
            if d.name in split:
                found[d.name].append(split[d.name].part(segmented, params, context))
            else:
                events = _conformed(d.detect(segmented, params, context))
                found[d.name].append(events)
                context = _provide(context, d, events)
        del segmented
    for d in detectors:
        if d.name not in split:
            continue
        timer.start(d.name)
        events = _conformed(split[d.name].combine(found[d.name], cfg.section(d.name), context))
        found[d.name] = [events]
        context = _provide(context, d, events)
    timer.start("done")
    for d in detectors:
        count = sum(f.height for f in found[d.name])
        log.info("%s: %d events in %.2f s", d.name, count, timer.seconds.get(d.name, 0.0))
    if sum(f.height for f in outliers):
        log.info("%d reports flagged outlier", sum(f.height for f in outliers))
    events = _events((f for frames in found.values() for f in frames), wanted)
    counts: dict[str, int] = {}
    candidates = None
    if fixed is not None and at_installations_step:
        if cfg.installations.infer:  # the stand-bys of every detector run, wanted or not
            ran = [f for frames in found.values() for f in frames if f.height]
            every = pl.concat(ran) if ran else empty_events()
            candidates = candidates_of(every, params=cfg.installations)
        table = with_candidates(cfg.installations, fixed, candidates)
        events, counts = at_installations(events, table, params=cfg.installations)
    return Run(
        events,
        timer.seconds,
        pl.concat(outliers).sort("mmsi", "ts", maintain_order=True)
        if outliers
        else Run.no_outliers(),
        candidates,
        counts,
        fixed,
    )


def _without_outliers(segmented: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The segmented positions without the reports flagged ``outlier`` (flagged here unless
    the table has the column), and those reports (:data:`OUTLIER_ROWS`)."""
    flags = (
        segmented[OUTLIER_COLUMN].fill_null(False).to_numpy()
        if OUTLIER_COLUMN in segmented.columns
        else outlier_mask(segmented)
    )
    flagged = segmented.filter(pl.Series(flags)).select(
        pl.col(c).cast(t) for c, t in OUTLIER_ROWS.items()
    )
    if flagged.height == 0:
        return segmented, flagged
    return segmented.filter(pl.Series(~flags)), flagged


def _conformed(events: pl.DataFrame) -> pl.DataFrame:
    return schema.conform(events, schema.EVENTS) if events.height else empty_events()


def _provide(context: Context, detector: Detector[Any], events: pl.DataFrame) -> Context:
    """``context`` with the events of ``detector`` where it provides a need."""
    if detector.provides is None:
        return context
    provided: dict[str, Any] = {detector.provides: events}
    return dataclasses.replace(context, **provided)


def _events(found: Iterable[pl.DataFrame], wanted: set[str]) -> pl.DataFrame:
    """The events of every step of the wanted types, as one table sorted by start."""
    frames = [
        f.filter(pl.col("type").is_in(sorted(wanted))).select(list(schema.EVENTS))
        for f in found
        if f.height
    ]
    if not frames:
        return empty_events()
    return pl.concat(frames).sort("start", "type", "mmsi", nulls_last=True)
