"""Movement plans: every track is a sequence of straight *legs*, and how often it reports.

A leg moves a track from one point to another at constant speed (or holds it at anchor) over
a time interval, in a *state* (underway, at anchor, fishing, drifting) that sets its
navigational status and, with the speed and transponder class, its reporting interval.
Legs may be silent (``tx`` false: the transponder is off) or flagged as a spoofed position
jump. :class:`LegBuilder` builds them with a cursor per track; :class:`Legs` holds them all
as arrays sorted by track and time, which is what the vectorised report generator reads.

Reporting intervals (ITU-R M.1371-5, Annex 1, tables 1 and 2; see :data:`ITU_INTERVAL_S`)
are thinned by a factor (default :data:`DEFAULT_THINNING`) for the dynamic rates, since a
feed at full rate is ten times the size of what analysts use; the 3-minute rates of ships
at anchor and of slow class B units are kept as they are.

>>> b = LegBuilder()
>>> c = b.cursor(track=0, t=0.0, lat=-1.0, lon=-85.0)
>>> c.go(-1.0, -84.9, speed=10.0)  # about 6 nm at 10 kn
>>> c.hold(3600.0, state=ANCHOR)
>>> legs = b.build()
>>> legs.state.tolist(), [round(x) for x in legs.t1]
([0, 1], [2160, 5760])
>>> report_interval_s(np.array([True, True, False]), np.array([UNDERWAY, ANCHOR, UNDERWAY]),
...                   np.array([15.0, 0.0, 6.0]), 6).tolist()
[36, 180, 180]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from seawatch.geo.geodesy import NM_KM, flat_destination, flat_distance_nm

# -- states and navigational status ---------------------------------------------------------
UNDERWAY = 0
ANCHOR = 1  # at anchor or moored: position held, 3-minute reports
FISHING = 2  # moving while fishing (trawling, setting or hauling gear, jigging)
DRIFT = 3  # stopped in the water, drifting slowly (engine off or pursing)

NAV_UNDERWAY = 0
NAV_ANCHORED = 1
NAV_FISHING = 7
NAV_MOORED = 5
NAV_NOT_DEFINED = 15

DEFAULT_NAV = {UNDERWAY: NAV_UNDERWAY, ANCHOR: NAV_ANCHORED, FISHING: NAV_FISHING,
               DRIFT: NAV_UNDERWAY}

FLAG_JUMP = 1
"""Leg flag: the positions of this leg are a spoofed jump (reported far from the vessel)."""

# -- reporting intervals ----------------------------------------------------------------------
ITU_INTERVAL_S: dict[str, tuple[float, float]] = {
    "A anchored": (180.0, 180.0),  # at anchor or moored, not faster than 3 kn
    "A 0-14 kn": (10.0 / 3.0, 10.0),  # 3 1/3 s while changing course, else 10 s
    "A 14-23 kn": (2.0, 6.0),  # 2 s while changing course, else 6 s
    "A over 23 kn": (2.0, 2.0),
    "B 2 kn or less": (180.0, 180.0),  # class B CS
    "B over 2 kn": (30.0, 30.0),
}
"""ITU-R M.1371-5 reporting intervals (seconds) by class and speed: (shortest, longest)."""

STATIC_INTERVAL_S = 360
"""Static and voyage data (message 5; class B 24 A and B): every 6 minutes (ITU)."""

DEFAULT_THINNING = 6
"""Factor the dynamic intervals are stretched by (the 3-minute intervals are kept)."""


def interval_band(cls_a: np.ndarray, state: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """Index into :data:`ITU_INTERVAL_S` (in its order) of each (class, state, speed)."""
    anchored = state == ANCHOR
    a = np.select([anchored, speed > 23.0, speed > 14.0], [0, 3, 2], 1)
    b = np.where(anchored | (speed <= 2.0), 4, 5)
    return np.where(cls_a, a, b)


def report_interval_s(cls_a: np.ndarray, state: np.ndarray, speed: np.ndarray,
                      thinning: int = DEFAULT_THINNING) -> np.ndarray:
    """Seconds between position reports: the ITU straight-course interval, thinned.

    Class A: 10 s x ``thinning`` up to 14 kn, 6 s x ``thinning`` to 23 kn, 2 s x ``thinning``
    above, 180 s at anchor. Class B (CS): 30 s x ``thinning`` above 2 kn, 180 s at 2 kn or
    less. Thinned intervals never exceed 180 s.
    """
    longest = np.array([hi for _, hi in ITU_INTERVAL_S.values()])
    band = interval_band(cls_a, state, speed)
    base = longest[band]
    thinned = np.where(base < 180.0, np.minimum(base * thinning, 180.0), base)
    return np.round(thinned).astype(np.int64)


# -- legs ---------------------------------------------------------------------------------------
@dataclass
class Legs:
    """All legs, sorted by track then start; times in seconds from the scenario start."""

    track: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    lat0: np.ndarray
    lon0: np.ndarray
    lat1: np.ndarray
    lon1: np.ndarray
    speed: np.ndarray  # knots
    state: np.ndarray  # int8
    nav: np.ndarray  # int8 navigational status
    heading: np.ndarray  # degrees: the ship's heading when stopped (at anchor, drifting)
    dest: np.ndarray  # int16 index into destinations, -1 for none
    tx: np.ndarray  # bool: transponder on
    flags: np.ndarray  # int8 bit flags (FLAG_JUMP)
    destinations: list[str]

    @property
    def n(self) -> int:
        return int(self.track.size)

    def of_tracks(self, first: int, stop: int) -> np.ndarray:
        """Indices of the legs of tracks ``first`` .. ``stop - 1``."""
        lo, hi = np.searchsorted(self.track, [first, stop])
        return np.arange(lo, hi)


def densify(pts: list[tuple[float, float]], km: float, *, extra: int = 1
            ) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) arrays of points about every ``km`` along a polyline of (lat, lon) pairs:
    each leg cut into ``flat_distance_nm * NM_KM / km + extra`` points (at least two), ends
    included (the points of a single point are itself).

    >>> la, lo = densify([(0.0, 0.0), (0.0, 0.01)], 0.5)
    >>> lo.round(4).tolist()
    [0.0, 0.005, 0.01]
    """
    la, lo = [], []
    for (a0, b0), (a1, b1) in pairwise(pts):
        n = max(int(flat_distance_nm(a0, b0, a1, b1) * NM_KM / km) + extra, 2)
        f = np.linspace(0.0, 1.0, n)
        la.append(a0 + (a1 - a0) * f)
        lo.append(b0 + (b1 - b0) * f)
    if not la:
        return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    return np.concatenate(la), np.concatenate(lo)


@dataclass
class Cursor:
    """Where one track is and when; each call appends a leg and moves the cursor on."""

    builder: LegBuilder
    track: int
    t: float
    lat: float
    lon: float
    dest: int = -1
    tx: bool = True

    def go(self, lat: float, lon: float, speed: float, state: int = UNDERWAY,
           nav: int | None = None, flags: int = 0) -> None:
        """Move to (lat, lon) at ``speed`` knots (at least one second)."""
        nm = flat_distance_nm(self.lat, self.lon, lat, lon)
        dt = max(nm / max(speed, 1e-6) * 3600.0, 1.0)
        self._leg(dt, lat, lon, speed, state, nav, 0.0, flags)

    def go_for(self, dt: float, lat: float, lon: float, state: int = UNDERWAY,
               nav: int | None = None, heading: float = 0.0, flags: int = 0) -> None:
        """Move to (lat, lon) in exactly ``dt`` seconds (speed follows)."""
        nm = flat_distance_nm(self.lat, self.lon, lat, lon)
        self._leg(dt, lat, lon, nm / (dt / 3600.0), state, nav, heading, flags)

    def hold(self, dt: float, state: int = ANCHOR, nav: int | None = None,
             heading: float = 0.0) -> None:
        """Stay here for ``dt`` seconds (at anchor, or stopped)."""
        self._leg(dt, self.lat, self.lon, 0.0, state, nav, heading, 0)

    def drift(self, dt: float, speed: float, course: float, state: int = DRIFT,
              nav: int | None = None, heading: float = 0.0) -> None:
        """Drift ``speed`` knots on ``course`` for ``dt`` seconds."""
        lat, lon = flat_destination(self.lat, self.lon, speed * NM_KM * dt / 3600.0, course)
        self._leg(dt, lat, lon, speed, state, nav, heading, 0)

    def jump_to(self, lat: float, lon: float, dt: float) -> None:
        """Report (lat, lon) for ``dt`` seconds while the vessel really stays on course."""
        self.builder.add(self.track, self.t, self.t + dt, lat, lon, lat, lon, 0.0, UNDERWAY,
                         NAV_UNDERWAY, 0.0, self.dest, self.tx, FLAG_JUMP)
        self.t += dt

    def _leg(self, dt: float, lat: float, lon: float, speed: float, state: int,
             nav: int | None, heading: float, flags: int) -> None:
        self.builder.add(self.track, self.t, self.t + dt, self.lat, self.lon, lat, lon, speed,
                         state, DEFAULT_NAV[state] if nav is None else nav, heading,
                         self.dest, self.tx, flags)
        self.t += dt
        self.lat, self.lon = lat, lon


_FLUSH_ROWS = 65_536


@dataclass
class LegBuilder:
    """Collects legs and turns them into :class:`Legs`.

    Rows are kept as Python tuples only until :data:`_FLUSH_ROWS` of them have gathered;
    then they move into a float64 array, so a plan of a million legs costs about 110 bytes
    a leg, not the half kilobyte of its Python objects.
    """

    destinations: list[str] = field(default_factory=list)
    _rows: list[tuple] = field(default_factory=list)
    _chunks: list[np.ndarray] = field(default_factory=list)
    _flushed: int = 0

    @property
    def n(self) -> int:
        """Legs added so far."""
        return self._flushed + len(self._rows)

    def truncate(self, n: int) -> None:
        """Forget every leg added after the first ``n`` (undo a failed plan)."""
        if n >= self._flushed:
            del self._rows[n - self._flushed:]
            return
        rows = np.concatenate(self._chunks) if self._chunks else np.empty((0, 14))
        self._chunks = [rows[:n]]
        self._flushed = n
        self._rows = []

    def cursor(self, track: int, t: float, lat: float, lon: float) -> Cursor:
        return Cursor(self, track, t, lat, lon)

    def dest(self, name: str | None) -> int:
        """Index of a destination text (added on first use); -1 for None."""
        if name is None:
            return -1
        if name not in self.destinations:
            self.destinations.append(name)
        return self.destinations.index(name)

    def add(self, track: int, t0: float, t1: float, lat0: float, lon0: float, lat1: float,
            lon1: float, speed: float, state: int, nav: int, heading: float, dest: int,
            tx: bool, flags: int) -> None:
        self._rows.append((track, t0, t1, lat0, lon0, lat1, lon1, speed, state, nav,
                           heading % 360.0, dest, tx, flags))
        if len(self._rows) >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._chunks.append(np.array(self._rows, dtype=np.float64).reshape(-1, 14))
            self._flushed += len(self._rows)
            self._rows = []

    def build(self) -> Legs:
        self._flush()
        if not self._flushed:
            e = np.empty(0)
            return Legs(np.empty(0, np.int64), e, e, e, e, e, e, e, np.empty(0, np.int8),
                        np.empty(0, np.int8), e, np.empty(0, np.int16), np.empty(0, bool),
                        np.empty(0, np.int8), list(self.destinations))
        chunks = self._chunks  # gathered a column at a time: no second copy of all rows
        track = np.concatenate([c[:, 0] for c in chunks]).astype(np.int64)
        t0 = np.concatenate([c[:, 1] for c in chunks])
        order = np.lexsort((t0, track))

        def arr(i: int, dtype: type) -> np.ndarray:
            return np.concatenate([c[:, i] for c in chunks])[order].astype(dtype)
        return Legs(track=track[order], t0=t0[order], t1=arr(2, np.float64),
                    lat0=arr(3, np.float64), lon0=arr(4, np.float64), lat1=arr(5, np.float64),
                    lon1=arr(6, np.float64), speed=arr(7, np.float64), state=arr(8, np.int8),
                    nav=arr(9, np.int8), heading=arr(10, np.float64), dest=arr(11, np.int16),
                    tx=arr(12, bool), flags=arr(13, np.int8),
                    destinations=list(self.destinations))
