"""The traffic picture: cells per type group, chunks, the file, the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import h3
import numpy as np
import polars as pl

from seawatch.traffic.density import (
    build_picture,
    cells_of,
    geojson,
    picture_of_chunks,
    read_picture,
    write_picture,
)

T0 = datetime(2026, 1, 15, tzinfo=UTC)


def _positions() -> pl.DataFrame:
    # vessels 1 and 2 (cargo) in one cell, 3 (fishing) in it and another, 4 unknown
    rows = [(1, 0, 51.0, 2.0), (1, 1, 51.001, 2.001), (2, 0, 51.0, 2.0),
            (3, 0, 51.0, 2.0), (3, 5, 52.0, 3.0), (4, 30, 51.0, 2.0), (4, 31, float("nan"), 2.0)]
    return pl.DataFrame({"mmsi": [r[0] for r in rows],
                         "ts": [T0 + timedelta(hours=r[1]) for r in rows],
                         "lat": [r[2] for r in rows], "lon": [r[3] for r in rows]})


IDS = pl.DataFrame({"mmsi": [1, 2, 3, 3], "ship_type": [70, 79, 30, None]})


def test_cells_match_h3_one_by_one() -> None:
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(-89, 89, 500), rng.uniform(-180, 180, 500)
    got = cells_of(lat, lon, 6)
    want = [h3.str_to_int(h3.latlng_to_cell(a, o, 6)) for a, o in zip(lat, lon, strict=True)]
    assert got.tolist() == want
    assert cells_of(np.array([np.nan, 95.0]), np.array([1.0, 1.0]), 6).tolist() == [0, 0]


def test_picture_counts_distinct_vessels_per_group() -> None:
    pic = build_picture(_positions(), IDS, resolution=6)
    here = h3.str_to_int(h3.latlng_to_cell(51.0, 2.0, 6))
    rows = {(c, g): (v, n) for c, g, v, n in pic.cells.iter_rows()}
    assert rows[(here, "cargo")] == (2, 3)
    assert rows[(here, "fishing")] == (1, 1)  # the latest non-null ship type
    assert rows[(here, "other")] == (1, 1)  # unknown type; its NaN position left out
    assert pic.cells.height == 4 and pic.positions == 6
    assert pic.group_vessels == {"cargo": 2, "fishing": 1, "other": 1}
    assert pic.hours == 30.0


class _ByVessel:
    """Chunks of whole vessels: one per MMSI."""

    def __init__(self, positions: pl.DataFrame) -> None:
        self.parts = positions.partition_by("mmsi", maintain_order=True)

    def __len__(self) -> int:
        return len(self.parts)

    def read(self, k: int, columns) -> pl.DataFrame:
        return self.parts[k].select(columns)


def test_chunks_of_whole_vessels_give_the_same_picture(tmp_path) -> None:
    pos = _positions()
    whole = build_picture(pos, IDS, resolution=5)
    chunked = picture_of_chunks(_ByVessel(pos), IDS, resolution=5)  # type: ignore[arg-type]
    assert chunked.cells.equals(whole.cells) and chunked.group_vessels == whole.group_vessels
    back = read_picture(write_picture(chunked, tmp_path / "traffic.parquet"))
    assert back is not None and back.cells.equals(whole.cells)
    assert (back.start, back.end, back.positions) == (whole.start, whole.end, 6)
    assert read_picture(tmp_path / "none.parquet") is None


def test_geojson_hexagons() -> None:
    doc = geojson(build_picture(_positions(), IDS), {"fishing"})
    feats = doc["features"]
    assert isinstance(feats, list) and len(feats) == 2
    ring = feats[0]["geometry"]["coordinates"][0]
    assert len(ring) == 7 and ring[0] == ring[-1]
    assert {f["properties"]["group"] for f in feats} == {"fishing"}


def test_cli_build_writes_the_store_picture(tmp_path) -> None:
    from typer.testing import CliRunner

    from seawatch.cli import app
    from seawatch.sim import write_scenario
    from seawatch.store import Store
    from seawatch.traffic.density import build_store_picture, store_picture_path

    paths = write_scenario(tmp_path / "sim", seed=3, hours=1.0, vessels=20, csv=False)
    store = Store(tmp_path / "store")
    store.ingest([paths["nmea"]])
    result = CliRunner().invoke(app, ["traffic", "build", "--store", str(tmp_path / "store"),
                                      "--resolution", "5"])
    assert result.exit_code == 0, result.output
    written = read_picture(store_picture_path(store))
    assert written is not None and written.resolution == 5
    assert written.positions == store.positions().select(pl.len()).collect().item()
    assert written.cells.equals(build_store_picture(store, 5).cells)
