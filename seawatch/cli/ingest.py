"""``seawatch ingest`` (AIS files into a store) and ``seawatch info`` (what a store holds)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from seawatch.cli.common import (
    DEFAULT_STORE,
    ExistingStoreOpt,
    StoreOpt,
    console,
    err,
    file_progress,
    open_store,
)
from seawatch.cli.share import record_store_read
from seawatch.cli.tables import print_table
from seawatch.errors import InputError, InvalidValue, NotFound
from seawatch.share.roles import READ

if TYPE_CHECKING:  # pragma: no cover
    from rich.progress import TaskID

    from seawatch.store import IngestReport, Store


def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="NMEA or CSV files (plain, .gz, .bz2, .zst).")
    ],
    store: StoreOpt = DEFAULT_STORE,
    format: Annotated[
        str | None,
        typer.Option(
            help="Input format: nmea, csv, marinecadastre, dma, generic (default: sniffed)."
        ),
    ] = None,
    time_: Annotated[
        str | None,
        typer.Option(
            "--time", metavar="TIME",
            help="Receive time (ISO 8601, UTC) of the first line of an NMEA file that carries "
            "no time at all; give --duration or --line-spacing with it.",
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            metavar="SPAN",
            help="With --time: the span of such a capture (e.g. 3m, 1h); its lines are spread "
            "evenly over it.",
        ),
    ] = None,
    line_spacing: Annotated[
        str | None,
        typer.Option(
            metavar="STEP",
            help="With --time: the time from one line of such a capture to the next (e.g. "
            "20ms), instead of --duration.",
        ),
    ] = None,
    trust_bad_tagblocks: Annotated[
        bool,
        typer.Option(
            "--trust-bad-tagblocks",
            help="Use the time and station of tag blocks whose checksum is wrong (for feeds "
            "known to write wrong ones; by default they are not used).",
        ),
    ] = False,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map", metavar="CANONICAL=COLUMN",
            help="CSV column for a canonical column, e.g. --map lat=Latitude (repeatable).",
        ),
    ] = None,
    detect_: Annotated[
        bool,
        typer.Option(
            "--detect",
            help="Then detect events in the store, in the same process (as seawatch detect "
            "with the default zones, ports and parameters).",
        ),
    ] = False,
    dedup_window: Annotated[
        str,
        typer.Option(
            metavar="SPAN",
            help="Copies of one report received at most this long apart are one report "
            "(docs/store.md, Duplicates).",
        ),
    ] = "30s",
    late_copy_window: Annotated[
        str,
        typer.Option(
            metavar="SPAN",
            help="A moving vessel's copy received up to this long after the first (the "
            "vessel having moved 100 m by its speed) is a duplicate too; 0 turns it off.",
        ),
    ] = "10m",
    same_clock: Annotated[
        str,
        typer.Option(
            metavar="SPAN",
            help="Receiving stations whose copies differ by at most this (median) keep the "
            "same clock (docs/store.md, Station clocks).",
        ),
    ] = "5m",
    clock_agreement: Annotated[
        str,
        typer.Option(
            metavar="SPAN",
            help="A copy agrees with its station pair's offset when within this of it.",
        ),
    ] = "3m",
    clock_unstable: Annotated[
        str,
        typer.Option(
            metavar="SPAN",
            help="A station whose copies disagree is quarantined only when this far or "
            "farther off; nearer, it is kept as it is.",
        ),
    ] = "10m",
) -> None:
    """Decode AIS files and add them to a store (idempotent, atomic, deduplicated)."""
    from seawatch.units import duration_us, parse_time

    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise NotFound(f"no such file: {', '.join(missing)}")
    default_time = parse_time(time_, "--time") if time_ is not None else None
    options: dict[str, object] = untimed_options(time_, duration, line_spacing)
    for name, value in (("--duration", duration), ("--line-spacing", line_spacing)):
        if value is not None:
            duration_us(value, name)  # refused here, before anything is read
    if trust_bad_tagblocks:
        options["trust_bad_tagblocks"] = True
    if mapping:
        pairs = [m.split("=", 1) for m in mapping]
        bad = [m for m, p in zip(mapping, pairs, strict=True) if len(p) != 2 or not all(p)]
        if bad:
            raise InvalidValue(f"--map takes CANONICAL=COLUMN (e.g. lat=Latitude); got {bad}")
        options["mapping"] = {k.strip(): v.strip() for k, v in pairs}
        if format is None:
            format = "generic"
    st = open_ingest_store(store, dedup_window, late_copy_window, same_clock,
                           clock_agreement, clock_unstable)
    failed: list[str] = []
    err.print(f"ingesting {len(paths)} file(s) into {store}")

    def on_error(path: Path, exc: Exception) -> None:
        # an input that cannot be read as data is skipped and named; anything else stops
        if not isinstance(exc, InvalidValue | InputError):
            raise exc
        failed.append(path.name)
        err.print(f"[bold red]not ingested:[/] {exc}")

    with file_progress() as progress:
        tasks: dict[str, TaskID] = {
            p.name: progress.add_task(p.name, total=p.stat().st_size) for p in paths
        }

        def on_progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=total)
            progress.update(tasks[name], completed=done, total=total)

        def on_merge(done: int, total: int) -> None:
            if done == 0:
                err.print(f"merging into the store: {total} table-day file(s) to rewrite")

        reports = st.ingest(paths, format=format, default_time=default_time,
                            on_progress=on_progress, on_error=on_error,
                            on_merge=on_merge, **options)
    print_reports(reports)
    if detect_:
        from seawatch.cli.detect import detect

        detect(store=store, zones=None, ports=None, config=None)
    if failed:
        err.print(f"[bold red]{len(failed)} input(s) not ingested:[/] {', '.join(failed)}")
        raise typer.Exit(1)


def open_ingest_store(path: Path, dedup_window: str, late_copy_window: str, same_clock: str,
                      clock_agreement: str, clock_unstable: str) -> Store:
    """The store at ``path`` with the duplicate and clock settings of ``seawatch ingest``
    (durations such as ``30s``, ``10m``; refused before anything is read).

    >>> import tempfile
    >>> st = open_ingest_store(Path(tempfile.mkdtemp()) / "s", "20s", "0", "5m", "3m", "10m")
    >>> st.dedup_window.total_seconds(), st.settings.late_copies.window.total_seconds()
    (20.0, 0.0)
    >>> st.settings.clock_settings.same_clock.total_seconds()
    300.0
    """
    from datetime import timedelta

    from seawatch.store import ClockSettings, LateCopies, Store
    from seawatch.units import duration_us

    def span(value: str, name: str) -> timedelta:
        return timedelta(microseconds=duration_us(value, name))

    clock = ClockSettings(same_clock=span(same_clock, "--same-clock"),
                          agreement=span(clock_agreement, "--clock-agreement"),
                          unstable=span(clock_unstable, "--clock-unstable"))
    late = LateCopies(window=span(late_copy_window, "--late-copy-window"))
    return Store(path, dedup_window=span(dedup_window, "--dedup-window"), late_copies=late,
                 clock_settings=clock)


def untimed_options(time_: str | None, duration: str | None,
                    line_spacing: str | None) -> dict[str, object]:
    """The reader options of ``--time``, ``--duration`` and ``--line-spacing``.

    ``--time`` alone would stamp one instant on every line of an untimed capture, and the
    store would then drop a vessel's repeated reports as copies of one another: the time of
    its first line needs the span of the capture (``--duration``) or the time between lines
    (``--line-spacing``) to place the others (docs/nmea.md, "Receive time").

    >>> untimed_options("2024-05-01T00:00:00Z", "3m", None)
    {'duration': '3m'}
    >>> untimed_options(None, None, None)
    {}
    """
    if time_ is None:
        if duration is not None or line_spacing is not None:
            raise InvalidValue("--duration and --line-spacing place the lines of an untimed "
                               "capture after its first, whose time --time gives: add --time")
        return {}
    if duration is not None and line_spacing is not None:
        raise InvalidValue("give --duration or --line-spacing, not both")
    if duration is None and line_spacing is None:
        raise InvalidValue(
            "--time gives the receive time of the first line of a capture that carries no "
            "time; say how its other lines follow, or the store will take a vessel's repeated "
            "reports for copies: --duration SPAN (the capture's span, e.g. 3m or 1h: lines "
            "spread evenly over it) or --line-spacing STEP (e.g. 20ms between lines)"
        )
    if duration is not None:
        return {"duration": duration}
    return {"line_spacing": line_spacing}


def print_reports(reports: list[IngestReport]) -> None:
    """The ingest summary: one row per input, the snapshots committed, messages by type and
    quarantined lines by reason."""
    table = Table(title="Ingest summary", show_lines=False)
    for col in ("input", "lines", "messages", "positions", "vessels", "duplicates",
                "quarantined", "seconds", "lines/s"):
        table.add_column(col, justify="left" if col == "input" else "right",
                         overflow="fold", no_wrap=col != "input")
    reasons: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for r in reports:
        if r.skipped:
            table.add_row(r.name, "[dim]already in the store: skipped[/]", *[""] * 7)
            continue
        q = sum(r.quarantine.values())
        reasons.update(r.quarantine)
        types.update({k: v for k, v in r.stats.items() if k.startswith("msg_type_")})
        lines = r.stats.get("lines", r.stats.get("rows", 0))
        rate = f"{lines / r.seconds:,.0f}" if r.seconds > 0 else "-"
        table.add_row(
            r.name, f"{lines:,}", f"{r.stats.get('messages', 0):,}",
            f"{r.rows_added.get('positions', 0):,}", f"{r.rows_added.get('vessels', 0):,}",
            f"{r.duplicates_removed:,}", f"{q:,}", f"{r.seconds:.2f}", rate,
        )
    print_table(table)
    commits = {r.snapshot: r for r in reports if not r.skipped}
    for r in commits.values():
        console.print(f"committed {r.batch_inputs} input(s) as snapshot {r.snapshot} "
                      f"(merge and write: {r.commit_seconds:.2f} s)")
    if types:
        parts = sorted(types.items(), key=lambda kv: int(kv[0].rsplit("_", 1)[1]))
        console.print("messages by type: " + ", ".join(
            f"{k.rsplit('_', 1)[1]}: {v:,}" for k, v in parts))
    if reasons:
        console.print("quarantined by reason: " + ", ".join(
            f"{k}: {v:,}" for k, v in reasons.most_common()))
        console.print("[dim]samples of each are kept in the store: seawatch info --store DIR "
                      "--quarantine[/]")
    print_checks(reports)
    print_clock_corrections(reports)


def print_checks(reports: list[IngestReport]) -> None:
    """What the readers kept out of the tables as values that cannot be true
    (:mod:`seawatch.io.plausible`), when there is any."""
    from seawatch.io.plausible import MAX_TEXT_CHARS

    checks = (
        ("implausible_sog", "speeds out of range (nulled)"),
        ("implausible_cog", "courses out of range (nulled)"),
        ("implausible_heading", "headings out of range (nulled)"),
        ("text_capped", f"rows with a text field cut to {MAX_TEXT_CHARS} characters"),
        ("time_ignored_bad_tagblock", "tag-block times with a wrong checksum (not used)"),
    )
    counts: Counter[str] = Counter()
    for r in reports:
        if not r.skipped:
            counts.update({k: int(r.stats.get(k, 0)) for k, _ in checks})
    if any(counts.values()):
        console.print("values that cannot be true: " + ", ".join(
            f"{what}: {counts[k]:,}" for k, what in checks if counts[k]))


def print_clock_corrections(reports: list[IngestReport]) -> None:
    """One line per input and station whose clock the commit corrected or quarantined
    (:mod:`seawatch.store.clocks`), when there is any."""
    from seawatch.store.clocks import describe_offset

    for r in reports:
        for c in r.clocks:
            what = ("times corrected" if c["action"] == "corrected"
                    else "clock unstable: rows quarantined")
            console.print(
                f"station {escape(str(c['station']))} in {escape(r.name)}: clock "
                f"{describe_offset(c['offset_s'])} from {c['copies']:,} shared copies, "
                f"{what} ({c['rows']:,} rows)")


QUARANTINE_SHOWN = 5
"""Quarantined lines ``seawatch info --quarantine`` shows per reason by default."""
RAW_SHOWN = 200
"""Characters of a quarantined line shown (the store keeps up to 512)."""
RAW_MIN_WIDTH = 24
"""Narrowest the raw line's column gets before the sample is shown one line per block (a
raw line folds anywhere: it has no spaces to wrap at)."""


def info(
    store: ExistingStoreOpt = DEFAULT_STORE,
    quarantine: Annotated[
        bool,
        typer.Option("--quarantine",
                     help="Also show the quarantined lines: how many per reason, then a few "
                     "of each reason (--sample)."),
    ] = False,
    sample: Annotated[
        int,
        typer.Option("--sample", metavar="N", min=0,
                     help="Quarantined lines shown per reason with --quarantine."),
    ] = QUARANTINE_SHOWN,
) -> None:
    """Summarise a store: days, rows, vessels, time span, inputs, coverage outages, the
    outages of seawatch live's feeds, quarantine."""
    st = open_store(store)
    summary = st.info()
    record_store_read(store, READ, "cli:info", {"quarantine": quarantine})
    table = Table(title=f"Store {summary['path']}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key in ("path", "quarantine", "rows"):
            continue
        table.add_row(key.replace("_", " "), _fmt(value))
    for name, n in summary.get("rows", {}).items():
        table.add_row(f"rows: {name}", f"{n:,}")
    for reason, n in summary.get("quarantine", {}).items():
        table.add_row(f"quarantined: {reason}", f"{n:,}")
    print_table(table)
    print_station_clocks(st)
    print_outages(st)
    print_live_outages(st)
    if quarantine:
        print_quarantine(st, summary.get("quarantine", {}), sample)


def print_station_clocks(st: Store) -> None:
    """The receiving stations with the latest estimate of their clock offset
    (:func:`seawatch.store.clocks.station_clocks`), when any batch estimated one."""
    from seawatch.store import layout
    from seawatch.store.clocks import describe_offset, station_clocks

    clocks = station_clocks(st.path, st.snapshot().table_files(layout.CLOCKS))
    if not clocks.height:
        return
    table = Table(title="Receiving stations (clock offset: station time minus UTC)")
    for col in ("station", "offset", "action", "copies", "from", "rows", "batches"):
        table.add_column(col, justify="left" if col in ("station", "action", "from")
                         else "right", overflow="fold", no_wrap=col != "station")
    for row in clocks.iter_rows(named=True):
        table.add_row(
            escape(str(row["station"])), describe_offset(row["offset_s"]),
            str(row["action"]), f"{row['copies']:,}", escape(str(row["reference"] or "-")),
            f"{row['rows']:,}", f"{row['batches']:,}")
    print_table(table)


def print_outages(st: Store) -> None:
    """The store's coverage outages, once each (:meth:`seawatch.store.Store.outages`):
    silences every vessel shares, which the gap detector never raises as vessel alerts."""
    from seawatch.store.coverage import MIN_OUTAGE_H
    from seawatch.units import format_time

    found = st.outages()
    if not found.height:
        console.print(f"no coverage outages (silences of {MIN_OUTAGE_H} h or more shared "
                      "by every vessel of a feed)")
        return
    table = Table(title=f"Coverage outages ({found.height:,}), never vessel gap alerts")
    table.add_column("kind", no_wrap=True)
    table.add_column("feed", overflow="fold")
    for col in ("from", "to"):
        table.add_column(col, no_wrap=True)
    table.add_column("hours", justify="right", no_wrap=True)
    for kind, source, start, end, hours in found.iter_rows():
        feed = "(all feeds)" if source is None else escape(str(source) or "(no source)")
        table.add_row(kind, feed, format_time(start), format_time(end), f"{hours:,}")
    print_table(table)


def print_live_outages(st: Store) -> None:
    """The spans ``seawatch live`` had a feed without a connection, or was not running
    (``outages.json`` of the store's live folder, :func:`seawatch.live.outages.live_outages`),
    when a live service ran on the store."""
    from seawatch.live.outages import live_outages
    from seawatch.units import format_time

    found = live_outages(st.path)
    if found is None:
        return
    if not found.height:
        console.print("no live feed outages (seawatch live: every --connect feed connected "
                      "while it ran)")
        return
    table = Table(title=f"Live feed outages ({found.height:,}): no connection, or seawatch "
                  "live not running")
    table.add_column("feed", overflow="fold")
    for col in ("from", "to"):
        table.add_column(col, no_wrap=True)
    table.add_column("seconds", justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for row in found.iter_rows(named=True):
        table.add_row(
            escape(str(row["source"])), format_time(row["start"]),
            "(open)" if row["end"] is None else format_time(row["end"]),
            "-" if row["seconds"] is None else f"{row['seconds']:,.1f}",
            escape(str(row["reason"])))
    print_table(table)


def print_quarantine(st: Store, counts: dict[str, int], per_reason: int) -> None:
    """The quarantined lines of a store: a table of lines per reason (all inputs; lines kept
    in the store's sample; lines shown), then up to ``per_reason`` kept lines of each reason,
    the reasons with most lines first."""
    import polars as pl

    if not counts:
        console.print("no quarantined lines")
        return
    kept = st.quarantine().sort("reason", "file", "line_no")
    shown = kept.group_by("reason", maintain_order=True).head(per_reason).collect()
    kept_counts = dict(kept.group_by("reason").len().collect().iter_rows())
    shown_counts = dict(shown.group_by("reason").len().iter_rows())
    reasons = sorted(counts, key=lambda r: (-counts[r], r))
    table = Table(title="Quarantined lines by reason")
    table.add_column("reason", no_wrap=True)
    for col in ("lines", "kept", "shown"):
        table.add_column(col, justify="right", no_wrap=True)
    for reason in reasons:
        table.add_row(reason, f"{counts[reason]:,}", f"{kept_counts.get(reason, 0):,}",
                      f"{shown_counts.get(reason, 0):,}")
    print_table(table)
    for reason in reasons:
        rows = shown.filter(pl.col("reason") == reason)
        if not rows.height:
            continue
        lines = Table(title=f"{reason}: {rows.height:,} of {counts[reason]:,} line(s)")
        lines.add_column("file", overflow="fold")
        lines.add_column("line", justify="right", no_wrap=True)
        lines.add_column("raw", overflow="fold", min_width=RAW_MIN_WIDTH)
        for file, line_no, raw in rows.select("file", "line_no", "raw").iter_rows():
            text = str(raw)
            if len(text) > RAW_SHOWN:
                text = f"{text[:RAW_SHOWN]}… ({len(text) - RAW_SHOWN:,} more characters)"
            lines.add_row(escape(str(file)), str(line_no), escape(text))
        print_table(lines)


def _fmt(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if len(value) < 8 else (
            f"{value[0]} … {value[-1]} ({len(value)})")
    return str(value)
