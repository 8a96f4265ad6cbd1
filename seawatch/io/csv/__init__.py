"""Readers of AIS CSV exports: MarineCadastre (US), Danish Maritime Authority, and any CSV.

``read_csv`` reads a whole file into the canonical tables of ``seawatch.schema``;
``iter_csv`` reads it in batches of bounded size. ``format="auto"`` tells the format from the
header. See ``docs/csv.md`` for the formats and the ``mapping`` option.

Examples
--------
>>> import tempfile, pathlib
>>> tmp = tempfile.TemporaryDirectory()
>>> path = pathlib.Path(tmp.name) / "fixes.csv"
>>> _ = path.write_text("Id,Time,Y,X\\n735057000,2024-03-01 12:00:00,-0.95,-80.7\\n")
>>> result = read_csv(path, mapping={"mmsi": "Id", "ts": "Time", "lat": "Y", "lon": "X"})
>>> result.positions.select("mmsi", "lat", "lon", "source").row(0)
(735057000, -0.95, -80.7, 'fixes.csv')
>>> tmp.cleanup()
"""

from __future__ import annotations

from seawatch.io.csv.generic import CsvFormat, CsvFormatError
from seawatch.io.csv.reader import FORMATS, iter_csv, read_csv, sniff_format

__all__ = ["FORMATS", "CsvFormat", "CsvFormatError", "iter_csv", "read_csv", "sniff_format"]
