"""``GET /api/v1/traffic``: the store's traffic picture (``seawatch traffic build``) as
GeoJSON, one hexagon per H3 cell and vessel-type group."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from seawatch.api import models
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.rest.common import ERRORS, GEOJSON, geojson_only, json_text
from seawatch.errors import InvalidValue
from seawatch.share.policy import Access
from seawatch.share.roles import READ
from seawatch.traffic.density import GROUPS, geojson, read_picture, store_picture_path


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/traffic`` to the ``/api/v1`` router."""

    @router.get("/traffic", response_model=models.FeatureCollection, tags=["store"],
                summary="Traffic picture: vessels per H3 cell and type group (GeoJSON)",
                responses={**ERRORS, **geojson_only()})
    def traffic(
        access: Annotated[Access, require(READ)],
        group: Annotated[str | None, Query(description=(
            "Only these type groups, comma-separated: " + ", ".join(GROUPS) + "."))] = None,
    ) -> Response:
        """The traffic picture ``seawatch traffic build`` wrote: one Polygon per H3 cell and
        vessel-type group with ``cell`` (H3 index), ``group``, ``vessels`` (distinct
        vessels of the group that reported in the cell) and ``positions``; the collection's
        ``properties`` say its ``resolution``, ``start``, ``end``, ``positions`` and
        ``group_vessels``. An empty collection (``properties.built`` false) when no picture
        was built. The picture counts every vessel of the store, so another agency gets an
        empty collection: its counts cannot be split by what a grant releases."""
        groups = None
        if group:
            groups = {g.strip() for g in group.split(",") if g.strip()}
            unknown = sorted(groups - set(GROUPS))
            if unknown:
                raise InvalidValue(f"unknown group(s) {unknown}; valid: {', '.join(GROUPS)}")
        picture = read_picture(store_picture_path(query.store)) if access.full else None
        if picture is None:
            body: dict[str, object] = {"type": "FeatureCollection", "features": [],
                                       "properties": {"built": False}}
        else:
            body = geojson(picture, groups)
            body["properties"] = {**picture.info(), "built": True}
        return json_text(json.dumps(body), GEOJSON)
