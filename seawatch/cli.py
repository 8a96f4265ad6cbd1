"""The ``seawatch`` command line: ingest AIS, inspect the store, run the demo.

Every long run shows a progress bar; every failure says what was wrong and what to do.
Heavy modules (numba kernels, DuckDB) load inside the commands, so ``seawatch --help`` is quick.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # pragma: no cover
    from rich.progress import Progress, TaskID

    from seawatch.store import IngestReport

app = typer.Typer(
    name="seawatch",
    help="Open, offline maritime domain awareness: ingest AIS, detect, serve the map.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=False, width=None if Console().is_terminal else 120, soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)  # errors stay whole lines in logs and tests

DEFAULT_DEMO_DIR = Path("seawatch-demo")

StoreOpt = Annotated[
    Path,
    typer.Option("--store", "-s", help="Store directory (created if absent).", show_default=True),
]


HostOpt = Annotated[
    str,
    typer.Option(help="Address to listen on (0.0.0.0: every interface of this machine)."),
]
PortOpt = Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")]
AuthOpt = Annotated[
    str,
    typer.Option(
        "--auth",
        help="required: every data request needs an API token or a login (see `seawatch user "
        "add`, `seawatch token create`); local: the single-user demo without login, "
        "read-only, answering this machine only (--host must be 127.0.0.1, ::1 or "
        "localhost).",
    ),
]
DEMO_HOST_AGENCY = "ECU-NAVY"
"""Host agency `seawatch demo` creates in a store without one."""


def main() -> None:
    app()


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    from seawatch.units import parse_time

    try:
        return parse_time(value, "--time")
    except ValueError as exc:
        raise _fail(str(exc)) from exc


@contextmanager
def _sim_progress() -> Iterator[Callable[[str, int, int], None]]:
    """Progress bars of the simulator's stages; yields its ``on_progress`` callback."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("[bold blue]{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err) as progress:
        tasks: dict[str, TaskID] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                label = {"plan": "simulate: plan", "truth": "simulate: truth (tracks)",
                         "output": "simulate: output (seconds)"}.get(stage, stage)
                tasks[stage] = progress.add_task(label, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield on_progress


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="NMEA or CSV files (plain, .gz, .bz2, .zst).")
    ],
    store: StoreOpt = Path("seawatch-store"),
    format: Annotated[
        str | None,
        typer.Option(
            help="Input format: nmea, csv, marinecadastre, dma, generic (default: sniffed)."
        ),
    ] = None,
    time_: Annotated[
        str | None,
        typer.Option(
            "--time",
            help="Receive time (ISO 8601, UTC) for NMEA files that carry no time at all.",
        ),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="CSV column for a canonical column, e.g. --map lat=Latitude (repeatable).",
        ),
    ] = None,
) -> None:
    """Decode AIS files and add them to a store (idempotent, atomic, deduplicated)."""
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise _fail(f"no such file: {', '.join(missing)}")
    default_time = _parse_time(time_)
    options: dict[str, object] = {}
    if mapping:
        pairs = [m.split("=", 1) for m in mapping]
        bad = [m for m, p in zip(mapping, pairs, strict=True) if len(p) != 2 or not all(p)]
        if bad:
            raise _fail(f"--map takes CANONICAL=COLUMN (e.g. lat=Latitude); got {bad}")
        options["mapping"] = {k.strip(): v.strip() for k, v in pairs}
        if format is None:
            format = "generic"
    from seawatch.io import UnknownFormatError
    from seawatch.io.nmea import NoTimeError
    from seawatch.io.sources import InputError
    from seawatch.store import Store, StoreError

    try:
        st = Store(store)
    except StoreError as exc:
        raise _fail(str(exc)) from exc
    failed: list[str] = []
    input_errors = (NoTimeError, UnknownFormatError, InputError, ValueError)

    def on_error(path: Path, exc: Exception) -> None:
        if not isinstance(exc, input_errors):
            raise exc
        failed.append(path.name)
        err.print(f"[bold red]not ingested:[/] {exc}")

    with _progress() as progress:
        tasks: dict[str, int] = {}

        def on_progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=total)
            progress.update(tasks[name], completed=done, total=total)

        def on_merge(done: int, total: int) -> None:
            if done == 0:
                err.print(f"merging into the store: {total} table-day file(s) to rewrite")

        try:
            reports = st.ingest(paths, format=format, default_time=default_time,
                                on_progress=on_progress, on_error=on_error,
                                on_merge=on_merge, **options)
        except StoreError as exc:  # e.g. another process is writing the store
            raise _fail(str(exc)) from exc
    _print_reports(reports)
    if failed:
        err.print(f"[bold red]{len(failed)} input(s) not ingested:[/] {', '.join(failed)}")
        raise typer.Exit(1)


def _print_reports(reports: list[IngestReport]) -> None:
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
    console.print(table)
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


@app.command()
def info(
    store: StoreOpt = Path("seawatch-store"),
    quarantine: Annotated[
        bool, typer.Option("--quarantine", help="Also list sample quarantined lines.")
    ] = False,
) -> None:
    """Summarise a store: days, rows, vessels, time span, inputs, quarantine."""
    from seawatch.store import Store, StoreError

    if not store.exists():
        raise _fail(f"no store at {store}; create one with: seawatch ingest FILE --store {store}")
    try:
        st = Store(store, create=False)
    except StoreError as exc:
        raise _fail(str(exc)) from exc
    summary = st.info()
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
    console.print(table)
    if quarantine:
        sample = st.quarantine().collect()
        qt = Table(title="Quarantined lines (sample)")
        for col in ("file", "line_no", "reason", "raw"):
            qt.add_column(col)
        for row in sample.head(50).iter_rows():
            qt.add_row(str(row[0]), str(row[1]), str(row[2]), str(row[3])[:100])
        console.print(qt)


def _fmt(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if len(value) < 8 else (
            f"{value[0]} … {value[-1]} ({len(value)})")
    return str(value)


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo keeps its scenario and store.")
    ] = DEFAULT_DEMO_DIR,
    seed: Annotated[int, typer.Option(help="Seed of the simulated scenario.")] = 7,
    hours: Annotated[float, typer.Option(help="Hours of traffic to simulate.")] = 24.0,
    vessels: Annotated[int, typer.Option(help="Number of vessels.")] = 1500,
    serve_: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Then serve the map and API until Ctrl-C."),
    ] = True,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    auth: AuthOpt = "local",
) -> None:
    """Simulate Eastern Pacific traffic off Ecuador, ingest it, detect events, summarise,
    then serve the map (unless --no-serve).

    The scenario is written once per (seed, hours, vessels) and reused; ingesting it again
    adds nothing, so running the demo twice is quick and leaves the same store. The store's
    state gets the host agency ECU-NAVY when it has none, and the demo serves without login
    (--auth local) to this machine only.
    """
    from seawatch.sim import write_scenario
    from seawatch.store import Store

    if serve_:
        _check_auth(auth, host)
        _check_port_free(host, port)

    started = time.perf_counter()
    scenario_dir = directory / f"scenario-seed{seed}-{hours:g}h-{vessels}v"
    store_dir = directory / "store"
    nmea = scenario_dir / "traffic.nmea"
    if nmea.is_file():
        console.print(f"[bold]seawatch demo[/]: using the cached scenario in {scenario_dir}")
        paths = {"nmea": nmea}
    else:
        console.print(f"[bold]seawatch demo[/]: simulating {vessels} vessels for {hours:g} h "
                      f"off Ecuador (seed {seed}) into {scenario_dir}")
        with _sim_progress() as on_sim:
            paths = write_scenario(scenario_dir, seed=seed, hours=hours, vessels=vessels,
                                   csv=False, on_progress=on_sim)
    st = Store(store_dir)
    with _progress() as progress:
        task = progress.add_task("ingest", total=1)

        def on_progress(name: str, done: int, total: int) -> None:
            progress.update(task, description=f"ingest {name}", completed=done, total=total)

        reports = st.ingest([paths["nmea"]], on_progress=on_progress)
    _print_reports(reports)
    detect(store=store_dir, zones=None, ports=None, config=None)
    info(store=store_dir, quarantine=False)
    _demo_state(store_dir)
    console.print(f"demo ready in {time.perf_counter() - started:.1f} s. Explore it with: "
                  f"seawatch events --store {store_dir} --format csv --out events.csv")
    if serve_:
        _serve(store_dir, host, port, zones=None, auth=auth)
    else:
        console.print(f"serve the map with: seawatch serve --store {store_dir} --auth local")


def _demo_state(store_dir: Path) -> None:
    """Give the demo store's state a host agency (``seawatch init-state --host-agency
    ECU-NAVY``) when it has none."""
    from seawatch.share.accounts import init_state
    from seawatch.share.audit import record
    from seawatch.share.cli import _actor
    from seawatch.share.db import open_state
    from seawatch.share.errors import ShareError

    state = open_state(store_dir)
    try:
        from seawatch.share.accounts import host_agency

        try:
            host = host_agency(state).name
        except ShareError:
            host = init_state(state, DEMO_HOST_AGENCY, description="demo host agency").name
            record(state, "state.init", actor=_actor(), resource=f"agency:{host}",
                   params={"host_agency": host, "by": "seawatch demo"}, status="ok",
                   client="cli")
            console.print(f"state: host agency {host} (seawatch init-state)")
    finally:
        state.close()


@app.command()
def sim(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the scenario to.")],
    seed: Annotated[int, typer.Option(help="Seed: the same options give the same files.")] = 1,
    hours: Annotated[float, typer.Option(help="Hours of traffic to simulate.")] = 24.0,
    vessels: Annotated[int, typer.Option(help="Vessels at sea (planted ones included).")] = 500,
    start: Annotated[
        str | None,
        typer.Option(help="Start of the period, ISO 8601 UTC [default: 2026-01-15T12:00:00Z]."),
    ] = None,
    noise: Annotated[
        bool,
        typer.Option("--noise/--no-noise",
                     help="Reception model, duplicates, GNSS jitter, shuffled and garbled lines."),
    ] = True,
    csv: Annotated[
        bool, typer.Option("--csv/--no-csv", help="Also write traffic.csv (MarineCadastre).")
    ] = True,
    thinning: Annotated[
        int, typer.Option(help="Stretch ITU-R M.1371 dynamic reporting intervals by this.")
    ] = 6,
) -> None:
    """Simulate traffic off Ecuador with planted behaviours and ground truth.

    Writes traffic.nmea, traffic.csv, zones.geojson, ports.csv, truth.parquet, truth.json,
    negatives.parquet and scenario.json into OUT; see docs/sim.md.
    """
    import json

    if not hours > 0:
        raise _fail(f"--hours must be positive, got {hours:g}")
    if vessels < 0:
        raise _fail(f"--vessels must be zero or more, got {vessels}")
    if thinning < 1:
        raise _fail(f"--thinning must be 1 or more, got {thinning}")
    if out.exists() and not out.is_dir():
        raise _fail(f"--out {out} exists and is not a directory")
    from seawatch.sim import DEFAULT_START, write_scenario

    begin = _parse_time(start) or DEFAULT_START
    started = time.perf_counter()
    console.print(f"[bold]seawatch sim[/]: {vessels} vessels, {hours:g} h from "
                  f"{begin.isoformat()}, seed {seed}, noise {'on' if noise else 'off'} -> {out}")
    with _sim_progress() as on_progress:
        paths = write_scenario(out, seed, hours, vessels, start=begin, noise=noise,
                               thinning=thinning, csv=csv, on_progress=on_progress)
    doc = json.loads(paths["scenario"].read_text(encoding="utf-8"))
    counts = doc["counts"]
    table = Table(title=f"Scenario in {out}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for key in ("tracks", "positions_written", "lines", "lines_garbled"):
        table.add_row(key.replace("_", " "), f"{counts.get(key, 0):,}")
    for typ, n in counts["truth"].items():
        planted = counts["truth_planted"].get(typ, 0)
        table.add_row(f"truth: {typ}", f"{n:,}" + (f" ({planted} planted)" if planted else ""))
    for typ, n in counts["negatives"].items():
        table.add_row(f"hard negatives: {typ}", f"{n:,}")
    console.print(table)
    for miss in counts.get("planted_missing", []):
        err.print(f"[yellow]warning:[/] planted {miss['type']} ({miss.get('name')}) not found "
                  "in the positions; it is not in the truth")
    console.print("files: " + ", ".join(p.name for p in paths.values()))
    console.print(f"done in {time.perf_counter() - started:.1f} s")


def _fail_text(message: str, code: int = 2) -> typer.Exit:
    """:func:`_fail` for messages that may hold brackets (``[gap]``), which rich would eat."""
    from rich.markup import escape

    return _fail(escape(message), code)


ExistingStoreOpt = Annotated[
    Path,
    typer.Option("--store", "-s", help="Store directory (made by seawatch ingest)."),
]


def _open_existing_store(store: Path):  # -> seawatch.store.Store
    from seawatch.store import Store, StoreError

    if not (store / "seawatch-store.json").is_file():
        raise _fail_text(
            f"no store at {store}; create one with: seawatch ingest FILE --store {store}"
        )
    try:
        return Store(store, create=False)
    except StoreError as exc:
        raise _fail_text(str(exc)) from exc


@app.command()
def detect(
    store: ExistingStoreOpt = Path("seawatch-store"),
    zones: Annotated[
        Path | None,
        typer.Option(
            help="Zones (GeoJSON; Shapefile/GeoPackage with pyogrio), each with a 'name' "
            "property; replace the default Ecuador zones."
        ),
    ] = None,
    ports: Annotated[
        Path | None,
        typer.Option(help="Ports CSV (name,lat,lon) or GeoJSON points, added to the shipped."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="TOML file of detector parameters (see docs/detect.md)."),
    ] = None,
) -> None:
    """Detect events in all positions of a store and replace its events table."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as RichProgress

    from seawatch.detect.config import ConfigError, load_config
    from seawatch.detect.run import DETECTED_TYPES, detect_store
    from seawatch.errors import SeawatchError

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        raise _fail_text(str(exc)) from exc
    zone_list = None
    if zones is not None:
        from seawatch.geo import load_zones

        if not zones.is_file():
            raise _fail_text(f"no such zones file: {zones}")
        try:
            zone_list = load_zones(zones)
        except (ValueError, ImportError, OSError, KeyError) as exc:
            raise _fail_text(f"cannot use zones file {zones}: {exc}") from exc
        if not zone_list:
            raise _fail_text(f"zones file {zones} holds no zones")
    port_rows = None
    if ports is not None:
        from seawatch.geo import load_ports

        if not ports.is_file():
            raise _fail_text(f"no such ports file: {ports}")
        try:
            port_rows = load_ports(ports)
        except (ValueError, OSError, KeyError) as exc:
            raise _fail_text(f"cannot use ports file {ports}: {exc}") from exc
    st = _open_existing_store(store)
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
        last = {"step": "", "t": time.perf_counter()}

        def on_progress(step: str, done: int, total: int) -> None:
            now = time.perf_counter()
            if last["step"]:
                step_name = str(last["step"])  # a step runs once per chunk: sum its times
                seconds[step_name] = seconds.get(step_name, 0.0) + now - float(last["t"])
            last["step"], last["t"] = step, now
            label = "detection done" if step == "done" else step.replace("_", " ")
            progress.update(task, description=label, completed=done, total=total)

        try:
            events = detect_store(
                st, zones=zone_list, ports=port_rows, config=cfg, progress=on_progress
            )
        except (ValueError, SeawatchError) as exc:  # no positions, a busy store, ...
            raise _fail_text(str(exc)) from exc
    counts = dict(events.group_by("type").len().iter_rows()) if events.height else {}
    table = Table(title=f"Events detected in {st.path}")
    table.add_column("type")
    table.add_column("events", justify="right")
    for name in DETECTED_TYPES:
        table.add_row(name, f"{counts.get(name, 0):,}")
    table.add_row("[bold]all[/]", f"[bold]{events.height:,}[/]")
    console.print(table)
    if seconds:
        console.print(
            "seconds per step: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
        )
    replaced = "" if before is None else f" (replacing the {before:,} events of the last run)"
    console.print(
        f"{events.height:,} events written to the store in "
        f"{time.perf_counter() - started:.1f} s{replaced}. Export them with: "
        f"seawatch events --store {store} --out events.csv"
    )


@app.command()
def events(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output file (.csv, .geojson or .parquet).")
    ],
    store: ExistingStoreOpt = Path("seawatch-store"),
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", help="Only events of this type (repeatable)."),
    ] = None,
    format_: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="csv, geojson or parquet (default: from --out's suffix)."
        ),
    ] = None,
) -> None:
    """Export the events of a store as CSV (ISO 8601 UTC times), GeoJSON or Parquet."""
    from seawatch import schema
    from seawatch.store.events import export_events, export_format

    try:
        fmt = export_format(out, format_)
    except ValueError as exc:
        raise _fail_text(str(exc)) from exc
    wanted = [t.strip().lower() for t in type_] if type_ else None
    if wanted:
        unknown = [t for t in wanted if t not in schema.EVENT_TYPES]
        if unknown:
            raise _fail_text(
                f"unknown event type {', '.join(unknown)}; valid: {', '.join(schema.EVENT_TYPES)}"
            )
    st = _open_existing_store(store)
    if st.events_info() is None:
        raise _fail_text(f"no events in {store} yet; run: seawatch detect --store {store}")
    frame = st.events(type=wanted).collect()
    export_events(frame, out, fmt)
    what = f" of type {', '.join(wanted)}" if wanted else ""
    console.print(f"{frame.height:,} events{what} written to {out} ({fmt})")


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _check_port_free(host: str, port: int) -> None:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        raise _fail_text(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "choose another with --port (or --host)"
        ) from exc


def _check_auth(auth: str, host: str) -> None:
    from seawatch.api.security import AuthConfigError, check_auth_mode

    try:
        check_auth_mode(auth, host)
    except AuthConfigError as exc:
        raise _fail_text(str(exc)) from exc


def _check_accounts(store: Path) -> None:
    """``--auth required`` needs someone to log in: a host agency and at least one user."""
    from seawatch.share.accounts import host_agency, list_users
    from seawatch.share.db import open_state
    from seawatch.share.errors import ShareError

    state = open_state(store)
    try:
        try:
            host = host_agency(state).name
            users = [u for u in list_users(state) if not u.disabled]
        except ShareError:
            host, users = None, []
    finally:
        state.close()
    if users:
        return
    agency = host or "ECU-NAVY"
    steps = [] if host else [f"seawatch init-state --store {store} --host-agency {agency}"]
    steps += [
        f"seawatch user add admin --agency {agency} --role admin --store {store}",
        f"seawatch token create --user admin --store {store}",
    ]
    raise _fail_text(
        "--auth required, but nobody can log in: the state has "
        + ("no host agency and no users" if host is None else "no (enabled) users")
        + ". Create them first:  " + "  &&  ".join(steps)
        + "  (then send 'Authorization: Bearer <token>', or log in on the map); or serve "
        "this machine only, without login, with --auth local"
    )


def _run_app(app, host: str, port: int) -> None:  # app: fastapi.FastAPI
    """Serve ``app`` with uvicorn until Ctrl-C (the caches warm in the background)."""
    from seawatch.api.server import serve

    serve(app=app, host=host, port=port)


def _serve(store: Path, host: str, port: int, zones: Path | None,
           auth: str = "required") -> None:
    from seawatch.api.app import create_app

    _check_auth(auth, host)
    if auth == "required":
        _check_accounts(store)
    app = create_app(store, zones=zones, auth=auth)
    url = _url(host, port)
    console.print(
        f"[bold]seawatch[/] serving {store} at [bold]{url}[/] (map), {url}docs (API), "
        f"{url}ogc (OGC API - Features). Press Ctrl-C to stop."
    )
    if auth == "local":
        console.print("[yellow]--auth local: no login, read-only, open to this machine only "
                      "(every request is audited as user 'local')[/]")
    else:
        console.print("authentication required: 'Authorization: Bearer <token>' (seawatch "
                      "token create) or a login on the map; every request is audited")
    if host in ("0.0.0.0", "::", ""):
        console.print("[yellow]listening on every interface: anyone who can reach this "
                      "machine can try to log in; use https (a reverse proxy) for passwords[/]")
    _run_app(app, host, port)


@app.command()
def serve(
    store: ExistingStoreOpt = Path("seawatch-store"),
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    zones: Annotated[
        Path | None,
        typer.Option(help="Zones file to show on the map (default: those detection used)."),
    ] = None,
    auth: AuthOpt = "required",
) -> None:
    """Serve the web map, the REST API (/api/v1) and OGC API - Features (/ogc) of a store.

    Every request with data needs an API token (Authorization: Bearer) or a login, and
    answers only what the caller's agency owns or was granted (--auth required, the
    default); --auth local serves the single-user demo on this machine without login."""
    if zones is not None:
        from seawatch.geo import load_zones

        if not zones.is_file():
            raise _fail_text(f"no such zones file: {zones}")
        try:
            if not load_zones(zones):
                raise _fail_text(f"zones file {zones} holds no zones")
        except (ValueError, ImportError, OSError, KeyError) as exc:
            raise _fail_text(f"cannot use zones file {zones}: {exc}") from exc
    _open_existing_store(store)
    _check_auth(auth, host)
    _check_port_free(host, port)
    _serve(store, host, port, zones, auth=auth)


@app.command("eval")
def eval_(
    truth: Annotated[Path, typer.Option(help="Ground-truth events (CSV, Parquet or JSON).")],
    events: Annotated[Path, typer.Option(help="Detected events to score (CSV or Parquet).")],
    out: Annotated[
        Path | None, typer.Option(help="Write the scores as JSON here.")
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

    try:
        t = evaluate.read_events(truth)
        e = evaluate.read_events(events)
    except evaluate.EventsFileError as exc:
        raise _fail(str(exc)) from exc
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
    console.print(table)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(evaluate.report(scores, slack), indent=2) + "\n")
        console.print(f"scores written to {out}")
    if min_f1 is not None:
        failing = [r["type"] for r in scores.iter_rows(named=True) if r["f1"] < min_f1]
        if failing:
            err.print(f"[bold red]F1 below {min_f1:g}[/] for: {', '.join(failing)}")
            raise typer.Exit(1)


def pl_col_lt(name: str, value: float):
    import polars as pl

    return pl.col(name) < value


@app.command()
def version() -> None:
    """Print the seawatch version."""
    from seawatch import __version__

    console.print(__version__)


def _register_sharing() -> None:
    from seawatch.share.cli import register

    register(app)


_register_sharing()
