"""The traffic picture: how many vessels of each type group crossed each H3 cell.

One home for the learned traffic of a store (issue 16, item 4): the positions are put in
H3 cells (resolution 6 by default, cells of about 36 km²), each vessel in its type group
(:data:`GROUPS`, from its AIS ship type), and each ``(cell, group)`` counts the distinct
vessels that reported there and their positions. The ``route_anomaly`` detector reads it: a
vessel that runs for hours through cells where its group has (almost) no traffic is far
from the lanes of its type.

The H3 index of a position is h3's ``latlng_to_cell`` (h3 4.x has no call over arrays; it is
mapped over the coordinate lists, about a million positions a second on one core, see
docs/benchmarks.md); everything else is Polars over columns. The picture is built in chunks
of whole vessels (:func:`picture_of_chunks`): a vessel is counted in one chunk only, so the
distinct vessels of a cell are the sum over the chunks.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, UTC
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> pos = pl.DataFrame({"mmsi": [1, 1, 2], "ts": [t0] * 3,
...                     "lat": [51.0, 51.0, 51.0], "lon": [2.0, 2.0, 2.0]})
>>> ids = pl.DataFrame({"mmsi": [1, 2], "ship_type": [70, 30]})
>>> pic = build_picture(pos, ids, resolution=6)
>>> pic.cells.sort("group").select("group", "vessels", "positions").rows()
[('cargo', 1, 2), ('fishing', 1, 1)]
>>> pic.group_vessels
{'cargo': 1, 'fishing': 1}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import h3
import numpy as np
import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.detect.chunks import Chunks
    from seawatch.store import Store

GROUPS: tuple[str, ...] = ("fishing", "cargo", "tanker", "passenger", "other")
"""The vessel-type groups of the picture; ``other`` holds every other and unknown type."""

TRAFFIC_FILE = "traffic.parquet"
"""The picture's file in the store folder, beside the events (docs/store.md)."""

DEFAULT_RESOLUTION = 6
"""H3 resolution of the picture (cells of about 36 km², 3.2 km edge)."""

CELLS = {"cell": pl.UInt64, "group": pl.String, "vessels": pl.UInt32, "positions": pl.UInt32}
"""Columns of :attr:`Picture.cells`."""

_latlng_to_cell: Callable[[float, float, int], int] = h3.api.basic_int.latlng_to_cell


def group_expr(ship_type: pl.Expr) -> pl.Expr:
    """The type group (:data:`GROUPS`) of an ITU ship-and-cargo code.

    30 fishing; 60-69 passenger; 70-79 cargo; 80-89 tanker; anything else or null ``other``.
    """
    return (
        pl.when(ship_type == 30).then(pl.lit("fishing"))
        .when(ship_type.is_between(60, 69)).then(pl.lit("passenger"))
        .when(ship_type.is_between(70, 79)).then(pl.lit("cargo"))
        .when(ship_type.is_between(80, 89)).then(pl.lit("tanker"))
        .otherwise(pl.lit("other"))
    )


def vessel_groups(vessels: pl.DataFrame | None) -> pl.DataFrame:
    """``mmsi`` -> ``group``, from identities (the latest non-null ``ship_type`` of each)."""
    if vessels is None or vessels.height == 0 or "ship_type" not in vessels.columns:
        return pl.DataFrame(schema={"mmsi": pl.Int64, "group": pl.String})
    return (
        vessels.select(pl.col("mmsi").cast(pl.Int64), "ship_type")
        .group_by("mmsi")
        .agg(pl.col("ship_type").drop_nulls().last())
        .select("mmsi", group_expr(pl.col("ship_type")).alias("group"))
    )


def cells_of(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """H3 cell (as ``uint64``) of each position; 0 where a coordinate is not a valid one."""
    with np.errstate(invalid="ignore"):
        ok = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    out = np.zeros(lat.shape, dtype=np.uint64)
    if ok.any():
        la, lo = lat[ok].tolist(), lon[ok].tolist()
        out[ok] = np.fromiter(
            map(_latlng_to_cell, la, lo, [resolution] * len(la)), dtype=np.uint64, count=len(la)
        )
    return out


def with_cells(positions: pl.DataFrame, vessels: pl.DataFrame | pl.LazyFrame,
               resolution: int) -> pl.DataFrame:
    """``positions`` with ``cell`` (:func:`cells_of`) and ``group`` (from ``vessel_groups``)."""
    groups = vessels.lazy().collect() if isinstance(vessels, pl.LazyFrame) else vessels
    cells = cells_of(positions["lat"].to_numpy(), positions["lon"].to_numpy(), resolution)
    return (
        positions.with_columns(pl.Series("cell", cells, dtype=pl.UInt64))
        .join(groups, on="mmsi", how="left")
        .with_columns(pl.col("group").fill_null("other"))
    )


@dataclass(frozen=True)
class Picture:
    """A traffic picture.

    Attributes
    ----------
    cells
        One row per ``(cell, group)`` with traffic (:data:`CELLS`).
    resolution
        Its H3 resolution.
    start, end
        First and last position time it was built from (None when empty).
    positions
        Positions it was built from.
    group_vessels
        Distinct vessels per group.
    """

    cells: pl.DataFrame
    resolution: int
    start: datetime | None = None
    end: datetime | None = None
    positions: int = 0
    group_vessels: dict[str, int] = field(default_factory=dict)

    @property
    def hours(self) -> float:
        """Hours from the first position to the last (0 when empty)."""
        if self.start is None or self.end is None:
            return 0.0
        return (self.end - self.start).total_seconds() / 3600

    def info(self) -> dict[str, object]:
        """JSON-able description (kept in the Parquet file's metadata)."""
        return {
            "resolution": self.resolution,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "positions": self.positions,
            "group_vessels": self.group_vessels,
        }


def _part(positions: pl.DataFrame, groups: pl.DataFrame, resolution: int) -> tuple[
        pl.DataFrame, pl.DataFrame, datetime | None, datetime | None, int]:
    t = with_cells(positions.select("mmsi", "ts", "lat", "lon"), groups, resolution)
    t = t.filter(pl.col("cell") != 0)
    cells = t.group_by("cell", "group").agg(
        pl.col("mmsi").n_unique().cast(pl.UInt32).alias("vessels"),
        pl.len().cast(pl.UInt32).alias("positions"),
    )
    per_group = t.group_by("group").agg(pl.col("mmsi").n_unique().alias("n"))
    start = t["ts"].min() if t.height else None
    end = t["ts"].max() if t.height else None
    return cells, per_group, start, end, t.height  # type: ignore[return-value]


def _combine(parts: list[tuple[pl.DataFrame, pl.DataFrame, datetime | None, datetime | None,
                               int]], resolution: int) -> Picture:
    if not parts:
        return Picture(pl.DataFrame(schema=CELLS), resolution)
    cells = (
        pl.concat([p[0] for p in parts])
        .group_by("cell", "group")
        .agg(pl.col("vessels").sum().cast(pl.UInt32), pl.col("positions").sum().cast(pl.UInt32))
        .sort("group", "cell")
    )
    per_group = pl.concat([p[1] for p in parts]).group_by("group").agg(pl.col("n").sum())
    starts = [p[2] for p in parts if p[2] is not None]
    ends = [p[3] for p in parts if p[3] is not None]
    return Picture(
        cells=cells,
        resolution=resolution,
        start=min(starts) if starts else None,
        end=max(ends) if ends else None,
        positions=sum(p[4] for p in parts),
        group_vessels={g: int(n) for g, n in sorted(per_group.rows())},
    )


def build_picture(positions: pl.DataFrame, vessels: pl.DataFrame | None,
                  resolution: int = DEFAULT_RESOLUTION) -> Picture:
    """The picture of ``positions`` (``mmsi``, ``ts``, ``lat``, ``lon``) with ``vessels``'
    ship types (identities; unknown vessels are ``other``)."""
    return _combine([_part(positions, vessel_groups(vessels), resolution)], resolution)


def picture_of_chunks(chunks: Chunks, vessels: pl.DataFrame | None,
                      resolution: int = DEFAULT_RESOLUTION) -> Picture:
    """The picture of every chunk's positions (each chunk holds whole vessels)."""
    groups = vessel_groups(vessels)
    parts = [_part(chunks.read(k, ("mmsi", "ts", "lat", "lon")), groups, resolution)
             for k in range(len(chunks))]
    return _combine(parts, resolution)


def build_store_picture(store: Store, resolution: int = DEFAULT_RESOLUTION,
                        chunk_positions: int = 5_000_000) -> Picture:
    """The picture of all of ``store``'s positions, read in chunks of whole vessels."""
    from seawatch.detect.chunks import StoreChunks

    if not store.info()["rows"].get("positions", 0):
        return Picture(pl.DataFrame(schema=CELLS), resolution)
    chunks = StoreChunks.of(store, chunk_positions)
    return picture_of_chunks(chunks, store.latest_identity(), resolution)


def write_picture(picture: Picture, path: Path) -> Path:
    """Write ``picture`` to ``path`` (Parquet, its :meth:`Picture.info` in the metadata),
    atomically (a temporary file renamed over it)."""
    import pyarrow.parquet as pq  # only here: detection never writes the file

    table = picture.cells.to_arrow()
    table = table.replace_schema_metadata(
        {b"seawatch.traffic": json.dumps(picture.info()).encode()}
    )
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def read_picture(path: Path) -> Picture | None:
    """The picture written at ``path``, or None when there is none."""
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    info = json.loads((table.schema.metadata or {})[b"seawatch.traffic"])
    cells = pl.DataFrame(pl.from_arrow(table)).cast(CELLS)  # type: ignore[arg-type]
    return Picture(
        cells=cells,
        resolution=int(info["resolution"]),
        start=None if info["start"] is None else datetime.fromisoformat(info["start"]),
        end=None if info["end"] is None else datetime.fromisoformat(info["end"]),
        positions=int(info["positions"]),
        group_vessels={str(k): int(v) for k, v in info["group_vessels"].items()},
    )


def store_picture_path(store: Store) -> Path:
    """Where ``store``'s picture lives (:data:`TRAFFIC_FILE` in its folder)."""
    return Path(store.path) / TRAFFIC_FILE


def geojson(picture: Picture, groups: set[str] | None = None) -> dict[str, object]:
    """The cells as a GeoJSON FeatureCollection of hexagons (properties ``cell`` as hex,
    ``group``, ``vessels``, ``positions``), optionally only ``groups``."""
    cells = picture.cells
    if groups is not None:
        cells = cells.filter(pl.col("group").is_in(sorted(groups)))
    features = []
    for cell, group, vessels, positions in cells.iter_rows():
        ring = [[lon, lat] for lat, lon in h3.api.basic_int.cell_to_boundary(cell)]
        ring.append(ring[0])
        features.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"cell": h3.int_to_str(cell), "group": group,
                           "vessels": vessels, "positions": positions},
        })
    return {"type": "FeatureCollection", "features": features,
            "properties": picture.info()}
