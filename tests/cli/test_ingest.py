"""``seawatch ingest`` and ``seawatch info`` on a real capture: the summary, the store it
makes, inputs that cannot be read, and clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seawatch.cli import app
from seawatch.store import Store
from tests.conftest import shared_data_path

TIME = ["--time", "2024-05-01T00:00:00Z"]


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
    assert cells[1:6] == ["243", "243", "165", "19", "38"]  # lines .. duplicates
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
    shows_whole(result.stdout, columns, "ais250.txt", "243", "165", "19", "38", "duplicates",
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

