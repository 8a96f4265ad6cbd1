"""Dark rendezvous: two vessels dark at the same time that could have met while unseen.

Each gap has a movement envelope (:mod:`seawatch.detect.envelope`: the ellipse of the points
the vessel could reach between its off and on positions at its plausible top speed ``v``).
Two envelopes that intersect are not enough: vessel 1 may reach the shared area only in
hours when vessel 2 can no longer be there. The test here is time-sliced and asks for a
stay, as an encounter does: vessels *i* and *j* could have been together at a place P for
``min_meet_h`` hours from a time ``t`` when, for each,

    d(A, P) <= v (t - t_A)   and   d(P, B) <= v (t_B - t - min_meet_h)

(it reaches P by ``t`` and still reaches its on position B after staying): P lies in both
vessels' *stay lenses* of time ``t``. That test alone holds for most pairs of vessels dark
on the same day within a few hundred km (a day's envelope at 10-15 kn spans 400-600 km), so
a candidate also needs the two to have gone dark near each other (off positions at most
``max_apart_km`` apart, off times at most ``max_apart_h``) or to have come back near each
other (the same for the on positions and times): going dark together, or reappearing
together, is what makes a meeting the likely reason. Candidate pairs are gaps of different
vessels whose envelopes intersect and whose silences overlap by at least ``min_meet_h``
(found from a k-d tree of the off and on positions within ``max_apart_km``, or with that at
inf an STRtree over the envelopes); for each pair the lenses are tested every ``step_h``
hours over the common silence (all pairs and times as one vectorised Shapely call). A pair
with a time at which the lenses meet is one ``dark_rendezvous`` event (``mmsi`` < ``other_mmsi``):
start = the first such time, end = the last plus ``min_meet_h``, at the centroid of the
largest meeting area. ``details``: the two gap event ids, ``feasible_hours`` (the times the
lenses met, times ``step_h``), ``min_meeting_area_km2`` and ``max_meeting_area_km2`` (the
smallest and largest common area of those times: the smallest is about 0 where the lenses
first touch), each vessel's gap hours and envelope
speed. Gaps longer than ``max_gap_h`` are left out: a multi-day envelope covers an ocean,
and every vessel dark in it would be a candidate.

Examples
--------
>>> import polars as pl
>>> from seawatch.detect.detector import Context
>>> found = detect_dark_rendezvous(Context(gaps=pl.DataFrame()), DarkRendezvousParams())
>>> found.height
0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import shapely

from seawatch.detect.detector import Context, Detector, Split
from seawatch.detect.envelope import area_km2, ellipses, gap_table, lenses
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.geo.geodesy import MEAN_RADIUS_KM, NM_KM, distance_km
from seawatch.params import Count, Flag, Number, Params, param

HOUR_US = 3_600_000_000


class DarkRendezvousParams(Params):
    """Parameters of ``dark_rendezvous`` (docs/detectors.md, *dark_rendezvous*)."""

    min_meet_h: Number = param(
        2.0,
        "Two dark vessels are a candidate only if both could have stayed at one place "
        "together for this many hours (0: could have been at one place at one instant).",
        "DESIGN.md encounter: at least 2 h within 500 m; a transfer at sea takes hours",
    )
    step_h: Number = param(
        0.25,
        "The stay lenses of the two vessels are compared every this many hours of their "
        "common silence.",
        "seawatch: a quarter hour is under 10 km of movement at the envelope speeds",
    )
    max_gap_h: Number = param(
        48.0,
        "Gaps longer than this many hours are left out: their envelopes span hundreds of "
        "kilometres and meet those of every vessel dark in the region.",
        "seawatch: measured on the real files (docs/evaluation.md); two days at 15 kn is "
        "already a 1,300 km ellipse",
    )
    max_meeting_area_km2: Number = param(
        float("inf"),
        "A pair whose largest common area (over the times the stay lenses met) exceeds "
        "this many km² is left out: the meeting place is too vague to act on (inf: keep "
        "all).",
        "seawatch",
    )
    max_apart_km: Number = param(
        50.0,
        "The two vessels must have gone dark, or come back, near each other: their off "
        "positions (or their on positions) at most this many km apart, at times at most "
        "max_apart_h apart (inf: the time-sliced test alone).",
        "seawatch: measured on the messy simulator and the real files (docs/evaluation.md): "
        "every pair the time-sliced test alone raised was two vessels going dark hundreds "
        "of km apart, whose day-long envelopes meet anywhere",
    )
    max_apart_h: Number = param(
        6.0,
        "Hours between the two off times (or the two on times) for max_apart_km.",
        'seawatch: GFW\'s "potential dark activity" scale (6 h gaps)',
    )
    with_outages: Flag = param(
        False,
        "Pair gaps whose silence includes a coverage outage (details.outage_h > 0: hours in "
        "which the feeds around the vessel heard no one) too. Off by default: a receiver "
        "that goes down makes every vessel it heard go dark at once, near each other.",
        "seawatch: measured on the messy simulator (docs/evaluation.md): every pair raised "
        "with outages paired was two vessels near one Galápagos receiver whose outage began "
        "their silences",
    )
    vertices: Count = param(
        32,
        "Vertices of each disc of the stay lenses.",
        "seawatch: as gap envelope_vertices",
    )


def _gaps(events: pl.DataFrame | None, p: DarkRendezvousParams) -> pl.DataFrame:
    fields = ["gap_hours", "off_lat", "off_lon", "on_lat", "on_lon", "envelope_speed_kn",
              "outage_h"]
    g = gap_table(events, fields)
    if g.height == 0:
        return g
    keep = pl.col("gap_hours") <= p.max_gap_h
    if not p.with_outages:
        keep &= pl.col("outage_h").fill_null(0) == 0
    return g.filter(keep)


def _candidates(
    env: np.ndarray,
    off_lat: np.ndarray,
    off_lon: np.ndarray,
    on_lat: np.ndarray,
    on_lon: np.ndarray,
    apart_km: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of gaps whose envelopes intersect. With a finite ``apart_km`` only
    those whose off positions, or on positions, are that near are looked at (a k-d tree on
    the unit sphere: the pairs grow with the gaps, not with their square, however large
    the envelopes); otherwise an STRtree over the envelopes."""
    if np.isfinite(apart_km):
        from scipy.spatial import cKDTree

        chord = 2.0 * np.sin(min(apart_km / MEAN_RADIUS_KM, np.pi) / 2.0) * (1 + 1e-9)
        found = [
            cKDTree(_unit(lat, lon)).query_pairs(chord, output_type="ndarray")
            for lat, lon in ((off_lat, off_lon), (on_lat, on_lon))
        ]
        pairs = np.unique(np.concatenate(found).reshape(-1, 2), axis=0)
        i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
        meet = np.asarray(shapely.intersects(env[i], env[j]), dtype=bool)
        return i[meet], j[meet]
    i, j = shapely.STRtree(env).query(env, predicate="intersects")
    return i[i < j], j[i < j]


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def detect_dark_rendezvous(context: Context, params: DarkRendezvousParams) -> pl.DataFrame:
    """The ``dark_rendezvous`` events of the context's gaps (see the module docstring)."""
    p = params
    g = _gaps(context.gaps, p)
    if g.height < 2:
        return empty_events()
    off_lat, off_lon = g["off_lat"].to_numpy(), g["off_lon"].to_numpy()
    on_lat, on_lon = g["on_lat"].to_numpy(), g["on_lon"].to_numpy()
    v_km_h = g["envelope_speed_kn"].to_numpy() * NM_KM
    t_off = g["start"].dt.epoch("us").to_numpy()
    t_on = g["end"].dt.epoch("us").to_numpy()
    hours = (t_on - t_off) / HOUR_US
    env, _, _, _ = ellipses(off_lat, off_lon, on_lat, on_lon, v_km_h * hours,
                            vertices=p.vertices)
    i, j = _candidates(env, off_lat, off_lon, on_lat, on_lon, p.max_apart_km)
    mmsi = g["mmsi"].to_numpy()
    stay_us = round(p.min_meet_h * HOUR_US)
    lo = np.maximum(t_off[i], t_off[j])
    hi = np.minimum(t_on[i], t_on[j]) - stay_us
    off_km = distance_km(off_lat[i], off_lon[i], off_lat[j], off_lon[j])
    on_km = distance_km(on_lat[i], on_lon[i], on_lat[j], on_lon[j])
    apart_us = p.max_apart_h * HOUR_US
    together = ((off_km <= p.max_apart_km) & (np.abs(t_off[i] - t_off[j]) <= apart_us)) | (
        (on_km <= p.max_apart_km) & (np.abs(t_on[i] - t_on[j]) <= apart_us))
    keep = (i < j) & (mmsi[i] != mmsi[j]) & (hi >= lo) & together
    i, j, lo, hi = i[keep], j[keep], lo[keep], hi[keep]
    off_km, on_km = off_km[keep], on_km[keep]
    if i.size == 0:
        return empty_events()
    step_us = max(round(p.step_h * HOUR_US), 1)
    count = (hi - lo) // step_us + 1
    pair = np.repeat(np.arange(i.size), count)
    first = np.repeat(np.cumsum(count) - count, count)
    t = lo[pair] + (np.arange(pair.size) - first) * step_us
    stay_h = p.min_meet_h

    def stay_lens(k: np.ndarray) -> np.ndarray:
        since = (t - t_off[k]) / HOUR_US
        until = (t_on[k] - t) / HOUR_US - stay_h
        return lenses(off_lat[k], off_lon[k], on_lat[k], on_lon[k], v_km_h[k] * since,
                      v_km_h[k] * until, vertices=p.vertices)

    a, b = stay_lens(i[pair]), stay_lens(j[pair])
    meet = shapely.intersects(a, b)
    if not meet.any():
        return empty_events()
    rows = np.flatnonzero(meet)
    common = np.asarray(shapely.intersection(a[rows], b[rows]))
    area = area_km2(common)
    frame = pl.DataFrame(
        {"pair": pair[rows], "t": t[rows], "area": area, "row": np.arange(rows.size)}
    )
    per_pair = frame.group_by("pair").agg(
        pl.col("t").min().alias("first"),
        pl.col("t").max().alias("last"),
        pl.len().alias("n"),
        pl.col("area").min().alias("min_area"),
        pl.col("area").max().alias("max_area"),
        pl.col("row").sort_by("area").last().alias("best"),
    ).filter(pl.col("max_area") <= p.max_meeting_area_km2).sort("pair")
    if per_pair.height == 0:
        return empty_events()
    k = per_pair["pair"].to_numpy()
    centre = shapely.centroid(common[per_pair["best"].to_numpy()])
    gi, gj = i[k], j[k]
    ids = g["event_id"].to_numpy()
    gh = np.round(hours, 3)
    speed = np.round(g["envelope_speed_kn"].to_numpy(), 3)
    raw = pl.DataFrame(
        {
            "mmsi": mmsi[gi],
            "other_mmsi": mmsi[gj],
            "start_us": per_pair["first"].to_numpy(),
            "end_us": per_pair["last"].to_numpy() + stay_us,
            "lat": shapely.get_y(centre),
            "lon": shapely.get_x(centre),
            "score": (g["score"].to_numpy()[gi] + g["score"].to_numpy()[gj]) / 2,
            "gap_event_id": ids[gi],
            "other_gap_event_id": ids[gj],
            "gap_hours": gh[gi],
            "other_gap_hours": gh[gj],
            "envelope_speed_kn": speed[gi],
            "other_envelope_speed_kn": speed[gj],
            "feasible_hours": per_pair["n"].to_numpy() * p.step_h,
            "outage_h": g["outage_h"].to_numpy()[gi],
            "other_outage_h": g["outage_h"].to_numpy()[gj],
            "off_km_apart": np.round(off_km[k], 3),
            "on_km_apart": np.round(on_km[k], 3),
            "off_hours_apart": np.round(np.abs(t_off[gi] - t_off[gj]) / HOUR_US, 3),
            "on_hours_apart": np.round(np.abs(t_on[gi] - t_on[gj]) / HOUR_US, 3),
            "min_meeting_area_km2": np.round(per_pair["min_area"].to_numpy(), 1),
            "max_meeting_area_km2": np.round(per_pair["max_area"].to_numpy(), 1),
        }
    )
    # the details name each vessel's gap by the vessel: swap where to_events will swap
    swap = raw["other_mmsi"] < raw["mmsi"]
    paired = ["gap_event_id", "gap_hours", "envelope_speed_kn", "outage_h"]
    raw = raw.with_columns(
        *[pl.when(swap).then(pl.col(f"other_{c}")).otherwise(pl.col(c)).alias(c)
          for c in paired],
        *[pl.when(swap).then(pl.col(c)).otherwise(pl.col(f"other_{c}")).alias(f"other_{c}")
          for c in paired],
    )
    out = raw.select(
        "mmsi",
        "other_mmsi",
        pl.from_epoch("start_us", time_unit="us").dt.replace_time_zone("UTC").alias("start"),
        pl.from_epoch("end_us", time_unit="us").dt.replace_time_zone("UTC").alias("end"),
        "lat",
        "lon",
        "score",
        details_json(
            {c: pl.col(c) for c in raw.columns
             if c not in ("mmsi", "other_mmsi", "start_us", "end_us", "lat", "lon", "score")}
        ),
    )
    return to_events(out, "dark_rendezvous")


def _nothing(table: pl.DataFrame, params: Any, context: Context) -> None:
    return None


def _combine(parts: Sequence[Any], params: DarkRendezvousParams, context: Context
             ) -> pl.DataFrame:
    return detect_dark_rendezvous(context, params)


DETECTOR = Detector(
    name="dark_rendezvous",
    event_types=("dark_rendezvous",),
    params=DarkRendezvousParams,
    detect=lambda table, params, context: detect_dark_rendezvous(context, params),
    needs=frozenset({"gaps"}),
    split=Split(part=_nothing, combine=_combine),
)
"""The ``dark_rendezvous`` step: pairs the gaps of all vessels once every chunk is read."""
