"""OGC API - Features - Part 1: Core, under ``/ogc``.

Conformance classes: Core, GeoJSON and OpenAPI 3.0 (the document is ``/openapi.json``).
Collections: ``vessels`` (latest position and identity of each vessel; feature id the MMSI),
``positions`` (every position; feature id ``<mmsi>-<microseconds since 1970>``), ``events``
(feature id the event id) and ``zones`` (feature id a slug of the zone's name). All
geometries are WGS84 longitude/latitude (CRS84).

``items`` takes ``bbox`` (4 or 6 numbers; ``min_lon > max_lon`` crosses the antimeridian),
``datetime`` (an instant, a date, or an interval ``start/end`` with ``..`` for an open end;
both ends inclusive), ``limit`` (1 or more; values above :data:`LIMIT_MAX` are lowered to it,
as the standard asks) and ``offset``; the response carries ``numberMatched``,
``numberReturned``, ``timeStamp`` and ``next``/``prev`` links. A query parameter the API does
not define is a 400 (requirement ``/req/core/query-param-unknown``).

The landing page and the conformance declaration are public (they hold no data); the
collections and their features need a login, and hold only what the caller may see
(:class:`~seawatch.api.view.View`): ``numberMatched``, extents and 404s are computed
after that filter.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

import polars as pl
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from seawatch import export
from seawatch.api import models
from seawatch.api.params import (
    BadRequest,
    BBox,
    format_time,
    parse_bbox,
    parse_datetime_interval,
)
from seawatch.api.query import StoreQuery
from seawatch.api.security import require
from seawatch.api.view import View
from seawatch.share.policy import Access
from seawatch.share.roles import PUBLIC, READ

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
TRS_GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
"""Conformance classes declared at ``/ogc/conformance``."""
LIMIT_DEFAULT = 100
"""Features per page when ``limit`` is absent."""
LIMIT_MAX = 10_000
"""Most features per page; a larger ``limit`` is lowered to it."""
ITEMS_PARAMS = frozenset({"bbox", "datetime", "limit", "offset", "f", "bbox-crs", "crs"})
"""Query parameters ``items`` accepts; any other is a 400."""
OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=3.0"
GEOJSON = "application/geo+json"
JSON = "application/json"
ONE_US = timedelta(microseconds=1)


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


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _link(href: str, rel: str, type: str = JSON, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type}
    if title:
        link["title"] = title
    return link


def _check_params(request: Request) -> None:
    unknown = sorted(set(request.query_params) - ITEMS_PARAMS)
    if unknown:
        raise BadRequest(
            f"unknown query parameter(s) {', '.join(repr(u[:40]) for u in unknown[:5])}; "
            f"this endpoint takes: {', '.join(sorted(ITEMS_PARAMS))}"
        )
    fmt = request.query_params.get("f")
    if fmt is not None and fmt.lower() not in ("json", "geojson", GEOJSON):
        raise BadRequest(f"f={fmt[:40]!r} is not offered; use f=json (GeoJSON)")
    for name in ("crs", "bbox-crs"):
        value = request.query_params.get(name)
        if value is not None and value not in (CRS84, "OGC:CRS84"):
            raise BadRequest(f"{name}={value[:80]!r} is not offered; only {CRS84}")


def build_router(query: StoreQuery) -> APIRouter:
    """The ``/ogc`` router over one store."""
    router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

    # --- extents --------------------------------------------------------------------------

    def _extent(view: View, collection: str) -> dict[str, Any]:
        bbox: BBox | None
        interval: list[str | None] = [None, None]
        if collection == "vessels":
            bbox, interval = view.vessels_extent()
        elif collection == "positions":
            bbox, interval = view.positions_extent()
        elif collection == "events":
            if view.full:
                bbox, interval = query.cached("events_extent", _events_extent)
            else:
                bbox, interval = _frame_extent(view.events(), "start", "end")
        elif view.full:
            bbox = query.cached("zones_extent", _zones_extent)
        else:
            bbox = _zones_bounds(view.zones())
        out: dict[str, Any] = {
            "spatial": {"bbox": [list(bbox) if bbox else [-180.0, -90.0, 180.0, 90.0]],
                        "crs": CRS84},
        }
        if COLLECTIONS[collection].temporal:
            out["temporal"] = {"interval": [interval], "trs": TRS_GREGORIAN}
        return out

    def _events_extent() -> tuple[BBox | None, list[str | None]]:
        frame = query.events_table()
        if frame.height == 0:
            return None, [None, None]
        row = frame.select(
            pl.col("lon").min(), pl.col("lat").min(), pl.col("lon").max().alias("x1"),
            pl.col("lat").max().alias("y1"), pl.col("start").min(), pl.col("end").max(),
        ).row(0)
        box = None if None in row[:4] else (row[0], row[1], row[2], row[3])
        return box, [format_time(row[4]), format_time(row[5])]

    def _zones_extent() -> BBox | None:
        zones, _ = query.zones()
        return _zones_bounds(zones)

    def _zones_bounds(zones: list[Any]) -> BBox | None:
        import shapely

        if not zones:
            return None
        x0, y0, x1, y1 = shapely.total_bounds([z.geometry for z in zones])
        return (float(x0), float(y0), float(x1), float(y1))

    def _collection_doc(request: Request, view: View, c: Collection) -> dict[str, Any]:
        base = _base(request)
        return {
            "id": c.id,
            "title": c.title,
            "description": c.description,
            "itemType": "feature",
            "crs": [CRS84],
            "storageCrs": CRS84,
            "extent": _extent(view, c.id),
            "links": [
                _link(f"{base}/collections/{c.id}", "self", JSON, c.title),
                _link(f"{base}/collections/{c.id}/items", "items", GEOJSON,
                      f"{c.title} as GeoJSON"),
            ],
        }

    # --- landing, conformance, collections -----------------------------------------------

    @router.get("", summary="Landing page", dependencies=[require(PUBLIC)])
    def landing(request: Request) -> Response:
        """Links to the API definition, the conformance declaration and the collections."""
        base = _base(request)
        root = str(request.base_url).rstrip("/")
        return JSONResponse({
            "title": "seawatch OGC API - Features",
            "description": "AIS vessels, positions, detected events and zones of a seawatch "
                           "store, as OGC API - Features (Part 1: Core) with GeoJSON.",
            "links": [
                _link(base, "self", JSON, "This document"),
                _link(f"{root}/openapi.json", "service-desc", OPENAPI_TYPE,
                      "The API definition (OpenAPI 3)"),
                _link(f"{root}/docs", "service-doc", "text/html", "The API documentation"),
                _link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
                _link(f"{base}/conformance",
                      "http://www.opengis.net/def/rel/ogc/1.0/conformance", JSON,
                      "Conformance classes"),
                _link(f"{base}/collections", "data", JSON, "The feature collections"),
                _link(f"{base}/collections", "http://www.opengis.net/def/rel/ogc/1.0/data",
                      JSON, "The feature collections"),
            ],
        })

    router.add_api_route("/", landing, methods=["GET"], include_in_schema=False,
                         dependencies=[require(PUBLIC)])

    @router.get("/conformance", summary="Conformance declaration",
                dependencies=[require(PUBLIC)])
    def conformance() -> Response:
        """The conformance classes of OGC API - Features this API implements."""
        return JSONResponse({"conformsTo": list(CONFORMANCE)})

    @router.get("/collections", summary="The feature collections")
    def collections(request: Request, access: Annotated[Access, require(READ)]) -> Response:
        """Every collection with its extent (of what the caller sees) and links."""
        base = _base(request)
        view = View(query, access)
        return JSONResponse({
            "links": [_link(f"{base}/collections", "self", JSON, "The feature collections")],
            "collections": [_collection_doc(request, view, c) for c in COLLECTIONS.values()],
        })

    def _get_collection(collection_id: str) -> Collection:
        c = COLLECTIONS.get(collection_id)
        if c is None:
            raise HTTPException(
                404,
                f"no collection {collection_id[:60]!r}; collections: {', '.join(COLLECTIONS)}",
            )
        return c

    CollectionPath = Annotated[
        str, Path(max_length=100, description="vessels, positions, events or zones")
    ]

    @router.get("/collections/{collectionId}", summary="One collection",
                responses={404: {"model": models.Error}})
    def collection(request: Request, access: Annotated[Access, require(READ)],
                   collectionId: CollectionPath) -> Response:
        """The collection's description, extent (CRS84, of what the caller sees) and
        links."""
        c = _get_collection(collectionId)
        return JSONResponse(_collection_doc(request, View(query, access), c))

    # --- items ----------------------------------------------------------------------------

    def _vessel_items(view: View, box: BBox | None, lo: datetime | None, hi: datetime | None,
                      offset: int, limit: int) -> tuple[str, int, int]:
        frame = view.vessels(bbox=box)
        if lo is not None:
            frame = frame.filter(pl.col("ts") >= lo)
        if hi is not None:
            frame = frame.filter(pl.col("ts") <= hi)
        page = frame.slice(offset, limit)
        return export.geojson_features(page, id_column="mmsi"), page.height, frame.height

    def _position_items(view: View, box: BBox | None, lo: datetime | None,
                        hi: datetime | None, offset: int, limit: int) -> tuple[str, int, int]:
        page, total = view.positions_page(
            offset, limit, start=lo, end=None if hi is None else hi + ONE_US, bbox=box
        )
        return export.geojson_features(page, id_expr=position_id()), page.height, total

    def _event_items(view: View, box: BBox | None, lo: datetime | None, hi: datetime | None,
                     offset: int, limit: int) -> tuple[str, int, int]:
        frame = view.events(bbox=box, start=lo, end=None if hi is None else hi + ONE_US)
        page = frame.slice(offset, limit)
        text = export.geojson_features(page, id_column="event_id", raw_json=["details"])
        return text, page.height, frame.height

    def _zone_items(view: View, box: BBox | None, lo: datetime | None, hi: datetime | None,
                    offset: int, limit: int) -> tuple[str, int, int]:
        features = _zone_features(view, box)
        page = features[offset:offset + limit]
        return ",\n".join(json.dumps(f, separators=(",", ":"), ensure_ascii=False)
                          for f in page), len(page), len(features)

    def _zone_features(view: View, box: BBox | None) -> list[dict[str, Any]]:
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

    ITEMS: dict[str, Callable[..., tuple[str, int, int]]] = {
        "vessels": _vessel_items,
        "positions": _position_items,
        "events": _event_items,
        "zones": _zone_items,
    }

    @router.get(
        "/collections/{collectionId}/items",
        summary="Features of a collection",
        responses={
            200: {"content": {GEOJSON: {"schema": models.GEOJSON_SCHEMA}},
                  "description": "GeoJSON FeatureCollection"},
            400: {"model": models.Error},
            404: {"model": models.Error},
        },
    )
    def items(
        request: Request,
        access: Annotated[Access, require(READ)],
        collectionId: CollectionPath,
        bbox: Annotated[str | None, Query(
            description="min_lon,min_lat,max_lon,max_lat (CRS84); 6 numbers allowed.",
            examples=["-92,-2,-88,1"])] = None,
        datetime_: Annotated[str | None, Query(
            alias="datetime",
            description="Instant, date, or interval start/end ('..' open), ISO 8601 UTC.",
            examples=["2026-01-15T00:00:00Z/.."])] = None,
        limit: Annotated[int, Query(ge=1, description=(
            f"Features per page (default {LIMIT_DEFAULT}); above {LIMIT_MAX:,} it is "
            f"lowered to {LIMIT_MAX:,}."))] = LIMIT_DEFAULT,
        offset: Annotated[int, Query(ge=0, le=10**12)] = 0,
        f: Annotated[str | None, Query(description="Output format: json (GeoJSON).")] = None,
    ) -> Response:
        """A page of features (GeoJSON FeatureCollection) with ``numberMatched``,
        ``numberReturned``, ``timeStamp`` and ``self``, ``collection``, ``next`` and
        ``prev`` links."""
        c = _get_collection(collectionId)
        _check_params(request)
        box = parse_bbox(bbox)
        lo, hi = parse_datetime_interval(datetime_)
        limit = min(limit, LIMIT_MAX)
        features, returned, matched = ITEMS[c.id](View(query, access), box, lo, hi, offset,
                                                  limit)
        base = _base(request)
        self_url = str(request.url)
        links = [
            _link(self_url, "self", GEOJSON, "This document"),
            _link(f"{base}/collections/{c.id}", "collection", JSON, c.title),
        ]
        if offset + returned < matched:
            links.append(_link(
                str(request.url.include_query_params(offset=offset + returned, limit=limit)),
                "next", GEOJSON, "Next page"))
        if offset > 0:
            links.append(_link(
                str(request.url.include_query_params(offset=max(offset - limit, 0),
                                                     limit=limit)),
                "prev", GEOJSON, "Previous page"))
        members = {
            "numberMatched": matched,
            "numberReturned": returned,
            "timeStamp": format_time(datetime.now(UTC).replace(microsecond=0)),
            "links": links,
        }
        return Response(export.feature_collection(features, members), media_type=GEOJSON)

    @router.get(
        "/collections/{collectionId}/items/{featureId}",
        summary="One feature",
        responses={
            200: {"content": {GEOJSON: {"schema": models.GEOJSON_SCHEMA}},
                  "description": "GeoJSON Feature"},
            404: {"model": models.Error},
        },
    )
    def item(
        request: Request,
        access: Annotated[Access, require(READ)],
        collectionId: CollectionPath,
        featureId: Annotated[str, Path(max_length=500)],
    ) -> Response:
        """One feature by id, with ``self`` and ``collection`` links."""
        c = _get_collection(collectionId)
        text = _feature(View(query, access), c.id, featureId)
        if text is None:
            raise HTTPException(
                404, f"no feature {featureId[:200]!r} in collection {c.id!r}"
            )
        base = _base(request)
        links = [
            _link(f"{base}/collections/{c.id}/items/{quote(featureId, safe='')}", "self",
                  GEOJSON, "This feature"),
            _link(f"{base}/collections/{c.id}", "collection", JSON, c.title),
        ]
        body = text[:-1] + ',"links":' + json.dumps(links) + "}"
        return Response(body, media_type=GEOJSON)

    def _feature(view: View, collection_id: str, feature_id: str) -> str | None:
        if collection_id == "vessels":
            if not (feature_id.isascii() and feature_id.isdigit()) or len(feature_id) > 9:
                return None
            frame = view.vessels().filter(pl.col("mmsi") == int(feature_id))
            return export.geojson_features(frame, id_column="mmsi") or None
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
            return export.geojson_features(frame.head(1), id_expr=position_id()) or None
        if collection_id == "events":
            frame = view.event(feature_id)
            text = export.geojson_features(frame, id_column="event_id", raw_json=["details"])
            return text or None
        for feature in _zone_features(view, None):
            if feature.get("id") == feature_id:
                return json.dumps(feature, separators=(",", ":"), ensure_ascii=False)
        return None

    return router


def _frame_extent(frame: pl.DataFrame, start: str, end: str) -> tuple[BBox | None,
                                                                     list[str | None]]:
    from seawatch.api.view import frame_extent

    return frame_extent(frame, start, end)


def position_id() -> pl.Expr:
    """The feature id of a position: ``<mmsi>-<microseconds since 1970-01-01 UTC>``."""
    return pl.concat_str(
        pl.col("mmsi").cast(pl.String), pl.lit("-"), pl.col("ts").dt.epoch("us").cast(pl.String)
    )
