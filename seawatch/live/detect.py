"""Incremental detection: the batch detectors, re-run on a sliding window after each compaction.

Detection is a pure function of the positions, so ``seawatch live`` keeps no detector state of
its own: after a compaction (or every ``detect_every_s``) it re-runs the batch pipeline
(:func:`seawatch.detect.pipeline.run_pipeline`, the same kernels as ``seawatch detect``) on a
**window** of the store and splices the result into the events it carries:

* the **horizon** ``H`` (:func:`horizon`) is the longest span that can join new data to older
  data or that a detector reads before an event, derived from the parameter models
  (:data:`HORIZONS`: spoofing's ``merge_h``, the encounters' ``episode_gap``, loitering's
  ``merge_gap``, the segmenter's ``max_gap_h``, ...);
* with ``since`` the earliest time of the positions compacted since the last run, the
  **cut** is ``since - H``: an event (or stationary period) ending before the cut cannot
  change, one ending at or after it is replaced by the window's;
* a vessel heard since the last run whose previous position is older than the cut (it comes
  back from a silence: a gap, a stationary period) is cut at that previous position instead;
* the **window** starts ``H`` before the cut and before the start of every event or period
  that is replaced, so each one is recomputed from its first position with ``H`` of context.

The cross-vessel context is that of the whole store, as in batch: the coverage is the store's
(recorded at ingest), the anchorages are inferred from the stationary periods of all
positions (carried like the events: those ending before the cut kept, the window's after it),
and the installations step (:mod:`seawatch.detect.installations`: candidates from all events,
events at an installation dropped or lowered) runs on all the events carried at once. The
state carried is thus the events found before the installations step, the stationary
periods, and each vessel's last time: small beside the positions.

An event keeps its ``event_id`` (type, vessels, zone, start) as it grows. One is **open**
while its end lies within its detector's horizon (:data:`OPEN_HORIZONS`) of the newest
position: more data may still extend it; the run info (``Store.events_info()["live"]``)
lists the open ones. A vessel silent for more than ``[gap] min_gap_h`` (and at most
``max_gap_h``) is **dark**: the gap kernel run with the vessel back at its last place now
says whether the silence would be a gap; those provisional gaps are listed under
``live.dark``, with the id the gap takes once the vessel is heard again, and are not in the
events table, which equals ``seawatch detect`` of the same positions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch import schema
from seawatch.detect.chunks import ANCHORAGE_COLUMNS, POSITION_COLUMNS, TableChunks
from seawatch.detect.config import DetectConfig
from seawatch.detect.detector import Context
from seawatch.detect.events import empty_events
from seawatch.detect.installations import (
    at_installations,
    candidates_of,
    installation_table,
    with_candidates,
)
from seawatch.detect.pipeline import run_pipeline
from seawatch.detect.positions import prepare_positions, segment_tracks
from seawatch.detect.registry import detector
from seawatch.geo.anchorages import anchorages_from_periods, stationary_periods
from seawatch.live.compact import release_memory
from seawatch.live.wal import START, Position
from seawatch.units import parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from seawatch.geo.zones import Zone
    from seawatch.live.hot import HotPath
    from seawatch.live.hot_process import HotProcess
    from seawatch.store import Store

log = logging.getLogger(__name__)


def _h(value: float) -> timedelta:
    return timedelta(hours=float(value))


def _d(value: Any) -> timedelta:
    return parse_duration(value)


HORIZONS: dict[str, Callable[[DetectConfig], timedelta]] = {
    # a track goes on across a silence shorter than this (its segment, its outliers)
    "segment": lambda c: max(_h(c.segment.max_gap_h), _h(c.segment.buffer_h)),
    # bursts of identity switches closer than merge_h are one event; a track counts once
    # it lasts min_track_duration
    "spoofing": lambda c: max(_h(c.spoofing.merge_h), _d(c.spoofing.min_track_duration)),
    # positions_12h_before counts the track before the gap's first position; its own
    # positions in the revisit_h before are taken off the coverage
    "gap": lambda c: max(_h(c.gap.before_h), _h(c.gap.revisit_h)),
    # samples are interpolated across max_gap; pair episodes merge across merge_gap and
    # episode_gap; an episode becomes an event once it lasts min_duration
    "encounter": lambda c: max(_d(c.encounter.max_gap), _d(c.encounter.merge_gap),
                               _d(c.encounter.episode_gap), _d(c.encounter.min_duration)),
    # episodes merge across merge_gap; a slow stretch goes on across max_inner_gap and
    # becomes an event once it lasts min_duration
    "loitering": lambda c: max(_d(c.loitering.merge_gap), _d(c.loitering.max_inner_gap),
                               _d(c.loitering.min_duration)),
    # a crossing is between two consecutive positions of a track
    "zone": lambda c: timedelta(0),
    # fishing goes on across a pause of max_pause, an event once it lasts min_duration
    "fishing_in_zone": lambda c: max(_d(c.fishing_in_zone.max_pause),
                                     _d(c.fishing_in_zone.min_duration)),
    # a visit lasts while the track does (it ends when the vessel leaves or its track ends),
    # an event once it lasts min_duration (min_unseen_ends_duration without an entry or exit)
    "port_visit": lambda c: max(_h(c.segment.max_gap_h), _d(c.port_visit.min_duration),
                                _d(c.port_visit.min_unseen_ends_duration)),
    # an episode is whole UTC hours that become an event once they last min_duration
    # (identity and watchlist events need none: the identity reports are the store's
    # whatever the window, and an event that runs from a vessel's first position is
    # recomputed from it, as every event the window replaces)
    "type_mismatch": lambda c: _d(c.type_mismatch.min_duration) + timedelta(hours=1),
}
"""Per step: the longest span that can join new positions to older ones, that a candidate
can be in progress before it becomes an event, or that the step reads before an event it
finds, from its parameters."""

OPEN_HORIZONS: dict[str, str] = {
    "spoofing": "spoofing", "gap": "zone", "encounter": "encounter",
    "loitering": "loitering", "zone_entry": "zone", "zone_exit": "zone",
    "fishing_in_zone": "fishing_in_zone", "port_visit": "port_visit",
    "type_mismatch": "type_mismatch",
    # a chain ends with its loitering, or its encounter, which may still be growing
    "loiter_gap_loiter": "loitering", "dark_near_encounter": "encounter",
}
"""Event type -> the entry of :data:`HORIZONS` that decides whether it is still open. A gap
or a zone crossing is closed when it is found (it ends at a position already heard), and so
is a ``dark_rendezvous`` (it ends within its two gaps)."""


def horizon(config: DetectConfig) -> timedelta:
    """The window's horizon ``H``: the longest of :data:`HORIZONS` under ``config``.

    >>> horizon(DetectConfig())
    datetime.timedelta(days=2)
    """
    return max(span(config) for span in HORIZONS.values())


class _Window(TableChunks):
    """A window of the store's positions, judged against the store's whole coverage."""

    def __init__(self, positions: pl.DataFrame, store: Store) -> None:
        super().__init__(positions)
        self.store = store

    def coverage(self) -> pl.DataFrame:
        return self.store.coverage()


@dataclass
class DetectRun:
    """What one run did: the window it read, the events written, the open and dark ones."""

    since: datetime | None
    window_start: datetime | None
    newest: datetime | None
    positions: int
    events: int
    replaced: int
    open: list[str] = field(default_factory=list)
    dark: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    finished_at: float = 0.0
    whole: bool = False
    """Whether the run read the whole store (the first, or one after the inferred
    anchorages changed)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since, "window_start": self.window_start, "newest": self.newest,
            "positions": self.positions, "events": self.events, "replaced": self.replaced,
            "open": len(self.open), "dark": len(self.dark), "seconds": round(self.seconds, 3),
            "finished_at": self.finished_at, "whole": self.whole,
        }


class IncrementalDetector:
    """The events of a growing store, kept current by windowed re-runs (module docstring).

    Call :meth:`note` with the earliest time of each batch of positions added to the store,
    then :meth:`run`; the first run reads the whole store.
    """

    def __init__(
        self,
        store: Store,
        *,
        zones: Sequence[Zone] | None = None,
        ports: pl.DataFrame | None = None,
        config: DetectConfig | None = None,
        installations: pl.DataFrame | None = None,
    ) -> None:
        self.store = store
        self.zones = zones
        self.ports = ports
        self.config = config or DetectConfig()
        self.installations = installations
        self.horizon = horizon(self.config)
        # a bad installations file fails here, before the service starts
        self.fixed = installation_table(self.config.installations, installations)
        self.raw: pl.DataFrame | None = None  # events before the installations step
        self.anchorages: pl.DataFrame | None = None  # inferred, at the last run
        self.periods: pl.DataFrame | None = None  # stationary periods, for the anchorages
        self.last_seen = pl.DataFrame(schema={"mmsi": pl.Int64(), "first": schema.TS,
                                              "last": schema.TS})
        self.identity: pl.DataFrame | None = None  # IDENTITY_COLUMNS per vessel, last run
        self.segments = pl.DataFrame(schema={"segment_id": pl.Int64(), "mmsi": pl.Int64(),
                                             "first": schema.TS})
        self.pending: datetime | None = None
        self.runs = 0
        self.last: DetectRun | None = None

    # -- what changed ----------------------------------------------------------------------
    def note(self, first_ts: datetime | None) -> None:
        """Positions from ``first_ts`` on were added to the store (None: none)."""
        if first_ts is not None:
            self.pending = first_ts if self.pending is None else min(self.pending, first_ts)

    @property
    def due(self) -> bool:
        """Whether a run has something to do."""
        return self.raw is None or self.pending is not None

    # -- one run ---------------------------------------------------------------------------
    def run(self) -> DetectRun | None:
        """Detect on what changed and replace the store's events; None when nothing did
        (or the store holds no positions yet)."""
        if not self.due:
            return None
        began = time.perf_counter()
        since = None if self.raw is None else self.pending
        cfg = self.config
        H = self.horizon
        raw = self.raw if self.raw is not None else empty_events()
        periods = self.periods if self.periods is not None else _no_periods()
        vessels = self.store.latest_identity()
        identity = _identity(vessels)
        if since is None:
            cuts = None
            window_start = None
            frame = self._read(None, None)
        else:
            cut = since - H
            cuts = self._cuts(since, cut, identity)
            window_start, starts = self._window(raw, periods, cuts, cut)
            frame = self._read(window_start, starts)
        if frame.height == 0 and self.raw is None:
            return None
        anchorages = None
        if cfg.ports.infer_anchorages:
            found = stationary_periods(frame.select(ANCHORAGE_COLUMNS), params=cfg.ports)
            periods = _spliced(periods, found, cuts, ("mmsi",)).sort(
                "mmsi", "start", maintain_order=True)
            anchorages = anchorages_from_periods(periods, params=cfg.ports)
            if cuts is not None and not _same(anchorages, self.anchorages):
                # a new anchorage (or one gone) changes port visits, and the encounters
                # and loitering near ports, of any time: the whole store again
                log.info("the inferred anchorages changed: detecting on the whole store")
                since, cuts, window_start = None, None, None
                frame = self._read(None, None)
                periods = stationary_periods(frame.select(ANCHORAGE_COLUMNS),
                                             params=cfg.ports)
                anchorages = anchorages_from_periods(periods, params=cfg.ports)
            self.anchorages = anchorages
        segmented = self._segmented(frame)
        window = run_pipeline(
            _Window(segmented, self.store), vessels=vessels, zones=self.zones,
            ports=self.ports, config=cfg, installations=self.installations,
            anchorages=anchorages, at_installations_step=False,
            identities=self.store.vessels().collect(),  # every report, as seawatch detect
            watchlists=self._watchlists(),
        ).events
        by_type = None if since is None else self._type_cuts(since - H)
        merged = _spliced(raw, window, cuts, ("mmsi", "other_mmsi"), by_type).sort(
            "start", "type", "mmsi", nulls_last=True, maintain_order=True)
        replaced = raw.height if cuts is None else _replaced(
            raw, cuts, ("mmsi", "other_mmsi"), by_type).height
        self.raw, self.periods, self.pending = merged, periods, None
        seen = frame.group_by("mmsi").agg(pl.col("ts").min().alias("first"),
                                          pl.col("ts").max().alias("last"))
        self.last_seen = (pl.concat([self.last_seen, seen.cast(self.last_seen.schema)])
                          .group_by("mmsi").agg(pl.col("first").min(), pl.col("last").max())
                          .sort("mmsi"))
        self.identity = identity
        top = self.last_seen["last"].max() if self.last_seen.height else None
        newest = top if isinstance(top, datetime) else None
        candidates = candidates_of(merged, params=cfg.installations) if (
            cfg.installations.infer) else None
        table = with_candidates(cfg.installations, self.fixed, candidates)
        events, counts = at_installations(merged, table, params=cfg.installations)
        events = events.sort("start", "type", "mmsi", nulls_last=True, maintain_order=True)
        open_ids = self._open(events, newest)
        dark = self._dark(newest)
        self.runs += 1
        done = DetectRun(since, window_start, newest, frame.height, events.height, replaced,
                         open_ids, dark)
        done.whole = cuts is None
        done.seconds = time.perf_counter() - began
        done.finished_at = time.time()
        info = {
            "live": {"run": self.runs, **done.to_dict(), "horizon_h": H / timedelta(hours=1),
                     "open": open_ids, "dark": dark},
            "zones": None if self.zones is None else [z.name for z in self.zones],
            "extra_ports": 0 if self.ports is None else self.ports.height,
            "installations": {
                "given": 0 if self.installations is None else self.installations.height,
                "candidates": [] if candidates is None else candidates.select(
                    "name", "lat", "lon", "n_vessels", "standby_hours", "first", "last"
                ).to_dicts(),
                "at_installations": counts,
                "table": self.fixed.select(
                    "name", "kind", "lat", "lon", "extent_km", "radius_km", "source"
                ).to_dicts(),
            },
            "config": cfg.as_dict(),
            "seconds": {"total": round(done.seconds, 3)},
        }
        self.store.write_events(events, info)
        self.last = done
        return done

    # -- the window ------------------------------------------------------------------------
    def _segmented(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The window cut into tracks, each vessel's segments numbered as in the whole
        store: a window's first segment of a vessel takes the number of the segment its
        first position was in (carried: each segment's first time), the others follow."""
        out = segment_tracks(frame, self.config.segment)
        if not out.height:
            return out
        first = (out.filter(pl.col("segment_id").is_not_null()).sort("ts", maintain_order=True)
                 .group_by("mmsi", maintain_order=True)
                 .agg(pl.col("ts").first().alias("t0"), pl.col("segment_id").first().alias("w0"))
                 .sort("t0"))
        known = self.segments.sort("first")
        offset = first.join_asof(known, left_on="t0", right_on="first", by="mmsi",
                                 strategy="backward", check_sortedness=False).select(
            "mmsi", (pl.col("segment_id") - pl.col("w0")).fill_null(0).alias("_offset"))
        out = out.join(offset, on="mmsi", how="left").with_columns(
            (pl.col("segment_id") + pl.col("_offset").fill_null(0)).alias("segment_id")
        ).drop("_offset")
        found = (out.filter(pl.col("segment_id").is_not_null()).group_by("segment_id")
                 .agg(pl.col("mmsi").first(), pl.col("ts").min().alias("first")))
        self.segments = pl.concat([
            self.segments.join(found.select("segment_id"), on="segment_id", how="anti"),
            found.cast(self.segments.schema).select(self.segments.columns)])
        return out

    def _watchlists(self) -> pl.DataFrame | None:
        """The entries of the store's watchlists (its state's), read at every run: a list
        imported while the service runs is matched from the next run on."""
        from seawatch.share.watchlists import stored_entries

        return stored_entries(self.store.path)

    def _cuts(self, since: datetime, cut: datetime, identity: pl.DataFrame) -> pl.DataFrame:
        """The cut of every vessel (the row without an MMSI) and of those cut on their own:
        one heard since ``since`` and silent before it since before ``cut`` at its previous
        position; one whose identity (:data:`IDENTITY_COLUMNS`, which the detectors read
        for all its positions) changed at its first position."""
        heard = self.store.positions(start=since).select("mmsi").unique().collect()
        back = heard.join(self.last_seen, on="mmsi", how="inner").filter(
            pl.col("last") < cut).select("mmsi", pl.col("last").alias("cut"))
        before = self.identity if self.identity is not None else identity.clear()
        changed = pl.concat([identity.join(before, on=identity.columns, how="anti",
                                           nulls_equal=True),
                             before.join(identity, on=identity.columns, how="anti",
                                         nulls_equal=True)]).select("mmsi").unique()
        renamed = changed.join(self.last_seen, on="mmsi").select(
            "mmsi", pl.col("first").alias("cut"))
        own = (pl.concat([back, renamed]).cast({"mmsi": pl.Int64(), "cut": schema.TS})
               .group_by("mmsi").agg(pl.col("cut").min()))
        return pl.concat([
            pl.DataFrame({"mmsi": [None], "cut": [cut]},
                         schema={"mmsi": pl.Int64(), "cut": schema.TS}),
            own.sort("mmsi"),
        ])

    def _window(self, raw: pl.DataFrame, periods: pl.DataFrame, cuts: pl.DataFrame,
                cut: datetime) -> tuple[datetime, pl.DataFrame]:
        """Where the window starts, and where it starts earlier for some vessels: those
        with an event or period replaced that began earlier, those cut on their own, and
        the partners of their encounters then."""
        H = self.horizon
        window_start = min(cut, *self._type_cuts(cut).values()) - H
        parts = [_replaced(periods, cuts, ("mmsi",)).select("mmsi", "start"),
                 cuts.filter(pl.col("mmsi").is_not_null()).rename({"cut": "start"})]
        events = _replaced(raw, cuts, ("mmsi", "other_mmsi"), self._type_cuts(cut))
        parts += [events.select(pl.col(k).alias("mmsi"), "start") for k in ("mmsi", "other_mmsi")]
        starts = pl.concat([f.cast({"mmsi": pl.Int64(), "start": schema.TS}) for f in parts])
        per_vessel = (starts.filter(pl.col("mmsi").is_not_null()).group_by("mmsi")
                      .agg((pl.col("start").min() - H).alias("from"))
                      .filter(pl.col("from") < window_start))
        pairs = raw.filter(pl.col("other_mmsi").is_not_null()).select("mmsi", "other_mmsi", "end")
        pairs = pl.concat([pairs, pairs.select(pl.col("other_mmsi").alias("mmsi"),
                                               pl.col("mmsi").alias("other_mmsi"), "end")])
        partners = (pairs.join(per_vessel, on="mmsi").filter(pl.col("end") >= pl.col("from"))
                    .select(pl.col("other_mmsi").alias("mmsi"), "from"))
        per_vessel = (pl.concat([per_vessel, partners]).group_by("mmsi")
                      .agg(pl.col("from").min()).sort("mmsi"))
        return window_start, per_vessel

    def _type_cuts(self, cut: datetime) -> dict[str, datetime]:
        """Types cut earlier than ``cut``: a gap is judged against the coverage of the days
        it spans (each feed's usual interval is a day's), which changes until the day
        ends, so gaps are replaced from the start of the day of ``cut + H`` (the new
        data's) on."""
        since = cut + self.horizon
        day = since.replace(hour=0, minute=0, second=0, microsecond=0)
        return {"gap": min(cut, day)}

    def _read(self, window_start: datetime | None, starts: pl.DataFrame | None) -> pl.DataFrame:
        columns = list(dict.fromkeys([*POSITION_COLUMNS, *ANCHORAGE_COLUMNS]))
        wanted = [pl.col(c).cast(pl.Categorical) if c == "source" else pl.col(c)
                  for c in columns]
        scan = self.store.positions()
        parts = []
        if starts is not None and starts.height:
            early = (scan.filter(pl.col("mmsi").is_in(starts["mmsi"].implode())
                                 & (pl.col("ts") < window_start))
                     .join(starts.lazy(), on="mmsi").filter(pl.col("ts") >= pl.col("from"))
                     .select(wanted))
            parts.append(early)
        late = scan if window_start is None else scan.filter(pl.col("ts") >= window_start)
        parts.append(late.select(wanted))
        return prepare_positions(pl.concat(parts).collect())

    # -- open and dark ---------------------------------------------------------------------
    def _open(self, events: pl.DataFrame, newest: datetime | None) -> list[str]:
        if newest is None or not events.height:
            return []
        reach = {t: newest - HORIZONS[k](self.config) for t, k in OPEN_HORIZONS.items()
                 if HORIZONS[k](self.config) > timedelta(0)}
        if not reach:
            return []
        since = pl.col("type").replace_strict(reach, default=None, return_dtype=schema.TS)
        return events.filter(pl.col("end") >= since)["event_id"].to_list()

    def _dark(self, newest: datetime | None) -> list[dict[str, Any]]:
        """Provisional gaps of the vessels silent now (module docstring)."""
        p = self.config.gap
        if newest is None or not self.last_seen.height:
            return []
        silent = self.last_seen.filter(
            (pl.col("last") < newest - _h(p.min_gap_h))
            & (pl.col("last") >= newest - _h(p.max_gap_h)))
        if not silent.height:
            return []
        # the context the gap kernel reads before a silence, and the segmenter's
        H = max(HORIZONS["gap"](self.config), HORIZONS["segment"](self.config))
        columns = [pl.col(c).cast(pl.Categorical) if c == "source" else pl.col(c)
                   for c in POSITION_COLUMNS]
        tails = prepare_positions(
            self.store.positions(mmsi=silent["mmsi"].to_list(),
                                 start=silent["last"].min() - H)  # type: ignore[operator,arg-type]
            .join(silent.lazy(), on="mmsi").filter(pl.col("ts") >= pl.col("last") - H)
            .select(columns).collect())
        last = tails.sort("mmsi", "ts").group_by("mmsi", maintain_order=True).last()
        now = last.with_columns(pl.lit(newest).cast(schema.TS).alias("ts"))
        segmented = segment_tracks(pl.concat([tails, now]).sort("mmsi", "ts", maintain_order=True),
                                   self.config.segment)
        gap = detector("gap")
        found = gap.detect(segmented, p, Context(coverage=self.store.coverage()))
        if not found.height:
            return []
        found = found.join(silent.select("mmsi", "last"), left_on=["mmsi", "start"],
                           right_on=["mmsi", "last"])
        return [
            {**row, "start": row["start"].isoformat(), "end": None, "status": "open"}
            for row in found.select(*schema.EVENTS).drop("end", "details").to_dicts()
        ]


IDENTITY_COLUMNS: tuple[str, ...] = ("ship_type", "flag")
"""The identity fields a detector reads (fishing vessels, loitering's exclusions, a zone's
flag state): latest values, applied to all of a vessel's positions."""


def _identity(vessels: pl.DataFrame) -> pl.DataFrame:
    present = [c for c in IDENTITY_COLUMNS if c in vessels.columns]
    return vessels.select(pl.col("mmsi").cast(pl.Int64), *present).unique().sort("mmsi")


def _same(a: pl.DataFrame, b: pl.DataFrame | None) -> bool:
    """Whether two anchorage tables have the same cells (an anchorage's mean place and
    counts move a little as its vessels' periods grow: that is not a new anchorage)."""
    if b is None:
        return False
    cells = ["cell_row", "cell_col"]
    return a.select(cells).sort(cells).equals(b.select(cells).sort(cells))


def _no_periods() -> pl.DataFrame:
    return stationary_periods(
        pl.DataFrame(schema={"mmsi": pl.Int64(), "ts": schema.TS, "lat": pl.Float64(),
                             "lon": pl.Float64(), "sog": pl.Float64()}))


def _with_cut(frame: pl.DataFrame, cuts: pl.DataFrame, keys: Sequence[str],
              by_type: dict[str, datetime] | None = None) -> pl.DataFrame:
    """``frame`` with ``_cut``: the earliest cut of its vessels (and of its type)."""
    default = cuts.filter(pl.col("mmsi").is_null())["cut"][0]
    own = cuts.filter(pl.col("mmsi").is_not_null())
    first = pl.lit(default).cast(schema.TS)
    if by_type:
        first = pl.col("type").replace_strict(by_type, default=first, return_dtype=schema.TS)
    out = frame.with_columns(first.alias("_cut"))
    for k in keys:
        out = out.join(own.rename({"mmsi": k, "cut": f"_c_{k}"}), on=k, how="left").with_columns(
            pl.min_horizontal("_cut", f"_c_{k}").alias("_cut")).drop(f"_c_{k}")
    return out


_END = pl.coalesce("end", "start")
"""An event's end (its start when it has none): what is compared with the cut."""


def _replaced(frame: pl.DataFrame, cuts: pl.DataFrame, keys: Sequence[str],
              by_type: dict[str, datetime] | None = None) -> pl.DataFrame:
    """The rows of ``frame`` a window with ``cuts`` recomputes (ending at or after their
    cut)."""
    return (_with_cut(frame, cuts, keys, by_type).filter(pl.col("_cut") <= _END)
            .drop("_cut"))


def _spliced(old: pl.DataFrame, window: pl.DataFrame, cuts: pl.DataFrame | None,
             keys: Sequence[str], by_type: dict[str, datetime] | None = None) -> pl.DataFrame:
    """The rows of ``old`` ending before their cut, then those of ``window`` at or after
    it (the whole ``window`` without cuts: a first run)."""
    if cuts is None:
        return window
    kept = (_with_cut(old, cuts, keys, by_type).filter(~(pl.col("_cut") <= _END))
            .drop("_cut"))
    new = _replaced(window, cuts, keys, by_type)
    return pl.concat([kept, new.select(kept.columns)])


# -- the service's hook -----------------------------------------------------------------------
class LiveDetection:
    """Runs an :class:`IncrementalDetector` beside ``seawatch live``: after each compaction
    (:meth:`note`), at most every ``detect_every_s``, one run at a time under the service's
    store lock (a run and a compaction never overlap). Built with the options of
    ``seawatch detect``; the detector is made when the service opens its store."""

    def __init__(
        self,
        *,
        zones: Sequence[Zone] | None = None,
        ports: pl.DataFrame | None = None,
        config: DetectConfig | None = None,
        installations: pl.DataFrame | None = None,
        hot: bool = True,
    ) -> None:
        self.options: dict[str, Any] = {"zones": zones, "ports": ports, "config": config,
                                        "installations": installations}
        from seawatch.live.hot import HotPath

        self.hot: HotPath | HotProcess | None = HotPath(zones=zones, config=config) if hot \
            else None
        """The hot path (:mod:`seawatch.live.hot`): zone crossings from the acknowledged
        stream, settled after each run; None without (or with ``hot`` false); in a process
        of its own (:mod:`seawatch.live.hot_process`) once :meth:`hot_path` chose it."""
        self.compacted: Position = START
        """The log position the store has (:meth:`note`): what a run covers."""
        # a bad installations file fails here, before the service starts
        installation_table((config or DetectConfig()).installations, installations)
        self.detector: IncrementalDetector | None = None
        self.wake = asyncio.Event()
        self.last_error: str | None = None
        self.alerts: dict[str, Any] | None = None
        """What the last raise of alerts did (new, updated, unchanged, the events raised
        and whether all were), None before one."""
        from seawatch.share.alerts import Raised

        self.raised = Raised()
        """What the raises raised: each one after the first raises only the events new or
        changed since (the first after a start raises them all: a crash between writing
        events and raising their alerts loses nothing)."""
        self._last_run = 0.0

    def hot_path(self, params: Any, log: Path, begin: Position) -> HotPath | HotProcess:
        """The hot path the service gives its acknowledged batches (``params.hot`` true and
        :attr:`hot` set): in a process of its own with ``params.hot_process``, reading the
        log in ``log`` from ``begin`` (the log's end when the service started)."""
        from seawatch.live.hot import HotPath
        from seawatch.live.hot_process import HotProcess

        assert self.hot is not None
        if getattr(params, "hot_process", True) and isinstance(self.hot, HotPath):
            self.hot = HotProcess(zones=self.options["zones"], config=self.options["config"])
        self.hot.attach(log, begin)
        return self.hot

    async def close(self) -> None:
        """Stop the hot path's process (after the service's last run)."""
        if self.hot is not None:
            await asyncio.to_thread(self.hot.close)

    def note(self, first_ts: datetime | None, end: Position | None = None) -> None:
        """A compaction added positions from ``first_ts`` on (and the log up to ``end``
        is in the store)."""
        if self.detector is not None:
            self.detector.note(first_ts)
        if end is not None:
            self.compacted = max(self.compacted, end)
        self.wake.set()

    async def run_once(self, lock: asyncio.Lock) -> DetectRun | None:
        """One run (None: nothing to do, or it failed: ``last_error``)."""
        if self.detector is None:
            return None
        async with lock:
            covered = self.compacted  # (no compaction runs meanwhile)
            try:
                done = await asyncio.to_thread(self.detector.run)
            except Exception as exc:  # the window is kept: the next run covers it
                await asyncio.to_thread(release_memory)
                self.last_error = f"detection failed: {type(exc).__name__}: {exc}"
                log.exception("incremental detection failed")
                return None
        await asyncio.to_thread(release_memory)  # the window read, given back
        self.last_error = None
        self._last_run = time.monotonic()
        if self.hot is not None and self.hot.started:
            try:  # the hot events this run covered: confirmed or dropped
                await asyncio.to_thread(self.hot.settle, covered)
            except Exception as exc:
                self.last_error = f"settling hot events failed: {type(exc).__name__}: {exc}"
                log.exception("settling the hot events failed")
        if done is not None:
            await self._raise_alerts()
        return done

    async def _raise_alerts(self) -> None:
        """The alerts of the store's enabled rules for the events now in the store (as
        ``seawatch detect`` raises them: idempotent per rule and event, so an event that
        grew updates its alert), each raise recorded in the audit log (client ``live``).
        Only the events new or changed since the last raise are raised, all of them at the
        first raise after a start or after the rules changed (:class:`Raised`). A failure
        is logged and reported in the status (the next raise covers its events); detection
        goes on."""
        from seawatch.share.alerts import raise_for_store

        store = self.detector.store if self.detector is not None else None
        if store is None:
            return
        try:
            raised = await asyncio.to_thread(
                raise_for_store, store.path, store, store.events().collect(), _record,
                self.raised)
        except Exception as exc:
            self.last_error = f"raising alerts failed: {type(exc).__name__}: {exc}"
            log.exception("raising alerts failed")
            return
        if raised is not None:
            self.alerts = {**raised.as_json(), "events": self.raised.count,
                           "full": self.raised.full}

    async def loop(self, store: Store, params: Any, lock: asyncio.Lock,
                   stop: asyncio.Event, wal_id: str | None = None) -> None:
        """Run after each compaction until ``stop`` (``params.detect_every_s`` apart at
        least); the service runs a last one after its last compaction. With the hot path
        (``params.hot``), its task runs beside."""
        self.detector = IncrementalDetector(store, **self.options)
        if not getattr(params, "hot", True):
            self.hot = None
        hot = None if self.hot is None else asyncio.create_task(
            self.hot.run(store, params, lock, stop, wal_id), name="hot path")
        try:
            await self._loop(params, lock, stop)
        finally:
            if hot is not None:
                await asyncio.gather(hot, return_exceptions=True)

    async def _loop(self, params: Any, lock: asyncio.Lock, stop: asyncio.Event) -> None:
        every = float(params.detect_every_s)
        self.wake.set()  # the first run: the whole store
        while not stop.is_set():
            await _first(self.wake, stop)
            if stop.is_set():
                return
            self.wake.clear()
            wait = self._last_run + every - time.monotonic()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
            if stop.is_set():
                return
            await self.run_once(lock)

    def status(self) -> dict[str, Any] | None:
        """The last run (``status.json``'s ``detection``), or None before one."""
        last = None if self.detector is None else self.detector.last
        if last is None or self.detector is None:
            return None
        out = last.to_dict()
        for key in ("since", "window_start", "newest"):
            out[key] = None if out[key] is None else out[key].isoformat()
        return {**out, "runs": self.detector.runs, "alerts": self.alerts}


def _record(state: Any, action: str, resource: str, params: dict[str, Any]) -> None:
    """The live service's audit entry of a change (actor the local user the service runs
    as, client ``live``), then a checkpoint of the audit head (a failure is a warning, as
    on the command line: the change is made and recorded)."""
    from seawatch.errors import InvalidValue
    from seawatch.share.audit import local_actor, record
    from seawatch.share.checkpoints import write_checkpoint

    record(state, action, actor=local_actor(), resource=resource, params=params, status="ok",
           client="live")
    try:
        write_checkpoint(state, by="live")
    except (OSError, InvalidValue) as exc:
        log.warning("audit checkpoint not written: %s", exc)


async def _first(*events: asyncio.Event) -> None:
    """Wait until one of ``events`` is set."""
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


def open_events(store: Store) -> list[str]:
    """The ids of the events still open at the last incremental run (empty after a batch
    ``seawatch detect``, whose events are all closed)."""
    info = store.events_info() or {}
    return list((info.get("live") or {}).get("open") or [])


def dark_vessels(store: Store) -> list[dict[str, Any]]:
    """The provisional gaps of the vessels silent at the last incremental run (module
    docstring), each with the ``event_id`` its gap takes once the vessel is heard again."""
    info = store.events_info() or {}
    return list((info.get("live") or {}).get("dark") or [])
