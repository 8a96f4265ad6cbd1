"""``seawatch ingest`` and ``seawatch info`` on a real capture: the summary, the store it
makes, inputs that cannot be read, and clear errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from seawatch.cli import app
from seawatch.store import Store
from tests.conftest import shared_data_path

TIME = ["--time", "2024-05-01T00:00:00Z", "--duration", "1h"]


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


@pytest.fixture
def capture() -> Path:
    """243 NMEA sentences without times (dma-aislib's ais250.txt)."""
    return shared_data_path("ais-nmea", "dma-aislib", "ais250.txt")


def row(text: str, name: str) -> list[str]:
    """The cells of the table row that starts with ``name``."""
    line = next(t for t in text.splitlines() if re.match(rf"[│┃ ]+{re.escape(name)}\b", t))
    return [c.strip() for c in re.split(r"[│┃]", line) if c.strip()]


def test_ingest_then_info(capture, tmp_path):
    store = tmp_path / "store"
    result = invoke("ingest", capture, "--store", store, *TIME)
    assert result.exit_code == 0, result.output
    cells = row(result.stdout, "ais250.txt")
    # lines .. duplicates; one duplicate is a late copy: 367740010 under way at 7.5 kn, the
    # same report 4 lines (59 s of the spread capture) after the first
    assert cells[1:6] == ["243", "243", "165", "19", "37"]
    assert "committed 1 input(s) as snapshot 1" in result.stdout
    assert "messages by type: 1: 162, 3: 13" in result.stdout
    assert Store(store).info()["rows"]["positions"] == 165  # type: ignore[index]
    again = invoke("ingest", capture, "--store", store, *TIME)
    assert again.exit_code == 0 and "already in the store: skipped" in again.stdout
    shown = invoke("info", "--store", store, "--quarantine")
    assert shown.exit_code == 0, shown.output
    assert row(shown.stdout, "rows: positions")[1] == "165"
    assert "no quarantined lines" in shown.stdout


def test_an_input_that_is_not_ais_is_named_and_skipped(capture, tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\nworld\n")
    result = invoke("ingest", junk, capture, "--store", tmp_path / "s", *TIME)
    assert result.exit_code == 1
    assert f"not ingested: {junk}: neither NMEA AIS sentences" in result.stderr
    assert "1 input(s) not ingested: junk.txt" in result.stderr
    assert row(result.stdout, "ais250.txt")[3] == "165"  # the other input is in


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/missing.nmea"], "error: no such file: {tmp}/missing.nmea"),
        (["{capture}", "--map", "lat"], "error: --map takes CANONICAL=COLUMN"),
        (["{capture}", "--time", "soon"], "error: --time 'soon' is not an ISO 8601 time"),
        (["{capture}", "--time", "2024-05-01"], "error: --time gives the receive time of the "
                                                "first line of a capture that carries no time"),
        (["{capture}", "--duration", "1h"], "error: --duration and --line-spacing place the"),
        (["{capture}", "--time", "2024-05-01", "--duration", "1h", "--line-spacing", "1s"],
         "error: give --duration or --line-spacing, not both"),
        (["{capture}", "--time", "2024-05-01", "--line-spacing", "often"],
         "error: cannot read --line-spacing 'often'"),
        (["{capture}", "--dedup-window", "soon"], "error: cannot read --dedup-window 'soon'"),
        (["{capture}", "--same-clock", "0s"],
         "error: clock setting same_clock must be positive"),
    ],
)
def test_ingest_errors(capture, tmp_path, args, message):
    argv = [a.format(tmp=tmp_path, capture=capture) for a in args]
    result = invoke("ingest", *argv, "--store", tmp_path / "s")
    assert result.exit_code == 2
    assert result.stderr.startswith(message.format(tmp=tmp_path))
    assert not (tmp_path / "s").exists()


def test_info_of_a_missing_store_creates_nothing(tmp_path):
    result = invoke("info", "--store", tmp_path / "nothing")
    assert result.exit_code == 2
    assert "no store at" in result.stderr and "seawatch ingest FILE" in result.stderr
    assert not (tmp_path / "nothing").exists()


@pytest.mark.parametrize("columns", [80, 200])
def test_summary_and_info_are_truthful_at(columns, capture, tmp_path):
    from tests.cli.test_tables import shows_whole

    env = {"COLUMNS": str(columns)}
    store = str(tmp_path / "store")
    result = CliRunner().invoke(app, ["ingest", str(capture), "--store", store, *TIME], env=env)
    assert result.exit_code == 0, result.output
    shows_whole(result.stdout, columns, "ais250.txt", "243", "165", "19", "37", "duplicates",
                "quarantined", "seconds", "lines/s", "positions", "vessels")
    shown = CliRunner().invoke(app, ["info", "--store", store], env=env)
    shows_whole(shown.stdout, columns, "165", "positions", "2024-05-01")


def test_info_quarantine_counts_each_reason_then_a_few_of_each(capture, tmp_path):
    """Counts per reason first, then at most --sample lines of each reason (it once printed
    50 lines of one reason and no counts)."""
    good = capture.read_text().splitlines()[:30]
    bad_checksum = [line[:-2] + ("00" if line[-2:] != "00" else "11") for line in good[:8]]
    junk = ["hello world", "not an AIS sentence either"]
    path = tmp_path / "mixed.nmea"
    path.write_text("\n".join(good[8:] + bad_checksum + junk) + "\n")
    store = tmp_path / "store"
    assert invoke("ingest", path, "--store", store, *TIME).exit_code == 0
    shown = invoke("info", "--store", store, "--quarantine", "--sample", "3")
    assert shown.exit_code == 0, shown.output
    text = shown.stdout
    counts = text[text.index("Quarantined lines by reason"):]
    assert row(counts, "bad_checksum") == ["bad_checksum", "8", "8", "3"]  # lines, kept, shown
    assert row(counts, "not_ais") == ["not_ais", "2", "2", "2"]
    assert counts.index("bad_checksum") < counts.index("not_ais")  # most lines first
    assert "bad_checksum: 3 of 8 line(s)" in text and "not_ais: 2 of 2 line(s)" in text
    sample = text[text.index("bad_checksum: 3 of 8"):text.index("not_ais: 2 of 2")]
    assert sum(line in sample for line in bad_checksum) == 3
    assert "hello world" in text[text.index("not_ais: 2 of 2"):]



def test_an_untimed_capture_loses_no_report_as_a_duplicate(tmp_path):
    """The AISHub sample (three minutes of a live feed, no times) with --time and its span:
    the lines are spread over the three minutes, and the store drops a position only when
    the same report (same content, same UTC second as sent) was heard at most 30 s before
    it, in the capture's time, or, for a vessel under way, up to 10 min before it when the
    vessel had moved 100 m by its own speed in between: two transmissions with one UTC second
    are a minute apart, and a vessel that moved sends a new position, so what is dropped are
    copies, never a vessel's next report. Stamping one instant on every line had dropped 5,922
    rows, copies up to three minutes apart included."""
    from seawatch.io.nmea import read_nmea
    from seawatch.store.dedup import DEFAULT_DEDUP_WINDOW, KNOT_M_PER_US, LATE_COPIES, RULES

    capture = shared_data_path("ais-nmea", "aishub-sample", "ais-nmea-sample.log")
    start = "2015-10-06T00:00:00Z"
    store = tmp_path / "store"
    result = invoke("ingest", capture, "--store", store, "--time", start, "--duration", "3m")
    assert result.exit_code == 0, result.output
    stored = Store(store).positions().collect()
    decoded = read_nmea(capture, default_time=start, duration="3m").positions
    first, last = decoded["ts"].min(), decoded["ts"].max()  # (the file opens with comments)
    assert datetime(2015, 10, 6, tzinfo=UTC) < first < datetime(2015, 10, 6, 0, 0, 1, tzinfo=UTC)
    assert datetime(2015, 10, 6, 0, 2, 59, tzinfo=UTC) < last <= datetime(2015, 10, 6, 0, 3,
                                                                          tzinfo=UTC)
    assert decoded["ts"].n_unique() > 70_000  # one instant per line, not one for all
    dropped = decoded.join(stored, on=decoded.columns, how="anti", nulls_equal=True)
    assert stored.height + dropped.height == decoded.height
    assert 0 < dropped.height < 2_000
    # each dropped row repeats an earlier row of the same report within the window
    key = list(RULES["positions"].key)
    earlier = (
        decoded.sort("ts")
        .with_columns(previous=pl.col("ts").shift(1).over(key))
        .join(dropped.select(*key, "ts"), on=[*key, "ts"], nulls_equal=True)
    )
    assert earlier.height == dropped.height
    gaps = earlier.select((pl.col("ts") - pl.col("previous")).alias("gap"))["gap"]
    assert gaps.null_count() == 0
    # ... within the window, or late copies of a vessel under way (the feed relays reports
    # again 30 s to 2.5 min later: 438 of them; 5 more are a transmission's second late
    # copy, kept: a late copy of a late copy is a report, see docs/store.md), but for one
    # copy that the
    # clock check drops as displaced (seawatch.store.clocks: a moored vessel of the shared
    # MMSI 1193046 between reports of another vessel)
    late = earlier.filter(pl.col("ts") - pl.col("previous") > DEFAULT_DEDUP_WINDOW)
    gap_us = (pl.col("ts") - pl.col("previous")).dt.total_microseconds()
    moved_m = pl.col("sog") * KNOT_M_PER_US * gap_us
    copies = late.filter(moved_m > LATE_COPIES.moved_m)
    assert copies.height == 438
    assert late.filter(moved_m <= LATE_COPIES.moved_m)["mmsi"].to_list() == [1193046]
    assert gaps.max() <= timedelta(minutes=3)


def test_ingest_then_detect_in_one_process(tmp_path):
    from seawatch.sim import write_scenario

    paths = write_scenario(tmp_path / "sim", seed=3, hours=3, vessels=40, csv=False)
    store = tmp_path / "store"
    result = invoke("ingest", paths["nmea"], "--store", store, "--detect")
    assert result.exit_code == 0, result.output
    assert "Ingest summary" in result.stdout
    assert "Events detected in" in result.stdout
    info = Store(store).events_info()
    assert info is not None and int(info["rows"]) > 0


def test_a_wrong_tag_block_checksum_and_an_overlong_name_are_reported(tmp_path):
    from tests.io.nmea import nmea_text as nt

    good = nt.tag_block(s="rx", c=1700000000) + nt.sentence("13HOI:0P0000VOHLCnHQKwvL05Ip", 0)
    flipped = good.replace("c:1", "c:3", 1)
    nmea = tmp_path / "flipped.nmea"
    nmea.write_text(good + "\n" + flipped + "\n")
    csv = tmp_path / "long.csv"
    csv.write_text("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName\n"
                   f"735057000,2023-01-11T00:00:00,-0.9,-80.7,3.5,500,12,{'X' * 10_000}\n")
    result = invoke("ingest", nmea, csv, "--store", tmp_path / "s")
    assert result.exit_code == 0, result.output
    assert ("values that cannot be true: courses out of range (nulled): 1, rows with a text "
            "field cut to 100 characters: 1, tag-block times with a wrong checksum (not used): "
            "1") in " ".join(result.stdout.split())


def test_station_clocks_in_the_ingest_summary_and_info(tmp_path):
    from tests.store.test_clocks import H5, heard, traffic, write

    tx = traffic(1)
    paths = [
        write(tmp_path / "a.nmea", heard(tx, "a", 0.8, 1)),
        write(tmp_path / "b.nmea", heard(tx, "b", 0.5, 2)),
        write(tmp_path / "c.nmea", heard(tx, "c", 0.5, 3, H5)),
    ]
    store = tmp_path / "store"
    result = invoke("ingest", *paths, "--store", store)
    assert result.exit_code == 0, result.output
    line = next(t for t in result.stdout.splitlines() if t.startswith("station c"))
    assert "station c in c.nmea: clock -5 h (local time?) from" in line
    assert "times corrected" in line
    assert not [t for t in result.stdout.splitlines() if t.startswith(("station a", "station b"))]
    shown = invoke("info", "--store", store)
    assert shown.exit_code == 0, shown.output
    assert row(shown.stdout, "c")[1:3] == ["-5 h (local time?)", "corrected"]
    assert row(shown.stdout, "a")[1:3] == ["+0 s", "on_time"]


def test_info_lists_each_coverage_outage_once(capture, tmp_path):
    """Two captures two days apart: every vessel is silent between them, which is one
    coverage outage of the store (listed by info), not a gap of each vessel."""
    store = tmp_path / "store"
    lines = capture.read_text().splitlines()
    assert invoke("ingest", capture, "--store", store, *TIME).exit_code == 0
    alone = invoke("info", "--store", store)
    assert "no coverage outages" in alone.stdout
    later = tmp_path / "later.nmea"
    later.write_text("\n".join(lines[2:]) + "\n")
    args = ["--time", "2024-05-03T00:00:00Z", "--duration", "1h", "--detect"]
    assert invoke("ingest", later, "--store", store, *args).exit_code == 0
    text = invoke("info", "--store", store).stdout
    assert "Coverage outages (1)" in text
    assert row(text, "store") == ["store", "(all feeds)", "2024-05-01T00:59:30.247934Z",
                                  "2024-05-03T00:00:00Z", "47"]
    assert Store(store).events(type="gap").collect().height == 0


def test_info_lists_the_outages_seawatch_live_recorded(capture, tmp_path):
    """A store a live service ran on: the spans its feeds had no connection, from the live
    folder's outages.json, with their reason (an open one marked so)."""
    from seawatch.live.outages import OutageLog

    store = tmp_path / "store"
    assert invoke("ingest", capture, "--store", store, *TIME).exit_code == 0
    assert "Live feed outages" not in invoke("info", "--store", store).stdout
    (store / "live").mkdir()
    (store / "live" / "outages.json").write_text("[]\n")  # a service ran: no outage
    assert "no live feed outages" in invoke("info", "--store", store).stdout
    log = OutageLog(store / "live" / "outages.json")
    log.add("aggregator", 1_714_521_600.0, 1_714_521_600.0 + 90.25, "connection refused")
    log.begin("manta", 1_714_525_200.0, "silent for 120 s")
    text = invoke("info", "--store", store).stdout
    assert "Live feed outages (2)" in text
    assert row(text, "aggregator") == ["aggregator", "2024-05-01T00:00:00Z",
                                       "2024-05-01T00:01:30.250000Z", "90.2",
                                       "connection refused"]
    assert row(text, "manta")[2:4] == ["(open)", "-"]


def test_the_ingest_options_default_to_the_store_defaults(tmp_path):
    """--dedup-window, --late-copy-window, --same-clock, --clock-agreement and
    --clock-unstable default to the constants of seawatch.store.dedup and .clocks."""
    import inspect

    from seawatch.cli.ingest import ingest, open_ingest_store
    from seawatch.store import clocks, dedup

    names = ("dedup_window", "late_copy_window", "same_clock", "clock_agreement",
             "clock_unstable")
    params = inspect.signature(ingest).parameters
    st = open_ingest_store(tmp_path / "s", *(params[n].default for n in names))
    assert st.dedup_window == dedup.DEFAULT_DEDUP_WINDOW
    assert st.settings.late_copies == dedup.LATE_COPIES
    assert st.settings.clock_settings == clocks.ClockSettings(window=dedup.DEFAULT_DEDUP_WINDOW)
