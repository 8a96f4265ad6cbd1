"""Who is at sea: vessel categories and their identities (MMSI, name, call sign, IMO, size).

A *track* is one transmitter moving through the scenario. Normally one vessel is one track;
a spoofed identity makes two tracks share an MMSI. :class:`FleetBuilder` gives every track
an identity drawn from its :class:`Category` (flags from realistic MIDs, names in the style
of each fleet, IMO numbers with valid check digits, call signs with the flag's ITU prefix)
and :meth:`FleetBuilder.build` returns the per-track arrays as a :class:`Fleet`.

>>> import numpy as np
>>> b = FleetBuilder(np.random.default_rng(1))
>>> t = b.add(CATEGORIES["squid_jigger"])
>>> f = b.build()
>>> int(f.ship_type[t]), f.flag[t], str(f.cls[t])
(30, 'CHN', 'A')
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seawatch.io import identity

# -- categories ---------------------------------------------------------------------------------
_PANAMA_MIDS = tuple((m, 0.4 / 11) for m in (351, 352, 353, 354, 355, 356, 357, 370, 371, 372,
                                             373))
MERCHANT_MIDS: tuple[tuple[int, float], ...] = (
    *_PANAMA_MIDS, (636, 0.15), (538, 0.15), (248, 0.03), (229, 0.03), (563, 0.06),
    (477, 0.06), (735, 0.06), (760, 0.03), (725, 0.03),
)
"""Flags of merchant ships off Ecuador: Panama, Liberia, Marshall Islands, Malta, Singapore,
Hong Kong, Ecuador, Peru, Chile (weights)."""


@dataclass(frozen=True)
class Category:
    """A kind of vessel: transponder class, ship types, flags, speeds and size.

    ``plan`` names how its background members move (see :mod:`seawatch.sim.traffic`);
    ``places`` are the routes, grounds or anchorages they use.
    """

    name: str
    share: float  # fraction of the background fleet
    cls: str  # "A" or "B"
    ship_types: tuple[int, ...]
    mids: tuple[tuple[int, float], ...]
    speed_kn: tuple[float, float]  # cruising / transit speed
    length_m: tuple[float, float]
    beam_ratio: float  # length / width
    draught_m: tuple[float, float] | None
    plan: str  # "route", "ground", "anchored", "seiner", "longliner"
    places: tuple[str, ...] = ()
    fishing_kn: tuple[float, float] = (1.5, 4.0)
    has_imo: float = 1.0
    names: str = "merchant"


CATEGORIES: dict[str, Category] = {c.name: c for c in (
    Category("cargo", 0.22, "A", (70, 70, 70, 71, 79), MERCHANT_MIDS, (12.0, 17.5),
             (120.0, 300.0), 6.8, (7.0, 13.5), "route",
             ("panama_paita", "panama_paita", "panama_posorja", "panama_posorja",
              "panama_manta", "panama_esmeraldas", "panama_guayaquil", "manta_posorja",
              "posorja_paita", "libertad_paita")),
    Category("tanker", 0.09, "A", (80, 80, 81, 82, 84), MERCHANT_MIDS, (11.0, 14.0),
             (140.0, 250.0), 5.8, (8.0, 14.5), "route",
             ("panama_esmeraldas", "panama_esmeraldas", "esmeraldas_manta", "panama_paita",
              "posorja_paita", "libertad_paita"), names="tanker"),
    Category("reefer", 0.03, "A", (70,), MERCHANT_MIDS, (13.0, 16.0), (90.0, 160.0), 6.2,
             (5.5, 8.5), "route", ("panama_posorja", "panama_manta", "posorja_paita",
                                   "panama_paita"), names="reefer"),
    Category("anchored", 0.06, "A", (70, 70, 79, 80, 81, 89), MERCHANT_MIDS, (0.0, 0.0),
             (90.0, 230.0), 6.3, (6.0, 12.0), "anchored",
             ("balboa", "balboa", "esmeraldas", "manta", "libertad", "gye_gulf", "posorja",
              "paita")),
    Category("coastal_fishing", 0.27, "B", (30,), ((735, 1.0),), (6.0, 9.0), (12.0, 30.0),
             3.6, None, "ground",
             ("esmeraldas", "pedernales", "bahia", "manta", "puerto_lopez", "santa_elena",
              "salinas", "gulf", "jambeli"), fishing_kn=(2.5, 4.5), has_imo=0.0,
             names="ecu_fishing"),
    Category("purse_seiner", 0.05, "A", (30,), ((735, 1.0),), (11.0, 13.5),
             (55.0, 95.0), 4.2, (5.0, 7.5), "seiner",
             ("seine_corridor", "seine_mainland", "seine_north"), fishing_kn=(8.0, 11.0),
             has_imo=0.8, names="ecu_industrial"),
    Category("longliner", 0.04, "A", (30,), ((735, 0.4), (416, 0.3), (412, 0.3)),
             (8.0, 10.0), (30.0, 60.0), 6.0, (3.5, 5.0), "longliner",
             ("longline_ecu", "longline_south", "longline_sw"), fishing_kn=(1.0, 3.0),
             has_imo=0.4, names="longliner"),
    Category("squid_jigger", 0.13, "A", (30,), ((412, 0.5), (413, 0.3), (414, 0.2)),
             (9.0, 11.5), (55.0, 85.0), 6.5, (4.5, 6.0), "ground",
             ("squid_s", "squid_sw", "squid_w", "squid_wnw", "squid_nw"),
             fishing_kn=(0.8, 2.5), has_imo=0.5, names="chinese"),
    Category("galapagos_yacht", 0.04, "A", (60, 60, 69), ((735, 1.0),), (9.0, 12.0),
             (25.0, 70.0), 5.0, (2.0, 3.5), "route",
             ("baltra_santa_fe", "santa_fe_isabela", "santa_fe_espanola"), has_imo=0.6,
             names="yacht"),
    Category("pleasure", 0.07, "B", (37, 37, 36), ((735, 0.9), (338, 0.05), (316, 0.05)),
             (12.0, 20.0), (8.0, 20.0), 3.2, None, "ground",
             ("salinas", "manta", "santa_elena", "gal_santiago", "gal_floreana",
              "gal_san_cristobal"), fishing_kn=(4.0, 7.0), has_imo=0.0, names="yacht"),
    Category("carrier", 0.0, "A", (70,), MERCHANT_MIDS, (11.0, 14.0), (95.0, 150.0), 6.2,
             (5.5, 8.5), "route", (), names="reefer"),
    Category("fishing_a", 0.0, "A", (30,), ((735, 1.0),), (9.0, 12.0), (25.0, 45.0), 4.5,
             (3.0, 4.5), "ground", (), has_imo=0.3, names="ecu_industrial"),
    Category("supply", 0.0, "A", (90,), ((735, 0.6), (636, 0.2), (538, 0.2)), (10.0, 13.0),
             (50.0, 85.0), 4.3, (4.5, 6.5), "route", (), names="merchant"),
)}
"""The vessel mix. ``share`` is the fraction of the background fleet (they sum to 1);
``carrier`` (reefers that transship at sea) and ``fishing_a`` (small class A fishing vessels)
appear only in planted behaviours, ``supply`` (offshore supply vessels) only in the messy
profile's platforms (:mod:`seawatch.sim.artefacts`)."""

BACKGROUND = tuple(c for c in CATEGORIES.values() if c.share > 0)
"""Categories of the background traffic, in a fixed order."""

# -- names and call signs -----------------------------------------------------------------------
_CALLSIGN_PREFIX: dict[int, tuple[str, ...]] = {
    735: ("HC", "HD"), 760: ("OA", "OB"), 730: ("HK", "5K"), 725: ("CB", "3G"),
    636: ("A8", "D5", "5L"), 538: ("V7",), 248: ("9H",), 229: ("9H",), 563: ("9V", "S6"),
    477: ("VR",), 412: ("BZ", "BB"), 413: ("BZ", "BY"), 414: ("BZ", "BX"), 416: ("BV",),
    338: ("WD", "KD"), 316: ("VC", "CF"),
}
_PANAMA_CALLSIGN = ("3E", "3F", "H3", "H8", "H9", "HO", "HP")

_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "merchant": (
        ("PACIFIC", "ANDES", "GLOBAL", "CAPE", "NORDIC", "GOLDEN", "SILVER", "OCEAN", "AMAZON",
         "ATLAS", "CORAL", "PANAMAX", "ORIENT", "AURORA", "POLAR", "STELLA", "MARE", "BLUE"),
        ("TRADER", "SPIRIT", "PIONEER", "STAR", "HARMONY", "EXPRESS", "VOYAGER", "GRACE",
         "HORIZON", "FORTUNE", "BRIDGE", "MERIDIAN", "CARRIER", "PRIDE", "WAVE", "QUEEN",
         "VENTURE", "ARROW"),
    ),
    "tanker": (
        ("ANDEAN", "CRUDE", "PETRO", "GULF", "NORTH", "SOUTH", "ENERGY", "FUEL", "OIL"),
        ("ENDEAVOUR", "PROSPERITY", "SUNRISE", "TRUST", "LEADER", "FALCON", "EAGLE", "SPIRIT"),
    ),
    "reefer": (
        ("FROST", "ICE", "COOL", "ARCTIC", "POLAR", "SNOW", "CRYSTAL", "WINTER", "FRESH"),
        ("REEFER", "CARRIER", "STAR", "BREEZE", "PEARL", "KING", "WIND", "HARVEST", "MOON"),
    ),
    "ecu_fishing": (
        ("DON", "DONA", "SANTA", "SAN", "VIRGEN DEL", "NINO", "MI", "CAPITAN", "HERMANOS"),
        ("LUCHO", "MARIANITA", "CISNE", "PEDRO", "JOSE", "ANDRES", "CARMEN", "ROSARIO", "PATY",
         "FRANCISCO", "JACINTO", "MERCEDES", "GUADALUPE", "MIGUEL", "LORENA", "VICENTE"),
    ),
    "ecu_industrial": (
        ("MARIA", "ROSA", "GABRIELA", "DORITA", "INES", "CRISTINA", "ELIZABETH", "MANABI",
         "ATUN", "PACIFICO"),
        ("I", "II", "III", "IV", "V", "DEL MAR", "A", "B", "UNO", "DOS"),
    ),
    "longliner": (
        ("FONG", "SHIN", "CHIN", "HSIN", "YU", "JIN", "TAI", "LONG"),
        ("CHUN", "HONG", "YI", "FA", "SHENG", "LI", "DA", "XIANG"),
    ),
    "yacht": (
        ("ISLA", "MAR", "ESTRELLA", "TORTUGA", "BLUE", "SEA", "ENCANTADA", "DARWIN",
         "GALAPAGOS", "BRISA", "SOL"),
        ("BELLA", "AZUL", "DEL SUR", "FINCH", "LION", "EXPLORER", "DREAM", "ODYSSEY", "PEARL",
         "MARINA", "VIENTO"),
    ),
}
_CHINA_PREFIX = ("LU RONG YUAN YU", "FU YUAN YU", "ZHE PU YUAN", "LU YAN YUAN YU",
                 "JIN HAI", "HUA XIANG", "ZHOU YU", "NING TAI")


@dataclass
class Fleet:
    """One row per track (all arrays of length n_tracks)."""

    category: list[str]
    role: list[str]  # "background" or the planted behaviour / negative the track serves
    cls: np.ndarray  # "A" / "B"
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
    place: list[str]  # route, ground or anchorage name ("" for planted tracks)
    flag: list[str]

    @property
    def n(self) -> int:
        return int(self.mmsi.size)

    @property
    def is_fishing(self) -> np.ndarray:
        """Ship type 30 (fishing), the definition's test for a fishing vessel."""
        return self.ship_type == 30


@dataclass
class FleetBuilder:
    """Adds tracks one by one and draws their identities from a generator."""

    rng: np.random.Generator
    _rows: dict[str, list] = field(default_factory=lambda: {k: [] for k in (
        "category", "role", "cls", "mmsi", "imo", "name", "callsign", "ship_type", "length",
        "width", "draught", "speed", "accuracy", "place")})
    _used_mmsi: set[int] = field(default_factory=set)
    _used_names: set[str] = field(default_factory=set)

    @property
    def n(self) -> int:
        return len(self._rows["mmsi"])

    def mmsi_of(self, track: int) -> int:
        """MMSI of track ``track``.

        >>> b = FleetBuilder(np.random.default_rng(1))
        >>> t = b.add(CATEGORIES["cargo"], mid=735)
        >>> b.mmsi_of(t) // 1_000_000, 12.0 <= b.speed_of(t) <= 17.5
        (735, True)
        >>> b.truncate(0); b.n
        0
        """
        return int(self._rows["mmsi"][track])

    def speed_of(self, track: int) -> float:
        """Cruising speed (kn) of track ``track``."""
        return float(self._rows["speed"][track])

    def truncate(self, n: int) -> None:
        """Forget every track added after the first ``n`` (undo a failed plan; their MMSIs
        and names stay taken)."""
        for column in self._rows.values():
            del column[n:]

    def add(self, c: Category, *, role: str = "background", place: str = "",
            mid: int | None = None, mmsi: int | None = None, speed: float | None = None,
            like: int | None = None) -> int:
        """Add a track of category ``c``; returns its index.

        ``mid`` forces the flag (Maritime Identification Digits); ``mmsi`` reuses a given
        MMSI (a spoofed identity); ``like`` copies the identity of that track (name, call
        sign, type, size) as an impostor would.
        """
        rng = self.rng
        r = self._rows
        if mid is None:
            mids = np.array([m for m, _ in c.mids])
            weights = np.array([w for _, w in c.mids])
            mid = int(rng.choice(mids, p=weights / weights.sum()))
        if mmsi is None:
            while True:
                mmsi = mid * 1_000_000 + int(rng.integers(0, 1_000_000))
                if c.cls == "A" and rng.random() < 0.5:
                    mmsi = mmsi // 1000 * 1000  # many class A MMSIs end in 000
                if mmsi not in self._used_mmsi and mmsi % 1_000_000 != 0:
                    break
        self._used_mmsi.add(int(mmsi))
        if like is not None:
            for key in ("imo", "name", "callsign", "ship_type", "length", "width", "draught"):
                r[key].append(r[key][like])
        else:
            length = float(np.round(rng.uniform(*c.length_m)))
            r["imo"].append(_imo_number(rng) if rng.random() < c.has_imo else -1)
            r["name"].append(_unique(_vessel_name(rng, c.names), self._used_names))
            r["callsign"].append(_callsign(rng, int(mmsi) // 1_000_000))
            r["ship_type"].append(int(rng.choice(c.ship_types)))
            r["length"].append(length)
            r["width"].append(float(max(3.0, np.round(length / c.beam_ratio))))
            r["draught"].append(
                float(np.round(rng.uniform(*c.draught_m), 1)) if c.draught_m else float("nan")
            )
        r["category"].append(c.name)
        r["role"].append(role)
        r["cls"].append(c.cls)
        r["mmsi"].append(int(mmsi))
        r["speed"].append(float(rng.uniform(*c.speed_kn)) if speed is None else float(speed))
        r["accuracy"].append(bool(rng.random() < 0.6))
        r["place"].append(place)
        return self.n - 1

    def build(self) -> Fleet:
        r = self._rows
        return Fleet(
            category=list(r["category"]), role=list(r["role"]),
            cls=np.array(r["cls"], dtype="<U1"), mmsi=np.array(r["mmsi"], np.int64),
            imo=np.array(r["imo"], np.int64), name=list(r["name"]),
            callsign=list(r["callsign"]), ship_type=np.array(r["ship_type"], np.int16),
            length=np.array(r["length"], np.float64), width=np.array(r["width"], np.float64),
            draught=np.array(r["draught"], np.float64), speed=np.array(r["speed"], np.float64),
            accuracy=np.array(r["accuracy"], bool), place=list(r["place"]),
            flag=_flags(r["mmsi"]),
        )


def category_counts(n: int) -> dict[str, int]:
    """Background vessels per category for a fleet of ``n`` (largest remainders).

    >>> sum(category_counts(101).values())
    101
    """
    shares = np.array([c.share for c in BACKGROUND])
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(np.int64)
    rest = n - int(counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    return {c.name: int(k) for c, k in zip(BACKGROUND, counts, strict=True)}


def _flags(mmsi: list[int]) -> list[str]:
    import polars as pl

    frame = pl.DataFrame({"mmsi": mmsi}, schema={"mmsi": pl.Int64})
    return frame.select(identity.flag_from_mmsi(pl.col("mmsi")).fill_null(""))\
        .to_series().to_list()


def _imo_number(rng: np.random.Generator) -> int:
    """A 7-digit IMO number with a valid check digit (weights 7..2 on the first six)."""
    digits = [9, *rng.integers(0, 10, 5).tolist()]
    check = sum(d * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10
    return int("".join(map(str, [*digits, check])))


def _vessel_name(rng: np.random.Generator, style: str) -> str:
    def pick(words: tuple[str, ...]) -> str:
        return str(words[int(rng.integers(len(words)))])

    if style == "chinese":
        return f"{pick(_CHINA_PREFIX)} {int(rng.integers(1, 9999))}"
    first, second = _WORDS[style]
    if style == "longliner":
        return f"{pick(first)} {pick(second)} NO.{int(rng.integers(1, 99))}"
    return f"{pick(first)} {pick(second)}"


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
