"""Tables stay truthful at any width: no digit cut, every header and file name whole."""

from __future__ import annotations

import re

import pytest
from rich.console import Console
from rich.table import Table

from seawatch.cli.common import LOG_WIDTH, console
from seawatch.cli.tables import layout, needed_width, print_table


def summary(*names: str) -> Table:
    """A table like the ingest summary: a file-name column, then numbers that do not wrap."""
    table = Table(title="Ingest summary")
    table.add_column("input", overflow="fold")
    for header in ("lines", "messages", "positions", "vessels", "duplicates", "quarantined",
                   "seconds", "lines/s"):
        table.add_column(header, justify="right", no_wrap=True)
    for k, name in enumerate(names):
        table.add_row(name, f"{8_551 + k:,}", "13,051", "9,766", "77", "3,208", "21",
                      "86.45", "1,234,567")
    return table


def printed(table: Table, width: int) -> str:
    out = Console(width=width, color_system=None, soft_wrap=True)
    with out.capture() as captured:
        print_table(table, out)
    return captured.get()


def tokens(text: str) -> set[str]:
    """The words of a printed table, its lines and box drawing left out."""
    return set(re.split(r"[\s│┃┌┐└┘├┤┬┴┼─━╇┡┩┏┓┗┛┳┻╋]+", text))


def squashed(text: str) -> str:
    """The printed table without spaces and box drawing: a folded name reads whole."""
    return re.sub(r"[\s│┃┌┐└┘├┤┬┴┼─━╇┡┩┏┓┗┛┳┻╋]+", "", text)


CELLS = ["8,551", "8,552", "13,051", "9,766", "3,208", "86.45", "1,234,567"]
HEADERS = ["input", "lines", "messages", "positions", "vessels", "duplicates", "quarantined",
           "seconds", "lines/s"]


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 200])
def test_every_digit_and_header_survives_any_width(width):
    names = ("traffic.nmea", "test_aisdk_20180208_sample.csv")
    text = printed(summary(*names), width)
    assert max(len(line) for line in text.splitlines()) <= width
    seen = tokens(text)
    for cell in [*CELLS, *HEADERS]:
        assert cell in seen, (width, cell, text)
    for name in names:  # whole, or folded over lines at the narrowest
        assert name in (seen if width >= 60 else squashed(text)), (width, name, text)
    assert "…" not in text


def test_layouts_in_order_of_width():
    table = summary("traffic.nmea")
    boxed = needed_width(table)
    assert layout(table, boxed) == "boxed" and layout(table, boxed - 1) == "compact"
    assert layout(table, 80) == "vertical"  # the ingest summary at 80 columns
    assert layout(table, 200) == "boxed"


def test_a_file_name_longer_than_the_line_is_folded_not_cut():
    name = "a_capture_with_a_very_long_name_from_a_coastal_receiver_2026-01-15.nmea.gz"
    text = printed(summary(name), 40)
    assert squashed(text).count(name) == 1


def test_vertical_layout_is_one_block_per_row_without_empty_cells():
    table = summary("one.nmea", "two.nmea")
    table.add_row("three.nmea", "already in the store: skipped")
    text = printed(table, 50)
    blocks = text.split("├")
    assert len(blocks) == 3
    assert "three.nmea" in blocks[2] and "messages" not in blocks[2]


def test_results_follow_columns_and_are_wide_in_a_log(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert console.width == 80
    monkeypatch.delenv("COLUMNS")
    assert console.width == LOG_WIDTH  # not a terminal here: a log or a pipe


BOX = re.compile(r"[│┃┌┐└┘├┤┬┴┼─━╇┡┩┏┓┗┛┳┻╋]")


def table_lines(text: str) -> list[str]:
    """The lines of the tables in a command's output (those drawn with box characters)."""
    return [line for line in text.splitlines() if BOX.search(line)]


def shows_whole(text: str, columns: int, *cells: str) -> None:
    """Assert that the tables of ``text`` fit ``columns`` and show every cell whole."""
    lines = table_lines(text)
    assert lines and max(len(line) for line in lines) <= columns, text
    seen = tokens(text)
    missing = [c for c in cells if c not in seen]
    assert not missing, (missing, text)
