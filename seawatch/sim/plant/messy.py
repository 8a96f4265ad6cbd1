"""The messy profile's decisions (:mod:`seawatch.sim.artefacts`): stations, holes, and the
vessels it adds (moored clusters, platforms with supply vessels, shared identities, vessels
seen only in the daily export).

:func:`plan_artefacts` runs after the clean plan is complete, with a random generator of
its own, and only appends tracks: the clean tracks, their legs and their random numbers are
untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

import numpy as np

from seawatch.geo.geodesy import NM_KM, flat_destination, flat_destinations, flat_distance_nm
from seawatch.sim import places
from seawatch.sim.artefacts import LOCAL_TIME_OFFSET_S, ArtefactPlan
from seawatch.sim.legs import ANCHOR, DRIFT, NAV_MOORED, UNDERWAY
from seawatch.sim.plant.base import SITE_BOXES, H, Planter, PlantError
from seawatch.sim.reception import BLOCK

ARTEFACT_STREAM = 0xA27EFAC7
"""Second word of the seed of the artefacts' random generator (the clean plan uses
``0x5EA``)."""
MAINLAND = tuple(i for i, r in enumerate(places.RECEIVERS) if r.name.startswith("ecu-"))
"""Receivers of mainland Ecuador: the stations whose clocks and outages the profile sets."""

HARBOUR_SHORE_KM = (0.15, 1.0)
"""A moored cluster lies this far from the shore ..."""
HARBOUR_PORT_KM = 15.0
"""... and at least this far from every point of the port list (so none of it is a port)."""
HARBOUR_REACH_KM = 50.0
"""... within this distance of a receiver (a harbour someone listens to)."""
MOORED_VESSELS = (3, 5)
"""Vessels per moored cluster (inclusive)."""
MOORED_SPACING_M = (15.0, 40.0)
"""Distance between two neighbours of a cluster (rafted alongside)."""
PLATFORM_SHORE_KM = 50.0
"""Platforms lie at least this far from the shore (beyond loitering's 20 nm) ..."""
PLATFORM_PORT_KM = 30.0
"""... and from any port."""
STANDBY_M = (100.0, 400.0)
"""A supply vessel stands by this far from its platform ..."""
STANDBY_KN = (0.2, 1.0)
"""... drifting about at these speeds, ..."""
STANDBY_MOVE_H = (5.0, 9.0)
"""... and every so many hours repositions 2-4 km away and back at 6-9 kn (short moves
between the stand-by hours: one stand-by, not several)."""
SHARED_SEPARATION_KM = 300.0
"""The two vessels of a shared identity are at least this far apart."""
EXPORT_ONLY_MIN = 3
"""At least this many vessels are seen only in the daily export."""
HOLE_TRIES = 200
"""Placements of the file holes tried (see :func:`_holes`)."""
EXPORT_KN = (10.0, 14.0)
"""Speed of the vessels seen only in the export (cargo ships crossing the high seas)."""
DARK_COVERED_H = (13.0, 15.0)
"""A watched dark run is silent for this many hours of the capture (holes not counted) ..."""
DARK_KN = (9.0, 12.0)
"""... steaming at these speeds, out to a meeting point and back ..."""
DARK_WATCH_H = (2.0, 1.0)
"""... watched (every report heard) this long before it goes dark and after it is back ..."""
DARK_RECEIVER_KM = (15.0, 35.0)
"""... and it goes dark and comes back this far from a receiver that is never out and keeps
UTC (well inside its 55 km of full range), where that receiver hears the traffic around."""
DARK_STEP_S = 60.0
"""Time step of the search for a window the capture records (:func:`_dark_window`)."""


def plan_artefacts(p: Planter, strengths: Mapping[str, float], vessels: int) -> ArtefactPlan:
    """Decide the artefacts of ``strengths`` and plant their vessels into ``p``.

    Call once the clean plan (planted behaviours and background) is complete: the planter's
    generator is replaced by the artefacts' own. A vessel that finds no place is left out
    and listed in the plan's ``skipped``.
    """
    rng = np.random.default_rng([p.seed & 0xFFFFFFFF, ARTEFACT_STREAM])
    p.rng = rng
    p.fleet.rng = rng
    plan = ArtefactPlan(dict(strengths))
    if "clock" in strengths:
        fast, local = rng.choice(np.array(MAINLAND), 2, replace=False)
        plan.clock = {int(fast): round(strengths["clock"]), int(local): LOCAL_TIME_OFFSET_S}
    if "duplicates" in strengths:
        plan.max_delay_s = max(round(strengths["duplicates"]), 1)
    if "outliers" in strengths:
        plan.outlier_rate = float(min(strengths["outliers"], 0.5))
    if "outage" in strengths:
        _outage(p, plan, strengths["outage"] * H)
    if "file_holes" in strengths:
        _holes(p, plan, strengths["file_holes"] * H)
    if plan.holes.size or plan.outages.size:  # AIS switched off where it can be told
        lost = [i for i in p.intents if i["type"] == "gap"]
        for _ in range(max(len(lost), 1)):
            before = (p.fleet.n, p.legs.n, len(p.overrides))
            n_int = len(p.intents)
            try:
                watched_dark_run(p, plan)
            except PlantError as exc:
                p.rollback(before)
                del p.intents[n_int:]
                plan.skipped.append(f"watched_dark_run: {exc}")
    steps: list[tuple[str, int]] = [
        ("shared_identity", round(strengths.get("shared_identity", 0))),
        ("moored", round(strengths.get("moored", 0))),
        ("platform", round(strengths.get("platform", 0))),
    ]
    if "sparse_export" in strengths:
        steps.append(("sparse_export",
                      max(EXPORT_ONLY_MIN, round(strengths["sparse_export"] * vessels))))
    planters = {"shared_identity": shared_identity, "moored": moored_cluster,
                "platform": platform, "sparse_export": export_only}
    for name, count in steps:
        for _ in range(count):
            before = (p.fleet.n, p.legs.n, len(p.overrides))
            n_neg = len(p.negatives)
            n_int = len(p.intents)
            try:
                planters[name](p, plan)
            except PlantError as exc:
                p.rollback(before)
                del p.negatives[n_neg:]
                del p.intents[n_int:]
                plan.skipped.append(f"{name}: {exc}")
    if "identity" in strengths:  # last: the other artefacts draw as they did before it
        from seawatch.sim.plant.identities import plant_identities

        plant_identities(p, plan, max(round(strengths["identity"]), 1))
    return plan


def _outage(p: Planter, plan: ArtefactPlan, length: float) -> None:
    length = min(length, p.duration - 4 * H)
    if length <= 0:
        plan.skipped.append("outage: period too short")
        return
    station = int(p.rng.choice(np.array(MAINLAND)))
    t0 = p.uniform(2 * H, p.duration - length - 2 * H)
    sat0 = _quietest(p, length)
    plan.outages = np.array([[station, t0, t0 + length],
                             [len(places.RECEIVERS), sat0, sat0 + length]], np.float64)


def _quietest(p: Planter, length: float) -> float:
    """Start of a window of ``length`` seconds, 2 h or more inside the period, that hides
    the least of the planted behaviours: of :data:`HOLE_TRIES` starts, the one overlapping
    the fewest planted gaps, then the fewest planted windows, then the fewest seconds of
    them."""
    windows = np.array([(i["t0"], i["t1"], i["type"] == "gap") for i in p.intents],
                       np.float64).reshape(-1, 3)
    starts = p.rng.uniform(2 * H, p.duration - length - 2 * H, HOLE_TRIES)
    over = np.clip(np.minimum(windows[:, 1][None, :], starts[:, None] + length)
                   - np.maximum(windows[:, 0][None, :], starts[:, None]), 0.0, None)
    n_gaps = ((over > 0) & (windows[:, 2][None, :] > 0)).sum(axis=1)
    n_hit = (over > 0).sum(axis=1)
    best = np.lexsort((over.sum(axis=1), n_hit, n_gaps))[0]
    return float(starts[best])


def _holes(p: Planter, plan: ArtefactPlan, length: float) -> None:
    """Two holes of ``length`` about a third and two thirds into the period (one, or none,
    when the period is too short for files of at least 2 h), placed where they hide the
    least of the planted behaviours (a planted AIS gap above all): of
    :data:`HOLE_TRIES` placements, the one overlapping the fewest planted gaps, then the
    fewest seconds of the other planted windows."""
    n = 2 if p.duration >= 2 * length + 6 * H else 1 if p.duration >= length + 4 * H else 0
    if n == 0:
        plan.skipped.append("file_holes: period too short")
        return
    windows = np.array([(i["t0"], i["t1"], i["type"] == "gap") for i in p.intents],
                       np.float64).reshape(-1, 3)
    lo, hi = 2 * H, p.duration - length - 2 * H  # files of at least 2 h
    span = (hi - lo) / n
    best, best_cost = None, (np.inf, np.inf)
    for _ in range(HOLE_TRIES):
        starts = [lo + span * (k + p.rng.random()) for k in range(n)]
        if any(b - a < length + 2 * H for a, b in pairwise(starts)):
            continue
        cost = (0.0, 0.0)
        for t0 in starts:
            over = np.clip(np.minimum(windows[:, 1], t0 + length)
                           - np.maximum(windows[:, 0], t0), 0.0, None)
            cost = (cost[0] + float(((over > 0) & (windows[:, 2] > 0)).sum()),
                    cost[1] + float(over.sum()))
        if cost < best_cost:
            best, best_cost = starts, cost
    if best is None:  # a period just long enough: the holes evenly spaced
        best = [lo + (hi - lo) * (k + 1) / (n + 1) for k in range(n)]
    # whole seconds: the output blocks are cut there, and each block goes to one file
    plan.holes = np.round(np.array([(t0, t0 + length) for t0 in best], np.float64))


# -- vessels -----------------------------------------------------------------------------------
def shared_identity(p: Planter, plan: ArtefactPlan) -> None:
    """Two longliners, far apart, transmitting one MMSI (and name) for the whole period."""
    mid = int(p.rng.choice([416, 412]))
    a = p.site(("high_seas_south", "high_seas_west"), t0=-H, t1=p.duration + H, mask=0,
               clear_km=25.0)
    for _ in range(200):
        b = p.site(tuple(SITE_BOXES), t0=-H, t1=p.duration + H, mask=0, clear_km=25.0,
                   sep_km=60.0)
        if flat_distance_nm(*a, *b) * NM_KM >= SHARED_SEPARATION_KM:
            break
        p.sites.pop()
    else:
        raise PlantError("no second ground for a shared identity")
    own = p.new_track("longliner", "shared_identity", mid=mid)
    twin = p.new_track("longliner", "shared_identity_twin", mmsi=p.fleet.mmsi_of(own),
                       like=own)
    for track, centre in ((own, a), (twin, b)):
        cur = p.legs.cursor(track, -H, *flat_destination(*centre, 5.0, p.uniform(0, 360)))
        p.wander(cur, centre, 20.0, p.duration + H, (1.5, 3.0))
    p.intent("spoofing", "shared_identity", [own, twin], 0.0, float(p.duration),
             kind="shared_identity")
    p.intents[-1]["kind"] = "shared_identity"
    p.negative("spoofing", "shared_identity_episode", [own, twin], 0.0, float(p.duration),
               a[0], a[1], reason="shared_identity", allowed=1)
    plan.shared.append((own, twin))


def harbour_site(p: Planter, taken: list[dict[str, Any]], tries: int = 4000
                 ) -> tuple[float, float, float, float]:
    """A point of sea near the shore, away from every listed port, within reach of a
    receiver: (lat, lon, shore km, nearest port km)."""
    w = p.world
    for _ in range(12):
        rx = places.RECEIVERS[int(p.rng.integers(len(places.RECEIVERS)))]
        r = np.sqrt(p.rng.random(tries)) * HARBOUR_REACH_KM
        bearing = p.rng.uniform(0, 360, tries)
        lat, lon = flat_destinations(rx.lat, rx.lon, r, bearing)
        ok = ~w.on_land(lat, lon)
        lat, lon = lat[ok], lon[ok]
        shore = w.shore_km(lat, lon)
        ok = (shore >= HARBOUR_SHORE_KM[0]) & (shore <= HARBOUR_SHORE_KM[1])
        lat, lon, shore = lat[ok], lon[ok], shore[ok]
        if not lat.size:
            continue
        port, _ = w.nearest_port(lat, lon)
        for i in np.flatnonzero(port >= HARBOUR_PORT_KM):
            if any(flat_distance_nm(lat[i], lon[i], h["lat"], h["lon"]) * NM_KM < 20.0
                   for h in taken):
                continue
            return float(lat[i]), float(lon[i]), float(shore[i]), float(port[i])
    raise PlantError("no unlisted harbour near a receiver")


def moored_cluster(p: Planter, plan: ArtefactPlan) -> None:
    """3-5 fishing vessels moored side by side for the whole period at a harbour missing
    from the port list."""
    w = p.world
    lat, lon, shore, port = harbour_site(p, plan.harbours)
    n = int(p.rng.integers(MOORED_VESSELS[0], MOORED_VESSELS[1] + 1))
    heading = p.uniform(0, 360)
    spacing = p.uniform(*MOORED_SPACING_M) / 1000.0
    pts = [flat_destination(lat, lon, j * spacing, heading + 90.0) for j in range(n)]
    if w.on_land([q[0] for q in pts], [q[1] for q in pts]).any():
        raise PlantError("moored cluster would touch land")
    tracks = []
    for pt in pts:
        track = p.new_track("fishing_a", "moored", mid=735)
        cur = p.legs.cursor(track, -H, *pt)
        cur.hold(p.duration + 2 * H, ANCHOR, nav=NAV_MOORED, heading=heading)
        tracks.append(track)
    for i, a in enumerate(tracks):
        for b in tracks[i + 1:]:
            p.negative("encounter", "moored_at_unlisted_harbour", [a, b], 0.0,
                       float(p.duration), lat, lon, reason="moored",
                       distance_from_shore_km=shore, nearest_port_km=port)
    plan.moored.append(tracks)
    plan.harbours.append({"lat": round(lat, 5), "lon": round(lon, 5),
                          "distance_from_shore_km": round(shore, 2),
                          "nearest_port_km": round(port, 1)})


def platform(p: Planter, plan: ArtefactPlan) -> None:
    """An offshore platform with 1-2 supply vessels standing by it all period."""
    lat, lon = p.site(("mainland_eez", "corridor", "galapagos_eez_east"), t0=-H,
                      t1=p.duration + H, min_shore_km=PLATFORM_SHORE_KM,
                      min_port_km=PLATFORM_PORT_KM, clear_km=5.0, sep_km=40.0)
    name = f"PLATFORM {chr(ord('A') + len(plan.platforms))}"
    tracks = []
    for _ in range(int(p.rng.integers(1, 3))):
        track = p.new_track("supply", "platform_standby")
        cur = p.legs.cursor(track, -H, *_near(p, lat, lon))
        next_move = cur.t + p.uniform(*STANDBY_MOVE_H) * H
        while cur.t < p.duration + H:
            if cur.t >= next_move:  # reposition 2-4 km away and come back
                away = flat_destination(lat, lon, p.uniform(2.0, 4.0), p.uniform(0, 360))
                kn = p.uniform(6.0, 9.0)
                dt = flat_distance_nm(cur.lat, cur.lon, *away) / kn * H
                cur.go_for(max(dt, 60.0), *away, UNDERWAY)
                back = _near(p, lat, lon)
                cur.go_for(max(flat_distance_nm(*away, *back) / kn * H, 60.0), *back,
                           UNDERWAY)
                next_move = cur.t + p.uniform(*STANDBY_MOVE_H) * H
                continue
            target = _near(p, lat, lon)
            kn = p.uniform(*STANDBY_KN)
            dt = max(flat_distance_nm(cur.lat, cur.lon, *target) / kn * H, 600.0)
            cur.go_for(dt, *target, DRIFT, heading=p.uniform(0, 360))
        p.force(track, -H, p.duration + H)
        p.negative("loitering", "standing_by_platform", [track], 0.0, float(p.duration),
                   lat, lon, reason="platform", platform=name)
        tracks.append(track)
    if len(tracks) == 2:
        p.negative("encounter", "standing_by_platform", tracks, 0.0, float(p.duration),
                   lat, lon, reason="platform", platform=name)
    plan.platforms.append({"name": name, "lat": round(lat, 5), "lon": round(lon, 5),
                           "tracks": tracks})


def _near(p: Planter, lat: float, lon: float) -> tuple[float, float]:
    """A point at stand-by distance from (lat, lon)."""
    return flat_destination(lat, lon, p.uniform(*STANDBY_M) / 1000.0, p.uniform(0, 360))


def export_only(p: Planter, plan: ArtefactPlan) -> None:
    """A cargo ship crossing the high seas outside every zone, heard by no station: it is in
    the daily export only."""
    _, start, pts = p.high_seas_crossing(EXPORT_KN)
    track = p.new_track("cargo", "export_only")
    cur = p.legs.cursor(track, -H, *pts[0])
    p.follow(cur, pts[1:], p.duration + H)
    p.overrides.append((track, -2 * H, p.duration + 2 * H, BLOCK))
    p.negative("gap", "seen_only_in_daily_export", [track], 0.0, float(p.duration),
               start[0], start[1], reason="sparse_export")
    plan.export_only.append(track)



# -- AIS switched off where the feeds keep hearing the others --------------------------------
def _dark_window(p: Planter, plan: ArtefactPlan) -> tuple[float, float, float]:
    """(t_off, t_on, seconds of holes between them) of a watched dark run:
    ``DARK_COVERED_H`` hours of the capture silent, the watched hours before and after in
    the capture, and as few hours of holes inside as the holes allow (none when a file is
    long enough)."""
    pre, post = DARK_WATCH_H[0] * H, DARK_WATCH_H[1] * H
    covered = p.uniform(*DARK_COVERED_H) * H
    grid = np.arange(0.0, p.duration + DARK_STEP_S / 2, DARK_STEP_S)
    recorded = ~plan.in_hole(grid[:-1] + DARK_STEP_S / 2)
    cum = np.r_[0.0, np.cumsum(recorded * DARK_STEP_S)]  # capture seconds up to grid[k]
    n_pre, n_post = round(pre / DARK_STEP_S), round(post / DARK_STEP_S)
    i = np.arange(n_pre, grid.size)  # t_off = grid[i]
    j = np.searchsorted(cum, cum[i] + covered - 1e-6)  # first t_on with enough capture
    ok = j + n_post < grid.size
    i, j = i[ok], j[ok]
    ok = (cum[i] - cum[i - n_pre] >= pre - 1e-6) & (cum[j + n_post] - cum[j] >= post - 1e-6)
    i, j = i[ok], j[ok]
    if not i.size:
        raise PlantError("no window the capture records")
    holes = (j - i) * DARK_STEP_S - (cum[j] - cum[i])
    best = np.flatnonzero(holes <= holes.min() + DARK_STEP_S)
    k = best[int(p.rng.integers(best.size))]
    return float(grid[i[k]]), float(grid[j[k]]), float(holes[k])


def watched_dark_run(p: Planter, plan: ArtefactPlan) -> None:
    """A small vessel steaming off an island receiver switches AIS off, runs out to a
    meeting point and back, and switches it on again near a receiver: a gap at a time and
    place the vessel's feeds keep hearing the others (no receiver outage there, as few hours
    of the holes between files as they allow; the island receivers keep UTC). The clean
    trafficking runs of a short period fall into the holes and outages, and there are no
    gaps left to find; this one is what the messy profile measures the gap detector on."""
    out = {int(s) for s, _, _ in plan.outages} | set(plan.clock)
    stations = [r for i, r in enumerate(places.RECEIVERS) if i not in out
                and i not in MAINLAND]
    if not stations:
        raise PlantError("no receiver without an outage or a clock offset")
    t_off, t_on, hole = _dark_window(p, plan)
    dark = t_on - t_off
    v = p.uniform(*DARK_KN)
    w = p.world
    track = p.new_track("fishing_a", "watched_gap", mid=735)
    for _ in range(400):
        rx = stations[int(p.rng.integers(len(stations)))]
        off = flat_destination(rx.lat, rx.lon, p.uniform(*DARK_RECEIVER_KM), p.uniform(0, 360))
        on = flat_destination(*off, p.uniform(3.0, 10.0), p.uniform(0, 360))
        meet = flat_destination(*off, v * NM_KM * dark / H / 2, p.uniform(0, 360))
        la, lo = p.disc(*off, 8.0)
        la2, lo2 = p.disc(*on, 8.0)
        la, lo = np.r_[la, la2], np.r_[lo, lo2]
        if w.on_land(la, lo).any() or w.shore_km(la, lo).min() < 2.0 or \
                w.port_km(la, lo).min() < 8.0 or \
                p.crowded(*off, t_off - 3 * H, t_on + 3 * H, 20.0):
            continue
        if p.path_ok([off, meet, on], min_shore_km=2.0, min_port_km=8.0):
            break
    else:
        raise PlantError("no path for a watched dark run")
    p.sites.append((*off, t_off - 3 * H, t_on + 3 * H))
    cur = p.legs.cursor(track, -H, *off)
    p.wander(cur, off, 8.0, t_off, DARK_KN, UNDERWAY)
    cur.tx = False
    cur.go_for(dark / 2, *meet, UNDERWAY)
    cur.go_for(t_on - cur.t, *on, UNDERWAY)
    cur.tx = True
    p.wander(cur, on, 8.0, p.duration + H, DARK_KN, UNDERWAY)
    p.force(track, t_off - DARK_WATCH_H[0] * H, t_off)
    p.force(track, t_on, t_on + DARK_WATCH_H[1] * H)
    p.intent("gap", "watched_dark_run", [track], t_off - 120.0, t_on + 120.0,
             dark_hours=dark / H, speed_kn=v, intentional=True,
             receiver=rx.name, hole_hours=hole / H)
