"""Tables that stay truthful at any terminal width.

Rich fits a table that is too wide for the terminal by narrowing its columns, and a column
that may not wrap is then cut: at 80 columns the ingest summary showed ``8,55`` for 8,551 and
headers such as ``secon``. :func:`print_table` never lets that happen. It prints a table in
the first of three layouts in which every cell fits whole:

1. **as built** (boxed), when the columns fit side by side: numbers and headers whole, text
   columns (file names) wrapped only between words;
2. **compact**: the same columns without the box, one space between them and a rule under
   the headers;
3. **vertical**: one block per row, a line per column (``header  value``), values folded
   when longer than the line, so every file name and every digit is shown.

A column built with ``no_wrap=True`` (numbers) needs its widest cell; a column that folds
(``overflow="fold"``) and has a ``min_width`` may break its words anywhere down to that width
(raw NMEA lines, which have no spaces); any other column needs its longest word. The header
counts as a cell.

Examples
--------
>>> from rich.console import Console
>>> from rich.table import Table
>>> table = Table("input", "lines", "duplicates", "quarantined", title="Ingest summary")
>>> table.add_row("traffic.nmea", "14,543", "3,208", "21")
>>> layout(table, 60)
'boxed'
>>> layout(table, 45)
'compact'
>>> layout(table, 30)
'vertical'
>>> narrow = Console(width=30, color_system=None)
>>> with narrow.capture() as out:
...     print_table(table, narrow)
>>> print(out.get())  # doctest: +NORMALIZE_WHITESPACE
         Ingest summary
┌─────────────┬──────────────┐
│ input       │ traffic.nmea │
│ lines       │ 14,543       │
│ duplicates  │ 3,208        │
│ quarantined │ 21           │
└─────────────┴──────────────┘
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Literal

from rich import box
from rich.measure import Measurement
from rich.table import Table

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console, RenderableType

Layout = Literal["boxed", "compact", "vertical"]

_UNLIMITED = 100_000
"""Width at which cells are measured (as if the terminal had no edge)."""


def print_table(table: Table, out: Console | None = None) -> None:
    """Print ``table`` on ``out`` (default: the results console) in the first layout of the
    module docstring in which every cell fits whole."""
    from seawatch.cli.common import console

    target = console if out is None else out
    chosen = layout(table, target.size.width, target)
    if chosen == "boxed":
        target.print(table)
    elif chosen == "compact":
        target.print(compact(table))
    else:
        target.print(vertical(table))


def layout(table: Table, width: int, out: Console | None = None) -> Layout:
    """The layout :func:`print_table` uses for ``table`` at ``width`` columns."""
    if needed_width(table, out) <= width:
        return "boxed"
    if needed_width(compact(table), out) <= width:
        return "compact"
    return "vertical"


def needed_width(table: Table, out: Console | None = None) -> int:
    """Columns ``table`` needs to show every cell whole: for each column its widest cell
    when it may not wrap (numbers), its ``min_width`` when it folds words, else its longest
    word; plus padding, plus the box's lines."""
    from rich.console import Console

    measure_on = out or Console(width=_UNLIMITED)
    options = measure_on.options.update_width(_UNLIMITED)
    total = 0
    for index, column in enumerate(table.columns):
        cells: list[RenderableType] = list(column.cells)
        if table.show_header:
            cells.append(column.header)
        widths = [Measurement.get(measure_on, options, cell) for cell in cells]
        if column.no_wrap:
            content = max((m.maximum for m in widths), default=0)
        elif column.overflow == "fold" and column.min_width:
            content = min(max((m.minimum for m in widths), default=0), column.min_width)
        else:
            content = max((m.minimum for m in widths), default=0)
        total += max(content, column.min_width or 0) + _padding(table, index)
    if table.box:
        total += len(table.columns) - 1 + (2 if table.show_edge else 0)
    return total


def _padding(table: Table, index: int) -> int:
    _, right, _, left = table.padding
    if not table.pad_edge:
        left = 0 if index == 0 else left
        right = 0 if index == len(table.columns) - 1 else right
    return left + right


def compact(table: Table) -> Table:
    """``table`` without its box: a space between columns, a rule under the headers."""
    narrow = copy.copy(table)
    narrow.box = box.SIMPLE_HEAD
    narrow.show_edge = False
    narrow.padding = (0, 0)
    return narrow


def vertical(table: Table) -> Table:
    """``table`` as one block per row: a line per column (header, value), blocks separated
    by a rule; empty cells are left out. Values fold when longer than the line."""
    out = Table(title=table.title, caption=table.caption, show_header=False,
                title_style=table.title_style)
    out.add_column(no_wrap=True)
    out.add_column(overflow="fold")
    headers = [column.header for column in table.columns]
    rows = list(zip(*(list(column.cells) for column in table.columns), strict=True))
    for k, row in enumerate(rows):
        items = [(h, v) for h, v in zip(headers, row, strict=True) if v != ""]
        for j, (header, value) in enumerate(items):
            out.add_row(header, value, end_section=j == len(items) - 1 and k < len(rows) - 1)
    return out
