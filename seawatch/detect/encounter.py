"""Encounters: two vessels that stay close together, slowly, away from port.

Definition (``docs/detectors.md``; Global Fishing Watch's published encounter definition,
DESIGN.md): two vessels (different MMSIs) within ``max_distance_m = 500`` m of each other for
at least ``min_duration = 2 h``, the median speed of each under ``max_median_speed_kn = 2``
kn, and the mean position at least ``min_port_distance_km = 10`` km from any port or
anchorage. Tracks are resampled to a ``grid = 10 min`` grid with no interpolation across gaps
of ``max_gap = 1 h`` or more (:func:`seawatch.tracks.resample.resample`); runs of consecutive
grid steps within 500 m form pieces; pieces of the same pair less than ``merge_gap = 4 h``
apart merge into one *close run*.

The encounter is the slow part of a close run, when that part alone meets the definition:
vessels that sail in company before or after they meet (a mother ship and its skiffs, a
carrier escorting a fishing vessel) would otherwise fail the median speed over the whole
run. The slow part is made of the close samples at which both vessels are under
``max_median_speed_kn``, merged like pieces (less than ``merge_gap`` apart), and split where
the pair was seen under way together (close and not slow) for ``max_fast_inside = 1 h`` or
more in between; it runs from its first to its last slow sample, with the close samples in
between, fast ones included, counted in its medians. The consecutive close grid times just
before and after it are evidence in ``details`` (``sailed_in_company_before_h``,
``..._after_h``), not a reason to drop it. Where no slow part of a
close run meets the definition, the whole run is the encounter when it does (so every
encounter of the published definition, which looks at the whole run, is still found). Two
vessels sailing in company without slowing have no slow part and a fast median: no
encounter. Start and end are the first and last grid times of the encounter. Nothing depends
on calendar days, so an encounter across midnight UTC, or across input files concatenated
into one frame, is one event.

Two vessels moored or at anchor side by side are port activity, not a meeting, even where
the port list has no port: a candidate whose two median speeds are both under
``moored_speed_kn = 0.5`` kn (stopped) with its mean position within ``moored_shore_km = 5``
km of shore is dropped, and its close run is not judged again as a whole. Encounters of one
pair less than ``episode_gap = 24 h`` apart are one episode, one event, measured over the
close samples of its encounters (``details.merged_encounters``, ``longest_gap_h``).

How it is computed: the close samples of every two vessels come from
:mod:`seawatch.detect.close_pairs` (earth-centred cubes, so the cost follows the samples and
the nearby pairs, not the square of the vessels); distances are compared at millimetre
resolution (AIS positions resolve about 0.2 m). Held in chunks of whole vessels, the tracks
are resampled chunk by chunk and paired once (:func:`encounters_from_samples`).

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> from seawatch.detect.events import details_of
>>> t0 = datetime(2026, 1, 15, 22, tzinfo=UTC)
>>> ts = [t0 + timedelta(minutes=10 * k) for k in range(19)]  # 22:00 .. 01:00
>>> p = pl.concat([
...     pl.DataFrame({"mmsi": 735000001, "ts": ts, "lat": -2.0, "lon": -86.0, "sog": 0.5}),
...     pl.DataFrame({"mmsi": 412000002, "ts": ts, "lat": -2.0, "lon": -86.002, "sog": 0.5}),
... ])
>>> ev = detect_encounters(p)
>>> ev.select("mmsi", "other_mmsi", pl.col("start", "end").dt.strftime("%d %H:%M")).row(0)
(412000002, 735000001, '15 22:00', '16 01:00')
>>> round(details_of(ev.row(0, named=True))["median_distance_m"], 1)
222.5
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from seawatch.detect.close_pairs import pairs_by_vessel
from seawatch.detect.detector import Context, Detector, Split
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.geo.geodesy import ecef_chord, ecef_m, unit_vectors, vector_lat_lon
from seawatch.params import Duration, Number, Params, param, resolve
from seawatch.tracks.resample import (
    DEFAULT_GRID,
    DEFAULT_MAX_GAP,
    Samples,
    concat_samples,
    resample_samples,
)
from seawatch.units import duration_us, parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.portlist import PortIndex

__all__ = ["EncounterParams", "detect_encounters", "encounters_from_samples"]

DISTANCE_TOLERANCE_M = 1e-3
"""Distances are compared at millimetre resolution (AIS positions resolve ~0.2 m)."""


class EncounterParams(Params):
    """Parameters of ``encounter`` (docs/detectors.md, *encounter*)."""

    max_distance_m: Number = param(
        500.0,
        "Two samples at the same grid time are close when at most this far apart (metres).",
        "GFW encounter definition (pipe-encounters `max_encounter_dist_km = 0.5`), DESIGN.md",
    )
    min_duration: Duration = param(
        "2h",
        "Least time from the first to the last close grid time of a (merged) encounter.",
        "GFW encounter definition (merge step `min_encounter_time_minutes = 120`), DESIGN.md",
    )
    max_median_speed_kn: Number = param(
        2.0,
        "The median speed of each vessel over the close samples must be strictly under this "
        "(knots; sog interpolated, or the implied speed where sog is unknown); a close sample "
        "where both are under it is slow (the slow part of a close run).",
        "GFW encounter definition (median speed < 2 kn), DESIGN.md",
    )
    min_port_distance_km: Number = param(
        10.0,
        "The mean position of the encounter must be at least this far from every port or "
        "anchorage (km).",
        "GFW encounter definition (pipe-encounters drops `distance_from_port_m < 10 km`), "
        "DESIGN.md",
    )
    grid: Duration = param(
        DEFAULT_GRID,
        "Resampling grid step.",
        "GFW pipe-encounters resampling (`increment_s = 600`)",
    )
    max_gap: Duration = param(
        DEFAULT_MAX_GAP,
        "No interpolation between positions of one track this far apart or more.",
        "GFW pipe-encounters `MAX_GAP_HOURS = 1`, DESIGN.md",
    )
    merge_gap: Duration = param(
        "4h",
        "Pieces of the same pair of vessels whose gap (next start minus previous end) is less "
        "than this merge into one close run (and slow samples, likewise, into a slow part).",
        "GFW pipe-encounters merge default (`min_hours_between_encounters = 4`), DESIGN.md",
    )
    max_fast_inside: Duration = param(
        "1h",
        "A slow part of a close run ends where, before its next slow sample, the pair was "
        "seen under way together (close samples with either vessel at or over "
        "max_median_speed_kn, one grid step each) for this long or more; shorter fast "
        "stretches stay inside it.",
        "seawatch (an encounter inside a longer close run); 1 h as max_gap and loitering's "
        "max_inner_gap",
    )
    moored_speed_kn: Number = param(
        0.5,
        "Port activity, not an encounter: both vessels' median speeds under this (knots) ...",
        "GFW pipe-anchorages stopped_end_speed_knots (a vessel slower is stopped), as "
        "[ports] max_speed_kn",
    )
    moored_shore_km: Number = param(
        5.0,
        "... and the mean position at most this far from shore (km): two vessels moored or at "
        "anchor side by side, in a harbour or roadstead the port list may lack. 0 turns the "
        "rule off.",
        "seawatch: a roadstead within the error of the 1:50m coastline outside the Eastern "
        "Pacific (a few km), as [ports] max_shore_km",
    )
    episode_gap: Duration = param(
        "24h",
        "Encounters of the same pair of vessels whose gap (next start minus previous end) is "
        "less than this are one episode, one event (0 keeps each apart).",
        "GFW pipe-encounters' merge tests (24 h between encounters of a pair); one episode, "
        "one alert (DESIGN.md)",
    )


def detect_encounters(
    positions: pl.DataFrame,
    *,
    ports: pl.DataFrame | None = None,
    params: EncounterParams | None = None,
    **overrides: Any,
) -> pl.DataFrame:
    """Encounter events between pairs of vessels.

    Parameters
    ----------
    positions : polars.DataFrame
        Positions (``seawatch.schema.POSITIONS``: ``mmsi``, ``ts``, ``lat``, ``lon``, and
        ``sog`` when known), usually with ``segment_id`` from segmentation: each
        ``(mmsi, segment_id)`` is resampled as its own track, and pieces of two tracks of the
        same MMSIs merge into one encounter. Positions of one vessel may come from several
        files concatenated in any order.
    ports : polars.DataFrame, optional
        Ports and anchorages with ``lat`` and ``lon`` columns. Default: the shipped list,
        :func:`seawatch.geo.ports`.
    params : EncounterParams, optional
        The parameters (default: :class:`EncounterParams`' defaults).
    **overrides
        Fields of :class:`EncounterParams` to change (``min_duration="1h"``), checked
        against it.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``) of type ``"encounter"``, ``mmsi < other_mmsi``;
        ``start``/``end`` the first/last close grid time; ``lat``/``lon`` the mean position
        of both vessels over the close samples; ``score`` = duration / (2 x min_duration),
        capped at 1. ``details``: ``median_distance_m``, ``duration_h``,
        ``mmsi_median_speed_kn``, ``other_median_speed_kn``, ``distance_from_shore_km``,
        ``distance_from_port_km``, ``close_samples``, ``pieces``, and
        ``sailed_in_company_before_h`` / ``sailed_in_company_after_h``: the hours of
        consecutive close grid times just before the start and just after the end (0 for
        vessels that met and parted), ``merged_encounters`` (the encounters of the pair in
        this episode, 1 when alone) and ``longest_gap_h`` (the longest time between two of
        them, 0 when alone).

    Raises
    ------
    seawatch.params.ConfigError
        An unknown parameter or a value of the wrong type.

    Examples
    --------
    Two vessels crossing on opposite courses at 12 kn are close for one grid step, and not
    slowly: no encounter (the module docstring has one that is).

    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
    >>> ts = [t0 + timedelta(minutes=k) for k in range(0, 241, 5)]
    >>> lon = [-86.4 + k * 0.0167 for k in range(49)]
    >>> p = pl.DataFrame({"mmsi": [1] * 49 + [2] * 49, "ts": ts + ts, "sog": 12.0,
    ...                   "lat": [-2.0] * 98, "lon": lon + lon[::-1]})
    >>> detect_encounters(p).height, detect_encounters(p, min_duration="0s",
    ...                                                max_median_speed_kn=99).height
    (0, 1)

    Side by side 200 m apart for seven hours, at 10 kn but for three hours adrift in the
    middle: the drift is the encounter, the passage before and after its evidence.

    >>> from seawatch.detect.events import details_of
    >>> ts = [t0 + timedelta(minutes=10 * k) for k in range(43)]
    >>> kn = [10.0] * 12 + [0.2] * 19 + [10.0] * 12
    >>> east = np.cumsum([0.0] + [v * 0.00278 for v in kn[:-1]])  # 10 min at v kn, in degrees
    >>> p = pl.DataFrame({"mmsi": [1] * 43 + [2] * 43, "ts": ts + ts, "sog": kn + kn,
    ...                   "lat": [-2.0] * 43 + [-2.0018] * 43, "lon": [*-86 + east] * 2})
    >>> ev = detect_encounters(p)
    >>> ev.select(pl.col("start", "end").dt.strftime("%H:%M")).row(0)
    ('02:00', '05:00')
    >>> d = details_of(ev.row(0, named=True))
    >>> d["sailed_in_company_before_h"], d["sailed_in_company_after_h"]
    (2.0, 2.0)
    """
    p = resolve(EncounterParams, params, overrides, "detect_encounters()")
    samples = resample_samples(
        positions, grid=parse_duration(p.grid), max_gap=parse_duration(p.max_gap)
    )
    return encounters_from_samples(samples, ports=ports, params=p)


def encounters_from_samples(
    s: Samples,
    *,
    ports: pl.DataFrame | None = None,
    params: EncounterParams | None = None,
    **overrides: Any,
) -> pl.DataFrame:
    """Encounter events of resampled tracks: the pairing half of :func:`detect_encounters`.

    ``detect_encounters(positions, **params)`` is ``encounters_from_samples(
    resample_samples(positions, grid=grid, max_gap=max_gap), **params)``. Resampling is per
    track, so a caller holding the vessels in parts (disjoint MMSIs) may resample each part,
    join them with :func:`seawatch.tracks.resample.concat_samples` and pair them here, with
    the same result as on the whole table; only the samples (about one per track per grid
    step) need to be held at once, not the positions.

    Parameters
    ----------
    s : Samples
        Resampled tracks (:func:`seawatch.tracks.resample.resample_samples`); the grid is
        theirs (``grid`` and ``max_gap`` are not used here).
    ports, params, **overrides
        As :func:`detect_encounters`.

    Returns
    -------
    polars.DataFrame
        As :func:`detect_encounters`.
    """
    p = resolve(EncounterParams, params, overrides, "encounters_from_samples()")
    g = s.grid_us
    min_steps_us = duration_us(p.min_duration)
    from seawatch.geo import port_index

    port_idx = None if ports is not None and ports.height == 0 else port_index(ports)
    max_m = p.max_distance_m + DISTANCE_TOLERANCE_M
    x, y, z = ecef_m(s.lat, s.lon)
    moored = _moored(s, x, y, z, port_idx, 0.95 * p.min_port_distance_km - max_m / 1000.0)
    rules = _Rules(
        min_duration_us=min_steps_us,
        max_speed_kn=p.max_median_speed_kn,
        min_port_distance_km=p.min_port_distance_km,
        merge_us=duration_us(p.merge_gap),
        max_fast_inside_us=duration_us(p.max_fast_inside),
        moored_speed_kn=p.moored_speed_kn,
        moored_shore_km=p.moored_shore_km,
        episode_us=duration_us(p.episode_gap),
        ports=port_idx,
    )
    found = []
    for ia, ib, dist in pairs_by_vessel(s, x, y, z, max_m, skip=moored):
        part = _merge_pieces(s, ia, ib, dist, rules)
        if part.height:
            found.append(part)
    if not found:
        return empty_events()
    enc = pl.concat(found)
    duration_h = pl.col("duration_us") / 3.6e9
    score = (
        pl.lit(1.0)
        if min_steps_us <= 0
        else (pl.col("duration_us") / (2.0 * min_steps_us)).clip(upper_bound=1.0)
    )
    out = enc.select(
        "mmsi",
        "other_mmsi",
        (pl.col("start_step") * g).cast(pl.Datetime("us", "UTC")).alias("start"),
        (pl.col("end_step") * g).cast(pl.Datetime("us", "UTC")).alias("end"),
        "lat",
        "lon",
        score.alias("score"),
        details_json(
            {
                "median_distance_m": pl.col("median_distance_m").round(1),
                "duration_h": duration_h.round(3),
                "mmsi_median_speed_kn": pl.col("mmsi_median_speed_kn").round(2),
                "other_median_speed_kn": pl.col("other_median_speed_kn").round(2),
                "distance_from_shore_km": pl.col("distance_from_shore_km").round(2),
                "distance_from_port_km": pl.col("distance_from_port_km").round(2),
                "close_samples": pl.col("close_samples"),
                "pieces": pl.col("pieces"),
                "sailed_in_company_before_h": (pl.col("company_before_us") / 3.6e9).round(3),
                "sailed_in_company_after_h": (pl.col("company_after_us") / 3.6e9).round(3),
                "merged_encounters": pl.col("merged_encounters"),
                "longest_gap_h": (pl.col("longest_gap_us") / 3.6e9).round(3),
            }
        ),
    )
    return to_events(out, "encounter")


@dataclass(frozen=True)
class _Rules:
    """The definition in the kernel's units (microseconds, knots, km) and the ports."""

    min_duration_us: int
    max_speed_kn: float
    min_port_distance_km: float
    merge_us: int
    max_fast_inside_us: int
    moored_speed_kn: float
    moored_shore_km: float
    episode_us: int
    ports: PortIndex | None  # None when there are none


def _merge_pieces(
    s: Samples, ia: np.ndarray, ib: np.ndarray, dist: np.ndarray, rules: _Rules
) -> pl.DataFrame:
    """Merge close samples into close runs per MMSI pair, find their slow parts, keep those
    that meet the definition (or the whole run, where no slow part of it does), and merge
    the encounters of one pair less than ``episode_us`` apart into one episode each.

    ``ia``/``ib`` are sample indices of each close pair (``mmsi[ia] < mmsi[ib]``), every pair
    of samples of the MMSI pairs present, in any order (:class:`_CloseRows` sorts them).
    """
    rows = _CloseRows(s, ia, ib, dist, rules.merge_us)
    part_first, part_last = rows.slow_parts(rules)
    kept, judged = rows.encounters(part_first, part_last, rules)
    # a close run none of whose slow parts is an encounter (or port activity): the run
    # itself, when it meets the definition (the published one, which looks at the whole
    # run); a run that is exactly one slow part was measured already
    done = np.zeros(len(rows.run_first), dtype=bool)
    done[rows.run_of_row[judged]] = True
    run = rows.run_of_row[part_first]
    whole_run = (part_first == rows.run_first[run]) & (part_last == rows.run_last[run])
    done[run[whole_run]] = True
    todo = np.flatnonzero(~done)
    whole, _ = rows.encounters(rows.run_first[todo], rows.run_last[todo], rules)
    first = np.r_[part_first[kept], rows.run_first[todo][whole]]
    last = np.r_[part_last[kept], rows.run_last[todo][whole]]
    order = np.argsort(first, kind="stable")
    return rows.episodes(first[order], last[order], rules)


class _CloseRows:
    """The close samples of some MMSI pairs as rows sorted by MMSI pair, grid step, then
    sample (so the sums are the same whatever order they came in), with their pieces (runs
    of consecutive grid steps) and close runs (pieces less than ``merge_us`` apart). Every
    candidate encounter is a range of consecutive rows."""

    def __init__(
        self, s: Samples, ia: np.ndarray, ib: np.ndarray, dist: np.ndarray, merge_us: int
    ) -> None:
        order = np.lexsort((ib, ia, s.step[ia], s.mmsi[ib], s.mmsi[ia]))
        self.s, self.ia, self.ib, self.dist = s, ia[order], ib[order], dist[order]
        ia, ib = self.ia, self.ib
        self.step = step = s.step[ia]
        self.speed_a, self.speed_b = s.speed_kn[ia], s.speed_kn[ib]
        new_pair = np.ones(len(ia), dtype=bool)
        new_pair[1:] = (s.mmsi[ia][1:] != s.mmsi[ia][:-1]) | (s.mmsi[ib][1:] != s.mmsi[ib][:-1])
        self.pair_no = np.cumsum(new_pair) - 1
        dstep = np.r_[0, np.diff(step)]
        new_piece = new_pair | (dstep > 1)
        # distinct grid steps (two tracks of one MMSI may give one step twice)
        self.new_step = new_pair | (dstep > 0)
        new_run = new_pair | ((dstep > 1) & (dstep * s.grid_us >= merge_us))
        self.piece_no = np.cumsum(new_piece) - 1
        self.step_no = np.cumsum(self.new_step)
        starts = np.flatnonzero(new_piece)
        self.piece_start = step[starts]
        self.piece_end = step[np.r_[starts[1:], len(step)] - 1]
        self.run_first = np.flatnonzero(new_run)
        self.run_last = np.r_[self.run_first[1:], len(ia)] - 1
        self.run_of_row = np.cumsum(new_run) - 1

    def slow_parts(self, rules: _Rules) -> tuple[np.ndarray, np.ndarray]:
        """First and last rows of the slow parts: rows where both vessels are slow, merged
        like pieces (less than ``merge_us`` apart, within one close run) unless the pair was
        seen under way together (close, either vessel at or over the speed) for
        ``max_fast_inside_us`` or more between two of them."""
        kn, g = rules.max_speed_kn, self.s.grid_us
        va, vb = self.speed_a, self.speed_b
        sl = np.flatnonzero((va < kn) & (vb < kn))
        if len(sl) == 0:
            return sl, sl
        fast = ((va >= kn) | (vb >= kn)) & self.new_step
        fast_inside = np.diff(np.cumsum(fast)[sl])
        gap = np.diff(self.step[sl])
        split = np.ones(len(sl), dtype=bool)
        split[1:] = (
            (self.run_of_row[sl][1:] != self.run_of_row[sl][:-1])
            | ((gap > 1) & (gap * g >= rules.merge_us))
            | ((fast_inside > 0) & (fast_inside * g >= rules.max_fast_inside_us))
        )
        starts = np.flatnonzero(split)
        return sl[starts], sl[np.r_[starts[1:], len(sl)] - 1]

    def encounters(
        self, first: np.ndarray, last: np.ndarray, rules: _Rules
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which of the ranges of rows ``[first, last]`` (disjoint, in order) meet the
        definition: their positions in ``first``, and the first rows of those judged (met it,
        or were port activity: both vessels moored or at anchor near shore). The cheap
        conditions (duration, then distance from port) are applied before the medians, so
        the cost of the medians follows the encounters, not every close sample."""
        g = self.s.grid_us
        duration = (self.step[last] - self.step[first]) * g
        k = np.flatnonzero(duration >= rules.min_duration_us)
        m = self.measure(first[k], last[k], np.arange(len(k)), len(k), rules, far_only=True)
        slow = (m["mmsi_median_speed_kn"] < rules.max_speed_kn) & (
            m["other_median_speed_kn"] < rules.max_speed_kn
        )
        port = (
            (rules.moored_shore_km > 0)
            & (m["mmsi_median_speed_kn"] < rules.moored_speed_kn)
            & (m["other_median_speed_kn"] < rules.moored_speed_kn)
            & (m["distance_from_shore_km"] <= rules.moored_shore_km)
        )
        judged = m["far"] & slow
        return k[judged & ~port], first[k[judged]]

    def measure(
        self,
        first: np.ndarray,
        last: np.ndarray,
        group: np.ndarray,
        n: int,
        rules: _Rules,
        *,
        far_only: bool = False,
    ) -> dict[str, np.ndarray]:
        """The measurements of ``n`` groups of ranges of rows ``[first, last]`` (``group``:
        the group of each range, non-decreasing; the ranges in order): the mean position of
        both vessels' samples, the distance from port and from shore, the medians over the
        close samples. With ``far_only`` the medians and the shore distance are computed for
        the groups at least ``min_port_distance_km`` from port only (NaN elsewhere)."""
        s = self.s
        size = last - first + 1
        of_row = np.repeat(group, size)
        rows = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
        rows += np.repeat(first, size)
        # mean position of both vessels' samples (sum of unit vectors: antimeridian-safe)
        ja, jb = self.ia[rows], self.ib[rows]
        xa, ya, za = unit_vectors(s.lat[ja], s.lon[ja])
        xb, yb, zb = unit_vectors(s.lat[jb], s.lon[jb])
        lat, lon = vector_lat_lon(
            np.bincount(of_row, xa + xb, minlength=n),
            np.bincount(of_row, ya + yb, minlength=n),
            np.bincount(of_row, za + zb, minlength=n),
        )
        port_km = _port_distance_km(lat, lon, rules.ports)
        far = port_km >= rules.min_port_distance_km if far_only else np.ones(n, dtype=bool)
        keep = far[of_row]
        rows, of_row = rows[keep], of_row[keep]
        out = {"lat": lat, "lon": lon, "distance_from_port_km": port_km, "far": far}
        for name, values in (
            ("median_distance_m", self.dist),
            ("mmsi_median_speed_kn", self.speed_a),
            ("other_median_speed_kn", self.speed_b),
        ):
            column = np.full(n, np.nan)
            column[far] = _group_median(values[rows], of_row)
            out[name] = column
        shore = np.full(n, np.nan)
        if far.any():
            from seawatch.geo import distance_to_shore_km

            shore[far] = distance_to_shore_km(lat[far], lon[far])
        out["distance_from_shore_km"] = shore
        return out

    def episodes(self, first: np.ndarray, last: np.ndarray, rules: _Rules) -> pl.DataFrame:
        """The encounters ``[first, last]`` (ranges of rows in order) as events, those of
        one pair less than ``episode_us`` apart (next start minus previous end) merged into
        one episode: from the first start to the last end, measured over the close samples
        of its encounters (not the time between them)."""
        s, g, step = self.s, self.s.grid_us, self.step
        if len(first) == 0:
            return pl.DataFrame()
        gap = np.r_[0, step[first[1:]] - step[last[:-1]]] * g
        new = np.ones(len(first), dtype=bool)
        new[1:] = (self.pair_no[first[1:]] != self.pair_no[first[:-1]]) | (
            gap[1:] >= rules.episode_us
        )
        group = np.cumsum(new) - 1
        n = int(group[-1]) + 1
        head = np.flatnonzero(new)
        tail = np.r_[head[1:], len(first)] - 1
        m = self.measure(first, last, group, n, rules)
        f, e = first[head], last[tail]
        within = np.where(new, 0, gap)
        return pl.DataFrame(
            {
                "mmsi": s.mmsi[self.ia[f]],
                "other_mmsi": s.mmsi[self.ib[f]],
                "start_step": step[f],
                "end_step": step[e],
                "duration_us": (step[e] - step[f]) * g,
                "lat": m["lat"],
                "lon": m["lon"],
                "distance_from_port_km": m["distance_from_port_km"],
                "distance_from_shore_km": m["distance_from_shore_km"],
                "close_samples": np.bincount(
                    group, self.step_no[last] - self.step_no[first] + 1, minlength=n
                ).astype(np.int64),
                "pieces": np.bincount(
                    group, self.piece_no[last] - self.piece_no[first] + 1, minlength=n
                ).astype(np.int64),
                # the consecutive close grid steps just before and after: in company
                "company_before_us": (step[f] - self.piece_start[self.piece_no[f]]) * g,
                "company_after_us": (self.piece_end[self.piece_no[e]] - step[e]) * g,
                "median_distance_m": m["median_distance_m"],
                "mmsi_median_speed_kn": m["mmsi_median_speed_kn"],
                "other_median_speed_kn": m["other_median_speed_kn"],
                "merged_encounters": np.bincount(group, minlength=n).astype(np.int64),
                "longest_gap_us": np.maximum.reduceat(within, head).astype(np.int64),
            }
        )


def _group_median(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Median of ``values`` per group (``group``: non-decreasing 0..k ids of the kept rows,
    renumbered here), ignoring NaN; NaN for a group without values."""
    if len(values) == 0:
        return np.zeros(0)
    ids, start = np.unique(group, return_index=True)
    gi = np.repeat(np.arange(len(ids)), np.diff(np.r_[start, len(group)]))
    order = np.lexsort((values, gi))  # NaN sort last within each group
    v = values[order]
    n_valid = np.bincount(gi, weights=~np.isnan(values), minlength=len(ids)).astype(np.int64)
    lo = start + np.maximum(n_valid - 1, 0) // 2
    hi = start + n_valid // 2
    with np.errstate(invalid="ignore"):
        med = (v[lo] + v[np.minimum(hi, len(v) - 1)]) / 2.0
    return np.where(n_valid > 0, med, np.nan)


def _port_distance_km(lat: np.ndarray, lon: np.ndarray, ports: PortIndex | None) -> np.ndarray:
    if ports is None:
        return np.full(len(lat), np.inf)
    dist, _ = ports.nearest(lat, lon)
    return dist


def _moored(
    s: Samples,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    ports: PortIndex | None,
    radius_km: float,
) -> np.ndarray | None:
    """Samples of the vessels that never leave ``radius_km`` of one port point.

    Such a vessel can be in no encounter: every close sample of a pair with it lies within
    ``radius_km`` plus the pair distance of that point, so the mean position does too (the
    mean of unit vectors stays in any cap smaller than a hemisphere), nearer the port than
    ``0.95 * min_port_distance_km`` (the 5 % covers the difference between the sphere of the
    mean and the WGS84 distances, about 1 %). Leaving them out of the pairing changes no
    event, and saves the pairs of vessels crowded in port, which grow with the square of
    their number. None when there is no port or the radius is not positive.
    """
    n = len(s)
    if ports is None or ports.ports.height == 0 or radius_km <= 0 or n == 0:
        return None
    first = np.flatnonzero(np.r_[True, s.mmsi[1:] != s.mmsi[:-1]])
    size = np.diff(np.r_[first, n])
    _, near = ports.nearest(s.lat[first], s.lon[first])
    lat = ports.ports["lat"].cast(pl.Float64).to_numpy()[near]
    lon = ports.ports["lon"].cast(pl.Float64).to_numpy()[near]
    px, py, pz = (np.repeat(c, size) for c in ecef_m(lat, lon))
    chord = ecef_chord(px, py, pz, x, y, z)
    del px, py, pz
    far = np.maximum.reduceat(np.where(np.isnan(chord), np.inf, chord), first)
    return np.repeat(far <= radius_km * 1000.0, size)


def _resample(table: pl.DataFrame, params: EncounterParams, context: Context) -> Samples:
    grid, max_gap = parse_duration(params.grid), parse_duration(params.max_gap)
    return resample_samples(table, grid=grid, max_gap=max_gap)


def _pair(parts: Sequence[Samples], params: EncounterParams, context: Context) -> pl.DataFrame:
    return encounters_from_samples(concat_samples(parts), ports=context.ports, params=params)


DETECTOR = Detector(
    name="encounter",
    event_types=("encounter",),
    params=EncounterParams,
    detect=lambda table, params, context: detect_encounters(
        table, ports=context.ports, params=params
    ),
    needs=frozenset({"ports"}),
    provides="encounters",
    split=Split(part=_resample, combine=_pair),
)
"""The ``encounter`` step of the pipeline: in chunks of vessels, each chunk's tracks are
resampled and the samples of all chunks paired at the end."""
