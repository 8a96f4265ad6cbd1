"""``seawatch replay``: the times of the lines, the pace, --retime; and the live command line."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from seawatch.cli import app
from seawatch.live.feeds import parse_endpoint
from seawatch.live.params import parameter_table
from seawatch.live.replay import replay, retime, timed_lines

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_each_line_has_the_time_of_its_message(scenario):
    timed = timed_lines(scenario)
    lines = scenario.read_bytes().splitlines()
    assert len(timed) == len(lines)
    for i in (0, 5, 6, 100, len(lines) - 1):  # 5 and 6: the two lines of one message
        stamp = int(lines[i].split(b"c:")[1][:10])
        assert timed.times_us[i] == stamp * 1_000_000
        assert timed.line(i) == lines[i] + b"\n"


def test_a_capture_without_times_plays_at_its_rate(tmp_path):
    path = tmp_path / "untimed.nmea"
    path.write_bytes(b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23\n" * 5)
    timed = timed_lines(path, rate=4)
    assert np.diff(timed.times_us).tolist() == [250_000] * 4


def test_lines_go_out_at_the_pace_of_their_times_scaled_by_speed(scenario):
    timed = timed_lines(scenario)
    got: list[tuple[float, bytes]] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(3)

        def receive() -> None:
            with contextlib.suppress(TimeoutError):
                while len(got) < len(timed):
                    got.append((time.monotonic(), sink.recv(4096)))

        reader = threading.Thread(target=receive)
        reader.start()
        to = parse_endpoint(f"udp://127.0.0.1:{sink.getsockname()[1]}", "listen")
        t = timed.times_us
        speed = (t[-1] - t[0]) / 1e6 / 1.0  # the file in one second
        started = time.monotonic()
        report = replay(timed, to, speed=speed)
        took = time.monotonic() - started
        reader.join()
    assert report.lines == len(timed) == len(got)
    assert 0.95 <= took <= 3.0
    assert got[0][1] == timed.line(0) and got[-1][1] == timed.line(len(timed) - 1)
    # the line half-way through the file's time arrives half-way through the replay
    middle = int(np.searchsorted(t, (t[0] + t[-1]) / 2))
    assert got[middle][0] - started == pytest.approx(0.5, abs=0.25)


def test_retime_moves_tag_block_times_and_nothing_else():
    body = b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23\n"
    line = b"\\s:rx,c:1700000000*%02X\\" % _xor(b"s:rx,c:1700000000") + body
    moved = retime(line, 3600)
    assert moved == b"\\s:rx,c:1700003600*%02X\\" % _xor(b"s:rx,c:1700003600") + body
    assert retime(b"\\s:rx,c:1700000000123*7F\\!AIVDM\n", 1) == (
        b"\\s:rx,c:1700000000123*7F\\!AIVDM\n")  # a wrong checksum: left alone
    ms = b"\\c:1700000000123*%02X\\!x\n" % _xor(b"c:1700000000123")
    assert b"c:1700000001123" in retime(ms, 1)
    assert retime(b"!AIVDM,1,1,,A,13HO,0*23\n", 50) == b"!AIVDM,1,1,,A,13HO,0*23\n"


def _xor(data: bytes) -> int:
    x = 0
    for b in data:
        x ^= b
    return x


def test_the_commands_refuse_what_they_cannot_use(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["live", "--store", str(tmp_path / "s"), "--listen", "http://x:1"])
    assert bad.exit_code == 2 and "udp://HOST:PORT" in bad.output
    bad = runner.invoke(app, ["live", "--store", str(tmp_path / "s"), "--connect", "udp://x:1"])
    assert bad.exit_code == 2 and "tcp://HOST:PORT" in bad.output
    bad = runner.invoke(app, ["live", "--store", str(tmp_path / "s"), "--set", "fsync_ms=5"])
    assert bad.exit_code == 2 and "unknown parameter 'fsync_ms'" in bad.output
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        bad = runner.invoke(app, ["live", "--store", str(tmp_path / "s"),
                                  "--listen", f"tcp://127.0.0.1:{port}"])
    assert bad.exit_code != 0 and "cannot listen on tcp://127.0.0.1:" in bad.output
    bad = runner.invoke(app, ["replay", str(tmp_path / "none.nmea")])
    assert bad.exit_code == 2 and "no such file" in bad.output


@pytest.mark.parametrize("command", ["live", "replay"])
def test_the_commands_have_help(command):
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "docs/live.md" in result.stdout


def test_docs_live_md_lists_every_parameter_as_the_model_says():
    assert parameter_table() in (ROOT / "docs" / "live.md").read_text(encoding="utf-8")


def test_a_csv_export_plays_as_nmea_in_time_order(tmp_path):
    from seawatch.io.nmea import decode_lines

    path = tmp_path / "export.csv"
    path.write_text(
        "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
        "Length,Width,Draft,Cargo,TransceiverClass\n"
        "355807000,2026-01-15T12:10:00,-0.41,-80.87,12.8,203.8,200,MARE SPIRIT,IMO9289829,"
        "3FU7YW,71,0,299.0,44.0,8.4,,A\n"
        "735057000,2026-01-15T12:00:00,-0.95,-80.70,0.1,10.0,,,,,30,0,,,,,A\n"
    )
    timed = timed_lines(path)
    assert np.all(np.diff(timed.times_us) >= 0)
    back = decode_lines(timed.data)
    pos = back.positions.sort("ts")
    assert pos["mmsi"].to_list() == [735057000, 355807000]
    assert (timed.times_us[-1] - timed.times_us[0]) == 600 * 1_000_000
    assert back.vessels.height >= 1  # the identity of the named vessel goes out too
