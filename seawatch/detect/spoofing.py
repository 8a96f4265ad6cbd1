"""Spoofing events: one MMSI transmitted from places no single vessel could connect.

Definition (``docs/detectors.md``, section *spoofing*). After segmentation
(:func:`seawatch.tracks.segment`) a shared identity shows up as two or more segments of one
MMSI overlapping in time, and a faked position as a segment of its own in the middle of the
track. Only *persistent* segments count: at least ``min_track_positions`` reports spanning at
least ``min_track_duration``; a single report no track explains is a garbled report (an
``outlier``, :mod:`seawatch.tracks.outliers`), not a second transmitter, and a short burst is
no track of its own either; a *lone* report (between two reports of one other segment) takes
no part unless another report of its segment lies within ``lone_km`` of it
(:func:`uncorroborated_lone_reports`: a garbled report the segmenter joined to reports hours
away, which lie elsewhere); nor does a segment each of whose reports lies within ``replica_km``
of a report of another segment of the MMSI (:func:`replica_segments`: a copy of the track
delayed in time, by a station clock or a relay). In the MMSI's positions of persistent
segments, in time order, a *switch* is a pair of consecutive positions in different segments
that is not a clean hand-over (p the last position of its segment and q the first of its
segment). A switch is
evidence of spoofing when no vessel could have made it: the implied speed exceeds
``max_speed_kn`` and the distance exceeds ``jump_km``. Evidence of one MMSI less than
``merge_h`` apart forms one episode, one event, from the first to the last position involved;
an episode needs ``min_switches`` (2) impossible switches, away and back.

``details``: ``kind`` (``position_jump`` when the reports left a track once and came back:
two tracks, two switches; ``shared_identity`` when they alternate between tracks: two or more
transmitters at once), ``n_tracks`` (segments involved), ``n_switches``,
``max_implied_speed_kn`` (time floored at 1 s, the resolution of AIS time stamps),
``max_separation_km`` and ``tracks``, the evidence: per track its ``segment_id``, its
``positions`` within the episode, their first and last time (``start``, ``end``) and its first
position in the episode (``lat``, ``lon``). ``score`` = 1 - 0.5 ** n_switches: a jump and back
(two switches) scores 0.75, a long alternation between two tracks approaches 1.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> from seawatch.tracks import segment
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> lat = [-1.0, -1.01, -3.0, -3.0, -1.04, -1.05]   # two reports 220 km away, 10 min apart
>>> pos = pl.DataFrame({"mmsi": [735000001] * 6, "lon": [-85.0] * 6, "lat": lat,
...                     "ts": [t0 + timedelta(minutes=10 * k) for k in range(6)]})
>>> ev = detect_spoofing(segment(pos))
>>> ev.select("type", "mmsi", "score").rows()
[('spoofing', 735000001, 0.75)]

One report far away is a garbled report, not spoofing:

>>> detect_spoofing(segment(pos.filter(pl.col("ts") != t0 + timedelta(minutes=30)))).height
0
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.detect.detector import Detector
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.geo.geodesy import NM_KM, distance_km, ecef_km
from seawatch.params import Count, Duration, Number, Params, param, resolve
from seawatch.tracks.outliers import OUTLIER_COLUMN
from seawatch.units import duration_us


class SpoofingParams(Params):
    """Parameters of ``spoofing`` (docs/detectors.md, *spoofing*)."""

    max_speed_kn: Number = param(
        25.0,
        "A switch between segments is impossible for one vessel above this implied speed (knots).",
        "the segmentation speed: GFW gpsdio-segment max_knots, DESIGN.md",
    )
    jump_km: Number = param(
        10.0,
        "... and over more than this distance (km); below it a switch is GPS noise or "
        "time-stamp jitter, not a second transmitter.",
        "docs/detectors.md",
    )
    merge_h: Number = param(
        48.0,
        "Spoofing evidence of one MMSI less than this many hours apart is one episode (one "
        "event): repeated spoofing of one MMSI, and a shared MMSI whose second transmitter "
        "goes unheard for a while, are one alert.",
        "seawatch: satellite AIS may not hear a class B transmitter for a day (GFW segment "
        "fixture 412440453: its second transmitter is heard about twice a day, once after 24 h "
        "of silence); two days keeps such an episode whole",
    )
    min_switches: Count = param(
        2,
        "Impossible switches an episode needs: a faked position jumps away and back (two); "
        "one lone switch is a stale or wrong report next to a good one.",
        'docs/detectors.md ("a jump that returns to the original track"); GFW\'s real '
        "satellite fixtures",
    )
    min_track_positions: Count = param(
        2,
        "A segment takes part in spoofing only with at least this many reports (a second "
        "transmitter repeats itself); a single report no track explains is a garbled report "
        "(an outlier), not spoofing.",
        "seawatch (issue 12): the 15 spoofing alerts of the AISHub sample were each one "
        "garbled report",
    )
    min_track_duration: Duration = param(
        "30s",
        "... and with its first and last reports at least this far apart: one transmission "
        "heard by several stations within seconds is one report, a transmitter repeats itself "
        "every 2 s to 3 min.",
        "ITU-R M.1371 reporting intervals (class A 2-10 s under way, class B 30 s, 3 min at "
        "anchor)",
    )
    lone_km: Number = param(
        10.0,
        "A lone report (a report of one track between two reports of one other track, the "
        "MMSI's previous and next) is evidence only when the report of its track just "
        "before or after it lies within this distance (km) of it: a second transmitter heard "
        "once at a time is heard again near where it was; a garbled report lands anywhere, "
        "and what the segmenter joins to it hours away is elsewhere. 0 disables the check.",
        "seawatch (issue 12): of the lone reports of the shared identities of the AISHub "
        "sample and GFW's segment fixture all but 11 of 582 lie within 10 km (most within "
        "0.2 km) of the neighbouring report of their track, and every episode keeps its "
        "alert; the simulated garbled reports that stayed spoofing lay 40-530 km from theirs",
    )
    replica_km: Number = param(
        1.0,
        "A track each of whose reports lies within this distance (km) of a report of another "
        "track of the MMSI retraces it: a copy delayed in time (a receiving station's clock "
        "off, a relay replaying old reports), not a second transmitter; 0 disables the check.",
        "seawatch (issue 12): the segmenter's noise_km; with 0.5 % of a simulated day's "
        "reports an hour late, each vessel's late reports form a ghost track an hour behind it",
    )


def detect_spoofing(
    segmented: pl.DataFrame, *, params: SpoofingParams | None = None, **overrides: Any
) -> pl.DataFrame:
    """Spoofing events of a segmented positions table.

    Parameters
    ----------
    segmented
        Positions with ``segment_id`` (the output of :func:`seawatch.tracks.segment`); rows
        flagged ``outlier`` (:func:`seawatch.tracks.flag_outliers`) are ignored.
    params
        The parameters (default: :class:`SpoofingParams`' defaults).
    **overrides
        Fields of :class:`SpoofingParams` to change (``jump_km=5``), checked against it.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``) of type ``spoofing``; lat/lon is the position
        before the first impossible switch.

    Raises
    ------
    seawatch.params.ConfigError
        An unknown parameter or a value of the wrong type.
    """
    p = resolve(SpoofingParams, params, overrides, "detect_spoofing()")
    if "segment_id" not in segmented.columns:
        raise schema.SchemaError(
            f"column 'segment_id' missing; found: {segmented.columns}. "
            "Run seawatch.tracks.segment(positions) first."
        )
    kept = segmented
    if OUTLIER_COLUMN in segmented.columns:
        kept = segmented.filter(~pl.col(OUTLIER_COLUMN).fill_null(False))
    pos = persistent_tracks(
        kept.select("mmsi", "ts", "lat", "lon", "segment_id"),
        p.min_track_positions,
        duration_us(p.min_track_duration),
    )
    switches = _impossible_switches(pos, p)
    if switches.height and p.lone_km > 0:
        # a lone report nothing of its track corroborates is a garbled report, not a track
        suspects = pos.filter(pl.col("mmsi").is_in(switches["mmsi"].unique().to_list()))
        alone = uncorroborated_lone_reports(suspects, p.lone_km)
        if alone.height:
            pos = pos.join(alone, on=["mmsi", "ts", "segment_id"], how="anti")
            switches = _impossible_switches(pos, p)
    if switches.height and p.replica_km > 0:
        # a second track retracing the first is a delayed copy, not a second transmitter
        suspects = pos.filter(pl.col("mmsi").is_in(switches["mmsi"].unique().to_list()))
        copies = replica_segments(suspects, p.replica_km)
        if copies.size:
            pos = pos.filter(~pl.col("segment_id").is_in(copies.tolist()))
            switches = _impossible_switches(pos, p)
    if switches.height == 0:
        return empty_events()
    merge = timedelta(microseconds=round(p.merge_h * 3_600_000_000))
    sw = (
        switches.sort("mmsi", "ts")
        .with_columns(pl.col("qts").cum_max().shift(1).over("mmsi").alias("_prev_end"))
        .with_columns(
            ((pl.col("ts") - pl.col("_prev_end")) >= merge)
            .fill_null(True)
            .cum_sum()
            .over("mmsi")
            .alias("_episode")
        )
    )
    ep = (
        sw.group_by("mmsi", "_episode")
        .agg(
            pl.col("ts").min().alias("start"),
            pl.col("qts").max().alias("end"),
            pl.col("lat").first().alias("lat"),
            pl.col("lon").first().alias("lon"),
            pl.len().alias("n_switches"),
            pl.col("speed_kn").max().alias("max_implied_speed_kn"),
            pl.col("sep_km").max().alias("max_separation_km"),
        )
        .filter(pl.col("n_switches") >= p.min_switches)
    )
    if ep.height == 0:
        return empty_events()
    involved = pl.concat(
        [
            sw.select("mmsi", "_episode", "segment_id"),
            sw.select("mmsi", "_episode", pl.col("qsegment_id").alias("segment_id")),
        ]
    ).unique()
    ep = ep.join(_evidence(pos, involved, ep), on=["mmsi", "_episode"])
    out = ep.select(
        "mmsi",
        "start",
        "end",
        "lat",
        "lon",
        (1.0 - 0.5 ** pl.col("n_switches").cast(pl.Float64)).alias("score"),
        details_json(
            {
                "kind": pl.when((pl.col("n_tracks") == 2) & (pl.col("n_switches") == 2))
                .then(pl.lit("position_jump"))
                .otherwise(pl.lit("shared_identity")),
                "n_tracks": pl.col("n_tracks"),
                "n_switches": pl.col("n_switches"),
                "max_implied_speed_kn": pl.col("max_implied_speed_kn").round(1),
                "max_separation_km": pl.col("max_separation_km").round(3),
                "tracks": pl.col("tracks"),
            }
        ),
    )
    return to_events(out, "spoofing")


def persistent_tracks(pos: pl.DataFrame, min_positions: int, min_span_us: int) -> pl.DataFrame:
    """The positions of the segments with at least ``min_positions`` reports whose first and
    last are at least ``min_span_us`` microseconds apart (``pos``: ``segment_id``, ``ts``)."""
    seg = "segment_id"
    span = (pl.col("ts").max() - pl.col("ts").min()).over(seg).dt.total_microseconds()
    return pos.filter((pl.len().over(seg) >= min_positions) & (span >= min_span_us))


def uncorroborated_lone_reports(pos: pl.DataFrame, within_km: float) -> pl.DataFrame:
    """The lone reports of ``pos`` that no neighbouring report of their segment corroborates.

    A report is *lone* when the MMSI's previous and next reports (in time) are both of one
    segment and it is of another: the track went on around it. It is *corroborated* when
    the report of its own segment just before or just after it (in time) lies within
    ``within_km`` of it: the other transmitter was heard again near there (a second vessel
    sharing the MMSI, heard once between the first one's reports, is heard there again; a
    garbled report lands anywhere, and whatever the segmenter joined to it hours away is
    somewhere else).

    Parameters
    ----------
    pos : polars.DataFrame
        ``mmsi``, ``ts``, ``lat``, ``lon``, ``segment_id`` of the MMSIs to check.
    within_km : float
        The distance (km) within which a neighbouring report of the segment corroborates one.

    Returns
    -------
    polars.DataFrame
        ``mmsi``, ``ts``, ``segment_id`` of the uncorroborated lone reports.

    Examples
    --------
    A track (segment 1) with one report 300 km away in segment 2, alone there, then a second
    transmitter (segment 3) heard twice at one place between the track's reports:

    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
    >>> pos = pl.DataFrame({"mmsi": [1] * 7, "segment_id": [1, 2, 1, 3, 1, 3, 1],
    ...                     "lat": [0.0, 3.0, 0.01, -3.0, 0.02, -3.0, 0.03], "lon": [0.0] * 7,
    ...                     "ts": [t0 + timedelta(minutes=k) for k in range(7)]})
    >>> uncorroborated_lone_reports(pos, 10.0)["segment_id"].to_list()
    [2]
    """
    columns = ["mmsi", "ts", "segment_id"]
    if pos.height < 3:
        return pos.select(columns).clear()
    seg, mmsi = pl.col("segment_id"), pl.col("mmsi")
    ordered = pos.sort("mmsi", "ts", maintain_order=True).with_columns(
        ((seg.shift(1) == seg.shift(-1)) & (seg != seg.shift(1))
         & (mmsi.shift(1) == mmsi) & (mmsi.shift(-1) == mmsi)).fill_null(False).alias("_lone"),
        *[pl.col(c).shift(k).over("segment_id").alias(f"_{c}{k}")
          for c in ("lat", "lon") for k in (1, -1)],
    )
    lone = ordered.filter(pl.col("_lone"))
    if lone.height == 0:
        return pos.select(columns).clear()
    lat, lon = lone["lat"].to_numpy(), lone["lon"].to_numpy()
    near = np.zeros(lone.height, dtype=bool)
    for k in (1, -1):
        other_lat = lone[f"_lat{k}"].to_numpy()
        known = ~np.isnan(other_lat.astype(np.float64))
        km = np.full(lone.height, np.inf)
        km[known] = distance_km(lat[known], lon[known], other_lat[known],
                                lone[f"_lon{k}"].to_numpy()[known])
        near |= km <= within_km
    return lone.filter(pl.Series(~near)).select(columns)


def replica_segments(pos: pl.DataFrame, within_km: float) -> np.ndarray:
    """Segments each of whose reports lies within ``within_km`` of a report of another
    segment of the same MMSI: a copy of that track delayed in time, not a second transmitter.

    Parameters
    ----------
    pos : polars.DataFrame
        ``mmsi``, ``segment_id``, ``lat``, ``lon`` of the MMSIs to check.
    within_km : float
        The distance (km) under which a report lies on the other track.

    Returns
    -------
    numpy.ndarray
        The ``segment_id`` of such segments (int64). Of two segments that retrace each other
        only the shorter is a copy (the longer is the vessel).

    Examples
    --------
    A track and a copy of two of its reports an hour late (a station clock an hour off):

    >>> pos = pl.DataFrame({"mmsi": [1] * 6, "segment_id": [10, 10, 10, 10, 11, 11],
    ...                     "lat": [0.0, 0.1, 0.2, 0.3, 0.1, 0.2], "lon": [0.0] * 6})
    >>> replica_segments(pos, 1.0).tolist()
    [11]
    """
    from scipy.spatial import cKDTree

    out: list[int] = []
    # one pass per suspect MMSI and segment (the MMSIs with impossible switches: a few)
    for _, vessel in pos.group_by("mmsi"):
        seg = vessel["segment_id"].to_numpy()
        xyz = ecef_km(vessel["lat"].to_numpy(), vessel["lon"].to_numpy())
        ids, sizes = np.unique(seg, return_counts=True)
        for k in np.argsort(sizes, kind="stable"):  # the shorter segments first
            sid, size = int(ids[k]), int(sizes[k])
            mine = seg == sid
            others = ~mine & ~np.isin(seg, out)
            if not others.any() or size > int(others.sum()):
                continue
            dist, _ = cKDTree(xyz[others]).query(xyz[mine], k=1)
            if bool((dist <= within_km).all()):
                out.append(sid)
    return np.asarray(out, dtype=np.int64)


def _impossible_switches(pos: pl.DataFrame, p: SpoofingParams) -> pl.DataFrame:
    """Consecutive positions (p, q) of one MMSI in different segments, not a clean hand-over,
    that no vessel could connect; with ``sep_km`` and ``speed_kn``."""
    if pos.height == 0:
        return pos
    pos = pos.sort("mmsi", "ts", maintain_order=True).with_row_index("_i")
    i, seg = pl.col("_i"), pl.col("segment_id")
    pos = pos.with_columns(
        (i == i.min().over("segment_id")).alias("_first"),
        (i == i.max().over("segment_id")).alias("_last"),
    )
    q = ["ts", "lat", "lon", "segment_id", "_first"]
    sw = pos.with_columns(*[pl.col(c).shift(-1).over("mmsi").alias(f"q{c}") for c in q]).filter(
        pl.col("qsegment_id").is_not_null()
        & (pl.col("qsegment_id") != seg)
        & ~(pl.col("_last") & pl.col("q_first"))
    )
    if sw.height == 0:
        return sw
    dist = distance_km(sw["lat"], sw["lon"], sw["qlat"], sw["qlon"])
    seconds = (sw["qts"] - sw["ts"]).dt.total_microseconds().to_numpy() / 1e6
    speed = dist / NM_KM / (np.maximum(seconds, 1.0) / 3600.0)
    return sw.with_columns(pl.Series("sep_km", dist), pl.Series("speed_kn", speed)).filter(
        (pl.col("sep_km") > p.jump_km) & (pl.col("speed_kn") > p.max_speed_kn)
    )


def _evidence(pos: pl.DataFrame, involved: pl.DataFrame, ep: pl.DataFrame) -> pl.DataFrame:
    """Per episode, ``n_tracks`` and ``tracks``: each involved segment's positions within the
    episode (count, first and last time, first position), in order of their first time."""
    spans = ep.select("mmsi", "_episode", "start", "end")
    per_track = (
        pos.join(involved.join(spans, on=["mmsi", "_episode"]), on=["mmsi", "segment_id"])
        .filter(pl.col("ts").is_between(pl.col("start"), pl.col("end")))
        .sort("ts")
        .group_by("mmsi", "_episode", "segment_id")
        .agg(
            pl.len().alias("positions"),
            pl.col("ts").first().alias("first"),
            pl.col("ts").last().alias("last"),
            pl.col("lat").first(),
            pl.col("lon").first(),
        )
        .sort("first", "segment_id")
    )
    return per_track.group_by("mmsi", "_episode").agg(
        pl.len().alias("n_tracks"),
        pl.struct(
            "segment_id",
            "positions",
            pl.col("first").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("start"),
            pl.col("last").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("end"),
            pl.col("lat").round(5),
            pl.col("lon").round(5),
        ).alias("tracks"),
    )


DETECTOR = Detector(
    name="spoofing",
    event_types=("spoofing",),
    params=SpoofingParams,
    detect=lambda table, params, context: detect_spoofing(table, params=params),
)
"""The ``spoofing`` step of the pipeline."""
