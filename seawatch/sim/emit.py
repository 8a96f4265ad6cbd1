"""From a plan to the reports a receiver network logs, for one block of tracks or of time.

:func:`emit_positions` runs the whole chain for the position reports of a window:
report times (:mod:`.reports`), noise-free contents, reception (:mod:`.reception`), then the
two kinds of noise that decide what a decoder will see:

- **garbling**: a fraction :data:`GARBLE_RATE` of the reports that are safe to lose are
  written as corrupted lines (the decoder must quarantine them), so they are not in the
  data. A report is *not* safe to lose (it is *critical*) when losing it could change an
  event of the truth: it starts or ends a gap in reception of 20 minutes or more, it is the
  last report before or the first after a zone crossing, it lies within 5 km of a port, it
  belongs to a planted behaviour's forced window or to a spoofed jump, or it was heard
  twice (losing one copy loses nothing). It is decided on whole tracks (the truth pass)
  and handed to the output pass as a set of report keys;
- **GNSS jitter** (:func:`jitter`): N(0, 12 m) per axis, kept only where it does not move
  the report across a zone boundary, across 3 km or 4 km of a port, or onto land.

Everything else (duplicates, receive delays, line shuffles) changes no content.

The messy profile (:mod:`seawatch.sim.artefacts`) adds **outliers**: a share
(``outliers``) of the reports whose neighbours on both sides are less than 20 minutes away
(so that a reader can tell them from a real move), heard once, outside planted behaviours'
watched windows, are garbled in the air with a valid checksum: :func:`outlier_values` flips
one bit of the latitude, the longitude or the speed. Like garbling, they are decided on
whole tracks and handed to the output pass as report keys; the truth reads the true values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seawatch.geo.geodesy import metres_to_degrees
from seawatch.sim import places, rand, reports
from seawatch.sim.legs import FLAG_JUMP
from seawatch.sim.reception import FORCE, receive

S_GARBLE = 50
S_JITTER_LAT = 51
S_JITTER_LON = 52
S_GARBLE_STATIC = 53
S_OUTLIER = 54
S_OUTLIER_KIND = 55
S_OUTLIER_BIT = 56

GARBLE_RATE = 0.004
"""Share of the reports safe to lose that are garbled (about 0.3 % of all lines)."""
CRITICAL_GAP_S = 1200
"""A report next to a reception gap this long or longer is never garbled."""
NEAR_PORT_KM = 5.0
"""Reports this close to a port are never garbled."""
JITTER_M = 12.0
"""GNSS position noise, standard deviation per axis (m): typical errors of 10-30 m."""
PORT_RINGS_KM = (3.0, 4.0)
"""Port-visit entry and exit distances (docs/detectors.md); jitter never crosses them."""
OUTLIER_POSITION_SHARE = 0.8
"""Share of the outliers whose position is wrong (half latitude, half longitude); the others
carry a wrong speed."""
OUTLIER_POSITION_BITS = (15, 25)
"""A wrong position has one of these bits (low inclusive, high exclusive) of its 1/10000
minute value flipped: 2**15 / 600000 degree (about 6 km) to 2**24 / 600000 (28 degrees)."""
OUTLIER_SPEED_BITS = (8, 10)
"""A wrong speed has bit 8 or 9 of its 0.1 kn value flipped: 25.6 or 51.2 kn off."""


@dataclass
class Positions:
    """Position reports of a window, sorted by track then time; all arrays of one length."""

    track: np.ndarray
    t: np.ndarray
    leg: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    sog: np.ndarray
    cog: np.ndarray
    heading: np.ndarray
    nav: np.ndarray
    jump: np.ndarray
    station: np.ndarray
    station2: np.ndarray
    delay2: np.ndarray
    forced: np.ndarray
    garbled: np.ndarray
    mask: np.ndarray  # zone bits
    port_km: np.ndarray  # distance to the nearest port point (inf beyond 12 km)
    sent: int = 0  # reports sent in the window, heard or not
    outlier: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # messy profile

    @property
    def decodable(self) -> np.ndarray:
        """Not garbled: what a decoder will read."""
        return ~self.garbled

    def take(self, sel: np.ndarray) -> Positions:
        return Positions(**{k: (v[sel] if isinstance(v, np.ndarray) else v)
                            for k, v in self.__dict__.items()})


def audible_windows(plan, idx: np.ndarray
                    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
    """Where reports of legs ``idx`` can be heard at all: (position in idx, lo, hi) windows.

    A leg whose bounding box comes within reach of a receiver can be heard throughout; any
    other leg only during satellite passes and its track's forced windows. Listing only
    those reports gives exactly the same received reports as listing all of them (the
    first report of a pass is the first one listed in it), at a fraction of the cost far
    offshore. None (every report) without noise.
    """
    if not plan.noise:
        return None
    legs = plan.legs
    la0, la1 = legs.lat0[idx], legs.lat1[idx]
    lo0, lo1 = legs.lon0[idx], legs.lon1[idx]
    lat_lo, lat_hi = np.minimum(la0, la1), np.maximum(la0, la1)
    lon_lo, lon_hi = np.minimum(lo0, lo1), np.maximum(lo0, lo1)
    near = (legs.flags[idx] & FLAG_JUMP) != 0
    for rx in places.RECEIVERS:
        reach = max(rx.max_km_a, rx.max_km_b) / 111.0 + 0.02
        reach_lon = reach / np.cos(np.radians(rx.lat))
        near |= ((lat_hi >= rx.lat - reach) & (lat_lo <= rx.lat + reach)
                 & (lon_hi >= rx.lon - reach_lon) & (lon_lo <= rx.lon + reach_lon))
    pos_near = np.flatnonzero(near)
    windows = [(pos_near, np.full(pos_near.size, -np.inf), np.full(pos_near.size, np.inf))]
    far = np.flatnonzero(~near)
    passes = plan.passes
    if far.size and passes.size:
        t0, t1 = legs.t0[idx][far], legs.t1[idx][far]
        k0 = np.searchsorted(passes[:, 1], t0, side="right")
        k1 = np.searchsorted(passes[:, 0], t1, side="left")
        n = np.maximum(k1 - k0, 0)
        rep = np.repeat(np.arange(far.size), n)
        k = np.repeat(k0, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
        windows.append((far[rep], passes[k, 0], passes[k, 1]))
    ov = plan.overrides
    if far.size and ov.track.size:
        tracks = legs.track[idx][far]
        for r in np.flatnonzero(ov.kind == FORCE):
            hit = far[tracks == ov.track[r]]
            if hit.size:
                windows.append((hit, np.full(hit.size, ov.t0[r]), np.full(hit.size, ov.t1[r])))
    return windows


def report_keys(track: np.ndarray, t: np.ndarray) -> np.ndarray:
    """One int64 per report (track, second): for sets of reports."""
    return track.astype(np.int64) * (1 << 32) + (t.astype(np.int64) + (1 << 31))


def _neighbours(track: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(previous, next) time of the same track, -inf / +inf where there is none."""
    n = t.size
    prev = np.full(n, -np.inf)
    nxt = np.full(n, np.inf)
    if n > 1:
        same = track[1:] == track[:-1]
        prev[1:] = np.where(same, t[:-1], -np.inf)
        nxt[:-1] = np.where(same, t[1:], np.inf)
    return prev, nxt


def emit_positions(plan, world, leg_idx: np.ndarray, w0: float, w1: float,
                   garbled_keys: np.ndarray | None = None,
                   outlier_keys: np.ndarray | None = None) -> Positions:
    """Received position reports of the legs ``leg_idx`` within [w0, w1), some garbled.

    ``plan`` is a :class:`seawatch.sim.plan.Plan`, ``world`` a
    :class:`seawatch.sim.world.World`. Which reports are garbled depends on their
    neighbours, so it is decided where whole tracks are at hand (``leg_idx`` all the legs
    of some tracks, [w0, w1) the whole period); a caller emitting a block of time passes
    the :func:`report_keys` of the garbled reports found that way as ``garbled_keys`` (and
    of the outliers, in the messy profile, as ``outlier_keys``).
    """
    seed = plan.seed
    legs = plan.legs
    tx_idx, interval, offset_s = reports.position_plan(seed, legs, plan.fleet, leg_idx,
                                                       plan.thinning)
    n_sent = reports.count_reports(legs, tx_idx, interval, offset_s, w0, w1)
    tx = reports._windowed(legs, tx_idx, interval, offset_s, w0, w1,
                           audible_windows(plan, tx_idx))
    leg_interval = np.zeros(legs.n, np.int64)
    leg_interval[tx_idx] = interval
    lat, lon = reports.locate(seed, legs, tx, on_land=world.on_land)
    jump = (legs.flags[tx.leg] & FLAG_JUMP) != 0
    cls_a = plan.fleet.cls[tx.track] == "A"
    prev_tx = reports.previous_times(legs, tx, leg_interval[tx.leg], plan.prev_report)
    forced, blocked = plan.overrides.flags(tx.track, tx.t)
    forced |= jump
    heard = receive(seed, plan.noise, plan.passes, tx.track, tx.t, lat, lon, cls_a,
                    prev_tx, forced, blocked, artefacts=plan.artefacts)
    r = np.flatnonzero(heard.received)
    rx = reports.Transmissions(tx.track[r], tx.t[r], tx.leg[r])
    sog, cog, heading, nav, _ = reports.motion(seed, legs, rx)
    lat, lon = lat[r], lon[r]
    mask = world.zone_mask(lat, lon)
    port_km = world.port_km(lat, lon)
    forced = forced[r]
    station, station2, delay2 = heard.station[r], heard.station2[r], heard.delay2[r]
    garbled = np.zeros(r.size, bool)
    if garbled_keys is not None:
        garbled = np.isin(report_keys(rx.track, rx.t), garbled_keys)
    elif plan.noise and r.size:
        tt = rx.t.astype(np.float64)
        prev_t, next_t = _neighbours(rx.track, tt)
        same_prev = np.r_[False, rx.track[1:] == rx.track[:-1]]
        same_next = np.r_[rx.track[:-1] == rx.track[1:], False]
        mask_prev = np.r_[0, mask[:-1]]
        mask_next = np.r_[mask[1:], 0]
        critical = (
            (tt - prev_t >= CRITICAL_GAP_S) | (next_t - tt >= CRITICAL_GAP_S)
            | (same_prev & (mask_prev != mask)) | (same_next & (mask_next != mask))
            | (port_km < NEAR_PORT_KM) | forced | (station2 >= 0)
        )
        u = rand.uniform(seed, S_GARBLE, rx.track, rx.t)
        garbled = ~critical & (u < GARBLE_RATE)
    outlier = np.zeros(r.size, bool)
    art = plan.artefacts
    if outlier_keys is not None:
        outlier = np.isin(report_keys(rx.track, rx.t), outlier_keys)
    elif art is not None and art.outlier_rate > 0 and r.size:
        tt = rx.t.astype(np.float64)
        prev_t, next_t = _neighbours(rx.track, tt)
        eligible = ((tt - prev_t < CRITICAL_GAP_S) & (next_t - tt < CRITICAL_GAP_S)
                    & ~forced & ~jump[r] & (station2 < 0) & ~garbled)
        outlier = eligible & (rand.uniform(seed, S_OUTLIER, rx.track, rx.t)
                              < art.outlier_rate)
    return Positions(
        track=rx.track, t=rx.t, leg=rx.leg, lat=lat, lon=lon, sog=sog, cog=cog,
        heading=heading, nav=nav, jump=jump[r], station=station, station2=station2,
        delay2=delay2, forced=forced, garbled=garbled, mask=mask, port_km=port_km,
        sent=n_sent, outlier=outlier,
    )


def outlier_values(seed: int, track: np.ndarray, t: np.ndarray, lat: np.ndarray,
                   lon: np.ndarray, sog: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lon, sog, kind) of reports garbled in the air with a valid checksum.

    One bit flips: of the latitude or the longitude (``kind`` 1 or 2; bits
    :data:`OUTLIER_POSITION_BITS` of the 1/10000-minute value, two's complement as AIS sends
    it) or of the speed (``kind`` 3; bits :data:`OUTLIER_SPEED_BITS` of the 0.1 kn value).
    Deterministic per (track, second).

    >>> la, lo, v, k = outlier_values(1, np.array([7]), np.array([60]), np.array([-1.0]),
    ...                               np.array([-81.0]), np.array([10.0]))
    >>> int(k[0]) in (1, 2, 3), bool((la != -1.0) | (lo != -81.0) | (v != 10.0))
    (True, True)
    """
    u = rand.uniform(seed, S_OUTLIER_KIND, track, t)
    kind = np.where(u < OUTLIER_POSITION_SHARE / 2, 1,
                    np.where(u < OUTLIER_POSITION_SHARE, 2, 3)).astype(np.int8)
    bit = rand.integers(seed, S_OUTLIER_BIT, *OUTLIER_POSITION_BITS, track, t)
    sbit = OUTLIER_SPEED_BITS[0] + bit % (OUTLIER_SPEED_BITS[1] - OUTLIER_SPEED_BITS[0])
    units = reports.AIS_UNITS_PER_DEG
    lat_i = np.round(np.asarray(lat) * units).astype(np.int64)
    lon_i = np.round(np.asarray(lon) * units).astype(np.int64)
    new_lat = np.where(kind == 1, lat_i ^ (np.int64(1) << bit), lat_i) / units
    new_lon = np.where(kind == 2, lon_i ^ (np.int64(1) << bit), lon_i) / units
    sog_i = np.round(np.asarray(sog, np.float64) * 10).astype(np.int64)
    new_sog = np.where(kind == 3, sog_i ^ (np.int64(1) << sbit), sog_i) / 10.0
    return new_lat, new_lon, np.minimum(new_sog, 102.2), kind


def jitter(plan, world, p: Positions) -> tuple[np.ndarray, np.ndarray]:
    """GNSS-jittered (lat, lon) of reports ``p`` (see the module docstring).

    Jitter that would change a report's zones, its side of 3 km or 4 km from a port, or put
    it on land is not applied to that report.
    """
    if not plan.noise or not p.t.size:
        return p.lat.copy(), p.lon.copy()
    seed = plan.seed
    dlat, dlon = metres_to_degrees(rand.normal(seed, S_JITTER_LAT, p.track, p.t) * JITTER_M,
                                   rand.normal(seed, S_JITTER_LON, p.track, p.t) * JITTER_M,
                                   p.lat)
    lat = reports.ais_degrees(p.lat + dlat)
    lon = reports.ais_degrees(p.lon + dlon)
    keep = world.zone_mask(lat, lon) == p.mask
    near = np.flatnonzero(np.isfinite(p.port_km))
    if near.size:
        d = world.port_km(lat[near], lon[near])
        for ring in PORT_RINGS_KM:
            keep[near] &= (d <= ring) == (p.port_km[near] <= ring)
    keep &= ~world.on_land(lat, lon)
    return np.where(keep, lat, p.lat), np.where(keep, lon, p.lon)


@dataclass
class Statics:
    """Static messages of a window (sorted by track, time): message 5, or 24 A / 24 B."""

    track: np.ndarray
    t: np.ndarray
    leg: np.ndarray
    part: np.ndarray  # 0: message 5 or part A; 1: part B
    received: np.ndarray
    station: np.ndarray
    station2: np.ndarray
    delay2: np.ndarray
    garbled: np.ndarray


def emit_statics(plan, leg_idx: np.ndarray, w0: float, w1: float) -> Statics:
    """Static messages of legs ``leg_idx`` within [w0, w1), with reception and garbling."""
    seed = plan.seed
    tx, part = reports.static_times(seed, plan.legs, plan.fleet, leg_idx, w0, w1,
                                    windows=lambda idx: audible_windows(plan, idx))
    lat, lon = reports.locate(seed, plan.legs, tx)
    jump = (plan.legs.flags[tx.leg] & FLAG_JUMP) != 0
    cls_a = plan.fleet.cls[tx.track] == "A"
    forced, blocked = plan.overrides.flags(tx.track, tx.t)
    forced[:] = False  # forced windows watch positions; static messages are not needed
    prev = np.full(tx.n, -np.inf)
    heard = receive(seed, plan.noise, plan.passes, tx.track, tx.t + part, lat, lon,
                    cls_a, prev, forced, blocked | jump, stream=1, artefacts=plan.artefacts)
    garbled = np.zeros(tx.n, bool)
    if plan.noise:
        u = rand.uniform(seed, S_GARBLE_STATIC, tx.track, tx.t * 2 + part)
        # message 5 takes two lines; only single-line messages (class B 24) are garbled
        garbled = heard.received & (heard.station2 < 0) & ~cls_a & (u < GARBLE_RATE)
    return Statics(tx.track, tx.t, tx.leg, part, heard.received, heard.station,
                   heard.station2, heard.delay2, garbled)
