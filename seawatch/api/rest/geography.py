"""``GET /api/v1/zones`` (the zones in use) and ``GET /api/v1/basemap/land`` (the land the
map draws)."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response

from seawatch.api import models
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.rest.common import GEOJSON, geojson_only, json_text
from seawatch.api.view import View
from seawatch.share.policy import Access
from seawatch.share.roles import READ


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/zones`` and ``/basemap/land`` to the ``/api/v1`` router."""

    @router.get("/zones", response_model=models.FeatureCollection, tags=["geography"],
                summary="Zones in use", responses=geojson_only())
    def zones(access: Annotated[Access, require(READ)]) -> Response:
        """GeoJSON of the zones the detectors use: the server's ``--zones`` file, else the
        file the detection run recorded, else the default zones (Galápagos Marine Reserve,
        Ecuador territorial sea and EEZ approximations). ``source`` says which; ``note``
        warns when detection used zones the server does not have. Another agency sees
        the zones its grants name (and those it owns)."""
        return json_text(View(query, access).zones_geojson(), GEOJSON)

    @router.get("/basemap/land", response_model=models.FeatureCollection, tags=["geography"],
                summary="Land polygons for the map", responses=geojson_only())
    def land(access: Annotated[Access, require(READ)]) -> Response:
        """Shipped land polygons, one layer for the whole world: Natural Earth 1:10m in the
        Eastern Pacific box (lon -100 to -70, lat -10 to 12) merged with 1:50m elsewhere,
        so its outline is coast only. The same for every agency; cached; about 1.1 MB
        (450 kB gzip-compressed)."""
        response = json_text(View(query, access).land_geojson(), GEOJSON)
        response.headers["Cache-Control"] = "private, max-age=3600"
        return response
