"""Run every detector over a positions table, or over a whole store.

:func:`detect_all` is the pipeline of DESIGN.md: segment the tracks
(:func:`seawatch.tracks.segment`), then detect ``spoofing``, ``gap``, ``encounter``,
``loitering`` (given the encounters, so a vessel in an encounter is not also loitering),
``zone_entry``/``zone_exit``, ``fishing_in_zone`` and ``port_visit``, each with its section of
:class:`seawatch.detect.config.DetectConfig`. :func:`detect_store` gives the events of all
positions of a store as one table (time-ordered per vessel: no day boundaries, so an episode
straddling midnight or two input files is one event) and replaces the store's events table.

:func:`detect_store` works in bounded memory: it reads the vessels in chunks (ranges of MMSI
holding about ``chunk_positions`` positions; day files are sorted by MMSI, so a range reads
few row groups) and runs every per-vessel step on each chunk; only the events and the small
things the cross-vessel steps need are kept: each vessel's stationary periods (anchorage
inference, a first pass over the chunks), its 10-minute samples (encounters pair them once
all chunks are done) and its loitering candidates (dropped afterwards where they overlap an
encounter). Every detector is per vessel or per track apart from those two steps, so the
events are identical to :func:`detect_all` of the whole table, whatever the chunk size.

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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.detect.config import ConfigError, DetectConfig
from seawatch.detect.events import empty_events
from seawatch.units import parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone
    from seawatch.store import Store
    from seawatch.tracks.resample import Samples

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

ANCHORAGE_COLUMNS: tuple[str, ...] = ("mmsi", "ts", "lat", "lon", "sog")
"""Columns the anchorage pass of :func:`detect_store` reads."""

DEFAULT_CHUNK_POSITIONS = 2_000_000
"""Positions per chunk of :func:`detect_store` (whole vessels, so a chunk may hold more).
Measured peaks (docs/benchmarks.md): 1.2 GB on 10 M positions and 1.8 GB on 50 M; chunks of
1 M: 0.9 and 1.6 GB, a little slower. The samples kept for the encounters add about 60 MB
per million positions."""


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
    positions: pl.DataFrame | None,
    extra: pl.DataFrame | None,
    config: DetectConfig,
    *,
    anchorages: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The ports the detectors use: shipped, plus ``extra``, plus inferred anchorages.

    Parameters
    ----------
    positions : polars.DataFrame, optional
        Positions to infer anchorages from (``config.ports.infer_anchorages``).
    anchorages : polars.DataFrame, optional
        Anchorages inferred already (:func:`seawatch.geo.infer_anchorages`, e.g. from the
        stationary periods of every chunk of a store), used instead of inferring them from
        ``positions``.
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
    found = anchorages
    if found is None and cfg.infer_anchorages and positions is not None and positions.height:
        from seawatch.geo.anchorages import anchorages_from_periods

        found = anchorages_from_periods(
            _periods(positions, config), cell_km=cfg.cell_km, min_vessels=cfg.min_vessels
        )
    if cfg.infer_anchorages and found is not None and found.height:
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


def _periods(positions: pl.DataFrame, config: DetectConfig) -> pl.DataFrame:
    """Stationary periods of ``positions`` (first half of anchorage inference)."""
    from seawatch.geo.anchorages import stationary_periods

    cfg = config.ports
    return stationary_periods(
        positions,
        min_positions=cfg.min_positions,
        max_speed_kn=cfg.max_speed_kn,
        max_distance_km=cfg.max_distance_km,
        min_duration=parse_duration(cfg.min_duration).total_seconds() / 3600.0,
    )


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
    wanted, steps = _steps(types)
    needs_ports = _needs_ports(steps)
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
    return _events(found.values(), wanted)


def _steps(types: Iterable[str] | None) -> tuple[set[str], list[str]]:
    """The event types wanted and the detection steps that give them, in order."""
    wanted = _wanted(types)
    steps = [s for s, out in STEP_TYPES.items() if wanted & set(out)]
    if "loitering" in steps and "encounter" not in steps:
        steps.insert(steps.index("loitering"), "encounter")
    return wanted, steps


def _needs_ports(steps: Sequence[str]) -> bool:
    return bool({"encounter", "loitering", "port_visit"} & set(steps))


def _events(found: Iterable[pl.DataFrame], wanted: set[str]) -> pl.DataFrame:
    """The events of every step of the wanted types, as one table sorted by start."""
    frames = [
        f.filter(pl.col("type").is_in(sorted(wanted))).select(list(schema.EVENTS))
        for f in found
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


def mmsi_chunks(counts: pl.DataFrame, max_positions: int) -> list[tuple[int | None, int | None]]:
    """Ranges of MMSI that split a store's vessels into chunks of about ``max_positions``.

    Parameters
    ----------
    counts : polars.DataFrame
        ``mmsi`` and ``n``, the positions of each MMSI (null MMSIs are ignored).
    max_positions : int
        The positions are cut, in MMSI order, into the fewest equal shares of at most this
        many; each vessel goes to the share where its first position falls, so a chunk holds
        a share plus at most one vessel's positions (a vessel is never split).

    Returns
    -------
    list of (low, high)
        Inclusive MMSI bounds of each chunk, in increasing order; the first has no lower bound
        and the last no upper bound (``None``), so together they cover every MMSI once.

    Examples
    --------
    >>> counts = pl.DataFrame({"mmsi": [5, 1, 9, 7], "n": [3, 3, 3, 3]})
    >>> mmsi_chunks(counts, 6)  # 12 positions: 2 shares of 6
    [(None, 6), (7, None)]
    >>> mmsi_chunks(counts, 5)  # 3 shares of 4: MMSI 5 starts at position 3, in the first
    [(None, 6), (7, 8), (9, None)]
    >>> mmsi_chunks(counts, 100)
    [(None, None)]
    """
    if max_positions < 1:
        raise ValueError(f"chunks must hold at least 1 position; got {max_positions}")
    ordered = counts.select("mmsi", "n").drop_nulls("mmsi").sort("mmsi")
    n = ordered["n"].cast(pl.Int64).to_numpy()
    total = int(n.sum())
    if total == 0:
        return [(None, None)]
    shares = -(-total // max_positions)  # ceil
    before = np.cumsum(n) - n  # positions of the vessels before each one
    share = np.minimum(before * shares // total, shares - 1)
    first = np.flatnonzero(np.r_[True, share[1:] != share[:-1]])
    starts = [int(m) for m in ordered["mmsi"].to_numpy()[first]]
    lows: list[int | None] = [None, *starts[1:]]
    highs: list[int | None] = [*(s - 1 for s in starts[1:]), None]
    return list(zip(lows, highs, strict=True))


def _in_range(low: int | None, high: int | None) -> pl.Expr:
    mmsi = pl.col("mmsi")
    if low is None and high is None:
        return mmsi.is_not_null()
    if low is None:
        return mmsi <= high
    if high is None:
        return mmsi >= low
    return mmsi.is_between(low, high)


@dataclass
class _Timer:
    """Calls ``progress`` as each step starts and adds up the seconds of each step name."""

    total: int
    progress: Progress | None
    seconds: dict[str, float] = field(default_factory=dict)
    done: int = 0
    _last: tuple[str, float] | None = None

    def start(self, step: str) -> None:
        now = time.perf_counter()
        if self._last is not None:
            name, since = self._last
            self.seconds[name] = self.seconds.get(name, 0.0) + now - since
        self._last = (step, now)
        if self.progress is not None:
            self.progress(step, min(self.done, self.total), self.total)
        self.done += 1


def _encounter_kernels(
    cfg: DetectConfig,
) -> tuple[Callable[..., Samples], Callable[..., pl.DataFrame], dict[str, Any], dict[str, Any]]:
    """Resampling and pairing halves of ``detect_encounters`` and their keyword arguments."""
    from seawatch.detect.encounter import detect_encounters, encounters_from_samples
    from seawatch.tracks.resample import resample_samples

    kwargs = _kwargs(detect_encounters, cfg, "encounter")
    on_grid = {k: kwargs.pop(k) for k in ("grid", "max_gap") if k in kwargs}
    return resample_samples, encounters_from_samples, on_grid, kwargs


def detect_store(
    store: Store,
    zones: Sequence[Zone] | None = None,
    ports: pl.DataFrame | None = None,
    config: DetectConfig | None = None,
    progress: Progress | None = None,
    *,
    chunk_positions: int | None = None,
) -> pl.DataFrame:
    """Detect all events of a store's positions and replace its events table with them.

    The positions are read in chunks of whole vessels (ranges of MMSI, see
    :func:`mmsi_chunks`), so memory follows the chunk size, not the store; the events are
    identical to :func:`detect_all` of all positions as one table (see the module
    docstring), so episodes across midnight and across input files are single events.

    Parameters
    ----------
    store : seawatch.store.Store
        The store. Its positions (columns :data:`POSITION_COLUMNS`) are those of the
        snapshot current when the run starts; identities come from
        ``store.latest_identity()``.
    zones, ports, config, progress
        As :func:`detect_all`. ``progress(step, done, total)`` is called as each step of each
        chunk starts (``read``, ``segment``, ``spoofing``, ... and first ``anchorages`` once
        per chunk), then for the two cross-vessel steps ``encounter`` and ``loitering``.
    chunk_positions : int, optional
        Positions per chunk (default :data:`DEFAULT_CHUNK_POSITIONS`); a vessel is never
        split, so a chunk may hold more. It changes the memory and time, never the events.

    Returns
    -------
    polars.DataFrame
        The events written (:meth:`seawatch.store.Store.write_events`: the whole table is
        replaced atomically, so running detection again never duplicates events).

    Raises
    ------
    ValueError
        The store holds no positions, or its positions were replaced during the run.
    """
    began = time.perf_counter()
    cfg = config or DetectConfig()
    per_chunk = DEFAULT_CHUNK_POSITIONS if chunk_positions is None else int(chunk_positions)
    snapshot = store.snapshot_id
    scan = store.positions()  # the files of this snapshot, for every chunk
    stats = (
        scan.group_by("mmsi")
        .agg(pl.len().alias("n"), pl.col("ts").min().alias("t0"), pl.col("ts").max().alias("t1"))
        .collect()
    )
    n_positions = int(stats["n"].sum()) if stats.height else 0
    if n_positions == 0:
        raise ValueError(
            f"store {store.path} holds no positions: ingest AIS first "
            f"(seawatch ingest FILE --store {store.path})"
        )
    chunks = mmsi_chunks(stats, per_chunk)
    vessels = store.latest_identity()
    wanted, steps = _steps(None)
    needs_ports = _needs_ports(steps)
    infer = needs_ports and cfg.ports.infer_anchorages
    finals = [s for s in ("encounter", "loitering") if s in steps]
    timer = _Timer(
        total=len(chunks) * ((1 if infer else 0) + 2 + len(steps)) + len(finals),
        progress=progress,
    )

    def read(low: int | None, high: int | None, columns: Sequence[str]) -> pl.DataFrame:
        try:
            frame = scan.filter(_in_range(low, high)).select(list(columns)).collect()
        except (OSError, pl.exceptions.ComputeError) as exc:
            if store.snapshot_id != snapshot:
                raise ValueError(
                    f"the positions of store {store.path} changed during detection (snapshot "
                    f"{snapshot} -> {store.snapshot_id}: an ingest ran); run detect again"
                ) from exc
            raise
        return prepare_positions(frame)

    port_rows = None
    if infer:
        from seawatch.geo.anchorages import anchorages_from_periods

        periods = []
        for low, high in chunks:
            timer.start("anchorages")
            periods.append(_periods(read(low, high, ANCHORAGE_COLUMNS), cfg))
        found_anchorages = anchorages_from_periods(
            pl.concat(periods), cell_km=cfg.ports.cell_km, min_vessels=cfg.ports.min_vessels
        )
        del periods
        port_rows = port_table(None, ports, cfg, anchorages=found_anchorages)
    elif needs_ports:
        port_rows = port_table(None, ports, cfg)

    zone_idx = None
    if {"zone", "fishing_in_zone"} & set(steps):
        from seawatch.detect.zone import as_zone_index

        zone_idx = as_zone_index(zones)[1]  # one index for both steps; names checked unique
    found: dict[str, list[pl.DataFrame]] = {step: [] for step in steps}
    samples: list[Samples] = []
    resample = pair = None
    on_grid: dict[str, Any] = {}
    pairing: dict[str, Any] = {}
    if "encounter" in steps and _load("encounter") is not None:
        resample, pair, on_grid, pairing = _encounter_kernels(cfg)
    no_encounters = {"encounter": empty_events()}  # loitering candidates, checked at the end
    for low, high in chunks:
        timer.start("read")
        positions = read(low, high, POSITION_COLUMNS)
        timer.start("segment")
        segmented = _segment(positions, cfg)
        del positions
        for step in steps:
            timer.start(step)
            if step == "encounter":
                if resample is not None:
                    samples.append(resample(segmented, **on_grid))
                continue
            found[step].append(
                _run_step(step, segmented, vessels, zone_idx, port_rows, no_encounters, cfg)
            )
        del segmented

    if "encounter" in steps:
        timer.start("encounter")
        encounters = empty_events()
        if pair is not None:
            from seawatch.tracks.resample import concat_samples

            joined = concat_samples(samples)
            samples.clear()
            out = pair(joined, ports=port_rows, **pairing)
            del joined
            if out.height:
                encounters = schema.conform(out, schema.EVENTS)
        found["encounter"] = [encounters]
    if "loitering" in steps:
        timer.start("loitering")
        from seawatch.detect.loitering import drop_encounter_overlaps

        candidates = [f for f in found["loitering"] if f.height]
        loitering = pl.concat(candidates) if candidates else empty_events()
        found["loitering"] = [drop_encounter_overlaps(loitering, found["encounter"][0])]
    timer.start("done")
    for step, frames in found.items():
        log.info("%s: %d events", step, sum(f.height for f in frames))
    events = _events((f for frames in found.values() for f in frames), wanted)
    run_info = {
        "positions": n_positions,
        "vessels": stats.height,
        "first_ts": stats["t0"].min(),
        "last_ts": stats["t1"].max(),
        "chunks": len(chunks),
        "chunk_positions": per_chunk,
        "zones": None if zones is None else [z.name for z in zones],
        "extra_ports": 0 if ports is None else ports.height,
        "config": {s: cfg.params(s) for s in type(cfg).__dataclass_fields__},
        "seconds": {
            **{k: round(v, 3) for k, v in timer.seconds.items()},
            "total": round(time.perf_counter() - began, 3),
        },
    }
    store.write_events(events, run_info)
    return events
