"""Simulated AIS traffic in the Eastern Pacific off Ecuador, for demos and tests.

A first, deliberately simple traffic model (the scenario simulator with ground truth comes
later). Every vessel follows a plan of straight *legs* between points at sea:

- **cargo ships and tankers** (class A) shuttle along shipping routes between the Panama Canal
  approach, Esmeraldas, Manta, Posorja (Guayaquil), and Callao, anchoring for some hours at
  each end; the routes run through waypoints offshore (:data:`WAYPOINTS`, :data:`ROUTES`);
- **coastal fishing boats** (class B, Ecuadorian flag mostly) move slowly between random
  points of fishing grounds off the coast, with faster runs between them (:data:`GROUNDS`);
- **Galápagos** traffic: tourist yachts (class A) between Puerto Ayora, Puerto Baquerizo
  Moreno and Puerto Villamil, and local fishing boats (class B) near the islands;
- **distant-water squid jiggers** (class A, Chinese flag) drift and jig far west of the
  islands, outside the Galápagos exclusive economic zone.

Every ground is a disc at sea and every route segment was checked against Natural Earth land
(the test suite checks again), so all positions are at sea by construction: a straight leg
between two points of a disc stays in the disc.

Reporting follows ITU-R M.1371 thinned for a demo (documented in :data:`REPORT_INTERVAL_S`):
class A every 30 s above 14 kn, 60 s underway, 180 s at anchor (ITU: 2-10 s underway, 3 min at
anchor); class B every 90 s above 2 kn and 180 s below (ITU: 30 s and 3 min). Identity
messages go every 6 minutes (ITU), message 5 for class A and 24 A then 24 B for class B. A few
reports are lost (:data:`RECEPTION_LOSS`). Values are rounded to the resolution AIS carries
(1/600000 degree, 0.1 knot, 0.1 degree, whole seconds), so the frames survive an NMEA round
trip unchanged.

The run is a pure function of its arguments: the same seed gives identical frames. Positions
are computed for all vessels at once with NumPy (one pass per block of vessels); only the
per-vessel plans (a handful of legs each) are built in a Python loop.

Examples
--------
>>> positions, vessels = simulate_traffic(seed=1, hours=1.0, vessels=10)
>>> positions.columns == list(schema.POSITIONS)
True
>>> positions["mmsi"].n_unique()
10
>>> bool(positions["lat"].is_between(-13, 9).all())
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.io import identity

DEFAULT_START = datetime(2026, 1, 15, tzinfo=UTC)
"""Start of the simulated period unless another is given."""

SOURCE = "seawatch-sim"
"""Value of the ``source`` column (and the NMEA tag-block station of written scenarios)."""

# -- geography (lat, lon in degrees; all points at sea) ---------------------------------------
WAYPOINTS: dict[str, tuple[float, float]] = {
    "balboa": (8.85, -79.45),  # Panama Canal Pacific approach, anchorage off Balboa
    "perlas_w": (8.35, -79.30),  # west of the Pearl Islands
    "punta_mala": (7.20, -79.70),  # off Punta Mala, Azuero peninsula
    "colombia_off": (4.50, -79.90),
    "esm_off": (1.60, -79.85),
    "esmeraldas": (1.05, -79.68),  # Esmeraldas anchorage
    "pedernales_off": (0.20, -80.55),
    "pasado_off": (-0.40, -80.85),  # off Cabo Pasado
    "manta_off": (-0.80, -80.95),
    "manta": (-0.90, -80.72),  # Manta anchorage
    "lorenzo_off": (-1.10, -81.15),  # off Cabo San Lorenzo
    "santa_elena_off": (-2.20, -81.25),  # off Punta Santa Elena
    "gulf_sw": (-3.00, -80.65),  # entrance of the Gulf of Guayaquil
    "morro": (-2.80, -80.38),  # Canal del Morro
    "posorja": (-2.76, -80.28),  # Posorja (deep-water port of Guayaquil)
    "parinas_off": (-4.70, -81.70),  # off Punta Pariñas
    "aguja_off": (-5.90, -81.45),  # off Punta Aguja
    "lobos_off": (-6.80, -80.90),  # west of Lobos de Tierra
    "chimbote_off": (-9.00, -79.15),
    "huacho_off": (-11.00, -77.95),
    "callao": (-12.01, -77.22),  # Callao anchorage
    "ayora": (-0.77, -90.30),  # Puerto Ayora, Academy Bay (Santa Cruz, Galápagos)
    "ayora_off": (-0.85, -90.30),
    "sc_south": (-0.92, -90.00),
    "baquerizo": (-0.895, -89.64),  # Puerto Baquerizo Moreno (San Cristóbal)
    "isabela_e": (-0.98, -90.60),
    "villamil": (-0.975, -90.96),  # Puerto Villamil (Isabela)
}
"""Named points at sea that routes run through."""

PORT_NAMES: dict[str, str] = {
    "balboa": "BALBOA",
    "esmeraldas": "ESMERALDAS",
    "manta": "MANTA",
    "posorja": "POSORJA",
    "callao": "CALLAO",
    "ayora": "PUERTO AYORA",
    "baquerizo": "SAN CRISTOBAL",
    "villamil": "PUERTO VILLAMIL",
}
"""AIS destination text of each route end."""

_PANAMA_SOUTH = ["balboa", "perlas_w", "punta_mala", "colombia_off"]
ROUTES: dict[str, list[str]] = {
    "panama_callao": [*_PANAMA_SOUTH, "pedernales_off", "pasado_off", "lorenzo_off",
                      "santa_elena_off", "parinas_off", "aguja_off", "lobos_off",
                      "chimbote_off", "huacho_off", "callao"],
    "panama_posorja": [*_PANAMA_SOUTH, "pedernales_off", "pasado_off", "lorenzo_off",
                       "santa_elena_off", "gulf_sw", "morro", "posorja"],
    "panama_manta": [*_PANAMA_SOUTH, "pedernales_off", "pasado_off", "manta_off", "manta"],
    "panama_esmeraldas": [*_PANAMA_SOUTH, "esm_off", "esmeraldas"],
    "manta_posorja": ["manta", "manta_off", "lorenzo_off", "santa_elena_off", "gulf_sw",
                      "morro", "posorja"],
    "esmeraldas_manta": ["esmeraldas", "esm_off", "pedernales_off", "pasado_off", "manta_off",
                         "manta"],
    "posorja_callao": ["posorja", "morro", "gulf_sw", "parinas_off", "aguja_off", "lobos_off",
                       "chimbote_off", "huacho_off", "callao"],
    "ayora_baquerizo": ["ayora", "ayora_off", "sc_south", "baquerizo"],
    "ayora_villamil": ["ayora", "ayora_off", "isabela_e", "villamil"],
}
"""Routes as waypoint sequences; vessels shuttle between the two ends."""


@dataclass(frozen=True)
class Ground:
    """A disc of sea where vessels wander: centre (degrees) and radius (km)."""

    lat: float
    lon: float
    radius_km: float


GROUNDS: dict[str, Ground] = {
    # coastal Ecuador (radius at most half the distance to the nearest land)
    "esmeraldas": Ground(1.15, -79.95, 14.0),
    "pedernales": Ground(0.10, -80.40, 15.0),
    "bahia": Ground(-0.55, -80.70, 13.0),
    "manta": Ground(-0.80, -80.95, 10.0),
    "puerto_lopez": Ground(-1.55, -81.05, 10.0),
    "santa_elena": Ground(-2.05, -81.20, 12.0),
    "salinas": Ground(-2.40, -81.10, 11.0),
    "gulf": Ground(-3.10, -80.55, 15.0),
    "jambeli": Ground(-3.20, -80.20, 7.0),
    # Galápagos
    "gal_santiago": Ground(-0.45, -90.55, 5.0),
    "gal_floreana": Ground(-1.15, -90.35, 5.0),
    "gal_isabela_w": Ground(-0.55, -91.65, 5.0),
    "gal_san_cristobal": Ground(-0.95, -89.30, 6.0),
    # high seas west of the Galápagos EEZ (squid jigging grounds)
    "squid_west": Ground(-2.0, -96.0, 80.0),
    "squid_south": Ground(-3.5, -94.5, 60.0),
    "squid_north": Ground(-0.5, -97.5, 70.0),
}
"""Fishing grounds, each a disc at sea."""

# -- reporting ---------------------------------------------------------------------------------
GRID_S = 30
"""Time step of the candidate report grid; every interval below is a multiple of it."""

REPORT_INTERVAL_S: dict[str, int] = {
    "a_fast": 30,  # class A above 14 kn (ITU: 2-6 s)
    "a_underway": 60,  # class A underway (ITU: 10 s)
    "a_anchor": 180,  # class A at anchor or moored (ITU: 3 min)
    "b_moving": 90,  # class B CS above 2 kn (ITU: 30 s)
    "b_slow": 180,  # class B CS at 2 kn or less (ITU: 3 min)
}
"""Seconds between position reports, thinned from ITU-R M.1371 for a demo-sized feed."""

FAST_KN = 14.0
"""Class A speed above which reports are more frequent (ITU-R M.1371 table 1)."""

SLOW_KN = 2.0
"""Class B speed at or below which reports are less frequent."""

IDENTITY_INTERVAL_S = 360
"""Identity messages (5, 24 A/B) every 6 minutes (ITU-R M.1371)."""

RECEPTION_LOSS = {"A": 0.03, "B": 0.08}
"""Share of messages lost at reception, per transponder class (class B sends at 2 W)."""

MAX_BLOCK_CANDIDATES = 4_000_000
"""Candidate reports computed at once; bounds memory for large runs."""

# navigational status codes (ITU-R M.1371)
NAV_UNDERWAY = 0
NAV_ANCHORED = 1
NAV_FISHING = 7

# leg states
_UNDERWAY = 0
_ANCHOR = 1  # at anchor off a port
_FISHING = 2  # moving slowly while fishing
_DRIFT = 3  # stopped on a fishing ground (jigging, hauling): like anchored, but fishing


@dataclass(frozen=True)
class _Category:
    """A kind of vessel: how many, which transponder, where and how fast it goes."""

    name: str
    share: float
    cls: str  # "A" or "B"
    ship_types: tuple[int, ...]
    mids: tuple[tuple[int, float], ...]  # (MID, weight)
    speed_kn: tuple[float, float]  # cruising speed range (routes) or transit speed (grounds)
    length_m: tuple[float, float]
    beam_ratio: float  # length / width
    draught_m: tuple[float, float] | None
    routes: tuple[str, ...] = ()
    grounds: tuple[str, ...] = ()
    fishing_kn: tuple[float, float] = (1.5, 4.0)
    has_imo: float = 1.0  # share of vessels with an IMO number


_PANAMA_MIDS = tuple((m, 0.4 / 11) for m in (351, 352, 353, 354, 355, 356, 357, 370, 371, 372,
                                             373))
_MERCHANT_MIDS = (*_PANAMA_MIDS, (636, 0.15), (538, 0.15), (248, 0.03), (229, 0.03),
                  (563, 0.06), (477, 0.06), (735, 0.06), (760, 0.03), (725, 0.03))

CATEGORIES: tuple[_Category, ...] = (
    _Category("cargo", 0.30, "A", (70, 70, 70, 71, 79), _MERCHANT_MIDS, (12.0, 17.5),
              (120.0, 300.0), 6.8, (7.0, 13.5),
              routes=("panama_callao", "panama_callao", "panama_posorja", "panama_posorja",
                      "panama_manta", "panama_esmeraldas", "manta_posorja", "posorja_callao")),
    _Category("tanker", 0.12, "A", (80, 80, 81, 82, 84), _MERCHANT_MIDS, (11.0, 14.0),
              (140.0, 250.0), 5.8, (8.0, 14.5),
              routes=("panama_esmeraldas", "panama_esmeraldas", "esmeraldas_manta",
                      "panama_callao", "posorja_callao", "manta_posorja")),
    _Category("coastal_fishing", 0.35, "B", (30,), ((735, 0.9), (760, 0.05), (730, 0.05)),
              (6.0, 9.0), (12.0, 30.0), 3.6, None,
              grounds=("esmeraldas", "pedernales", "bahia", "manta", "puerto_lopez",
                       "santa_elena", "salinas", "gulf", "jambeli"), has_imo=0.0),
    _Category("galapagos_yacht", 0.05, "A", (60, 60, 69), ((735, 1.0),), (9.0, 12.0),
              (25.0, 70.0), 5.0, (2.0, 3.5), routes=("ayora_baquerizo", "ayora_villamil")),
    _Category("galapagos_fishing", 0.05, "B", (30,), ((735, 1.0),), (5.0, 8.0), (8.0, 16.0),
              3.3, None, grounds=("gal_santiago", "gal_floreana", "gal_isabela_w",
                                  "gal_san_cristobal"), has_imo=0.0),
    _Category("squid_jigger", 0.13, "A", (30,), ((412, 0.5), (413, 0.3), (414, 0.2)),
              (9.0, 11.5), (55.0, 85.0), 6.5, (4.5, 6.0),
              grounds=("squid_west", "squid_south", "squid_north"), fishing_kn=(0.3, 2.5),
              has_imo=0.5),
)
"""The vessel mix; ``share`` is the fraction of the fleet (they sum to 1)."""

_CALLSIGN_PREFIX: dict[int, tuple[str, ...]] = {
    735: ("HC", "HD"), 760: ("OA", "OB"), 730: ("HK", "5K"), 725: ("CB", "3G"),
    636: ("A8", "D5", "5L"), 538: ("V7",), 248: ("9H",), 229: ("9H",), 563: ("9V", "S6"),
    477: ("VR",), 412: ("BZ", "BB"), 413: ("BZ", "BY"), 414: ("BZ", "BX"),
}
_PANAMA_CALLSIGN = ("3E", "3F", "H3", "H8", "H9", "HO", "HP")

_MERCHANT_WORDS = (
    ("PACIFIC", "ANDES", "GLOBAL", "CAPE", "NORDIC", "GOLDEN", "SILVER", "OCEAN", "AMAZON",
     "ATLAS", "CORAL", "PANAMAX", "ORIENT", "AURORA", "POLAR", "STELLA", "MARE", "BLUE"),
    ("TRADER", "SPIRIT", "PIONEER", "STAR", "HARMONY", "EXPRESS", "VOYAGER", "GRACE", "HORIZON",
     "FORTUNE", "BRIDGE", "MERIDIAN", "CARRIER", "PRIDE", "WAVE", "QUEEN", "VENTURE", "ARROW"),
)
_TANKER_WORDS = (
    ("ANDEAN", "CRUDE", "PETRO", "GULF", "NORTH", "SOUTH", "ENERGY", "FUEL", "OIL"),
    ("ENDEAVOUR", "PROSPERITY", "SUNRISE", "TRUST", "LEADER", "FALCON", "EAGLE", "SPIRIT"),
)
_ECU_FISHING_WORDS = (
    ("DON", "DONA", "SANTA", "SAN", "VIRGEN DEL", "NINO", "MI", "CAPITAN", "HERMANOS"),
    ("LUCHO", "MARIANITA", "CISNE", "PEDRO", "JOSE", "ANDRES", "CARMEN", "ROSARIO", "PATY",
     "FRANCISCO", "JACINTO", "MERCEDES", "GUADALUPE", "MIGUEL", "LORENA", "VICENTE"),
)
_YACHT_WORDS = (
    ("ISLA", "MAR", "ESTRELLA", "TORTUGA", "BLUE", "SEA", "ENCANTADA", "DARWIN", "GALAPAGOS"),
    ("BELLA", "AZUL", "DEL SUR", "FINCH", "LION", "EXPLORER", "DREAM", "ODYSSEY", "PEARL"),
)
_CHINA_PREFIX = ("LU RONG YUAN YU", "FU YUAN YU", "ZHE PU YUAN", "LU YAN YUAN YU",
                 "JIN HAI", "HUA XIANG", "ZHOU YU", "NING TAI")


def simulate_traffic(
    seed: int,
    hours: float,
    vessels: int,
    start: datetime = DEFAULT_START,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Simulate AIS traffic off Ecuador: position reports and identity reports.

    Parameters
    ----------
    seed
        Seed of the random generator; the same seed (and arguments) gives identical frames.
    hours
        Length of the simulated period.
    vessels
        Number of vessels (split over :data:`CATEGORIES` by their shares).
    start
        Start of the period (UTC; a naive datetime is taken as UTC).

    Returns
    -------
    positions, vessels
        Frames with exactly the columns of ``schema.POSITIONS`` and ``schema.VESSELS``,
        sorted by time then MMSI, ``source`` ``"seawatch-sim"``.

    Examples
    --------
    >>> positions, identities = simulate_traffic(seed=7, hours=0.5, vessels=6)
    >>> sorted(identities["msg_type"].unique().to_list())
    [5, 24]
    >>> a, _ = simulate_traffic(seed=7, hours=0.5, vessels=6)
    >>> a.equals(positions)
    True
    """
    if not hours > 0:
        raise ValueError(f"hours must be positive, got {hours}")
    if vessels < 0:
        raise ValueError(f"vessels must be zero or more, got {vessels}")
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    start_s = math.floor(start.timestamp())
    duration = round(hours * 3600)
    rng = np.random.default_rng(seed)
    fleet = _make_fleet(rng, vessels)
    legs = _plan_legs(rng, fleet, duration)
    positions = _positions(rng, fleet, legs, duration, start_s)
    identities = _identities(rng, fleet, legs, duration, start_s)
    return positions, identities


# -- the fleet ---------------------------------------------------------------------------------
@dataclass
class _Fleet:
    """One row per vessel (all arrays of length n)."""

    category: np.ndarray  # index into CATEGORIES
    cls: np.ndarray  # "A"/"B"
    mmsi: np.ndarray
    imo: np.ndarray  # -1 when none
    name: list[str]
    callsign: list[str]
    ship_type: np.ndarray
    length: np.ndarray
    width: np.ndarray
    draught: np.ndarray  # NaN when not sent
    speed: np.ndarray  # cruising / transit speed, knots
    accuracy: np.ndarray
    place: list[str]  # route or ground name


def _category_counts(n: int) -> np.ndarray:
    shares = np.array([c.share for c in CATEGORIES])
    raw = shares * n
    counts = np.floor(raw).astype(np.int64)
    rest = n - int(counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    return counts


def _make_fleet(rng: np.random.Generator, n: int) -> _Fleet:
    cat = np.repeat(np.arange(len(CATEGORIES)), _category_counts(n))
    used_mmsi: set[int] = set()
    used_names: set[str] = set()
    cols: dict[str, list] = {k: [] for k in (
        "cls", "mmsi", "imo", "name", "callsign", "ship_type", "length", "width", "draught",
        "speed", "accuracy", "place")}
    for k in cat:
        c = CATEGORIES[k]
        mids = np.array([m for m, _ in c.mids])
        weights = np.array([w for _, w in c.mids])
        mid = int(rng.choice(mids, p=weights / weights.sum()))
        while True:
            mmsi = mid * 1_000_000 + int(rng.integers(0, 1_000_000))
            if c.cls == "A" and rng.random() < 0.5:
                mmsi = mmsi // 1000 * 1000  # many class A MMSIs end in 000
            if mmsi not in used_mmsi:
                used_mmsi.add(mmsi)
                break
        length = float(np.round(rng.uniform(*c.length_m)))
        cols["cls"].append(c.cls)
        cols["mmsi"].append(mmsi)
        cols["imo"].append(_imo_number(rng) if rng.random() < c.has_imo else -1)
        cols["name"].append(_unique(_vessel_name(rng, c.name), used_names))
        cols["callsign"].append(_callsign(rng, mid))
        cols["ship_type"].append(int(rng.choice(c.ship_types)))
        cols["length"].append(length)
        cols["width"].append(float(max(3.0, np.round(length / c.beam_ratio))))
        cols["draught"].append(
            float(np.round(rng.uniform(*c.draught_m), 1)) if c.draught_m else float("nan")
        )
        cols["speed"].append(float(rng.uniform(*c.speed_kn)))
        cols["accuracy"].append(bool(rng.random() < 0.6))
        cols["place"].append(str(rng.choice(c.routes or c.grounds)))
    return _Fleet(
        category=cat, cls=np.array(cols["cls"], dtype="<U1"),
        mmsi=np.array(cols["mmsi"], np.int64), imo=np.array(cols["imo"], np.int64),
        name=cols["name"], callsign=cols["callsign"],
        ship_type=np.array(cols["ship_type"], np.int16),
        length=np.array(cols["length"], np.float64), width=np.array(cols["width"], np.float64),
        draught=np.array(cols["draught"], np.float64), speed=np.array(cols["speed"], np.float64),
        accuracy=np.array(cols["accuracy"], bool), place=cols["place"],
    )


def _imo_number(rng: np.random.Generator) -> int:
    """A 7-digit IMO number with a valid check digit (weights 7..2 on the first six)."""
    digits = [9, *rng.integers(0, 10, 5).tolist()]
    check = sum(d * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10
    return int("".join(map(str, [*digits, check])))


def _vessel_name(rng: np.random.Generator, category: str) -> str:
    def pick(words: tuple[str, ...]) -> str:
        return str(words[int(rng.integers(len(words)))])

    if category == "cargo":
        return f"{pick(_MERCHANT_WORDS[0])} {pick(_MERCHANT_WORDS[1])}"
    if category == "tanker":
        return f"{pick(_TANKER_WORDS[0])} {pick(_TANKER_WORDS[1])}"
    if category in ("coastal_fishing", "galapagos_fishing"):
        return f"{pick(_ECU_FISHING_WORDS[0])} {pick(_ECU_FISHING_WORDS[1])}"
    if category == "galapagos_yacht":
        return f"{pick(_YACHT_WORDS[0])} {pick(_YACHT_WORDS[1])}"
    return f"{pick(_CHINA_PREFIX)} {int(rng.integers(1, 9999))}"


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name`` with a number when taken; at most 20 characters (the AIS field)."""
    candidate = name[:20]
    k = 2
    while candidate in used:
        suffix = f" {k}"
        candidate = name[: 20 - len(suffix)] + suffix
        k += 1
    used.add(candidate)
    return candidate


def _callsign(rng: np.random.Generator, mid: int) -> str:
    prefixes = _CALLSIGN_PREFIX.get(mid, _PANAMA_CALLSIGN)
    prefix = str(prefixes[int(rng.integers(len(prefixes)))])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    tail = "".join(alphabet[i] for i in rng.integers(0, len(alphabet), 6 - len(prefix)))
    return prefix + tail


# -- plans -------------------------------------------------------------------------------------
@dataclass
class _Legs:
    """All vessels' legs, sorted by vessel then start time; times in seconds from the start."""

    vessel: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    lat0: np.ndarray
    lon0: np.ndarray
    lat1: np.ndarray
    lon1: np.ndarray
    state: np.ndarray
    speed: np.ndarray
    heading: np.ndarray  # anchor heading (degrees) for anchored legs
    destination: list[str | None]


def _distance_nm(lat0: float, lon0: float, lat1: float, lon1: float) -> float:
    """Equirectangular distance in nautical miles (ample for legs of a few hundred miles)."""
    coslat = math.cos(math.radians((lat0 + lat1) / 2))
    return math.hypot((lat1 - lat0) * 60.0, (lon1 - lon0) * 60.0 * coslat)


def _plan_legs(rng: np.random.Generator, fleet: _Fleet, duration: int) -> _Legs:
    rows: list[tuple] = []
    dest: list[str | None] = []
    for v in range(fleet.mmsi.size):
        c = CATEGORIES[fleet.category[v]]
        if c.routes:
            plan = _route_plan(rng, fleet.place[v], float(fleet.speed[v]), duration)
        else:
            plan = _ground_plan(rng, c, GROUNDS[fleet.place[v]], float(fleet.speed[v]),
                                duration)
        for leg in plan:
            rows.append((v, *leg[:-1]))
            dest.append(leg[-1])
    if not rows:
        empty = np.empty(0)
        return _Legs(np.empty(0, np.int64), empty, empty, empty, empty, empty, empty,
                     np.empty(0, np.int8), empty, empty, [])
    arr = list(zip(*rows, strict=True))
    return _Legs(
        vessel=np.array(arr[0], np.int64), t0=np.array(arr[1]), t1=np.array(arr[2]),
        lat0=np.array(arr[3]), lon0=np.array(arr[4]), lat1=np.array(arr[5]),
        lon1=np.array(arr[6]), state=np.array(arr[7], np.int8), speed=np.array(arr[8]),
        heading=np.array(arr[9]), destination=dest,
    )


def _route_plan(rng: np.random.Generator, route: str, speed: float, duration: int) -> list:
    """Legs (t0, t1, lat0, lon0, lat1, lon1, state, speed, heading, destination) of a shuttle.

    One cycle: along the route, anchor 2-10 h at its end, back, anchor at the start. The
    vessel starts at a random point of its cycle.
    """
    names = ROUTES[route]
    points = [WAYPOINTS[w] for w in names]
    cycle: list[list] = []
    t = 0.0
    for forward in (True, False):
        seq = points if forward else points[::-1]
        end = names[-1] if forward else names[0]
        for (a0, b0), (a1, b1) in pairwise(seq):
            dt = _distance_nm(a0, b0, a1, b1) / speed * 3600.0
            cycle.append([t, t + dt, a0, b0, a1, b1, _UNDERWAY, speed, 0.0, PORT_NAMES[end]])
            t += dt
        stay = rng.uniform(2.0, 10.0) * 3600.0
        a, b = seq[-1]
        cycle.append([t, t + stay, a, b, a, b, _ANCHOR, 0.0, rng.uniform(0, 360),
                      PORT_NAMES[end]])
        t += stay
    period = t
    phase = rng.uniform(0, period)
    legs = []
    k = 0
    while k * period - phase < duration:
        for leg in cycle:
            t0 = leg[0] + k * period - phase
            t1 = leg[1] + k * period - phase
            if t1 > 0 and t0 < duration:
                legs.append((t0, t1, *leg[2:]))
        k += 1
    return legs


def _ground_plan(rng: np.random.Generator, c: _Category, ground: Ground, transit: float,
                 duration: int) -> list:
    """Legs of a vessel wandering in a ground: fishing legs, drifts and faster transits."""
    def point() -> tuple[float, float]:
        r = ground.radius_km * math.sqrt(rng.random())
        a = rng.uniform(0, 2 * math.pi)
        lat = ground.lat + r * math.cos(a) / 111.2
        lon = ground.lon + r * math.sin(a) / (111.2 * math.cos(math.radians(ground.lat)))
        return lat, lon

    legs = []
    t = -rng.uniform(0, 3600.0)
    here = point()
    while t < duration:
        u = rng.random()
        if u < 0.15:  # drift or lie stopped for a while
            dt = rng.uniform(0.5, 3.0) * 3600.0
            legs.append((t, t + dt, *here, *here, _DRIFT, 0.0, rng.uniform(0, 360), None))
            t += dt
            continue
        target = point()
        if u < 0.45:
            speed, state = transit, _UNDERWAY
        else:
            speed, state = rng.uniform(*c.fishing_kn), _FISHING
        dt = max(_distance_nm(*here, *target) / speed * 3600.0, 60.0)
        legs.append((t, t + dt, *here, *target, state, speed, 0.0, None))
        t += dt
        here = target
    return legs


# -- reports -----------------------------------------------------------------------------------
def _leg_of(legs: _Legs, vessel: np.ndarray, t: np.ndarray, duration: int) -> np.ndarray:
    """Index of the leg each (vessel, time) falls in (legs cover every vessel's period)."""
    span = duration + 1
    leg_key = legs.vessel * span + np.clip(np.floor(legs.t0), 0, duration).astype(np.int64)
    key = vessel * span + t
    return np.searchsorted(leg_key, key, side="right") - 1


def _bearing(dlat: np.ndarray, dlon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(dlon * np.cos(np.radians(lat)), dlat)) % 360.0


def _positions(rng: np.random.Generator, fleet: _Fleet, legs: _Legs, duration: int,
               start_s: int) -> pl.DataFrame:
    n_vessels = fleet.mmsi.size
    n_grid = duration // GRID_S + 1
    phase = rng.integers(0, GRID_S, n_vessels)
    per_block = max(1, MAX_BLOCK_CANDIDATES // n_grid)
    frames = []
    for v0 in range(0, n_vessels, per_block):
        v1 = min(v0 + per_block, n_vessels)
        frames.append(_position_block(rng, fleet, legs, np.arange(v0, v1), phase[v0:v1],
                                      n_grid, duration, start_s))
    if not frames:
        return schema.empty(schema.POSITIONS)
    out = pl.concat(frames).sort("ts", "mmsi")
    return schema.conform(
        out.with_columns(identity.mmsi_is_valid(pl.col("mmsi"))), schema.POSITIONS
    )


def _position_block(rng: np.random.Generator, fleet: _Fleet, legs: _Legs, vessels: np.ndarray,
                    phase: np.ndarray, n_grid: int, duration: int, start_s: int
                    ) -> pl.DataFrame:
    k = np.tile(np.arange(n_grid, dtype=np.int64), vessels.size)
    v = np.repeat(vessels, n_grid)
    t = np.repeat(phase, n_grid) + k * GRID_S
    inside = t < duration
    k, v, t = k[inside], v[inside], t[inside]
    leg = _leg_of(legs, v, t, duration)
    state = legs.state[leg]
    speed = legs.speed[leg]
    class_a = fleet.cls[v] == "A"
    stopped = (state == _ANCHOR) | (state == _DRIFT)
    interval = np.where(
        class_a,
        np.where(stopped, REPORT_INTERVAL_S["a_anchor"],
                 np.where(speed > FAST_KN, REPORT_INTERVAL_S["a_fast"],
                          REPORT_INTERVAL_S["a_underway"])),
        np.where(stopped | (speed <= SLOW_KN), REPORT_INTERVAL_S["b_slow"],
                 REPORT_INTERVAL_S["b_moving"]),
    )
    keep = (k % (interval // GRID_S)) == 0
    loss = np.where(class_a, RECEPTION_LOSS["A"], RECEPTION_LOSS["B"])
    keep &= rng.random(k.size) >= loss
    v, t, class_a = v[keep], t[keep], class_a[keep]
    t = np.minimum(t + rng.integers(0, 5, t.size), duration - 1)  # transmission jitter
    leg = _leg_of(legs, v, t, duration)
    state = legs.state[leg]
    speed = legs.speed[leg]
    n = t.size

    t0, t1 = legs.t0[leg], legs.t1[leg]
    frac = np.clip((t - t0) / np.maximum(t1 - t0, 1e-9), 0.0, 1.0)
    dlat = legs.lat1[leg] - legs.lat0[leg]
    dlon = legs.lon1[leg] - legs.lon0[leg]
    lat = legs.lat0[leg] + frac * dlat
    lon = legs.lon0[leg] + frac * dlon
    anchored = (state == _ANCHOR) | (state == _DRIFT)
    # swinging at anchor (~30 m) or GNSS noise (~4 m)
    noise_deg = np.where(anchored, 0.0003, 0.00004)
    lat = lat + rng.normal(0.0, 1.0, n) * noise_deg
    lon = lon + rng.normal(0.0, 1.0, n) * noise_deg

    course = _bearing(dlat, dlon, lat)
    sog = np.where(anchored, np.abs(rng.normal(0.0, 0.05, n)),
                   np.maximum(speed + rng.normal(0.0, 0.15, n), 0.0))
    cog = np.where(anchored, rng.uniform(0.0, 360.0, n), course + rng.normal(0.0, 1.0, n))
    heading = np.where(anchored, legs.heading[leg] + rng.normal(0.0, 5.0, n),
                       course + rng.normal(0.0, 1.5, n))
    heading = np.round(heading).astype(np.int64) % 360
    nav = np.select([state == _ANCHOR, (state == _FISHING) | (state == _DRIFT)],
                    [NAV_ANCHORED, NAV_FISHING], NAV_UNDERWAY)

    ts_s = start_s + t
    cog = np.round(cog % 360.0, 1)
    cog = np.where(cog >= 360.0, 0.0, cog)
    return pl.DataFrame({
        "mmsi": fleet.mmsi[v],
        "ts": ts_s * 1_000_000,
        "lat": np.round(lat * 600_000) / 600_000,
        "lon": np.round(lon * 600_000) / 600_000,
        "sog": np.round(np.minimum(sog, 102.2), 1),
        "cog": cog,
        "heading": pl.Series(heading, dtype=pl.Int16).set(pl.Series(~class_a), None),
        "nav_status": pl.Series(nav, dtype=pl.Int8).set(pl.Series(~class_a), None),
        "msg_type": np.where(class_a, 1, 18).astype(np.int8),
        "source": pl.repeat(SOURCE, n, dtype=pl.String, eager=True),
        "accuracy": fleet.accuracy[v],
        "second": (ts_s % 60).astype(np.int8),
    })


def _identities(rng: np.random.Generator, fleet: _Fleet, legs: _Legs, duration: int,
                start_s: int) -> pl.DataFrame:
    n_vessels = fleet.mmsi.size
    if n_vessels == 0:
        return schema.empty(schema.VESSELS)
    per = -(-duration // IDENTITY_INTERVAL_S) + 1
    phase = rng.integers(0, IDENTITY_INTERVAL_S, n_vessels)
    v = np.repeat(np.arange(n_vessels), per)
    t = np.repeat(phase, per) + np.tile(np.arange(per), n_vessels) * IDENTITY_INTERVAL_S
    keep = t < duration
    v, t = v[keep], t[keep]
    class_a = fleet.cls[v] == "A"
    loss = np.where(class_a, RECEPTION_LOSS["A"], RECEPTION_LOSS["B"])
    keep = rng.random(v.size) >= loss
    v, t, class_a = v[keep], t[keep], class_a[keep]
    leg = _leg_of(legs, v, t, duration)
    destination = np.array(legs.destination, dtype=object)[leg] if leg.size else \
        np.empty(0, object)

    names = np.array(fleet.name, dtype=object)
    callsigns = np.array(fleet.callsign, dtype=object)
    imo = fleet.imo[v]
    a_rows = pl.DataFrame({
        "mmsi": fleet.mmsi[v][class_a],
        "ts": (start_s + t[class_a]) * 1_000_000,
        "imo": pl.Series(imo[class_a]).set(pl.Series(imo[class_a] < 0), None),
        "callsign": pl.Series(callsigns[v][class_a], dtype=pl.String),
        "name": pl.Series(names[v][class_a], dtype=pl.String),
        "ship_type": fleet.ship_type[v][class_a],
        "length": fleet.length[v][class_a],
        "width": fleet.width[v][class_a],
        "draught": fleet.draught[v][class_a],
        "destination": pl.Series(destination[class_a], dtype=pl.String),
        "msg_type": np.full(int(class_a.sum()), 5, np.int8),
    })
    b = ~class_a
    vb, tb = v[b], t[b]
    part_b_delay = rng.integers(5, 60, vb.size)  # part B follows part A within a minute
    tb_b = np.minimum(tb + part_b_delay, duration - 1)
    b_rows_a = pl.DataFrame({
        "mmsi": fleet.mmsi[vb], "ts": (start_s + tb) * 1_000_000,
        "name": pl.Series(names[vb], dtype=pl.String),
        "msg_type": np.full(vb.size, 24, np.int8),
    })
    b_rows_b = pl.DataFrame({
        "mmsi": fleet.mmsi[vb], "ts": (start_s + tb_b) * 1_000_000,
        "callsign": pl.Series(callsigns[vb], dtype=pl.String),
        "ship_type": fleet.ship_type[vb],
        "length": fleet.length[vb], "width": fleet.width[vb],
        "msg_type": np.full(vb.size, 24, np.int8),
    })
    out = pl.concat([a_rows, b_rows_a, b_rows_b], how="diagonal_relaxed").with_columns(
        pl.col("draught").fill_nan(None),
        source=pl.lit(SOURCE),
    )
    out = out.sort("ts", "mmsi", maintain_order=True).with_columns(
        identity.flag_from_mmsi(pl.col("mmsi")),
        identity.ship_type_label(pl.col("ship_type").cast(pl.Int16)),
        identity.mmsi_is_valid(pl.col("mmsi")),
    )
    return schema.conform(out, schema.VESSELS)
