"""Opening inputs (seawatch.io.sources.open_binary): one opener for every reader, so plain,
gzip, bzip2, zstandard and zip files read the same whether the format is given or sniffed."""

from __future__ import annotations

import bz2
import gzip
import zipfile
from pathlib import Path

import pytest
import zstandard
from polars.testing import assert_frame_equal

from seawatch.io import read_input, sniff_format
from seawatch.io.sources import InputError, open_binary
from tests.conftest import shared_data_path

SAMPLES = {
    "csv": ("ais-csv", "dma-aisdk", "aisdk_20180601_head.csv"),
    "nmea": ("ais-nmea", "kystverket", "norwegian.raw"),
}
"""A real sample of each format (shared/data)."""


def deflated_zip(sample: Path, folder: Path) -> Path:
    """``sample`` packed alone in a deflated zip archive named ``<sample>.zip``."""
    path = folder / f"{sample.name}.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(sample, sample.name)
    return path


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_a_deflated_zip_is_sniffed_and_read_like_the_plain_file(tmp_path, fmt):
    sample = shared_data_path(*SAMPLES[fmt])
    packed = deflated_zip(sample, tmp_path)
    assert sniff_format(sample) == sniff_format(packed) == fmt
    plain = read_input(sample, source="rx")
    zipped = read_input(packed, source="rx")  # the format sniffed from the archive's file
    assert plain.positions.height > 0
    for table in ("positions", "vessels", "stations", "other_messages"):
        assert_frame_equal(getattr(zipped, table), getattr(plain, table))
    assert zipped.quarantine_counts == plain.quarantine_counts
    assert zipped.stats["input_bytes"] == packed.stat().st_size


@pytest.mark.parametrize(
    ("kind", "pack"),
    [
        ("gz", gzip.compress),
        ("bz2", bz2.compress),
        ("zst", lambda data: zstandard.ZstdCompressor().compress(data)),
        ("plain", lambda data: data),
    ],
)
def test_every_compression_opens_to_the_same_bytes(tmp_path, kind, pack):
    data = b"!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C\n" * 100
    path = tmp_path / f"capture.{kind}"
    path.write_bytes(pack(data))
    with open_binary(path) as (stream, raw):
        assert stream.read() == data
        assert raw.tell() == path.stat().st_size
    assert stream.closed and raw.closed


def test_a_zip_of_several_files_is_refused_with_its_members(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "mmsi,ts,lat,lon\n")
        archive.writestr("b.csv", "mmsi,ts,lat,lon\n")
    with pytest.raises(InputError, match=r"exactly one file; found \['a.csv', 'b.csv'\]"):
        sniff_format(path)
    with pytest.raises(InputError, match="exactly one file"):
        read_input(path, format="csv")


def test_a_damaged_zip_is_an_input_error(tmp_path):
    path = tmp_path / "cut.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.nmea", "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C\n" * 50)
    path.write_bytes(path.read_bytes()[:-30])  # the end of the central directory is gone
    with pytest.raises(InputError, match=r"cut\.zip: cannot read"):
        read_input(path, format="nmea")
