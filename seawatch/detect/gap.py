"""Gap events: a vessel's track falls silent for longer than ``min_gap_h`` ("going dark").

Definition (``docs/detectors.md``, section *gap*; Global Fishing Watch pipe-gaps): two
consecutive positions of one vessel track more than ``min_gap_h`` hours apart (strictly).
The track is a segment (``seawatch.tracks.segment``), and a gap also joins the end of one
segment to the start of the MMSI's next one when the MMSI sent nothing in between: a segment
ends after 24 h of silence, and a vessel dark for three days is exactly the gap to report.
Segments of fewer than ``min_segment_positions`` positions can be left out (default: none).
A silence of one track while the MMSI was heard near its ends (another track of the same
transmitter: copies relayed late, a wrong station clock, stray reports) is not a gap either.
A silence longer than ``max_gap_h`` (two weeks) is not a gap: a store may hold captures made
days or years apart (a 2018 file beside a 2023 one), and the time between them is data the
store does not have, not a vessel dark at sea.

Event start = the last position before the gap ("off"), end = the first position after ("on");
the event's lat/lon is the off position. ``details`` holds ``gap_hours``, ``distance_km``,
``implied_speed_kn``, ``off_distance_from_shore_km``, ``positions_12h_before`` (positions of
the track in [off - 12 h, off], off included), ``likely_intentional`` and the off/on positions.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> from seawatch.tracks import segment
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> hours = [0, 1, 2, 16, 17]                      # silent from 02:00 to 16:00
>>> pos = pl.DataFrame({"mmsi": [735000001] * 5,
...                     "ts": [t0 + timedelta(hours=h) for h in hours],
...                     "lat": [-1.0, -1.1, -1.2, -2.6, -2.7], "lon": [-85.0] * 5})
>>> ev = detect_gaps(segment(pos))
>>> ev["start"][0].hour, ev["end"][0].hour
(2, 16)
>>> from seawatch.detect.events import details_of
>>> details = details_of(ev.row(0, named=True))
>>> details["gap_hours"], details["positions_12h_before"], details["likely_intentional"]
(14.0, 3, False)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from pydantic import model_validator
from pydantic_core import PydanticCustomError

from seawatch import schema
from seawatch.detect.detector import Context, Detector, Split
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.geo.geodesy import NM_KM, distance_km
from seawatch.params import Count, Flag, Number, Params, param, resolve


class GapParams(Params):
    """Parameters of ``gap`` (docs/detectors.md, *gap*)."""

    min_gap_h: Number = param(
        12.0,
        "Consecutive positions more than this many hours apart are a gap (strictly).",
        "DESIGN.md and GFW pipe-gaps' GapDetector default; GFW's published \"potential dark "
        'activity" uses 6 h',
    )
    max_gap_h: Number = param(
        336.0,
        "A silence longer than this many hours is not a gap: it lies between captures the "
        "store holds (files days or years apart), or beyond what it covers, rather than a "
        "vessel dark at sea. Raise it for a store with continuous coverage.",
        "seawatch: two weeks keeps every multi-day dark period of a fishing trip and drops the "
        "silences between separate captures (a store of 2018, 2021 and 2023 files gave gaps "
        "of years)",
    )
    intentional_shore_nm: Number = param(
        50.0,
        "likely_intentional needs the position before the gap more than this many nautical "
        "miles from shore, where reception is good.",
        'DESIGN.md, after GFW\'s "AIS disabling" analysis (gaps starting more than 50 nm '
        "from shore)",
    )
    min_positions_before: Count = param(
        6,
        "likely_intentional also needs at least this many positions in the before_h hours "
        "before the gap (good reception, so the silence is the transponder's).",
        "DESIGN.md",
    )
    before_h: Number = param(
        12.0,
        "Window (hours) of details.positions_12h_before: positions of the track in "
        "[off - before_h, off], off included; the key keeps its name whatever the window.",
        "GFW pipe-gaps n_hours_before = 12",
    )
    min_segment_positions: Count = param(
        1,
        "Segments with fewer positions are left out (1: none). Raise it to drop lone "
        "positions inside a long silence, which otherwise split it into two gaps.",
        "GFW pipe-gaps, which counts every position of the MMSI",
    )

    max_blind_h: Count = param(
        6,
        "A silence is a gap only for the hours the feeds that heard the vessel kept hearing "
        "other vessels around its last position: a stretch of at least this many whole hours "
        "in which they heard none there (a receiver down, a capture file ended, the feed "
        "stopped hearing the area) is a coverage outage, taken off the silence; what is left "
        "must still exceed min_gap_h. Shorter stretches are the feed's normal sampling.",
        "seawatch: a low-orbit satellite feed goes 1-5.5 h between passes (sim/reception.py), "
        "so 6 h without hearing anyone around is more than sampling",
    )
    coverage_cells: Count = param(
        1,
        "Around its last position means within this many coverage grid cells "
        "(seawatch.store.coverage.CELL_DEG = 1 degree) in each direction (1: a 3 x 3 block).",
        "seawatch: one cell is about a coastal receiver's range, so the block holds what a "
        "station hears around the vessel wherever it lies in its cell",
    )
    min_interval_ratio: Number = param(
        3.0,
        "A silence no longer than this many times the usual per-vessel interval of the "
        "densest feed that heard the vessel (coverage interval_s: a sparse daily export's "
        "is about a day) is that feed's sampling, not a gap.",
        "seawatch: a gap then misses at least two of the feed's usual reports in a row; a "
        "one-row-per-vessel-per-day export gave gaps of 12-24 h between its own rows",
    )
    revisit_h: Number = param(
        24.0,
        "Hours before the silence in which the feeds' usual revisit of the area is measured: "
        "a blind stretch inside the silence is an outage only when it is also longer than "
        "every blind stretch of the feeds around there in these hours (a satellite feed "
        "that hears the area every few passes is sampling, not an outage).",
        "seawatch: a day holds every pass of a low-orbit constellation over a place; the "
        "simulator's satellite feed left 7 h stretches unheard around a planted gap's last "
        "position (seed 53), so a fixed max_blind_h alone hid a planted gap",
    )
    min_expected_heard: Number = param(
        10.0,
        "A blind stretch in which the feeds kept delivering elsewhere (they heard no one "
        "around the vessel, but heard others farther off) is an outage only when, at the "
        "rate they heard other vessels around there in the revisit_h hours before, they "
        "would have heard at least this many in it. A stretch in which they delivered "
        "nothing at all needs only max_blind_h.",
        "seawatch: at a Poisson rate, hearing no one when 10 were expected has a chance of "
        "5e-5; in open ocean with about one vessel an hour around, a few hours with no one "
        "is emptiness, not an outage (the simulator's seed 53: 6 h)",
    )
    heard_within_km: Number = param(
        5.0,
        "A silence of one track is no gap when the MMSI was heard during it (on another "
        "track) within this many km of where the track went silent or of where it came "
        "back: the vessel was not silent, another track of its transmitter (copies of its "
        "reports relayed minutes late, a station stamping them with a wrong clock) was split "
        "off it. 0 keeps every silence of a track.",
        "seawatch (issue 12): the messy simulator's late copies and wrong clocks split a "
        "vessel heard all along into a track and a ghost track with 20 h between two of its "
        "reports; two ships sharing an MMSI are hundreds of km apart",
    )
    unknown_coverage_factor: Number = param(
        0.5,
        "The score of a gap is multiplied by this when coverage around the vessel is unknown "
        "(its feeds heard no other vessel around its last position before or during the "
        "silence, so nothing tells the vessel's silence from the feed's); details.coverage "
        "says so.",
        "seawatch: an unconfirmed gap ranks below every confirmed one of the same kind",
    )

    envelope: Flag = param(
        True,
        "Add each gap's movement envelope to its details (where the vessel could have gone: "
        "the ellipse with foci at the off and on positions, seawatch.detect.envelope) and "
        "the zones and ports it reaches.",
        "issue 16: where a dark vessel could have gone",
    )
    envelope_speed_quantile: Number = param(
        0.95,
        "The vessel's observed top speed is this quantile of the speeds (sog) it reported on "
        "the track before and the track after the gap (the higher of the two).",
        "seawatch: a high quantile rather than the maximum, which a single garbled sog sets",
    )
    envelope_speed_margin: Number = param(
        1.2,
        "The envelope's speed is the observed top speed times this (a vessel may go a little "
        "faster dark than it was seen going).",
        "seawatch: 20 % above the 95th percentile covers a vessel steaming at its service "
        "speed while dark after being seen trawling or loitering",
    )
    envelope_min_speed_kn: Number = param(
        10.0,
        "The envelope's speed is at least this many knots when the vessel was seen slow (a "
        "vessel seen drifting can still steam away once dark).",
        "seawatch: the service speed of the slowest fishing and supply vessels",
    )
    envelope_max_speed_fishing_kn: Number = param(
        15.0,
        "Cap (knots) of the envelope's speed for a fishing vessel (ship type 30).",
        "seawatch: tuna purse seiners and longliners cruise at 12-15 kn",
    )
    envelope_max_speed_kn: Number = param(
        22.0,
        "Cap (knots) of the envelope's speed for every other or unknown ship type; the "
        "speed is never below the one the gap itself implies (the straight line).",
        "seawatch: the service speed of reefers, tankers and most cargo ships; fast ferries "
        "and patrol craft exceed it but do not go dark offshore",
    )
    envelope_vertices: Count = param(
        32,
        "Vertices of each envelope polygon (and of the discs of the rendezvous test).",
        "seawatch: 32 vertices put the polygon's area within 1 % of the ellipse's",
    )
    envelope_decimals: Count = param(
        3,
        "Decimals of the degrees in details.envelope_wkt (3: about 100 m), which keeps the "
        "details small.",
        "seawatch",
    )
    envelope_max_ports: Count = param(
        10,
        "details.envelope_ports names at most this many ports the envelope holds (in name "
        "order); envelope_port_count counts them all.",
        "seawatch: a long gap's envelope holds a coast's every port",
    )

    @model_validator(mode="after")
    def _max_beyond_min(self) -> GapParams:
        if self.max_gap_h < self.min_gap_h:
            raise PydanticCustomError(
                "seawatch",
                "max_gap_h ({max}) must be at least min_gap_h ({min})",
                {"max": self.max_gap_h, "min": self.min_gap_h},
            )
        return self


def detect_gaps(
    segmented: pl.DataFrame,
    *,
    params: GapParams | None = None,
    coverage: pl.DataFrame | None = None,
    **overrides: Any,
) -> pl.DataFrame:
    """Gap events of a segmented positions table.

    Parameters
    ----------
    segmented
        Positions with ``segment_id`` (the output of :func:`seawatch.tracks.segment`) and,
        where known, ``source`` (the feed of each position).
    params
        The parameters (default: :class:`GapParams`' defaults).
    coverage
        What each feed heard per hour and grid cell (:data:`seawatch.schema.COVERAGE`):
        the store's (``Store.coverage()``) when the table is a chunk of a store; default:
        that of ``segmented`` itself (:func:`seawatch.store.coverage.coverage`).
    **overrides
        Fields of :class:`GapParams` to change (``min_gap_h=6``), checked against it.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``) of type ``gap``; ``score`` is 1.0 when
        ``likely_intentional`` and 0.5 otherwise, times ``unknown_coverage_factor`` where
        coverage is unknown. Silences that coverage explains (a shared outage, a sparse
        feed's sampling) are no events.

    Raises
    ------
    seawatch.params.ConfigError
        An unknown parameter or a value of the wrong type.
    """
    p = resolve(GapParams, params, overrides, "detect_gaps()")
    if "segment_id" not in segmented.columns:
        raise schema.SchemaError(
            f"column 'segment_id' missing; found: {segmented.columns}. "
            "Run seawatch.tracks.segment(positions) first."
        )
    columns = ["mmsi", "ts", "lat", "lon", "segment_id"]
    columns += ["source"] if "source" in segmented.columns else []
    pos = segmented.select(columns).sort(
        "mmsi", "ts", maintain_order=True
    )  # segment() output is sorted already; this is then a cheap check
    pos = pos.filter(pl.len().over("segment_id") >= p.min_segment_positions)
    if pos.height < 2:
        return empty_events()
    mmsi = pos["mmsi"].to_numpy()
    seg = pos["segment_id"].to_numpy()
    t = pos["ts"].dt.epoch("us").to_numpy()
    # the positions grouped by segment, in time order within each segment
    order = np.argsort(seg, kind="stable")
    cont = seg[order][1:] == seg[order][:-1]  # order[k + 1] continues order[k]'s segment
    first = np.zeros(pos.height, dtype=bool)
    last = np.zeros(pos.height, dtype=bool)
    first[order[np.r_[True, ~cont]]] = True
    last[order[np.r_[~cont, True]]] = True
    # (a) consecutive positions of one segment; (b) the MMSI's silence from the end of one
    # segment to the start of the next (a segment ends after max_gap_h of silence)
    k = np.arange(pos.height - 1)
    across = (mmsi[k] == mmsi[k + 1]) & (seg[k] != seg[k + 1]) & last[k] & first[k + 1]
    off = np.concatenate([order[:-1][cont], k[across]])
    on = np.concatenate([order[1:][cont], k[across] + 1])
    threshold_us = round(p.min_gap_h * 3_600_000_000)
    longest_us = round(p.max_gap_h * 3_600_000_000)
    silence = t[on] - t[off]
    # strictly longer than min_gap_h (exact in microseconds), and no longer than max_gap_h
    is_gap = (silence > threshold_us) & (silence <= longest_us)
    off, on = off[is_gap], on[is_gap]
    not_silent = _heard_between(pos, off, on, p.heard_within_km)
    # a track of two reports, one each side of the silence, while the MMSI was heard in
    # between: two stray reports (garbled in the air, or a ghost copy) that the segmenter
    # joined, not a vessel going silent
    not_silent |= first[off] & last[on] & (on - off > 1)
    off, on = off[~not_silent], on[~not_silent]
    if off.size == 0:
        return empty_events()
    lo, hi = _window_before(t, order, cont, off, round(p.before_h * 3_600_000_000))
    if coverage is None:
        from seawatch.store.coverage import coverage as coverage_of

        coverage = coverage_of(pos)
    heard = judge_coverage(pos, order, lo, hi, off, on, coverage, p)
    keep = heard["gap"].to_numpy()
    off, on, lo, hi, heard = off[keep], on[keep], lo[keep], hi[keep], heard.filter(keep)
    if off.size == 0:
        return empty_events()
    before = hi - lo
    gaps = pl.concat(
        [
            pos[off],
            pos[on].select(
                pl.col("ts").alias("on_ts"),
                pl.col("lat").alias("on_lat"),
                pl.col("lon").alias("on_lon"),
                pl.col("segment_id").alias("on_segment_id"),
            ),
            pl.DataFrame({"positions_before": before}, schema={"positions_before": pl.Int64}),
            heard.drop("gap"),
        ],
        how="horizontal",
    )

    from seawatch.geo import distance_to_shore_km

    off_lat, off_lon = gaps["lat"].to_numpy(), gaps["lon"].to_numpy()
    on_lat, on_lon = gaps["on_lat"].to_numpy(), gaps["on_lon"].to_numpy()
    hours = (gaps["on_ts"] - gaps["ts"]).dt.total_microseconds().to_numpy() / 3.6e9
    dist = distance_km(off_lat, off_lon, on_lat, on_lon)
    shore = np.asarray(distance_to_shore_km(off_lat, off_lon), dtype=np.float64)
    gaps = gaps.with_columns(
        pl.Series("gap_hours", hours),
        pl.Series("distance_km", dist),
        pl.Series("implied_speed_kn", dist / NM_KM / hours),
        pl.Series("off_distance_from_shore_km", shore),
    ).with_columns(
        (
            (pl.col("off_distance_from_shore_km") > p.intentional_shore_nm * NM_KM)
            & (pl.col("positions_before") >= p.min_positions_before)
        ).alias("likely_intentional")
    )
    out = gaps.select(
        "mmsi",
        pl.col("ts").alias("start"),
        pl.col("on_ts").alias("end"),
        "lat",
        "lon",
        (
            pl.when(pl.col("likely_intentional")).then(1.0).otherwise(0.5)
            * pl.when(pl.col("coverage") == "unknown")
            .then(p.unknown_coverage_factor)
            .otherwise(1.0)
        ).alias("score"),
        details_json(
            {
                "gap_hours": pl.col("gap_hours").round(6),
                "distance_km": pl.col("distance_km").round(3),
                "implied_speed_kn": pl.col("implied_speed_kn").round(3),
                "off_distance_from_shore_km": pl.col("off_distance_from_shore_km").round(3),
                "positions_12h_before": pl.col("positions_before"),
                "likely_intentional": pl.col("likely_intentional"),
                "off_lat": pl.col("lat"),
                "off_lon": pl.col("lon"),
                "on_lat": pl.col("on_lat"),
                "on_lon": pl.col("on_lon"),
                "off_segment_id": pl.col("segment_id"),
                "on_segment_id": pl.col("on_segment_id"),
                "coverage": pl.col("coverage"),
                "coverage_note": pl.col("coverage_note"),
                "feeds": pl.col("feeds"),
                "watched_h": pl.col("watched_h"),
                "outage_h": pl.col("outage_h"),
                "unknown_h": pl.col("unknown_h"),
                "feed_interval_s": pl.col("feed_interval_s"),
            }
        ),
    )
    return to_events(out, "gap")


def _heard_between(pos: pl.DataFrame, off: np.ndarray, on: np.ndarray, km: float) -> np.ndarray:
    """Whether the MMSI of each silence ``off[g] -> on[g]`` (rows of ``pos``, sorted by
    mmsi and ts) has a position strictly inside it within ``km`` of the off or the on
    position (one pass over the positions inside the silences, gaps are few).

    >>> import polars as pl
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
    >>> pos = pl.DataFrame({"mmsi": [1, 1, 1, 2, 2, 2], "lat": [0.0, 0.01, 0.0, 0, 3, 0],
    ...                     "lon": [0.0] * 6,
    ...                     "ts": [t0 + timedelta(hours=h) for h in (0, 10, 20, 0, 10, 20)]})
    >>> _heard_between(pos, np.array([0, 3]), np.array([2, 5]), 5.0).tolist()
    [True, False]
    """
    out = np.zeros(off.size, dtype=bool)
    if km <= 0 or not off.size:
        return out
    count = on - off - 1  # the rows strictly between (same MMSI: sorted by mmsi, ts)
    rows = np.repeat(off + 1, count) + _ranks(count)
    g = np.repeat(np.arange(off.size), count)
    lat, lon = pos["lat"].to_numpy(), pos["lon"].to_numpy()
    near = (distance_km(lat[rows], lon[rows], lat[off][g], lon[off][g]) <= km) | (
        distance_km(lat[rows], lon[rows], lat[on][g], lon[on][g]) <= km
    )
    np.logical_or.at(out, g[near], True)
    return out


def _window_before(
    t: np.ndarray, order: np.ndarray, cont: np.ndarray, rows: np.ndarray, window_us: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each row in ``rows``: the positions of its segment in [t - window, t], as the
    slice ``order[lo:hi]``.

    ``order`` lists the positions grouped by segment, in time order within each segment, and
    ``cont[k]`` tells whether ``order[k + 1]`` is in the same segment as ``order[k]``. One
    binary search per gap (gaps are few), so the cost is that of the gaps.
    """
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    ts = t[order]
    new_block = np.r_[True, ~cont]
    starts = np.flatnonzero(new_block)
    ends = np.r_[starts[1:], order.size]
    block = np.cumsum(new_block) - 1
    lo = np.empty(rows.size, dtype=np.int64)
    hi = np.empty(rows.size, dtype=np.int64)
    for g, r in enumerate(rows):
        k = rank[r]
        b0, b1 = starts[block[k]], ends[block[k]]
        lo[g] = b0 + int(np.searchsorted(ts[b0 : k + 1], t[r] - window_us, side="left"))
        hi[g] = k + int(np.searchsorted(ts[k:b1], t[r], side="right"))
    return lo, hi


HOUR_US = 3_600_000_000
COPY_US = HOUR_US
"""Where the report that ends a silence is a sparse export's row (the export copies reports
it was fed, and the store keeps one of two equal rows), the feeds of the vessel's reports
within this long of it are the feeds that heard it there."""


def judge_coverage(
    pos: pl.DataFrame,
    order: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    off: np.ndarray,
    on: np.ndarray,
    coverage: pl.DataFrame,
    p: GapParams,
) -> pl.DataFrame:
    """Whether each silence ``off[g] -> on[g]`` of ``pos`` is a gap, given the coverage.

    The vessel's feeds are the ``source`` of its positions ``order[lo[g]:hi[g]]`` (the
    ``before_h`` hours before going silent). Each whole UTC hour strictly inside the silence
    is *watched* when those feeds heard another vessel within ``coverage_cells`` cells of the
    last position, *blind* when they did not although they could have (they heard others
    around there before or during the silence, or they delivered nothing at all although
    they hear other vessels), and *unknown* otherwise (they heard no other vessel around
    there at any time). A run of blind hours is an outage, taken off the silence, when it
    is at least ``max_blind_h`` long, longer than every blind run of the ``revisit_h`` hours
    before the silence (the feeds' usual revisit), and either the feeds delivered nothing
    at all for ``max_blind_h`` of its hours or, at their rate of hearing others around
    there before, they would have heard ``min_expected_heard`` in it (see
    :func:`_outage_hours`). An hour in which no feed of the store delivered anything at all
    (a hole between capture files) is an outage where the vessel's feeds hear other vessels
    at all and the run of such hours is at least ``max_blind_h`` and longer than any in the
    ``revisit_h`` before (so not the pauses between a lone satellite's passes), whatever the
    vessel's own feeds' usual revisit (a
    satellite's passes can be hours apart, longer than the hole); such a hole is measured to
    the second, from the store's last delivery before it to its first after. Hours in which
    the feed of the last report before the silence, or of the first after, delivered nothing
    at all (a run at least ``max_blind_h`` long and longer than any before) are taken off
    too: the vessel may have been where only that feed hears. The silence is a gap when
    what is left is longer than
    ``min_gap_h`` and it is longer than ``min_interval_ratio`` times the usual per-vessel
    interval of the densest of the feeds (:func:`seawatch.store.coverage.coverage`). All
    silences are judged together (joins of the coverage table), then one short pass over
    each silence's hours.

    Returns
    -------
    polars.DataFrame
        One row per silence: ``gap`` (bool), ``coverage`` (``"heard"`` where others were
        heard around the last position, else ``"unknown"``), ``coverage_note`` (why, in
        words), ``feeds`` (list), ``watched_h``, ``outage_h``, ``unknown_h`` (whole hours)
        and ``feed_interval_s`` (null when unknown).
    """
    from seawatch.store.coverage import CELL_DEG, UNKNOWN_FEED

    n = off.size
    t = pos["ts"].dt.epoch("us").to_numpy()
    before_us = round(max(p.before_h, p.revisit_h) * HOUR_US)  # the coverage window
    has_source = "source" in pos.columns

    def feed_of(rows: np.ndarray) -> pl.Series:
        """The feed of the positions ``rows`` (cast only those: a chunk's column is large)."""
        if not has_source:
            return pl.Series("source", [UNKNOWN_FEED] * rows.size, dtype=pl.String)
        return pos["source"].gather(rows).cast(pl.String).fill_null(UNKNOWN_FEED)

    gap_ids = np.arange(n)
    # the vessel's feeds: those of its track's positions in the before_h hours to the silence
    count = hi - lo
    mine = (
        pl.DataFrame(
            {
                "gap": np.repeat(gap_ids, count),
                "source": feed_of(order[np.repeat(lo, count) + _ranks(count)]),
            }
        )
        .unique()
        .sort("gap", "source")
    )
    feeds_of: list[list[str]] = [[] for _ in range(n)]
    for g, f in mine.iter_rows():
        feeds_of[g].append(f)
    # a sparse feed (a daily export: its usual interval between two reports of a vessel,
    # median over its days, is max_blind_h or more) says nothing of an hour: beside other
    # feeds it counts for the sampling rule, not for what the feeds heard hour by hour
    sparse_set = set(
        coverage.group_by("source", pl.col("ts").dt.date())
        .agg(pl.col("interval_s").first())
        .group_by("source")
        .agg(pl.col("interval_s").median())
        .filter(pl.col("interval_s") >= p.max_blind_h * 3600.0)
        .get_column("source")
        .to_list()
    )
    sparse_feeds = pl.Series(sorted(sparse_set), dtype=pl.String).implode()
    hourly_of = [[f for f in fs if f not in sparse_set] or fs for fs in feeds_of]
    mine_all, mine = mine, mine.filter(
        ~pl.col("source").is_in(sparse_feeds)  # (unless it is all the vessel had)
        | pl.col("source").is_in(sparse_feeds).all().over("gap")
    )
    # the coverage window of each silence, whole hours [h0, h_on): from revisit_h before it
    # to the hour the vessel is heard again (which would count it)
    t_off, t_on = t[off], t[on]
    h0 = (t_off - before_us) // HOUR_US
    h_off = t_off // HOUR_US
    h_on = t_on // HOUR_US
    length = h_on - h0
    offset = np.r_[0, np.cumsum(length)[:-1]]
    window = pl.DataFrame(
        {
            "gap": gap_ids,
            "h0": h0,
            "h_on": h_on,
            "la": np.floor(pos["lat"].to_numpy()[off] / CELL_DEG).astype(np.int64),
            "lo": np.floor(pos["lon"].to_numpy()[off] / CELL_DEG).astype(np.int64),
        }
    )
    feeds = mine.join(window, on="gap")
    in_window = (pl.col("hour") >= pl.col("h0")) & (pl.col("hour") < pl.col("h_on"))
    # where the MMSI itself was heard (any track of it) in the window: the coverage counts
    # it, and only other vessels tell
    mmsi = pos["mmsi"].to_numpy()
    first = np.searchsorted(mmsi, mmsi[off], side="left")
    last = np.searchsorted(mmsi, mmsi[off], side="right")
    a = np.array(
        [
            f + np.searchsorted(t[f:e], s0)
            for f, e, s0 in zip(first, last, h0 * HOUR_US, strict=True)
        ],
        dtype=np.int64,
    )
    b = np.array(
        [
            f + np.searchsorted(t[f:e], s1)
            for f, e, s1 in zip(first, last, h_on * HOUR_US, strict=True)
        ],
        dtype=np.int64,
    )
    count = b - a
    rows = a.repeat(count) + _ranks(count)
    own_all = pl.DataFrame(
        {
            "gap": np.repeat(gap_ids, count),
            "source": feed_of(rows),
            "hour": t[rows] // HOUR_US,
            "cell_lat": np.floor(pos["lat"].to_numpy()[rows] / CELL_DEG).astype(np.int64),
            "cell_lon": np.floor(pos["lon"].to_numpy()[rows] / CELL_DEG).astype(np.int64),
        }
    ).unique()
    # once per feed and cell it was heard in
    own = own_all.join(mine, on=["gap", "source"], how="semi")
    lo_hour, hi_hour = int(h0.min()), int(h_on.max())
    cov = coverage.filter(pl.col("source").is_in(mine_all["source"].unique().implode())).select(
        "source",
        (pl.col("ts").dt.epoch("us") // HOUR_US).alias("hour"),
        pl.col("cell_lat").cast(pl.Int64),
        pl.col("cell_lon").cast(pl.Int64),
        "vessels",
        pl.col("ts").dt.date().alias("day"),
        "interval_s",
    )
    interval = {
        (f, d): v
        for f, d, v in cov.group_by("source", "day").agg(pl.col("interval_s").first()).iter_rows()
    }
    last_hour = dict(cov.group_by("source").agg(pl.col("hour").max()).iter_rows())
    cov = cov.filter(pl.col("hour").is_between(lo_hour, hi_hour - 1))
    # others heard anywhere by the vessel's feeds, per silence and hour
    anywhere = np.zeros(int(length.sum()), dtype=np.int64)
    heard = (
        feeds.join(cov.group_by("source", "hour").agg(pl.col("vessels").sum()), on="source")
        .filter(in_window)
        .select("gap", "hour", "vessels")
    )
    itself = own.group_by("gap", "hour").len("vessels")
    _add(anywhere, offset, h0, heard)
    _add(anywhere, offset, h0, itself, -1)
    # the hours in which the feed of the last report before the silence, or that of the
    # first after, delivered nothing at all (the vessel may have been where only that feed
    # hears: a satellite feed down while a coastal station hears the coast)
    # (the feed of the report itself; where that is a sparse export, the feed of most of the
    # vessel's reports within COPY_US of it)
    def copies(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first row of the MMSI within COPY_US of each of ``rows``, and how many."""
        lo_ = first + _search(t, first, last, t[rows] - COPY_US, "left")
        hi_ = first + _search(t, first, last, t[rows] + COPY_US, "right")
        return lo_, hi_ - lo_

    lo_before, n_before = copies(off)
    lo_after, n_after = copies(on)
    end_rows = np.r_[
        np.repeat(lo_before, n_before) + _ranks(n_before),
        np.repeat(lo_after, n_after) + _ranks(n_after),
    ]
    end_feeds = (
        pl.DataFrame(
            {
                "gap": np.r_[np.repeat(gap_ids, n_before), np.repeat(gap_ids, n_after)],
                "after": np.r_[
                    np.zeros(int(n_before.sum()), bool), np.ones(int(n_after.sum()), bool)
                ],
                "row": end_rows,
            }
        )
        .with_columns(
            feed_of(end_rows).alias("source"),
            pl.Series(
                "itself",
                end_rows
                == np.r_[np.repeat(off, n_before), np.repeat(on, n_after)],
            ),
        )
        .with_columns(pl.col("source").is_in(sparse_feeds).alias("sparse"))
        .with_columns(  # the end report's own feed, unless sparse: then its copies' feeds
            (pl.col("itself") & ~pl.col("sparse")).any().over("gap", "after").alias("direct")
        )
        .filter(~pl.col("sparse") & (pl.col("itself") | ~pl.col("direct")))
        .group_by("gap", "after", "source")
        .len("reports")
        .filter(pl.col("reports") == pl.col("reports").max().over("gap", "after"))
        .group_by("gap", "source")  # (of the copies, the feed that heard the vessel most)
        .agg(pl.col("after").any())
        .sort("gap", "source")
        .with_row_index("end")
    )
    end_gap = end_feeds["gap"].to_numpy()
    end_len = length[end_gap]
    end_offset = np.r_[0, np.cumsum(end_len)[:-1]]
    delivered = np.zeros(int(end_len.sum()), dtype=np.int64)
    per_feed = (
        coverage.filter(pl.col("source").is_in(end_feeds["source"].unique().implode()))
        .select("source", (pl.col("ts").dt.epoch("us") // HOUR_US).alias("hour"), "vessels")
        .filter(pl.col("hour").is_between(lo_hour, hi_hour - 1))
        .group_by("source", "hour")
        .agg(pl.col("vessels").sum())
    )
    rows = (
        end_feeds.join(per_feed, on="source")
        .join(window.select("gap", "h0", "h_on"), on="gap")
        .filter(in_window)
    )
    if rows.height:
        e = rows["end"].to_numpy().astype(np.int64)
        np.add.at(
            delivered,
            end_offset[e] + rows["hour"].to_numpy() - h0[end_gap[e]],
            rows["vessels"].to_numpy().astype(np.int64),
        )
    mine_heard = (  # ... other vessels: the vessel's own reports do not count
        own_all.select("gap", "source", "hour")
        .unique()
        .join(end_feeds, on=["gap", "source"])
    )
    if mine_heard.height:
        e = mine_heard["end"].to_numpy().astype(np.int64)
        np.add.at(delivered, end_offset[e] + mine_heard["hour"].to_numpy() - h0[end_gap[e]], -1)
    # ... between two of its deliveries: a feed that had not begun, or that ended (a tasked
    # or temporary feed, a file) while the vessel went on to others, is no outage; the
    # first report after the silence is a delivery of its feed
    down = delivered == 0
    is_on = end_feeds["after"].to_numpy()
    for k in range(end_gap.size):
        run = down[end_offset[k] : end_offset[k] + end_len[k]]
        edges = np.flatnonzero(np.diff(run.astype(np.int8), prepend=0, append=0))
        for r0, r1 in zip(edges[::2], edges[1::2], strict=True):
            if r0 == 0 or (r1 == run.size and not is_on[k]):
                run[r0:r1] = False
    feed_down = np.zeros(int(length.sum()), dtype=bool)
    at = np.repeat(offset[end_gap], end_len) + _ranks(end_len)
    np.logical_or.at(feed_down, at, down)
    # the silences with a run of such hours max_blind_h long reaching into them (the others
    # need no closer look)
    win = np.repeat(gap_ids, length)  # the silence of each hour of the flat arrays
    new_win = np.r_[True, win[1:] != win[:-1]] if win.size else np.zeros(0, dtype=bool)
    go_on = np.r_[feed_down[1:] & ~new_win[1:], False]  # the run goes on to the next hour
    came = np.r_[False, feed_down[:-1]] & ~new_win  # ... came from the previous one
    run_start = np.flatnonzero(feed_down & ~came)
    run_end = np.flatnonzero(feed_down & ~go_on) + 1
    run_gap = win[run_start]
    reach = run_end - offset[run_gap] > (h_off - h0)[run_gap] + 1
    long_down = np.zeros(n, dtype=bool)
    long_down[run_gap[(run_end - run_start >= p.max_blind_h) & reach]] = True
    # other vessels heard by any feed of the store, per silence and hour: none at all is a
    # hole between capture files or every receiver down (see _dead_hours)
    # (a sparse feed, a daily export whose rows fall at any hour, says nothing of an hour)
    per_hour = (
        coverage.filter(pl.col("interval_s").fill_null(0.0) < p.max_blind_h * 3600.0)
        .select(
            (pl.col("ts").dt.epoch("us") // HOUR_US).alias("hour"),
            "vessels",
            pl.col("first_ts").dt.epoch("us"),
            pl.col("last_ts").dt.epoch("us"),
        )
        .filter(pl.col("hour").is_between(lo_hour, hi_hour))
        .group_by("hour")
        .agg(pl.col("vessels").sum(), pl.col("first_ts").min(), pl.col("last_ts").max())
    )
    total = np.zeros(hi_hour - lo_hour + 1, dtype=np.int64)
    # the store's first and last delivery of each hour (the hour's edges when it had none):
    # where a hole between files begins and ends, to the second
    span_hours = np.arange(lo_hour, hi_hour + 1, dtype=np.int64)
    first_us, last_us = span_hours * HOUR_US, (span_hours + 1) * HOUR_US
    at = per_hour["hour"].to_numpy() - lo_hour
    total[at] = per_hour["vessels"].to_numpy()
    first_us[at] = per_hour["first_ts"].fill_null(0).to_numpy()
    last_us[at] = per_hour["last_ts"].fill_null(0).to_numpy()
    store_others = total[np.repeat(h0 - lo_hour, length) + _ranks(length)]
    _add(store_others, offset, h0, itself, -1)
    # how many hourly feeds the store had before each silence: with two or more, hours in
    # which none delivered are a hole whatever came before (an earlier hole is no rhythm);
    # a store fed by one satellite alone is silent between its passes
    hourly_feeds = (
        coverage.filter(pl.col("interval_s").fill_null(0.0) < p.max_blind_h * 3600.0)
        .select("source", (pl.col("ts").dt.epoch("us") // HOUR_US).alias("hour"))
        .filter(pl.col("hour").is_between(lo_hour, hi_hour))
        .unique()
        .group_by("source")
        .agg(pl.col("hour").sort())
    )
    n_feeds = np.zeros(n, dtype=np.int64)
    for feed_hours in hourly_feeds["hour"].to_list():  # one pass per feed, over all silences
        fh = np.asarray(feed_hours, dtype=np.int64)
        n_feeds += np.searchsorted(fh, h0, side="left") < np.searchsorted(fh, h_off, side="right")
    # ... and within coverage_cells cells of the last position
    ring = np.arange(-p.coverage_cells, p.coverage_cells + 1)
    lon_cells = round(360 / CELL_DEG)
    block = (
        feeds.join(
            pl.DataFrame({"dla": ring}).join(pl.DataFrame({"dlo": ring}), how="cross"), how="cross"
        )
        .select(
            "gap",
            "source",
            "h0",
            "h_on",
            (pl.col("la") + pl.col("dla")).alias("cell_lat"),
            ((pl.col("lo") + pl.col("dlo") + lon_cells // 2) % lon_cells - lon_cells // 2).alias(
                "cell_lon"
            ),
        )
        .unique()
    )
    near = np.zeros(int(length.sum()), dtype=np.int64)
    cells = ["source", "cell_lat", "cell_lon"]
    heard = block.join(cov, on=cells).filter(in_window).select("gap", "hour", "vessels")
    itself = own.join(block, on=["gap", *cells], how="semi").group_by("gap", "hour").len("vessels")
    _add(near, offset, h0, heard)
    _add(near, offset, h0, itself, -1)
    off_day = pos["ts"].gather(off).dt.date().to_list()
    out: dict[str, list[Any]] = {
        k: []
        for k in (
            "gap",
            "coverage",
            "coverage_note",
            "feeds",
            "watched_h",
            "outage_h",
            "unknown_h",
            "feed_interval_s",
        )
    }
    for g in range(n):
        span = slice(int(offset[g]), int(offset[g] + length[g]))
        near_g, anywhere_g = near[span], anywhere[span]
        quiet = int(h_off[g] - h0[g])  # index of the hour the vessel went silent in
        inside = slice(quiet + 1, None)
        watched = near_g[inside] > 0
        known_area = bool((near_g > 0).any())
        known_feeds = bool((anywhere_g > 0).any())
        up = anywhere_g > 0
        blind_all = (near_g == 0) & known_feeds & (up & known_area | ~up)
        stop = int(np.flatnonzero(up)[-1]) + 1 if up.any() else 0
        if stop < up.size and all(last_hour.get(f, -1) < h0[g] + stop for f in hourly_of[g]):
            # the vessel's feeds stopped for good and another heard it again: they ended
            # (a tasked or temporary feed, a station's capture), they were not down; what
            # they would have heard after is unknown, not blind
            blind_all[stop:] = False
        blind = blind_all[inside]
        history = up[: quiet + 1]
        rate = float(near_g[: quiet + 1][history].sum()) / max(int(history.sum()), 1)
        # hours no feed heard any other vessel anywhere: only where the feeds hear others at
        # all (alone in a store, a vessel's silence is the store's and tells nothing)
        dead = (store_others[span] <= 0) & known_feeds
        holes = _dead_hours(dead, quiet, p.max_blind_h, busy=0.0 if n_feeds[g] > 1 else 0.5)
        outages = (
            _outage_hours(blind_all, ~up, quiet, p.max_blind_h, rate, p.min_expected_heard)
            | (
                _dead_hours(feed_down[span] & known_feeds, quiet, p.max_blind_h)
                if long_down[g]  # (most silences: no end feed down that long)
                else False
            )
            | holes
        )
        outage_h = int(outages.sum())
        silence_h = float(t_on[g] - t_off[g]) / HOUR_US
        # the hours the silence lost, the holes to the second: from the store's last delivery
        # before one to its first after (whole hours would leave up to two of them counted
        # as silence, and a hole of 8 h at 12 min past the hour is 7 whole hours)
        lost_h = float((outages & ~holes).sum())
        run0, run1, _ = _runs(holes, quiet) if holes.any() else (np.empty(0), np.empty(0), 0)
        for r0, r1 in zip(run0, run1, strict=True):
            lo_us = (h0[g] + r0) * HOUR_US
            hi_us = (h0[g] + r1) * HOUR_US
            if r0 > 0 and not outages[r0 - 1]:
                lo_us = last_us[h0[g] + r0 - 1 - lo_hour]
            if r1 == outages.size or not outages[r1]:  # (the hour it is heard again: no outage)
                hi_us = first_us[h0[g] + r1 - lo_hour]
            lost_h += max(min(hi_us, t_on[g]) - max(lo_us, t_off[g]), 0) / HOUR_US
        usual = [interval.get((f, off_day[g])) for f in feeds_of[g]]
        usual_s = min((u for u in usual if u is not None), default=None)
        sparse = (  # a feed that hears only this vessel tells nothing of its own
            known_feeds
            and usual_s is not None
            and silence_h * 3600 <= p.min_interval_ratio * usual_s
        )
        names = ", ".join(feeds_of[g]) or "(no source)"
        if known_area:
            note = (
                f"{names} heard other vessels within {p.coverage_cells} cell(s) of the last "
                f"position in {int(watched.sum())} of {watched.size} silent hours"
            )
        else:
            note = (
                f"{names} heard no other vessel within {p.coverage_cells} cell(s) of the last "
                "position before or during the silence: coverage unknown"
            )
        out["gap"].append(silence_h - lost_h > p.min_gap_h and not sparse)
        out["coverage"].append("heard" if known_area else "unknown")
        out["coverage_note"].append(note)
        out["feeds"].append(feeds_of[g])
        out["watched_h"].append(int(watched.sum()))
        out["outage_h"].append(outage_h)
        out["unknown_h"].append(int((~watched & ~blind).sum()))
        out["feed_interval_s"].append(usual_s)
    return pl.DataFrame(
        out,
        schema={
            "gap": pl.Boolean(),
            "coverage": pl.String(),
            "coverage_note": pl.String(),
            "feeds": pl.List(pl.String()),
            "watched_h": pl.Int64(),
            "outage_h": pl.Int64(),
            "unknown_h": pl.Int64(),
            "feed_interval_s": pl.Float64(),
        },
    )


def _add(
    into: np.ndarray, offset: np.ndarray, h0: np.ndarray, rows: pl.DataFrame, sign: int = 1
) -> None:
    """Add ``sign * vessels`` of ``rows`` (``gap``, ``hour``, ``vessels``) to the flat
    per-silence hourly array ``into`` (silence ``g``'s hour ``h`` at ``offset[g] + h -
    h0[g]``)."""
    if not rows.height:
        return
    g = rows["gap"].to_numpy()
    at = offset[g] + rows["hour"].to_numpy() - h0[g]
    np.add.at(into, at, sign * rows["vessels"].to_numpy().astype(np.int64))


def _search(
    t: np.ndarray, first: np.ndarray, last: np.ndarray, values: np.ndarray, side: str
) -> np.ndarray:
    """For each i, where ``values[i]`` falls in the sorted ``t[first[i]:last[i]]`` (one
    binary search per silence)."""
    return np.array(
        [
            np.searchsorted(t[f:e], v, side=side)  # type: ignore[call-overload]
            for f, e, v in zip(first, last, values, strict=True)
        ],
        dtype=np.int64,
    )


def _ranks(count: np.ndarray) -> np.ndarray:
    """0, 1, ..., count[0] - 1, 0, 1, ..., count[1] - 1, ... (the rank within each block)."""
    total = int(count.sum())
    starts: np.ndarray = np.repeat(np.cumsum(count) - count, count)
    ranks: np.ndarray = np.arange(total, dtype=np.int64) - starts
    return ranks


def _runs(mask: np.ndarray, off: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The runs ``[starts, ends)`` of ``mask``, and the longest wholly before ``off`` (a run
    touching the window's start is cut and tells nothing of the usual length).

    >>> import numpy as np
    >>> _runs(np.array([1, 0, 1, 1, 0, 1], bool), 4)
    (array([0, 2, 5]), array([1, 4, 6]), 2)
    """
    edges = np.flatnonzero(np.diff(mask.astype(np.int8), prepend=0, append=0))
    starts, ends = edges[::2], edges[1::2]
    before = (starts > 0) & (ends <= off)
    return starts, ends, int((ends - starts)[before].max(initial=0))


def _dead_hours(dead: np.ndarray, off: int, least: int = 1, busy: float = 0.5) -> np.ndarray:
    """Mask of the hours after ``off`` in runs of ``dead`` hours (no feed of the store heard
    any other vessel) at least ``least`` long, and either longer than every such run wholly
    before ``off`` or in a busy store (others heard in at least ``busy`` of the hours before
    ``off``, from the first such hour): a hole between capture files, not the store's usual
    rhythm (a store fed by one satellite is silent between its passes).

    >>> import numpy as np
    >>> hole = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0], bool)
    >>> int(_dead_hours(hole, 3).sum())
    4
    >>> passes = np.array([0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0], bool)  # a pass every 4 h
    >>> int(_dead_hours(passes, 4).sum()), int(_dead_hours(passes, 4, busy=0.2).sum())
    (0, 6)
    """
    starts, ends, usual = _runs(dead, off)
    alive = np.flatnonzero(~dead[: off + 1])
    if not alive.size:  # no hourly feed heard anyone before: nothing to compare a hole with
        return np.zeros(dead.size, dtype=bool)
    share = float((~dead[alive[0] : off + 1]).mean())
    long = (ends > off + 1) & (ends - starts >= least) & ((ends - starts > usual) | (share >= busy))
    return _after(starts[long], ends[long], off, dead.size)


def _outage_hours(
    blind: np.ndarray, down: np.ndarray, off: int, least: int, rate: float, expected: float
) -> np.ndarray:
    """Mask of the hours after ``off`` (the hour the vessel went silent) in blind runs that
    are outages.

    ``blind`` flags the hours of the coverage window (``revisit_h`` before the silence, then
    the silence) in which the feeds heard no one around the vessel, ``down`` those in which
    they delivered nothing at all. A run is an outage when it is at least ``least`` long,
    longer than every run wholly before ``off`` (the feeds' usual revisit of the area; a run
    touching the window's start or ``off`` is cut and tells nothing of it), and either holds
    ``least`` hours of ``down`` or is long enough that ``rate`` (others heard around there
    per hour) would have given ``expected`` of them.

    >>> import numpy as np
    >>> b = np.array([0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1], bool)
    >>> down = np.zeros(b.size, bool)
    >>> def n(mask): return int(mask.sum())
    >>> n(_outage_hours(b, down, 5, 3, 2.0, 10)), n(_outage_hours(b, down, 5, 6, 2.0, 10))
    (5, 0)
    >>> n(_outage_hours(b, down, 5, 3, 1.0, 10)), n(_outage_hours(b, b, 5, 3, 0.0, 10))
    (0, 5)
    """
    starts, ends, usual = _runs(blind, off)
    length = ends - starts
    cum = np.zeros(blind.size + 1, dtype=np.int64)
    np.cumsum(down & blind, out=cum[1:])
    down_hours = cum[ends] - cum[starts]
    long = (ends > off + 1) & (length >= max(least, usual + 1, 1))
    evident = (down_hours >= least) | (rate * length >= expected)
    return _after(starts[long & evident], ends[long & evident], off, blind.size)


def _after(starts: np.ndarray, ends: np.ndarray, off: int, size: int) -> np.ndarray:
    """Mask of the hours after ``off`` inside the runs ``[starts, ends)`` of a window of
    ``size`` hours."""
    mark = np.zeros(size + 1, dtype=np.int64)
    np.add.at(mark, starts, 1)
    np.add.at(mark, ends, -1)
    inside = np.cumsum(mark[:-1]) > 0
    inside[: off + 1] = False
    return inside


def with_envelopes(
    events: pl.DataFrame, segmented: pl.DataFrame, context: Context, params: GapParams
) -> pl.DataFrame:
    """``events`` (gaps) with the movement envelope of each in its details.

    Adds ``envelope_speed_kn`` (the top speed used), ``envelope_speed_from`` (``observed``,
    ``type_cap`` or ``implied``), ``envelope_reach_km`` (speed x hours), ``envelope_area_km2``
    (``pi a b``), ``envelope_half_width_km`` (b), ``envelope_zones`` (names of the zones it
    intersects), ``envelope_ports`` / ``envelope_port_count`` (the ports, kind ``port``, it
    holds: the context's port table when the run built one, else the shipped list) and
    ``envelope_wkt`` (the polygon, lon/lat). See :mod:`seawatch.detect.envelope`.
    """
    if not params.envelope or events.height == 0:
        return events
    from seawatch.detect.envelope import envelope_details
    from seawatch.geo import ports as shipped_ports

    fields = ["gap_hours", "implied_speed_kn", "off_lat", "off_lon", "on_lat", "on_lon",
              "off_segment_id", "on_segment_id"]
    gaps = pl.concat(
        [events.select("mmsi"),
         events["details"].str.json_decode().struct.unnest().select(fields)],
        how="horizontal",
    )
    ports = context.ports if context.ports is not None else shipped_ports(world=True)
    extra = envelope_details(gaps, segmented, context.vessels, context.zones, ports, params)
    merged = pl.concat([events.select("details"), extra], how="horizontal").select(
        pl.concat_str(
            [
                pl.col("details").str.strip_suffix("}"),
                pl.lit(","),
                details_json({c: pl.col(c) for c in extra.columns}).str.strip_prefix("{"),
            ]
        ).alias("details")
    )
    return events.with_columns(merged["details"])


def _detect(table: pl.DataFrame, params: GapParams, context: Context) -> pl.DataFrame:
    events = detect_gaps(table, params=params, coverage=context.coverage)
    return with_envelopes(events, table, context, params)


def _concat(parts: Any, params: GapParams, context: Context) -> pl.DataFrame:
    frames = [p for p in parts if p.height]
    return pl.concat(frames) if frames else empty_events()


DETECTOR = Detector(
    name="gap",
    event_types=("gap",),
    params=GapParams,
    detect=_detect,
    needs=frozenset({"coverage", "zones", "vessels"}),
    provides="gaps",
    split=Split(part=_detect, combine=_concat),
)
"""The ``gap`` step of the pipeline: the gaps of each chunk, with their envelopes; they are
the context's ``gaps`` (the dark-vessel detectors read them) once every chunk is read."""
