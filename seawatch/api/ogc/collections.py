"""The OGC collections: what each holds, and its description and extent (of what the
caller sees)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seawatch.api.query import StoreQuery
from seawatch.api.query.stats import frame_extent
from seawatch.api.view import View
from seawatch.units import BBox

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
TRS_GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
JSON = "application/json"
GEOJSON = "application/geo+json"


@dataclass(frozen=True)
class Collection:
    """A feature collection: what it holds and how to page and fetch its features."""

    id: str
    title: str
    description: str
    temporal: bool


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection("vessels", "Vessels",
                   "Latest position and identity of each vessel (feature id: the MMSI); "
                   "datetime applies to the time of the latest position.", True),
        Collection("positions", "Positions",
                   "Every AIS position report (feature id: <mmsi>-<microseconds since "
                   "1970-01-01 UTC>), in store order: UTC day, MMSI, time.", True),
        Collection("events", "Events",
                   "Detected events (gap, encounter, loitering, zone entry/exit, port visit, "
                   "spoofing, ...) at their representative point; datetime keeps events "
                   "overlapping it.", True),
        Collection("zones", "Zones",
                   "Zones the detectors use (marine reserve, territorial sea, EEZ or the "
                   "server's zones file); feature id: a slug of the name.", False),
    )
}
"""The collections, by id."""


def link(href: str, rel: str, type: str = JSON, title: str | None = None) -> dict[str, str]:
    """A link object of OGC API documents.

    >>> link("http://x/ogc", "self", title="This document")
    {'href': 'http://x/ogc', 'rel': 'self', 'type': 'application/json', 'title': 'This document'}
    """
    out = {"href": href, "rel": rel, "type": type}
    if title:
        out["title"] = title
    return out


def extent(query: StoreQuery, view: View, collection: str) -> dict[str, Any]:
    """The ``extent`` of a collection: its box (CRS84; the whole world when empty) and, for
    the temporal ones, its time interval, over what the caller sees."""
    bbox: BBox | None
    interval: list[str | None] = [None, None]
    if collection == "vessels":
        bbox, interval = view.vessels_extent()
    elif collection == "positions":
        bbox, interval = view.positions_extent()
    elif collection == "events":
        if view.full:
            bbox, interval = query.cached(
                "events_extent", lambda: frame_extent(query.events_table(), "start", "end"))
        else:
            bbox, interval = frame_extent(view.events(), "start", "end")
    elif view.full:
        bbox = query.cached("zones_extent", lambda: zones_bounds(query.zones()[0]))
    else:
        bbox = zones_bounds(view.zones())
    out: dict[str, Any] = {
        "spatial": {"bbox": [list(bbox) if bbox else [-180.0, -90.0, 180.0, 90.0]],
                    "crs": CRS84},
    }
    if COLLECTIONS[collection].temporal:
        out["temporal"] = {"interval": [interval], "trs": TRS_GREGORIAN}
    return out


def zones_bounds(zones: list[Any]) -> BBox | None:
    """The box of the zones (None without zones)."""
    import shapely

    if not zones:
        return None
    x0, y0, x1, y1 = shapely.total_bounds([z.geometry for z in zones])
    return (float(x0), float(y0), float(x1), float(y1))


def collection_doc(base: str, query: StoreQuery, view: View, c: Collection) -> dict[str, Any]:
    """A collection's description, extent and links (``base``: the URL of ``/ogc``)."""
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": extent(query, view, c.id),
        "links": [
            link(f"{base}/collections/{c.id}", "self", JSON, c.title),
            link(f"{base}/collections/{c.id}/items", "items", GEOJSON,
                 f"{c.title} as GeoJSON"),
        ],
    }
