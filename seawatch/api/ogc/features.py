"""The features of each OGC collection: a page of them (``items``) and one by its id.

Features are written by :mod:`seawatch.export` (the layouts of events, positions and
vessels), from what the caller sees (:class:`~seawatch.api.view.View`); zones come as the
zones' GeoJSON of ``/api/v1/zones``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from seawatch import export
from seawatch.api.view import View
from seawatch.units import BBox

ONE_US = timedelta(microseconds=1)

Page = tuple[str, int, int]
"""A page of features: the features (text, joined by commas), how many, how many match."""


def position_id() -> pl.Expr:
    """The feature id of a position: ``<mmsi>-<microseconds since 1970-01-01 UTC>``."""
    return pl.concat_str(
        pl.col("mmsi").cast(pl.String), pl.lit("-"), pl.col("ts").dt.epoch("us").cast(pl.String)
    )


def vessel_items(view: View, box: BBox | None, lo: datetime | None, hi: datetime | None,
                 offset: int, limit: int) -> Page:
    """Vessels whose latest position lies in ``box`` and ``[lo, hi]``."""
    frame = view.vessels(bbox=box)
    if lo is not None:
        frame = frame.filter(pl.col("ts") >= lo)
    if hi is not None:
        frame = frame.filter(pl.col("ts") <= hi)
    page = frame.slice(offset, limit)
    return export.VESSELS.features(page), page.height, frame.height


def position_items(view: View, box: BBox | None, lo: datetime | None, hi: datetime | None,
                   offset: int, limit: int) -> Page:
    """Positions in ``box`` and ``[lo, hi]``, in store order."""
    page, total = view.positions_page(
        offset, limit, start=lo, end=None if hi is None else hi + ONE_US, bbox=box
    )
    return export.POSITIONS.features(page, id_expr=position_id()), page.height, total


def event_items(view: View, box: BBox | None, lo: datetime | None, hi: datetime | None,
                offset: int, limit: int) -> Page:
    """Events in ``box`` overlapping ``[lo, hi]``, newest first."""
    frame = view.events(bbox=box, start=lo, end=None if hi is None else hi + ONE_US)
    page = frame.slice(offset, limit)
    return export.EVENTS.features(page), page.height, frame.height


def zone_items(view: View, box: BBox | None, lo: datetime | None, hi: datetime | None,
               offset: int, limit: int) -> Page:
    """Zones meeting ``box`` (zones have no time)."""
    features = zone_features(view, box)
    page = features[offset:offset + limit]
    return ",\n".join(json.dumps(f, separators=(",", ":"), ensure_ascii=False)
                      for f in page), len(page), len(features)


def zone_features(view: View, box: BBox | None) -> list[dict[str, Any]]:
    """The zones' features the caller sees, those meeting ``box`` (across the antimeridian
    when ``min_lon > max_lon``)."""
    import shapely

    features: list[dict[str, Any]] = json.loads(view.zones_geojson())["features"]
    if box is None:
        return features
    geometry = {z.name: z.geometry for z in view.zones()}
    x0, y0, x1, y1 = box
    area = (shapely.box(x0, y0, x1, y1) if x0 <= x1 else
            shapely.union(shapely.box(x0, y0, 180, y1), shapely.box(-180, y0, x1, y1)))
    return [f for f in features
            if (g := geometry.get((f.get("properties") or {}).get("name"))) is not None
            and bool(shapely.intersects(g, area))]


ITEMS: dict[str, Callable[..., Page]] = {
    "vessels": vessel_items,
    "positions": position_items,
    "events": event_items,
    "zones": zone_items,
}
"""The page of features of each collection."""


def feature(view: View, collection_id: str, feature_id: str) -> str | None:
    """One feature (text) by its id, or None when there is none the caller may see."""
    if collection_id == "vessels":
        if not (feature_id.isascii() and feature_id.isdigit()) or len(feature_id) > 9:
            return None
        frame = view.vessels().filter(pl.col("mmsi") == int(feature_id))
        return export.VESSELS.features(frame) or None
    if collection_id == "positions":
        mmsi_text, _, us_text = feature_id.partition("-")
        if not (mmsi_text.isdigit() and us_text.isdigit() and mmsi_text.isascii()
                and us_text.isascii() and len(mmsi_text) <= 9 and len(us_text) <= 17):
            return None
        try:
            ts = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us_text))
        except OverflowError:
            return None
        frame = view.positions_frame(mmsi=[int(mmsi_text)], start=ts, end=ts + ONE_US)
        return export.POSITIONS.features(frame.head(1), id_expr=position_id()) or None
    if collection_id == "events":
        return export.EVENTS.features(view.event(feature_id)) or None
    for zone in zone_features(view, None):
        if zone.get("id") == feature_id:
            return json.dumps(zone, separators=(",", ":"), ensure_ascii=False)
    return None
