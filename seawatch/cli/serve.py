"""``seawatch serve`` (the map, REST and OGC API of a store) and ``seawatch demo`` (simulate,
ingest, detect, then serve)."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seawatch.cli.common import (
    DEFAULT_STORE,
    ExistingStoreOpt,
    console,
    file_progress,
    open_store,
    read_zones_file,
    sim_progress,
)
from seawatch.cli.detect import detect
from seawatch.cli.ingest import info, print_reports
from seawatch.cli.share import record_change
from seawatch.errors import InvalidValue, Unavailable

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

DEFAULT_DEMO_DIR = Path("seawatch-demo")
"""Where ``seawatch demo`` keeps its scenario and store when ``--dir`` is not given."""
DEMO_HOST_AGENCY = "ECU-NAVY"
"""Host agency `seawatch demo` creates in a store without one."""

HostOpt = Annotated[
    str,
    typer.Option(metavar="ADDRESS",
                 help="Address to listen on (0.0.0.0: every interface of this machine)."),
]
PortOpt = Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")]
AuthOpt = Annotated[
    str,
    typer.Option(
        "--auth", metavar="MODE",
        help="required: every data request needs an API token or a login (see `seawatch user "
        "add`, `seawatch token create`); local: the single-user demo without login, "
        "read-only, answering this machine only (--host must be 127.0.0.1, ::1 or "
        "localhost).",
    ),
]

TrustedProxyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--trusted-proxy", metavar="IP/CIDR",
        help="A reverse proxy in front (its address as it connects, or a network; repeat for "
        "several): only its X-Forwarded-For names the client whom throttling and the audit "
        "see. Default: none, every client is its own TCP address. --auth required only.",
    ),
]


def serve(
    store: ExistingStoreOpt = DEFAULT_STORE,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    zones: Annotated[
        Path | None,
        typer.Option(metavar="FILE",
                     help="Zones file to show on the map (default: those detection used)."),
    ] = None,
    auth: AuthOpt = "required",
    trusted_proxy: TrustedProxyOpt = None,
    risk_config: Annotated[
        Path | None,
        typer.Option("--risk-config", metavar="FILE", exists=True, dir_okay=False,
                     help="A TOML file whose [risk] table sets the watch list's weights "
                     "(docs/risk.md)."),
    ] = None,
) -> None:
    """Serve the web map, the REST API (/api/v1) and OGC API - Features (/ogc) of a store.

    Every request with data needs an API token (Authorization: Bearer) or a login, and
    answers only what the caller's agency owns or was granted (--auth required, the
    default); --auth local serves the single-user demo on this machine without login.
    Behind a reverse proxy, name it with --trusted-proxy (see docs/api.md)."""
    from seawatch.api.security import check_auth_mode, parse_trusted_proxies
    from seawatch.risk import load_risk_params

    proxies = list(trusted_proxy or [])
    if zones is not None:
        read_zones_file(zones)
    load_risk_params(risk_config)  # a bad file is refused before the server starts
    open_store(store)
    check_auth_mode(auth, host, proxies)
    parse_trusted_proxies(proxies)
    with _reserve_port(host, port) as sock:
        _serve(store, host, port, zones, auth=auth, trusted_proxies=proxies, sock=sock,
               risk=risk_config)


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _reserve_port(host: str, port: int) -> socket.socket:
    """The socket the server will listen on, bound now: the port is ours from here on, so
    nothing can take it between this check and the server's start (the demo simulates and
    ingests for a minute in between)."""
    from seawatch.api.server import bind_socket

    try:
        return bind_socket(host, port)
    except OSError as exc:
        raise Unavailable(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "choose another with --port (or --host)"
        ) from exc


def _check_accounts(store: Path) -> None:
    """``--auth required`` needs someone to log in: a host agency and at least one user."""
    from seawatch.share.accounts import host_agency, list_users
    from seawatch.share.db import open_state
    from seawatch.share.errors import ShareError

    state = open_state(store)
    try:
        try:
            host: str | None = host_agency(state).name
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
    raise Unavailable(
        "--auth required, but nobody can log in: the state has "
        + ("no host agency and no users" if host is None else "no (enabled) users")
        + ". Create them first:  " + "  &&  ".join(steps)
        + "  (then send 'Authorization: Bearer <token>', or log in on the map); or serve "
        "this machine only, without login, with --auth local"
    )


def _run_app(app: FastAPI, host: str, port: int, sock: socket.socket) -> None:
    """Serve ``app`` with uvicorn on ``sock`` until Ctrl-C (the caches warm in the
    background)."""
    from seawatch.api.server import serve as serve_app

    serve_app(app=app, host=host, port=port, sock=sock)


def _serve(store: Path, host: str, port: int, zones: Path | None,
           auth: str = "required", trusted_proxies: list[str] | None = None,
           *, sock: socket.socket, risk: Path | None = None) -> None:
    from seawatch.api.app import create_app
    from seawatch.api.security import check_auth_mode

    proxies = list(trusted_proxies or [])
    check_auth_mode(auth, host, proxies)
    if auth == "required":
        _check_accounts(store)
    app = create_app(store, zones=zones, auth=auth, trusted_proxies=proxies, risk=risk)
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
        console.print("client addresses: " + (
            "X-Forwarded-For believed from " + ", ".join(str(n) for n in
                                                         app.state.security.proxies.networks)
            if proxies else "each connection's own (no --trusted-proxy)"))
    if host in ("0.0.0.0", "::", ""):
        console.print("[yellow]listening on every interface: anyone who can reach this "
                      "machine can try to log in; use https (a reverse proxy) for passwords[/]")
    _run_app(app, host, port, sock)


def demo(
    directory: Annotated[
        Path,
        typer.Option("--dir", metavar="DIR",
                     help="Where the demo keeps its scenario and store."),
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
    live: Annotated[
        bool,
        typer.Option("--live", help="The whole live loop instead: a fresh store fed by "
                     "seawatch live over UDP, the scenario replayed into it, an alert rule, "
                     "and the map in live mode (docs/live.md)."),
    ] = False,
    speed: Annotated[
        float,
        typer.Option(help="With --live: times faster than the scenario's own pace."),
    ] = 120.0,
) -> None:
    """Simulate Eastern Pacific traffic off Ecuador, ingest it, detect events, summarise,
    then serve the map (unless --no-serve).

    With --live: simulate the scenario, start seawatch live (incremental detection) on a
    fresh store <DIR>/live-store whose state has an alert rule (encounters, loitering,
    spoofing, gaps), replay the scenario into it over UDP at --speed, and serve the map,
    whose live mode shows the vessels moving and the alerts arriving; Ctrl-C stops all.

    The scenario is written once per (seed, hours, vessels) and reused; ingesting it again
    adds nothing, so running the demo twice is quick and leaves the same store. The store's
    state gets the host agency ECU-NAVY when it has none, and the demo serves without login
    (--auth local) to this machine only.
    """
    from seawatch.api.security import check_auth_mode

    if serve_ or live:
        check_auth_mode(auth, host)
    if live:
        if speed <= 0:
            raise InvalidValue(f"--speed must be positive with --live, got {speed:g}")
        with _reserve_port(host, port) as sock:
            _demo_live(directory, seed, hours, vessels, host, port, auth, speed, sock)
        return
    # the port is taken before the long work, so a busy port fails now, not after it
    with _reserve_port(host, port) if serve_ else contextlib.nullcontext() as sock:
        _demo(directory, seed, hours, vessels, host, port, auth, sock)


def _scenario(directory: Path, seed: int, hours: float, vessels: int) -> Path:
    """The demo's scenario (traffic.nmea), simulated once per (seed, hours, vessels)."""
    from seawatch.sim import write_scenario

    scenario_dir = directory / f"scenario-seed{seed}-{hours:g}h-{vessels}v"
    nmea = scenario_dir / "traffic.nmea"
    if nmea.is_file():
        console.print(f"[bold]seawatch demo[/]: using the cached scenario in {scenario_dir}")
        return nmea
    console.print(f"[bold]seawatch demo[/]: simulating {vessels} vessels for {hours:g} h "
                  f"off Ecuador (seed {seed}) into {scenario_dir}")
    with sim_progress() as on_sim:
        paths = write_scenario(scenario_dir, seed=seed, hours=hours, vessels=vessels,
                               csv=False, on_progress=on_sim)
    return Path(paths["nmea"])


def _demo(directory: Path, seed: int, hours: float, vessels: int, host: str, port: int,
          auth: str, sock: socket.socket | None) -> None:
    from seawatch.store import Store

    started = time.perf_counter()
    store_dir = directory / "store"
    paths = {"nmea": _scenario(directory, seed, hours, vessels)}
    st = Store(store_dir)
    with file_progress() as progress:
        task = progress.add_task("ingest", total=1)

        def on_progress(name: str, done: int, total: int) -> None:
            progress.update(task, description=f"ingest {name}", completed=done, total=total)

        reports = st.ingest([paths["nmea"]], on_progress=on_progress)
    print_reports(reports)
    detect(store=store_dir, zones=None, ports=None, config=None)
    info(store=store_dir, quarantine=False)
    _demo_state(store_dir)
    console.print(f"demo ready in {time.perf_counter() - started:.1f} s. Explore it with: "
                  f"seawatch events --store {store_dir} --format csv --out events.csv")
    if sock is not None:
        _serve(store_dir, host, port, zones=None, auth=auth, sock=sock)
    else:
        console.print(f"serve the map with: seawatch serve --store {store_dir} --auth local")


DEMO_LIVE_RULE = "demo: encounters, loitering, spoofing, gaps"
"""The alert rule of ``seawatch demo --live``."""
DEMO_LIVE_TYPES = ("encounter", "loitering", "spoofing", "gap")
"""Its event types."""
DEMO_LIVE_COMPACT_S = 5.0
"""``compact_every_s`` of the demo's live service: a new snapshot (the markers move) every
few seconds instead of the production default's minute."""


def _demo_live(directory: Path, seed: int, hours: float, vessels: int, host: str, port: int,
               auth: str, speed: float, sock: socket.socket) -> None:
    """``seawatch demo --live``: the scenario replayed over UDP into ``seawatch live`` on a
    fresh store with an alert rule, and the map served; everything stops on Ctrl-C."""
    import asyncio
    import shutil
    import threading

    from seawatch.live.detect import LiveDetection
    from seawatch.live.feeds import parse_endpoint
    from seawatch.live.params import LiveParams
    from seawatch.live.replay import replay, timed_lines
    from seawatch.live.service import LiveService
    from seawatch.share.alerts import add_rule
    from seawatch.share.db import open_state

    nmea = _scenario(directory, seed, hours, vessels)
    store_dir = directory / "live-store"
    if store_dir.exists():  # a fresh store and state every time
        shutil.rmtree(store_dir)
    from seawatch.store import Store

    Store(store_dir)
    _demo_state(store_dir)
    state = open_state(store_dir)
    try:
        add_rule(state, DEMO_LIVE_RULE, event_types=list(DEMO_LIVE_TYPES),
                 note="seawatch demo --live")
    finally:
        state.close()
    service = LiveService(store_dir, [parse_endpoint("udp://127.0.0.1:0", "listen")],
                          params=LiveParams(compact_every_s=DEMO_LIVE_COMPACT_S),
                          handle_signals=False, detection=LiveDetection())
    failed: list[BaseException] = []

    def run_service() -> None:
        try:
            asyncio.run(service.run())
        except BaseException as exc:  # reported below
            failed.append(exc)

    worker = threading.Thread(target=run_service, name="seawatch-live", daemon=True)
    worker.start()
    while not service.ready.wait(0.1):
        if failed or not worker.is_alive():
            raise failed[0] if failed else RuntimeError("seawatch live stopped while starting")
    feed = parse_endpoint(service.feeds[0].stats.address, "listen")
    timed = timed_lines(nmea)
    console.print(f"seawatch live on {store_dir}, feed {feed.url}; replaying {len(timed):,} "
                  f"lines at {speed:g}x; alert rule {DEMO_LIVE_RULE!r}")
    player = threading.Thread(target=replay, args=(timed, feed), kwargs={"speed": speed},
                              name="seawatch-replay", daemon=True)
    player.start()
    try:
        _serve(store_dir, host, port, zones=None, auth=auth, sock=sock)
    finally:
        service.stop()
        worker.join(60)
        if failed:
            raise failed[0]


def _demo_state(store_dir: Path) -> None:
    """Give the demo store's state a host agency (``seawatch init-state --host-agency
    ECU-NAVY``) when it has none."""
    from seawatch.share.accounts import host_agency, init_state
    from seawatch.share.db import open_state
    from seawatch.share.errors import ShareError

    state = open_state(store_dir)
    try:
        try:
            host = host_agency(state).name
        except ShareError:
            host = init_state(state, DEMO_HOST_AGENCY, description="demo host agency").name
            record_change(state, "state.init", f"agency:{host}",
                          {"host_agency": host, "by": "seawatch demo"})
            console.print(f"state: host agency {host} (seawatch init-state)")
    finally:
        state.close()
