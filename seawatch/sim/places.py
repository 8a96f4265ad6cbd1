"""Geography of the simulated Eastern Pacific: waypoints, routes, grounds, anchorages, receivers.

Every point here is at sea, every route leg and every ground disc was checked against the
shipped land (``seawatch.geo.on_land``, sampled every few hundred metres; the test suite
checks again), and every port end of a route lies within 2.5 km of a point of the shipped
port list (``seawatch.geo.ports()``), so a ship anchored there makes a port visit. Positions
stay inside the fine geography's coverage box (lon -100..-70, lat -10..12).

Sources: waypoints and anchorages were placed by hand on Natural Earth 1:10m land and the
Global Fishing Watch anchorage points shipped with ``seawatch.geo``; receiver sites are the
ports where Ecuador's navy (DIRNEA) and the Galápagos National Park run AIS receivers,
approximately; ranges are typical of VHF AIS base stations (class A 40-45 nm, class B about
half, since class B transmits at 2 W instead of 12.5 W).

>>> WAYPOINTS["manta"]
(-0.917, -80.697)
>>> sorted(GROUNDS)[:2]
['bahia', 'esmeraldas']
"""

from __future__ import annotations

from dataclasses import dataclass

COVERAGE = (-100.0, -10.0, -70.0, 12.0)
"""(lon_min, lat_min, lon_max, lat_max) every simulated position stays in."""

# -- waypoints (lat, lon) -----------------------------------------------------------------------
WAYPOINTS: dict[str, tuple[float, float]] = {
    # Panama and the Colombian coast
    "balboa": (8.85, -79.45),  # anchorage off Balboa, Panama Canal Pacific entrance
    "perlas_w": (8.35, -79.30),  # west of the Pearl Islands
    "punta_mala": (7.20, -79.70),  # off Punta Mala, Azuero peninsula
    "colombia_off": (4.50, -79.90),
    # mainland Ecuador
    "esm_off": (1.60, -79.85),
    "esmeraldas": (1.036, -79.675),  # Esmeraldas anchorage
    "pedernales_off": (0.20, -80.55),
    "pasado_off": (-0.40, -80.85),  # off Cabo Pasado
    "manta_off": (-0.80, -80.95),
    "manta": (-0.917, -80.697),  # Manta anchorage
    "lorenzo_off": (-1.10, -81.15),  # off Cabo San Lorenzo
    "santa_elena_off": (-2.20, -81.25),  # off Punta Santa Elena
    "libertad": (-2.176, -80.902),  # La Libertad anchorage
    "libertad_off": (-2.10, -81.00),
    "gulf_sw": (-3.00, -80.65),  # entrance of the Gulf of Guayaquil
    "gye_gulf": (-2.802, -80.457),  # Guayaquil outer anchorage
    "morro": (-2.80, -80.38),  # Canal del Morro
    "posorja": (-2.73, -80.245),  # Posorja, the deep-water port of Guayaquil
    # northern Peru
    "parinas_off": (-4.70, -81.70),  # off Punta Pariñas
    "paita_off": (-5.00, -81.30),
    "paita": (-5.062, -81.107),  # Paita anchorage
    # Galápagos (anchorages by the GFW anchorage points of the islands)
    "baltra": (-0.4018, -90.2879),  # north of Santa Cruz
    "baltra_off": (-0.30, -90.15),
    "santa_cruz_e": (-0.62, -90.02),
    "santa_fe": (-0.8031, -90.0379),
    "isabela_e": (-1.10, -90.40),
    "isabela_s_off": (-1.12, -90.80),
    "isabela_s": (-1.043, -91.1607),
    "espanola": (-1.3356, -89.6504),
}
"""Named points at sea that routes run through."""

PORT_NAMES: dict[str, str] = {
    "balboa": "BALBOA",
    "esmeraldas": "ESMERALDAS",
    "manta": "MANTA",
    "libertad": "LA LIBERTAD",
    "gye_gulf": "GUAYAQUIL",
    "posorja": "POSORJA",
    "paita": "PAITA",
    "baltra": "BALTRA",
    "santa_fe": "SANTA FE",
    "isabela_s": "ISABELA",
    "espanola": "ESPANOLA",
}
"""AIS destination text of each route end."""

_PANAMA_SOUTH = ["balboa", "perlas_w", "punta_mala", "colombia_off"]
ROUTES: dict[str, list[str]] = {
    "panama_paita": [*_PANAMA_SOUTH, "pedernales_off", "pasado_off", "lorenzo_off",
                     "santa_elena_off", "parinas_off", "paita_off", "paita"],
    "panama_posorja": [*_PANAMA_SOUTH, "pedernales_off", "pasado_off", "lorenzo_off",
                       "santa_elena_off", "gulf_sw", "morro", "posorja"],
    "panama_manta": [*_PANAMA_SOUTH, "pedernales_off", "pasado_off", "manta_off", "manta"],
    "panama_esmeraldas": [*_PANAMA_SOUTH, "esm_off", "esmeraldas"],
    "panama_guayaquil": [*_PANAMA_SOUTH, "pedernales_off", "pasado_off", "lorenzo_off",
                         "santa_elena_off", "gulf_sw", "gye_gulf"],
    "manta_posorja": ["manta", "manta_off", "lorenzo_off", "santa_elena_off", "gulf_sw",
                      "morro", "posorja"],
    "esmeraldas_manta": ["esmeraldas", "esm_off", "pedernales_off", "pasado_off", "manta_off",
                         "manta"],
    "posorja_paita": ["posorja", "morro", "gulf_sw", "parinas_off", "paita_off", "paita"],
    "libertad_paita": ["libertad", "libertad_off", "santa_elena_off", "parinas_off",
                       "paita_off", "paita"],
    "baltra_santa_fe": ["baltra", "baltra_off", "santa_cruz_e", "santa_fe"],
    "santa_fe_isabela": ["santa_fe", "isabela_e", "isabela_s_off", "isabela_s"],
    "santa_fe_espanola": ["santa_fe", "espanola"],
}
"""Routes as waypoint sequences; vessels shuttle between the two ends."""

ANCHORAGES: dict[str, tuple[float, float, float]] = {
    "balboa": (8.85, -79.45, 1.4),
    "esmeraldas": (1.036, -79.675, 0.8),
    "manta": (-0.917, -80.697, 0.8),
    "libertad": (-2.176, -80.902, 1.0),
    "gye_gulf": (-2.802, -80.457, 0.8),
    "posorja": (-2.73, -80.245, 0.3),
    "paita": (-5.062, -81.107, 0.4),
}
"""Where ships wait at anchor: (lat, lon, radius km) discs at sea near port points."""

ANCHOR_RINGS: dict[str, tuple[float, float, float, int]] = {
    "baltra": (-0.4018, -90.2879, 1.2, 12),
    "santa_fe": (-0.8031, -90.0379, 1.2, 12),
    "isabela_s": (-1.043, -91.1607, 1.2, 12),
    "espanola": (-1.3356, -89.6504, 1.2, 12),
}
"""Island anchorages with separate berths: (lat, lon, radius km, berths) - a ring of berths
at least 600 m apart, each within 3 km of a port point, given out in turn so that yachts
sharing a route never ride at anchor side by side (which, on a short route, could chain
into an encounter between two anchorages)."""


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
    # Galápagos (pleasure craft and tour launches only: no fishing vessel works the reserve)
    "gal_santiago": Ground(-0.45, -90.55, 5.0),
    "gal_floreana": Ground(-1.15, -90.35, 5.0),
    "gal_san_cristobal": Ground(-0.95, -89.30, 6.0),
    # industrial tuna purse seiners (Ecuadorian) between the mainland and the Galápagos
    "seine_corridor": Ground(-1.0, -85.0, 60.0),
    "seine_mainland": Ground(-2.3, -83.2, 50.0),
    "seine_north": Ground(0.8, -87.3, 50.0),
    # longliners: Ecuadorian on the high seas between the two parts of the EEZ, foreign south
    "longline_ecu": Ground(-3.8, -86.5, 60.0),
    "longline_south": Ground(-7.0, -90.0, 70.0),
    "longline_sw": Ground(-6.5, -94.5, 70.0),
    # the distant-water squid fleet along the outer edge of the Galápagos EEZ (60 km outside)
    "squid_s": Ground(-4.51, -93.12, 30.0),
    "squid_sw": Ground(-3.47, -94.42, 30.0),
    "squid_w": Ground(-2.01, -95.21, 30.0),
    "squid_wnw": Ground(-0.38, -95.58, 30.0),
    "squid_nw": Ground(1.27, -95.86, 30.0),
}
"""Grounds where vessels wander, each a disc at sea with no land in it."""

SQUID_GROUNDS = ("squid_s", "squid_sw", "squid_w", "squid_wnw", "squid_nw")
"""Grounds of the squid fleet, all at least 30 km outside the Galápagos EEZ."""


@dataclass(frozen=True)
class Receiver:
    """A terrestrial AIS receiver: site and ranges (km) for class A and class B.

    Reception is certain-ish (``p_max``) up to ``full_km`` and falls linearly to nothing at
    ``max_km``.
    """

    name: str
    lat: float
    lon: float
    full_km_a: float = 55.0
    max_km_a: float = 80.0
    full_km_b: float = 25.0
    max_km_b: float = 40.0


RECEIVERS: tuple[Receiver, ...] = (
    Receiver("ecu-esmeraldas", 0.98, -79.65),
    Receiver("ecu-manta", -0.94, -80.72),
    Receiver("ecu-la-libertad", -2.22, -80.91),
    Receiver("ecu-posorja", -2.70, -80.25),
    Receiver("ecu-puerto-bolivar", -3.26, -79.99),
    Receiver("gal-san-cristobal", -0.90, -89.61),
    Receiver("gal-santa-cruz", -0.74, -90.31),
    Receiver("gal-isabela", -0.95, -90.96),
)
"""Coastal receivers of mainland Ecuador and the Galápagos."""

SATELLITE = "sat-leo"
"""Station name of satellite reception (the tag-block ``s:`` of satellite-received lines)."""
