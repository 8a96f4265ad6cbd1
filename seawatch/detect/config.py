"""Detector parameters: one dataclass per detector, loaded from a TOML file.

Every threshold of every detector is a named parameter whose default is the value in
``docs/detectors.md`` (Global Fishing Watch's published definitions where DESIGN.md follows
them). A config file overrides any of them, one TOML table per detector::

    [gap]
    min_gap_h = 6            # the common "potential dark activity" setting

    [port_visit]
    entry_km = 2.5
    min_duration = "45min"

Sections: ``[ports]``, ``[segment]``, ``[spoofing]``, ``[gap]``, ``[encounter]``,
``[loitering]``, ``[zone]``, ``[fishing_in_zone]``, ``[port_visit]``. An unknown section or
key is an error naming it and listing the valid ones, so a typo never silently falls back to
a default. Durations are text (``"90min"``, ``"1h30m"``, ``"2h"``, ``"1d"``) or a number of
hours.

Examples
--------
>>> cfg = DetectConfig.from_dict({"gap": {"min_gap_h": 6}})
>>> cfg.gap.min_gap_h, cfg.port_visit.entry_km
(6, 3.0)
>>> DetectConfig.from_dict({"gap": {"min_gap": 6}})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
seawatch.detect.config.ConfigError: config: unknown key 'min_gap' in [gap]; valid keys: ...
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seawatch.errors import InvalidValue
from seawatch.units import parse_duration


class ConfigError(InvalidValue):
    """A detector configuration (file or keyword) is not valid."""


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class PortsConfig:
    """Which ports and anchorages the detectors use besides the shipped list.

    Parameters
    ----------
    infer_anchorages
        Add anchorages inferred from the positions themselves
        (:func:`seawatch.geo.infer_anchorages`, GFW ``pipe-anchorages``) to the shipped ports
        and those of ``--ports``; used by encounters, loitering and port visits.
    cell_km, min_vessels, min_positions, max_speed_kn, max_distance_km, min_duration
        Passed to :func:`seawatch.geo.infer_anchorages` (defaults: GFW ``anchorage_cfg.yaml``).
    """

    infer_anchorages: bool = True
    cell_km: float = 0.5
    min_vessels: int = 20
    min_positions: int = 200
    max_speed_kn: float = 0.5
    max_distance_km: float = 0.5
    min_duration: str = "12h"


@dataclass(frozen=True)
class SegmentConfig:
    """Parameters of ``seawatch.tracks.segment`` (docs/detectors.md, *segment*).

    Parameters
    ----------
    max_speed_kn
        Implied speed above which consecutive positions cannot be one track (25 kn).
    noise_km
        Jumps shorter than this are position noise, not a new track (1 km).
    max_gap_h
        Hours without positions after which a new segment starts (24 h).
    max_open_segments
        Segments kept open at once per MMSI (20).
    penalty_speed_kn, buffer_h
        Scale of the track-matching score (GFW gpsdio-segment: 5 kn, 0.25 h).
    short_segment_positions
        Segments shorter than this are matched less readily (GFW: 10).
    transponder_mismatch_weight
        Score factor for a class A report joining a class B segment or the reverse (0.1).
    lookback
        Positions before a segment's last one that a new position may attach to, detaching
        the later ones (GFW gpsdio-segment: 5; 0 disables it).
    """

    max_speed_kn: float = 25.0
    noise_km: float = 1.0
    max_gap_h: float = 24.0
    max_open_segments: int = 20
    penalty_speed_kn: float = 5.0
    buffer_h: float = 0.25
    short_segment_positions: int = 10
    transponder_mismatch_weight: float = 0.1
    lookback: int = 5


@dataclass(frozen=True)
class SpoofingConfig:
    """Parameters of ``seawatch.detect.spoofing.detect_spoofing`` (*spoofing*).

    Parameters
    ----------
    max_speed_kn
        A switch between segments is impossible for one vessel above this implied speed
        (25 kn, the segmentation speed).
    jump_km
        ... and over more than this many km; below it is GPS noise (10 km).
    merge_h
        Spoofing evidence of one MMSI less than this many hours apart is one episode (6 h).
    min_switches
        Impossible switches an episode needs: a faked position jumps away and back (2).
    min_track_positions
        A segment with at least this many positions is a track of its own
        (``details.kind = shared_identity``), fewer a faked position (3).
    """

    max_speed_kn: float = 25.0
    jump_km: float = 10.0
    merge_h: float = 6.0
    min_switches: int = 2
    min_track_positions: int = 3


@dataclass(frozen=True)
class GapConfig:
    """Parameters of ``seawatch.detect.gap.detect_gaps`` (*gap*).

    Parameters
    ----------
    min_gap_h
        Consecutive positions more than this many hours apart are a gap (12 h; 6 h is the
        common "potential dark activity" setting).
    intentional_shore_nm
        A gap starting farther than this from shore, with good reception, is likely
        intentional (50 nm).
    min_positions_before
        Positions in the 12 h before the gap that count as good reception (6).
    before_h
        Window (hours) of ``positions_12h_before`` (GFW pipe-gaps: 12 h).
    min_segment_positions
        Segments with fewer positions are left out (1: none, as GFW pipe-gaps).
    """

    min_gap_h: float = 12.0
    intentional_shore_nm: float = 50.0
    min_positions_before: int = 6
    before_h: float = 12.0
    min_segment_positions: int = 1


@dataclass(frozen=True)
class EncounterConfig:
    """Parameters of ``seawatch.detect.encounter.detect_encounters`` (*encounter*).

    Parameters
    ----------
    max_distance_m
        Vessels within this distance are together (500 m).
    min_duration
        Shortest encounter (2 h).
    max_median_speed_kn
        Median speed of each vessel must be under this (2 kn).
    min_port_distance_km
        Mean position must be at least this far from any port (10 km).
    grid
        Resampling step of the tracks (10 min).
    max_gap
        No interpolation across gaps of this or longer (1 h).
    merge_gap
        Pieces of one pair closer in time than this merge (4 h).
    """

    max_distance_m: float = 500.0
    min_duration: str = "2h"
    max_median_speed_kn: float = 2.0
    min_port_distance_km: float = 10.0
    grid: str = "10m"
    max_gap: str = "1h"
    merge_gap: str = "4h"


@dataclass(frozen=True)
class LoiteringConfig:
    """Parameters of ``seawatch.detect.loitering.detect_loitering`` (*loitering*).

    Parameters
    ----------
    max_mean_speed_kn
        Mean speed of the episode must be under this (2 kn).
    min_duration
        Shortest episode (2 h).
    min_shore_nm
        Every position at least this far from shore (20 nm).
    min_port_distance_km
        Every position at least this far from any port (10 km).
    max_inner_gap
        Consecutive slow positions this far apart or more end the episode (1 h).
    """

    max_mean_speed_kn: float = 2.0
    min_duration: str = "2h"
    min_shore_nm: float = 20.0
    min_port_distance_km: float = 10.0
    max_inner_gap: str = "1h"


@dataclass(frozen=True)
class ZoneConfig:
    """Parameters of :func:`seawatch.detect.zone.detect_zone_crossings`.

    Parameters
    ----------
    kinds
        Zone kinds whose crossings are reported (e.g. ``["mpa", "territorial_sea"]``);
        ``None`` (the default): every zone.
    """

    kinds: list[str] | None = None


@dataclass(frozen=True)
class FishingInZoneConfig:
    """Parameters of :func:`seawatch.detect.zone.detect_fishing_in_zone`.

    Parameters
    ----------
    min_speed_kn, max_speed_kn
        Fishing speed: ``min_speed_kn <= sog <= max_speed_kn`` (0.5 and 5 kn).
    min_duration
        Shortest episode (1 h).
    max_pause
        Pauses in fishing shorter than this do not split an episode (1 h).
    fishing_ship_types
        AIS ship-type codes that declare a fishing vessel ([30]).
    one_event_per_zone
        One event per forbidden zone where zones nest, instead of one per episode (false).
    """

    min_speed_kn: float = 0.5
    max_speed_kn: float = 5.0
    min_duration: str = "1h"
    max_pause: str = "1h"
    fishing_ship_types: list[int] = field(default_factory=lambda: [30])
    one_event_per_zone: bool = False


@dataclass(frozen=True)
class PortVisitConfig:
    """Parameters of :func:`seawatch.detect.port_visit.detect_port_visits`.

    Parameters
    ----------
    entry_km
        A visit starts within this distance of a port point (3 km).
    exit_km
        It ends at the first position beyond this distance from every port point (4 km).
    min_duration
        Shortest (closed) visit (30 min).
    """

    entry_km: float = 3.0
    exit_km: float = 4.0
    min_duration: str = "30m"


SECTIONS: dict[str, type] = {
    "ports": PortsConfig,
    "segment": SegmentConfig,
    "spoofing": SpoofingConfig,
    "gap": GapConfig,
    "encounter": EncounterConfig,
    "loitering": LoiteringConfig,
    "zone": ZoneConfig,
    "fishing_in_zone": FishingInZoneConfig,
    "port_visit": PortVisitConfig,
}
"""TOML section -> parameter dataclass."""


@dataclass(frozen=True)
class DetectConfig:
    """Parameters of every detector (defaults: ``docs/detectors.md``).

    Build it with :meth:`from_toml` (a file) or :meth:`from_dict`; ``DetectConfig()`` is all
    defaults. :meth:`params` gives one section as keyword arguments for its detector.
    """

    ports: PortsConfig = field(default_factory=PortsConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    spoofing: SpoofingConfig = field(default_factory=SpoofingConfig)
    gap: GapConfig = field(default_factory=GapConfig)
    encounter: EncounterConfig = field(default_factory=EncounterConfig)
    loitering: LoiteringConfig = field(default_factory=LoiteringConfig)
    zone: ZoneConfig = field(default_factory=ZoneConfig)
    fishing_in_zone: FishingInZoneConfig = field(default_factory=FishingInZoneConfig)
    port_visit: PortVisitConfig = field(default_factory=PortVisitConfig)

    def params(self, section: str) -> dict[str, Any]:
        """One section's parameters as a dict of keyword arguments."""
        if section not in SECTIONS:
            raise ConfigError(f"unknown section {section!r}; valid: {', '.join(SECTIONS)}")
        return dataclasses.asdict(getattr(self, section))

    def explicit(self, section: str) -> dict[str, Any]:
        """The parameters of ``section`` that differ from their defaults."""
        default = dataclasses.asdict(SECTIONS[section]())
        return {k: v for k, v in self.params(section).items() if default[k] != v}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "config") -> DetectConfig:
        """Build from a mapping of sections (as a TOML file reads).

        Raises
        ------
        ConfigError
            An unknown section or key (naming the valid ones), or a value of the wrong type.
        """
        sections: dict[str, Any] = {}
        for name, values in data.items():
            if name not in SECTIONS:
                raise ConfigError(
                    f"{where}: unknown section [{name}]; valid sections: {', '.join(SECTIONS)}"
                )
            if not isinstance(values, Mapping):
                raise ConfigError(f"{where}: [{name}] must be a table of parameters")
            sections[name] = _section(SECTIONS[name], name, values, where)
        return cls(**sections)

    @classmethod
    def from_toml(cls, path: str | Path) -> DetectConfig:
        """Read a TOML config file (see the module docstring).

        Raises
        ------
        ConfigError
            The file is missing or not TOML, or holds an unknown section or key or a value
            of the wrong type.
        """
        path = Path(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        return cls.from_dict(data, where=str(path))


def load_config(path: str | Path | None) -> DetectConfig:
    """:meth:`DetectConfig.from_toml`, or the defaults when ``path`` is None."""
    return DetectConfig() if path is None else DetectConfig.from_toml(path)


def _section(kind: type, name: str, values: Mapping[str, Any], where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(kind)}
    defaults = dataclasses.asdict(kind())
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(
                f"{where}: unknown key {key!r} in [{name}]; valid keys: {', '.join(fields)}"
            )
        out[key] = _check(value, defaults[key], f"{where}: [{name}] {key}")
    return kind(**out)


def _check(value: Any, default: Any, what: str) -> Any:
    """Validate ``value`` against the type of its default; durations are parsed to check."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{what} must be true or false, got {value!r}")
        return value
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{what} must be a number, got {value!r}")
        if (
            isinstance(default, int)
            and not isinstance(default, bool)
            and not float(value).is_integer()
        ):
            raise ConfigError(f"{what} must be a whole number, got {value!r}")
        if value < 0:
            raise ConfigError(f"{what} must not be negative, got {value!r}")
        return value
    if isinstance(default, str):  # every text parameter is a duration
        try:
            parse_duration(value)
        except InvalidValue as exc:
            raise ConfigError(f"{what}: {exc}") from None
        return value
    if isinstance(default, list) or default is None:
        if value is None:
            return None
        if not isinstance(value, list):
            raise ConfigError(f"{what} must be a list, got {value!r}")
        return list(value)
    return value  # pragma: no cover - every section field is one of the above
