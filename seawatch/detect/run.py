"""Run every detector over a positions table, or over a whole store.

:func:`detect_all` is the pipeline of DESIGN.md: segment the tracks
(:func:`seawatch.tracks.segment`), then detect ``spoofing``, ``gap``, ``encounter``,
``loitering`` (given the encounters, so a vessel in an encounter is not also loitering),
``zone_entry``/``zone_exit``, ``fishing_in_zone`` and ``port_visit``, each with its section of
:class:`seawatch.detect.config.DetectConfig`. :func:`detect_store` reads all positions of a
store (one table, time-ordered per vessel: no day boundaries, so an episode straddling
midnight or two input files is one event) and replaces the store's events table.

Detector modules load when used. A detector whose module does not exist yet is skipped with
a logged warning (``segment`` falls back to one track per MMSI), so a partial installation
still runs; any other import error is raised.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> track = pl.DataFrame({"mmsi": [735000001] * 13, "lat": [-0.93] * 13,
...                       "lon": [-80.72 - 0.01 * k for k in range(13)], "sog": 5.0,
...                       "ts": [t0 + timedelta(minutes=10 * k) for k in range(13)]})
>>> detect_all(track, types=["port_visit"])["type"].to_list()
['port_visit']
"""

from __future__ import annotations

import importlib
import inspect
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch import schema
from seawatch.detect.config import ConfigError, DetectConfig, parse_duration
from seawatch.detect.events import empty_events

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone
    from seawatch.store import Store

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called as each step starts (``done`` steps finished) and
once more as ``progress("done", total, total)``."""

STEP_TYPES: dict[str, tuple[str, ...]] = {
    "spoofing": ("spoofing",),
    "gap": ("gap",),
    "encounter": ("encounter",),
    "loitering": ("loitering",),
    "zone": ("zone_entry", "zone_exit"),
    "fishing_in_zone": ("fishing_in_zone",),
    "port_visit": ("port_visit",),
}
"""Detection steps, in the order they run, and the event types each produces."""

DETECTED_TYPES: tuple[str, ...] = tuple(t for types in STEP_TYPES.values() for t in types)
"""Event types :func:`detect_all` produces (``fishing`` and ``route_anomaly`` come later)."""

EXTERNAL: dict[str, tuple[str, str]] = {
    "segment": ("seawatch.tracks", "segment"),
    "spoofing": ("seawatch.detect.spoofing", "detect_spoofing"),
    "gap": ("seawatch.detect.gap", "detect_gaps"),
    "encounter": ("seawatch.detect.encounter", "detect_encounters"),
    "loitering": ("seawatch.detect.loitering", "detect_loitering"),
}
"""Steps whose kernel lives in another module: (module, function)."""

POSITION_COLUMNS: tuple[str, ...] = (
    "mmsi",
    "ts",
    "lat",
    "lon",
    "sog",
    "cog",
    "heading",
    "nav_status",
    "msg_type",
)
"""Columns :func:`detect_store` reads (the motion and the transponder class); ``source``,
``accuracy``, ``second`` and ``mmsi_valid`` are used by no detector and would add a third to
the memory of a large store (``source`` is text)."""


def _wanted(types: Iterable[str] | None) -> set[str]:
    if types is None:
        return set(DETECTED_TYPES)
    wanted = {types} if isinstance(types, str) else set(types)
    unknown = sorted(wanted - set(DETECTED_TYPES))
    if unknown:
        raise ValueError(
            f"cannot detect event type(s) {unknown}; valid: {', '.join(DETECTED_TYPES)}"
        )
    return wanted


def _load(step: str) -> Callable[..., Any] | None:
    """The kernel of an external step, or None (warning logged) if its module is absent."""
    module, name = EXTERNAL[step]
    try:
        mod = importlib.import_module(module)
        return getattr(mod, name)  # type: ignore[no-any-return]
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise
        log.warning("%s is not installed (%s): %s skipped", module, exc, step)
    except AttributeError:
        log.warning("%s has no %s yet: %s skipped", module, name, step)
    return None


def _kwargs(func: Callable[..., Any], config: DetectConfig, section: str) -> dict[str, Any]:
    """The parameters the config sets (differing from the defaults) as keyword arguments.

    Only explicit values are passed, so the detector's own keyword defaults always apply
    otherwise (the config's defaults document them; a test checks they agree). Durations are
    passed as ``timedelta``. A set parameter ``func`` does not take is a :class:`ConfigError`.
    """
    module, name = EXTERNAL[section]
    label = f"{module}.{name}"
    params = inspect.signature(func).parameters
    first = next(iter(params), "")
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    named = {
        n
        for n, p in params.items()
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }
    out: dict[str, Any] = {}
    for key, value in config.explicit(section).items():
        if not (takes_any or key in named):
            raise ConfigError(
                f"[{section}] {key} is set, but {label} has no such parameter; it takes: "
                f"{', '.join(sorted(named - {first}))}"
            )
        out[key] = parse_duration(value) if isinstance(value, str) else value
    return out


def prepare_positions(positions: pl.DataFrame) -> pl.DataFrame:
    """Positions with a time and a place (the kernels sort what they need)."""
    missing = [c for c in ("mmsi", "ts", "lat", "lon") if c not in positions.columns]
    if missing:
        raise schema.SchemaError(
            f"column(s) {missing} missing from the positions; found: {positions.columns}"
        )
    return positions.filter(
        pl.col("ts").is_not_null() & pl.col("lat").is_not_null() & pl.col("lon").is_not_null()
    )


def port_table(
    positions: pl.DataFrame | None, extra: pl.DataFrame | None, config: DetectConfig
) -> pl.DataFrame:
    """The ports the detectors use: shipped, plus ``extra``, plus inferred anchorages.

    Parameters
    ----------
    positions : polars.DataFrame, optional
        Positions to infer anchorages from (``config.ports.infer_anchorages``).
    extra : polars.DataFrame, optional
        A user's ports (:func:`seawatch.geo.load_ports`), added to the shipped list.
    config : DetectConfig
        ``[ports]`` section.

    Returns
    -------
    polars.DataFrame
        Columns of :func:`seawatch.geo.ports`; inferred anchorages are named
        ``"inferred anchorage <lat>,<lon>"`` with kind ``anchorage`` and source ``inferred``.
    """
    from seawatch.geo import ports
    from seawatch.geo.portlist import PORT_COLUMNS

    parts = [ports()]
    if extra is not None and extra.height:
        missing = [c for c in ("name", "lat", "lon") if c not in extra.columns]
        if missing:
            raise schema.SchemaError(f"ports need column(s) {missing}; found: {extra.columns}")
        parts.append(
            extra.select(
                [
                    pl.col(c).cast(pl.Float64 if c in ("lat", "lon") else pl.String)
                    if c in extra.columns
                    else pl.lit(None, dtype=pl.String).alias(c)
                    for c in PORT_COLUMNS
                ]
            )
        )
    cfg = config.ports
    if cfg.infer_anchorages and positions is not None and positions.height:
        from seawatch.geo import infer_anchorages

        found = infer_anchorages(
            positions,
            cell_km=cfg.cell_km,
            min_vessels=cfg.min_vessels,
            min_positions=cfg.min_positions,
            max_speed_kn=cfg.max_speed_kn,
            max_distance_km=cfg.max_distance_km,
            min_duration=parse_duration(cfg.min_duration).total_seconds() / 3600.0,
        )
        if found.height:
            parts.append(
                found.select(
                    pl.format(
                        "inferred anchorage {},{}", pl.col("lat").round(4), pl.col("lon").round(4)
                    ).alias("name"),
                    pl.col("lat").cast(pl.Float64),
                    pl.col("lon").cast(pl.Float64),
                    pl.lit(None, dtype=pl.String).alias("iso3"),
                    pl.lit("anchorage").alias("kind"),
                    pl.lit("inferred").alias("source"),
                )
            )
    return pl.concat(parts, how="vertical_relaxed")


def detect_all(
    positions: pl.DataFrame,
    vessels: pl.DataFrame | None = None,
    *,
    zones: Sequence[Zone] | None = None,
    ports: pl.DataFrame | None = None,
    config: DetectConfig | None = None,
    types: Iterable[str] | None = None,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """All events of a positions table.

    Parameters
    ----------
    positions : polars.DataFrame
        Positions (``seawatch.schema.POSITIONS``) of any number of vessels, in any order,
        possibly from several files; rows without a time or a place are ignored. With a
        ``segment_id`` column they are taken as segmented already.
    vessels : polars.DataFrame, optional
        One row per MMSI with ``ship_type`` and ``flag`` (``Store.latest_identity()``).
        Without it no vessel is known to fish (no ``fishing_in_zone``) and loitering
        excludes none.
    zones : sequence of Zone, optional
        Zones for zone crossings and ``fishing_in_zone``. Default:
        :func:`seawatch.geo.default_zones` (docs/detectors.md: the defaults *or* a file).
    ports : polars.DataFrame, optional
        Ports added to the shipped list (docs/detectors.md: shipped *plus* ``--ports``),
        used by encounters, loitering and port visits; see :func:`port_table`.
    config : DetectConfig, optional
        Parameters of every detector (default: docs/detectors.md).
    types : iterable of str, optional
        Only these event types (default: all of :data:`DETECTED_TYPES`); steps that
        produce none of them are skipped, except that encounters run for loitering.
    progress : callable, optional
        ``progress(step, done, total)``, see :data:`Progress`.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``) of every step, sorted by ``start``, ``type``,
        ``mmsi``.
    """
    cfg = config or DetectConfig()
    wanted = _wanted(types)
    steps = [s for s, out in STEP_TYPES.items() if wanted & set(out)]
    if "loitering" in steps and "encounter" not in steps:
        steps.insert(steps.index("loitering"), "encounter")
    needs_ports = bool({"encounter", "loitering", "port_visit"} & set(steps))
    infer = needs_ports and cfg.ports.infer_anchorages
    plan = (["anchorages"] if infer else []) + ["segment", *steps]
    total = len(plan)
    done = 0

    def start(step: str) -> None:
        nonlocal done
        if progress is not None:
            progress(step, done, total)
        done += 1

    positions = prepare_positions(positions)
    port_rows = None
    if needs_ports:
        if infer:
            start("anchorages")
        port_rows = port_table(positions if infer else None, ports, cfg)
    start("segment")
    segmented = _segment(positions, cfg)
    zone_idx = None
    found: dict[str, pl.DataFrame] = {}
    for step in steps:
        start(step)
        began = time.perf_counter()
        if step in ("zone", "fishing_in_zone") and zone_idx is None:
            from seawatch.detect.zone import as_zone_index

            zone_idx = as_zone_index(zones)[1]  # one index for both steps; names checked unique
        found[step] = _run_step(step, segmented, vessels, zone_idx, port_rows, found, cfg)
        log.info("%s: %d events in %.2f s", step, found[step].height, time.perf_counter() - began)
    if progress is not None:
        progress("done", total, total)
    frames = [
        f.filter(pl.col("type").is_in(sorted(wanted))).select(list(schema.EVENTS))
        for f in found.values()
        if f.height
    ]
    if not frames:
        return empty_events()
    return pl.concat(frames).sort("start", "type", "mmsi", nulls_last=True)


def _segment(positions: pl.DataFrame, cfg: DetectConfig) -> pl.DataFrame:
    if "segment_id" in positions.columns:
        return positions
    func = _load("segment")
    if func is None:
        log.warning("segmentation unavailable: each MMSI is taken as one track")
        return positions.with_columns(pl.col("mmsi").cast(pl.Int64).alias("segment_id"))
    return func(positions, **_kwargs(func, cfg, "segment"))  # type: ignore[no-any-return]


def _run_step(
    step: str,
    segmented: pl.DataFrame,
    vessels: pl.DataFrame | None,
    zone_idx: Any,
    port_rows: pl.DataFrame | None,
    found: dict[str, pl.DataFrame],
    cfg: DetectConfig,
) -> pl.DataFrame:
    if step == "zone":
        from seawatch.detect.zone import detect_zone_crossings

        return detect_zone_crossings(segmented, zone_idx, **cfg.params("zone"))
    if step == "fishing_in_zone":
        from seawatch.detect.zone import detect_fishing_in_zone

        return detect_fishing_in_zone(segmented, vessels, zone_idx, **cfg.params("fishing_in_zone"))
    if step == "port_visit":
        from seawatch.detect.port_visit import detect_port_visits
        from seawatch.geo import port_index

        return detect_port_visits(segmented, port_index(port_rows), **cfg.params("port_visit"))
    func = _load(step)
    if func is None:
        return empty_events()
    kwargs = _kwargs(func, cfg, step)
    if step in ("spoofing", "gap"):
        out = func(segmented, **kwargs)
    elif step == "encounter":
        out = func(segmented, ports=port_rows, **kwargs)
    else:  # loitering: the encounters found make a vessel in one not loitering
        encounters = found.get("encounter")
        out = func(segmented, vessels, ports=port_rows, encounters=encounters, **kwargs)
    return schema.conform(out, schema.EVENTS) if out.height else empty_events()


def detect_store(
    store: Store,
    zones: Sequence[Zone] | None = None,
    ports: pl.DataFrame | None = None,
    config: DetectConfig | None = None,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """Detect all events of a store's positions and replace its events table with them.

    Parameters
    ----------
    store : seawatch.store.Store
        The store. All its positions are read as one table (columns
        :data:`POSITION_COLUMNS`), so episodes across midnight and across input files are
        single events; identities come from ``store.latest_identity()``.
    zones, ports, config, progress
        As :func:`detect_all`.

    Returns
    -------
    polars.DataFrame
        The events written (:meth:`seawatch.store.Store.write_events`: the whole table is
        replaced atomically, so running detection again never duplicates events).

    Raises
    ------
    ValueError
        The store holds no positions.
    """
    began = time.perf_counter()
    positions = store.positions().select(list(POSITION_COLUMNS)).collect()
    if positions.height == 0:
        raise ValueError(
            f"store {store.path} holds no positions: ingest AIS first "
            f"(seawatch ingest FILE --store {store.path})"
        )
    vessels = store.latest_identity()
    timings: dict[str, float] = {}
    last: list[Any] = [None, time.perf_counter()]

    def timed(step: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if last[0] is not None:
            timings[last[0]] = round(now - last[1], 3)
        last[0], last[1] = step, now
        if progress is not None:
            progress(step, done, total)

    cfg = config or DetectConfig()
    events = detect_all(positions, vessels, zones=zones, ports=ports, config=cfg, progress=timed)
    run_info = {
        "positions": positions.height,
        "vessels": positions["mmsi"].n_unique(),
        "first_ts": positions["ts"].min(),
        "last_ts": positions["ts"].max(),
        "zones": None if zones is None else [z.name for z in zones],
        "extra_ports": 0 if ports is None else ports.height,
        "config": {s: cfg.params(s) for s in type(cfg).__dataclass_fields__},
        "seconds": {**timings, "total": round(time.perf_counter() - began, 3)},
    }
    store.write_events(events, run_info)
    return events
