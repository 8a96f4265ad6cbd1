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

The modules: :mod:`~seawatch.api.ogc.collections` (the collections, their descriptions and
extents) and :mod:`~seawatch.api.ogc.features` (the features of each collection); the
routes are here.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

import json
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from seawatch import export
from seawatch.api import models
from seawatch.api.ogc.collections import (
    COLLECTIONS,
    CRS84,
    GEOJSON,
    JSON,
    Collection,
    collection_doc,
    link,
)
from seawatch.api.ogc.features import ITEMS, feature
from seawatch.api.params import parse_bbox, parse_datetime_interval
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.view import View
from seawatch.errors import InvalidValue, NotFound
from seawatch.share.policy import Access
from seawatch.share.roles import PUBLIC, READ
from seawatch.units import format_time

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


def base_url(request: Request) -> str:
    """The URL of ``/ogc`` as the client asked for it."""
    return str(request.base_url).rstrip("/") + "/ogc"


def check_items_params(request: Request) -> None:
    """Refuse (400) a query parameter ``items`` does not define, a format other than
    GeoJSON, or a CRS other than CRS84."""
    unknown = sorted(set(request.query_params) - ITEMS_PARAMS)
    if unknown:
        raise InvalidValue(
            f"unknown query parameter(s) {', '.join(repr(u[:40]) for u in unknown[:5])}; "
            f"this endpoint takes: {', '.join(sorted(ITEMS_PARAMS))}"
        )
    fmt = request.query_params.get("f")
    if fmt is not None and fmt.lower() not in ("json", "geojson", GEOJSON):
        raise InvalidValue(f"f={fmt[:40]!r} is not offered; use f=json (GeoJSON)")
    for name in ("crs", "bbox-crs"):
        value = request.query_params.get(name)
        if value is not None and value not in (CRS84, "OGC:CRS84"):
            raise InvalidValue(f"{name}={value[:80]!r} is not offered; only {CRS84}")


def get_collection(collection_id: str) -> Collection:
    """The collection of an id (a 404 naming the collections otherwise)."""
    c = COLLECTIONS.get(collection_id)
    if c is None:
        raise NotFound(
            f"no collection {collection_id[:60]!r}; collections: {', '.join(COLLECTIONS)}"
        )
    return c


CollectionPath = Annotated[
    str, Path(max_length=100, description="vessels, positions, events or zones")
]


def build_router(query: StoreQuery) -> APIRouter:
    """The ``/ogc`` router over one store."""
    router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

    # --- landing, conformance, collections -----------------------------------------------

    @router.get("", summary="Landing page", dependencies=[require(PUBLIC)])
    def landing(request: Request) -> Response:
        """Links to the API definition, the conformance declaration and the collections."""
        base = base_url(request)
        root = str(request.base_url).rstrip("/")
        return JSONResponse({
            "title": "seawatch OGC API - Features",
            "description": "AIS vessels, positions, detected events and zones of a seawatch "
                           "store, as OGC API - Features (Part 1: Core) with GeoJSON.",
            "links": [
                link(base, "self", JSON, "This document"),
                link(f"{root}/openapi.json", "service-desc", OPENAPI_TYPE,
                     "The API definition (OpenAPI 3)"),
                link(f"{root}/docs", "service-doc", "text/html", "The API documentation"),
                link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
                link(f"{base}/conformance",
                     "http://www.opengis.net/def/rel/ogc/1.0/conformance", JSON,
                     "Conformance classes"),
                link(f"{base}/collections", "data", JSON, "The feature collections"),
                link(f"{base}/collections", "http://www.opengis.net/def/rel/ogc/1.0/data",
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
        base = base_url(request)
        view = View(query, access)
        return JSONResponse({
            "links": [link(f"{base}/collections", "self", JSON, "The feature collections")],
            "collections": [collection_doc(base, query, view, c)
                            for c in COLLECTIONS.values()],
        })

    @router.get("/collections/{collectionId}", summary="One collection",
                responses={404: {"model": models.Error}})
    def collection(request: Request, access: Annotated[Access, require(READ)],
                   collectionId: CollectionPath) -> Response:
        """The collection's description, extent (CRS84, of what the caller sees) and
        links."""
        c = get_collection(collectionId)
        return JSONResponse(collection_doc(base_url(request), query, View(query, access), c))

    # --- items ----------------------------------------------------------------------------

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
        c = get_collection(collectionId)
        check_items_params(request)
        box = parse_bbox(bbox)
        lo, hi = parse_datetime_interval(datetime_)
        limit = min(limit, LIMIT_MAX)
        features, returned, matched = ITEMS[c.id](View(query, access), box, lo, hi, offset,
                                                  limit)
        base = base_url(request)
        self_url = str(request.url)
        links = [
            link(self_url, "self", GEOJSON, "This document"),
            link(f"{base}/collections/{c.id}", "collection", JSON, c.title),
        ]
        if offset + returned < matched:
            links.append(link(
                str(request.url.include_query_params(offset=offset + returned, limit=limit)),
                "next", GEOJSON, "Next page"))
        if offset > 0:
            links.append(link(
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
        c = get_collection(collectionId)
        text = feature(View(query, access), c.id, featureId)
        if text is None:
            raise NotFound(f"no feature {featureId[:200]!r} in collection {c.id!r}")
        base = base_url(request)
        links = [
            link(f"{base}/collections/{c.id}/items/{quote(featureId, safe='')}", "self",
                 GEOJSON, "This feature"),
            link(f"{base}/collections/{c.id}", "collection", JSON, c.title),
        ]
        body = text[:-1] + ',"links":' + json.dumps(links) + "}"
        return Response(body, media_type=GEOJSON)

    return router
