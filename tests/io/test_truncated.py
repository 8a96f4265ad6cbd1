"""A file that breaks off part-way keeps every line read before the break (the rest of the
file cannot be read) and says so in the quarantine; one that cannot be read at all is an
error, as before."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from seawatch.io import read_input
from seawatch.io.sources import InputError
from seawatch.store import Store

PACK = {"gz": gzip.compress, "bz2": lambda data: bz2.compress(data, 1)}
"""Compressions whose libraries report a stream that ends early (zstandard does not: a
zstd file cut inside a frame simply ends, see docs/nmea.md). bzip2 decodes whole blocks
(100 kB of text at level 1, 900 kB at 9): what is kept ends at the last whole block."""


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from seawatch.sim import write_scenario

    return write_scenario(tmp_path_factory.mktemp("trunc"), seed=4, hours=6, vessels=60)


def cut(tmp_path: Path, data: bytes, kind: str, name: str, share: float = 0.6) -> Path:
    packed = PACK[kind](data)
    path = tmp_path / f"{name}.{kind}"
    path.write_bytes(packed[: int(len(packed) * share)])
    return path


def prefix_file(tmp_path: Path, data: bytes, lines: int, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(data.splitlines(keepends=True)[:lines]))
    return path


@pytest.mark.parametrize("kind", list(PACK))
def test_a_truncated_nmea_file_keeps_the_lines_before_the_break(tmp_path, scenario, kind):
    data = scenario["nmea"].read_bytes()
    result = read_input(cut(tmp_path, data, kind, "traffic.nmea"), source="rx")
    assert result.quarantine_counts["truncated"] == 1
    note = result.quarantine.filter(pl.col("reason") == "truncated").row(0, named=True)
    assert "cannot be read past this line" in note["raw"] and "EOFError" in note["raw"]
    kept = note["line_no"]
    assert 0 < kept < data.count(b"\n")
    # exactly what the same lines give from a plain file
    expected = read_input(prefix_file(tmp_path, data, kept, "prefix.nmea"), source="rx")
    assert result.positions.height > 0
    for table in ("positions", "vessels", "stations", "other_messages"):
        assert_frame_equal(getattr(result, table), getattr(expected, table))


@pytest.mark.parametrize("kind", list(PACK))
def test_a_truncated_csv_file_keeps_the_rows_before_the_break(tmp_path, scenario, kind):
    data = scenario["csv"].read_bytes()
    result = read_input(cut(tmp_path, data, kind, "traffic.csv"), source="rx")
    assert result.quarantine_counts["truncated"] == 1
    kept = result.quarantine.filter(pl.col("reason") == "truncated")["line_no"][0]
    assert 1 < kept < data.count(b"\n")
    expected = read_input(prefix_file(tmp_path, data, kept, "prefix.csv"), source="rx")
    assert result.positions.height == expected.positions.height > 0
    assert_frame_equal(result.positions, expected.positions)


def test_a_file_of_which_nothing_can_be_read_is_an_error(tmp_path, scenario):
    data = scenario["nmea"].read_bytes()
    path = tmp_path / "head.nmea.gz"
    path.write_bytes(gzip.compress(data)[:12])  # the gzip header and nothing more
    with pytest.raises(InputError, match="cannot read"):
        read_input(path)


def test_the_store_keeps_a_truncated_input_beside_good_ones(tmp_path, scenario):
    data = scenario["nmea"].read_bytes()
    broken = cut(tmp_path, data, "gz", "broken.nmea", share=0.5)
    store = Store(tmp_path / "store")
    good, part = store.ingest([scenario["nmea"], broken])
    assert part.quarantine == {**part.quarantine, "truncated": 1}
    assert 0 < part.rows_read["positions"] < good.rows_read["positions"]
    assert store.info()["quarantine"]["truncated"] == 1
