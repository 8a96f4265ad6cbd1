"""Fixtures of the CSV reader tests: the real samples beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.io.csv.csv_helpers import AIS_CSV


@pytest.fixture(scope="session")
def ais_csv_dir() -> Path:
    """``shared/data/ais-csv`` beside the repository; the test is skipped when it is absent."""
    if not AIS_CSV.is_dir():
        pytest.skip(f"real AIS CSV samples not found at {AIS_CSV} (shared/data is absent)")
    return AIS_CSV


def _sample(directory: Path, *parts: str) -> Path:
    path = directory.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"AIS CSV sample missing: {path}")
    return path


@pytest.fixture(scope="session")
def marinecadastre_sample(ais_csv_dir: Path) -> Path:
    """1,000 MarineCadastre rows, 1,000 distinct MMSIs, 2023-01-11 (AISdb test data)."""
    return _sample(ais_csv_dir, "aisdb", "test_data_noaa_20230101.csv")


@pytest.fixture(scope="session")
def dma_sample(ais_csv_dir: Path) -> Path:
    """The 10-row DMA sample with a leading unnamed index column (mobiml)."""
    return _sample(ais_csv_dir, "dma-aisdk", "test_aisdk_20180208_sample.csv")


@pytest.fixture(scope="session")
def dma_head(ais_csv_dir: Path) -> Path:
    """The 138-row DMA extract with class A/B, base stations, AtoN and 91/181 positions."""
    return _sample(ais_csv_dir, "dma-aisdk", "aisdk_20180601_head.csv")
