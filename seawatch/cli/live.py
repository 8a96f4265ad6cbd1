"""``seawatch live`` (feeds into a store, crash-safe) and ``seawatch replay`` (a file played
as a live feed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from seawatch.cli.common import DEFAULT_STORE, StoreOpt, console, err
from seawatch.errors import InvalidValue, NotFound


def _settings(values: list[str] | None) -> dict[str, Any]:
    """``--set KEY=VALUE`` as parameter values (numbers and true/false read as such)."""
    out: dict[str, Any] = {}
    for item in values or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise InvalidValue(f"--set takes KEY=VALUE (e.g. compact_every_s=10); got {item!r}")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        out[key.strip()] = value
    return out


def live(
    store: StoreOpt = DEFAULT_STORE,
    listen: Annotated[
        list[str] | None,
        typer.Option(metavar="[NAME=]URL",
                     help="Listen for a feed: udp://HOST:PORT or tcp://HOST:PORT (repeatable)."),
    ] = None,
    connect: Annotated[
        list[str] | None,
        typer.Option(metavar="[NAME=]URL",
                     help="Connect to a feed: tcp://HOST:PORT, or a NATS JetStream subject "
                     "nats://HOST:PORT/SUBJECT[?stream=S&durable=D]; reconnected with "
                     "back-off, its outages recorded (repeatable)."),
    ] = None,
    wal_dir: Annotated[
        Path | None,
        typer.Option("--wal-dir", metavar="DIR",
                     help="Folder of the write-ahead log, status.json and outages.json "
                     "(default: STORE/live)."),
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE",
                     help="A parameter of docs/live.md, e.g. --set compact_every_s=10 "
                     "(repeatable)."),
    ] = None,
    detect: Annotated[
        bool,
        typer.Option("--detect/--no-detect",
                     help="Run the detectors after each compaction (incremental detection: "
                     "the events table stays that of seawatch detect; docs/live.md)."),
    ] = True,
    zones: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Zones for detection, as seawatch detect --zones."),
    ] = None,
    ports: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Ports for detection, as seawatch detect --ports."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Detector parameters (TOML), as seawatch detect "
                     "--config."),
    ] = None,
    installations: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Fixed installations, as seawatch detect "
                     "--installations."),
    ] = None,
) -> None:
    """Receive AIS feeds, log every line durably, and compact them into the store.

    Lines are acknowledged once in the fsynced write-ahead log; every compact_every_s the log
    is committed to the store (deduplicated, as seawatch ingest does) and its segments
    deleted. After a crash, the next start replays the log: every acknowledged line is in
    the store once. Stops on Ctrl-C or SIGTERM after a last compaction. Without --listen or
    --connect, compacts what the log holds and exits. With --detect (the default) the
    detectors run after each compaction on a window of the store, and the events table is
    kept equal to what seawatch detect would write. See docs/live.md.
    """
    import asyncio

    from seawatch.live.feeds import parse_endpoint
    from seawatch.live.params import LiveParams
    from seawatch.live.service import LiveService, status_line
    from seawatch.params import build_params

    endpoints = [parse_endpoint(u, "listen") for u in listen or []]
    endpoints += [parse_endpoint(u, "connect") for u in connect or []]
    params = build_params(LiveParams, _settings(settings), origin="--set")

    def on_status(status: dict[str, Any]) -> None:
        err.print(status_line(status), highlight=False, markup=False)

    detection = None
    if detect:
        from seawatch.cli.common import read_ports_file, read_zones_file
        from seawatch.cli.detect import read_installations_file
        from seawatch.detect.config import load_config
        from seawatch.live.detect import LiveDetection

        detection = LiveDetection(
            zones=None if zones is None else read_zones_file(zones),
            ports=None if ports is None else read_ports_file(ports),
            config=load_config(config),
            installations=None if installations is None else read_installations_file(
                installations),
        )
    service = LiveService(store, endpoints, live_dir=wal_dir, params=params, on_status=on_status,
                          detection=detection)
    if endpoints:
        err.print("seawatch live: " + ", ".join(f"{e.name} ({e.mode} {e.url})" for e in endpoints)
                  + f" -> {store}", highlight=False, markup=False)
    asyncio.run(service.run())
    status = service.status()
    console.print(f"stopped: {status['acknowledged_lines']:,} lines acknowledged, "
                  f"{status['compactions']} compaction(s), log compacted to "
                  f"{status['compacted_position']}")


def replay(
    path: Annotated[Path, typer.Argument(metavar="FILE",
                                         help="NMEA capture or CSV export (plain or compressed).")],
    to: Annotated[
        str, typer.Option("--to", metavar="URL",
                          help="Where to send: udp://HOST:PORT, tcp://HOST:PORT or "
                          "nats://HOST:PORT/SUBJECT[?stream=S] (JetStream).")
    ] = "udp://127.0.0.1:10110",
    speed: Annotated[
        float, typer.Option(help="Times faster than the file's own pace (0: as fast as "
                            "possible).")
    ] = 60.0,
    retime: Annotated[
        bool, typer.Option("--retime", help="Stamp the first line now (tag-block c: times "
                           "shifted by one offset).")
    ] = False,
    format: Annotated[
        str | None,
        typer.Option(help="Input format: nmea, csv, marinecadastre, dma (default: sniffed)."),
    ] = None,
    rate: Annotated[
        float, typer.Option(help="Lines per second (before --speed) of a capture without "
                            "times.")
    ] = 10.0,
) -> None:
    """Play a capture or a simulated scenario as a live feed, at the pace of its times.

    Lines are sent unchanged (but for --retime), each when its time says, --speed times
    faster. See docs/live.md.
    """
    from seawatch.live.feeds import parse_endpoint
    from seawatch.live.replay import replay as play
    from seawatch.live.replay import timed_lines

    if not path.is_file():
        raise NotFound(f"no such file: {path}")
    if not rate > 0:
        raise InvalidValue(f"--rate must be positive, got {rate:g}")
    endpoint = parse_endpoint(to, "connect" if to.startswith("nats://") else "listen")
    timed = timed_lines(path, format=format, rate=rate)
    span = (float(timed.times_us.max() - timed.times_us.min()) / 1e6) if len(timed) else 0.0
    pace = f"{span / speed:,.0f} s at speed {speed:g}" if speed > 0 else "as fast as possible"
    err.print(f"replaying {len(timed):,} lines ({span / 3600:,.2f} h of traffic) to "
              f"{endpoint.url}: {pace}", highlight=False, markup=False)
    report = play(timed, endpoint, speed=speed, retime_to_now=retime)
    console.print(f"sent {report.lines:,} lines ({report.bytes:,} bytes) in "
                  f"{report.seconds:,.1f} s")
