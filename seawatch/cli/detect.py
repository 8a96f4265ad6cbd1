"""``seawatch detect`` (events from a store's positions), ``seawatch events`` (export them) and
``seawatch eval`` (score events against ground truth)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from seawatch.cli.common import (
    DEFAULT_STORE,
    ExistingStoreOpt,
    console,
    err,
    open_store,
    read_ports_file,
    read_zones_file,
)
from seawatch.cli.share import record_store_read
from seawatch.cli.tables import print_table
from seawatch.errors import InvalidValue, Unavailable
from seawatch.share.location import has_state
from seawatch.share.roles import EXPORT

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence
    from datetime import timedelta

    import polars as pl

    from seawatch.detect.config import DetectConfig
    from seawatch.geo.zones import Zone
    from seawatch.store import Store


def detect(
    store: ExistingStoreOpt = DEFAULT_STORE,
    zones: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Zones (GeoJSON; Shapefile/GeoPackage with pyogrio), each with a 'name' "
            "property; replace the default Ecuador zones.",
        ),
    ] = None,
    ports: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Ports CSV (name,lat,lon) or GeoJSON points, added to the shipped.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="TOML file of detector parameters (see docs/detect.md)."),
    ] = None,
    installations: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Fixed installations (GeoJSON points or polygons: platforms, buoys, fish "
            "farms), added to [installations] files: loitering and encounters there are "
            "dropped (or lowered, see docs/detectors.md).",
        ),
    ] = None,
    watchlist: Annotated[
        list[Path] | None,
        typer.Option(
            metavar="FILE",
            help="A watchlist file (CSV or JSON, see docs/watchlists.md) matched besides the "
            "watchlists of the store's state; repeatable.",
        ),
    ] = None,
) -> None:
    """Detect events in all positions of a store and replace its events table; then raise
    the alerts of the store's enabled alert rules (``seawatch alerts``), when it has a
    state. The watchlists of the state (``seawatch watchlist import``) and those of
    ``--watchlist`` give ``watchlist_hit`` events."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as RichProgress

    from seawatch.detect.config import load_config
    from seawatch.detect.run import DETECTED_TYPES, detect_store

    cfg = load_config(config)
    zone_list = None if zones is None else read_zones_file(zones)
    port_rows = None if ports is None else read_ports_file(ports)
    fixed = None if installations is None else read_installations_file(installations)
    st = open_store(store)
    from seawatch.cli.watchlist import entries_for_detection

    entries = entries_for_detection(store, watchlist or [])
    previous = st.events_info()
    before = None if previous is None else int(previous.get("rows", 0))
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    with RichProgress(
        SpinnerColumn(),
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        task = progress.add_task("reading positions", total=None)
        last: dict[str, str | float] = {"step": "", "t": time.perf_counter()}

        def on_progress(step: str, done: int, total: int) -> None:
            now = time.perf_counter()
            if last["step"]:
                step_name = str(last["step"])  # a step runs once per chunk: sum its times
                seconds[step_name] = seconds.get(step_name, 0.0) + now - float(last["t"])
            last["step"], last["t"] = step, now
            label = "detection done" if step == "done" else step.replace("_", " ")
            progress.update(task, description=label, completed=done, total=total)

        events = detect_store(
            st, zones=zone_list, ports=port_rows, config=cfg, progress=on_progress,
            installations=fixed, watchlists=entries,
        )
    counts = dict(events.group_by("type").len().iter_rows()) if events.height else {}
    table = Table(title=f"Events detected in {st.path}")
    table.add_column("type")
    table.add_column("events", justify="right")
    for name in DETECTED_TYPES:
        table.add_row(name, f"{counts.get(name, 0):,}")
    table.add_row("[bold]all[/]", f"[bold]{events.height:,}[/]")
    print_table(table)
    for hint in why_none(st, counts, cfg, zone_list):
        console.print(hint, highlight=False)
    flagged = (st.events_info() or {}).get("outliers") or {}
    if flagged.get("positions"):
        n, v = int(flagged["positions"]), int(flagged["vessels"])
        console.print(
            f"{n:,} report{'s' * (n != 1)} of {v:,} vessel{'s' * (v != 1)} flagged outlier "
            "(garbled: no track explains them), kept in the store and given to no detector",
            highlight=False,
        )
    for line in installation_lines((st.events_info() or {}).get("installations"), cfg):
        console.print(line, highlight=False)
    if seconds:
        console.print(
            "seconds per step: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
        )
    raised = None
    if has_state(store):  # alerts live in the state: without one, SQLAlchemy is not loaded
        from seawatch.cli.share import record_change
        from seawatch.share.alerts import raise_for_store

        raised = raise_for_store(store, st, events, record_change)
    if raised is not None:
        console.print(
            f"alerts: {raised.new:,} new, {raised.updated:,} updated (their event changed), "
            f"{raised.unchanged:,} unchanged; see: seawatch alerts list --store {store} --open",
            highlight=False,
        )
    replaced = "" if before is None else f" (replacing the {before:,} events of the last run)"
    console.print(
        f"{events.height:,} events written to the store in "
        f"{time.perf_counter() - started:.1f} s{replaced}. Export them with: "
        f"seawatch events --store {store} --out events.csv"
    )


def read_installations_file(path: Path) -> pl.DataFrame:
    """The installations of a user's GeoJSON file
    (:func:`seawatch.geo.installations.load_installations`).

    Raises
    ------
    NotFound
        No such file.
    """
    from seawatch.errors import NotFound
    from seawatch.geo.installations import load_installations

    if not path.is_file():
        raise NotFound(f"no such installations file: {path}")
    return load_installations(path)


def installation_lines(info: dict[str, Any] | None, cfg: DetectConfig) -> list[str]:
    """What the run did at installations (its run info's ``installations``): the events
    dropped or lowered there, and the candidates found in the data, each with its place,
    vessels and hours, and whether they were used.

    >>> from seawatch.detect.config import DetectConfig
    >>> info = {"given": 1, "at_installations": {"loitering": 12},
    ...         "candidates": [{"lat": -24.6388, "lon": -42.4093, "n_vessels": 2,
    ...                         "standby_hours": 122.75}]}
    >>> lines = installation_lines(info, DetectConfig())
    >>> lines[0]
    'at installations (score_factor 0: dropped): 12 loitering'
    >>> lines[1].split(" (")[0], "not used" in lines[1]
    ('1 installation candidate(s) found in the data', True)
    >>> lines[2]
    '  -24.6388, -42.4093: 2 vessels standing by 122.8 h in all'
    """
    if not info:
        return []
    lines = []
    p = cfg.installations
    at = info.get("at_installations") or {}
    if at:
        effect = "dropped" if p.score_factor == 0 else f"scores x {p.score_factor:g}"
        lines.append(
            f"at installations (score_factor {p.score_factor:g}: {effect}): "
            + ", ".join(f"{n} {kind}" for kind, n in sorted(at.items()))
        )
    found = info.get("candidates") or []
    if found:
        used = "used" if p.use_inferred else (
            "not used; [installations] use_inferred = true uses them"
        )
        lines.append(f"{len(found)} installation candidate(s) found in the data ({used}):")
        lines += [
            f"  {c['lat']:.4f}, {c['lon']:.4f}: {c['n_vessels']} vessels standing by "
            f"{c['standby_hours']:.1f} h in all"
            for c in found[:10]
        ]
    return lines


def why_none(st: Store, counts: dict[str, int], cfg: DetectConfig,
             zones: list[Zone] | None) -> list[str]:
    """Why a run found no events of a type, where the data alone tells: the positions span
    less time than the type's shortest episode (``no gap: the positions span 5 s; a gap is
    a silence of more than 12 h``), or lie nowhere near the zones. One line per type (the
    zone types share one); none for a type with events or without such a reason."""
    from datetime import timedelta

    import polars as pl

    from seawatch.detect.run import DETECTED_TYPES
    from seawatch.units import parse_duration

    if all(counts.get(kind, 0) for kind in DETECTED_TYPES):
        return []
    first, last, *box = st.positions().select(  # one scan of three columns
        pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last"),
        pl.col("lon").min().alias("west"), pl.col("lat").min().alias("south"),
        pl.col("lon").max().alias("east"), pl.col("lat").max().alias("north"),
    ).collect().row(0)
    if first is None or last is None:
        return []
    span = last - first
    covered = f"the positions span {_duration_text(span)}"
    hints: list[str] = []

    def too_short(kind: str, shortest: timedelta, episode: str, strict: bool = False) -> None:
        short = span <= shortest if strict else span < shortest
        if counts.get(kind, 0) == 0 and short:
            hints.append(f"no {kind}: {covered}; {episode}")

    min_gap_h = float(cfg.params("gap")["min_gap_h"])
    too_short("gap", timedelta(hours=min_gap_h),
              f"a gap is a silence of more than {min_gap_h:g} h", strict=True)
    for kind, episode in (
        ("encounter", "an encounter lasts at least {d}"),
        ("loitering", "loitering lasts at least {d}"),
        ("fishing_in_zone", "fishing in a zone lasts at least {d}"),
        ("port_visit", "a port visit lasts at least {d}"),
    ):
        duration = str(cfg.params(kind)["min_duration"])
        too_short(kind, parse_duration(duration), episode.format(d=duration))
    zone_kinds = [k for k in ("zone_entry", "zone_exit", "fishing_in_zone")
                  if counts.get(k, 0) == 0 and not any(h.startswith(f"no {k}:") for h in hints)]
    if zone_kinds:
        from seawatch.geo.zones import default_zones

        zone_list = default_zones() if zones is None else zones
        if None not in box and not any(_overlaps(box, z.geometry.bounds) for z in zone_list):
            which = "the default zones (off Ecuador)" if zones is None else "the zones given"
            hints.append(
                f"no {', '.join(zone_kinds)}: no position lies within the extent of {which}; "
                "give the zones of these waters with --zones"
            )
    return hints


def _overlaps(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether boxes (west, south, east, north) overlap."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _duration_text(span: timedelta) -> str:
    """A time span as a person reads it: 5 s, 40 min, 7.5 h, 3.2 days."""
    seconds = span.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def events(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="FILE",
                     help="Output file; its suffix gives the format: .csv, .geojson (or .json), "
                     ".parquet or .kml."),
    ],
    store: ExistingStoreOpt = DEFAULT_STORE,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", metavar="TYPE",
                     help="Only events of this type (repeatable)."),
    ] = None,
    format_: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", metavar="FORMAT",
            help="csv, geojson, parquet or kml, for a file name whose suffix names none.",
        ),
    ] = None,
) -> None:
    """Export the events of a store as CSV (ISO 8601 UTC times), GeoJSON, Parquet or KML,
    each carrying its TLP marking as the API's exports do.

    Every event has its marking (level, releasable-to, owner) from the store's state, or
    the store's default level; the file carries the highest: a marking column (CSV), a
    top-level marking object (GeoJSON), the banner as the document's description (KML),
    key-value metadata (Parquet). See docs/sharing.md.
    """
    from seawatch import schema
    from seawatch.export import EVENTS, file_format, write_file
    from seawatch.share.markings import export_marking, export_metadata

    fmt = file_format(out, format_)
    wanted = [t.strip().lower() for t in type_] if type_ else None
    if wanted:
        unknown = [t for t in wanted if t not in schema.EVENT_TYPES]
        if unknown:
            raise InvalidValue(
                f"unknown event type {', '.join(unknown)}; valid: {', '.join(schema.EVENT_TYPES)}"
            )
    st = open_store(store)
    if st.events_info() is None:
        raise Unavailable(f"no events in {store} yet; run: seawatch detect --store {store}")
    frame = with_markings(store, st.events(type=wanted).collect())
    marking = export_metadata(export_marking(frame))
    record_store_read(store, EXPORT, "cli:events", {"type": wanted, "format": fmt,
                                                    "out": str(out), "rows": frame.height})
    write_file(frame, out, fmt, EVENTS, marking=marking)
    what = f" of type {', '.join(wanted)}" if wanted else ""
    console.print(f"{frame.height:,} events{what} written to {out} ({fmt}), marked "
                  f"TLP:{marking['tlp']}", highlight=False)


def with_markings(store: Path, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (events) with the columns of
    :func:`~seawatch.share.markings.attach_markings`, as the host agency's exports from the
    API have them: each event's marking from the store's state, else the store's default
    level, owned by the host agency. A store without a state (no ``state.db``, no
    ``SEAWATCH_DB``) has the default level
    (:data:`~seawatch.share.markings.DEFAULT_MARKING`) and no owner yet; no state is made."""
    import polars as pl

    from seawatch.share.markings import (
        DEFAULT_MARKING,
        attach_markings,
        default_marking,
        host_agency_name,
    )

    if not has_state(store):
        return frame.with_columns(
            pl.lit(DEFAULT_MARKING.label).alias("marking"),
            pl.lit([], dtype=pl.List(pl.String())).alias("releasable_to"),
            pl.lit(None, dtype=pl.String()).alias("owner_agency"),
        )
    from seawatch.share.db import open_state
    from seawatch.share.errors import NotInitialised

    state = open_state(store, create_store=False)
    try:
        try:
            host = host_agency_name(state)
        except NotInitialised:
            host = ""
        return attach_markings(state, frame, "event", defaults=(default_marking(state), host))
    finally:
        state.close()


def eval_(
    truth: Annotated[
        Path, typer.Option(metavar="FILE",
                           help="Ground-truth events: the simulator's truth.json or "
                           "truth.parquet, or any file of seawatch events.")
    ],
    events: Annotated[
        Path, typer.Option(metavar="FILE",
                           help="Detected events to score: a file of seawatch events (CSV, "
                           "GeoJSON, Parquet or KML).")
    ],
    out: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write the scores as JSON here.")
    ] = None,
    slack_hours: Annotated[
        float, typer.Option(help="Hours of slack on each side when matching time spans.")
    ] = 1.0,
    min_f1: Annotated[
        float | None,
        typer.Option(help="Exit with status 1 if any event type scores an F1 below this."),
    ] = None,
) -> None:
    """Score detected events against ground truth: precision, recall, F1 per event type."""
    import json
    from datetime import timedelta

    from seawatch import evaluate

    t = evaluate.read_events(truth)
    e = evaluate.read_events(events)
    slack = timedelta(hours=slack_hours)
    scores = evaluate.score(t, e, slack)
    table = Table(title=f"Events scored against {truth.name} (slack {slack_hours:g} h)")
    for col in evaluate.SCORE_COLUMNS:
        table.add_column(col, justify="left" if col == "type" else "right")
    for row in scores.iter_rows(named=True):
        table.add_row(*[f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c])
                        for c in evaluate.SCORE_COLUMNS])
    total = evaluate.overall(scores)
    table.add_row("all (micro)", str(t.height), str(e.height), str(total["tp"]),
                  str(total["fp"]), str(total["fn"]), f"{total['precision']:.3f}",
                  f"{total['recall']:.3f}", f"{total['f1']:.3f}")
    print_table(table)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(evaluate.report(scores, slack), indent=2) + "\n")
        console.print(f"scores written to {out}")
    if min_f1 is not None:
        failing = [r["type"] for r in scores.iter_rows(named=True) if r["f1"] < min_f1]
        if failing:
            err.print(f"[bold red]F1 below {min_f1:g}[/] for: {', '.join(failing)}")
            raise typer.Exit(1)
