"""``GET /api/v1/installations``: the fixed installations and the candidates found in the
data that the detection run recorded (:mod:`seawatch.api.query.installations`)."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

import json
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response

from seawatch.api import models
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.query.installations import build_installations
from seawatch.api.rest.common import GEOJSON, geojson_only, json_text
from seawatch.share.policy import Access
from seawatch.share.roles import READ


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/installations`` to the ``/api/v1`` router."""

    @router.get("/installations", response_model=models.FeatureCollection,
                tags=["geography"], summary="Fixed installations and candidates",
                responses=geojson_only())
    def installations(access: Annotated[Access, require(READ)]) -> Response:
        """The installations the detection run checked loitering and encounters against
        (the user's file: platforms, buoys, fish farms) and the candidates it found in the
        data (where several vessels stood by far from shore over days), one Point each:
        ``name``, ``kind`` (``candidate`` for one found), ``source``, ``candidate``,
        ``used`` (events were checked against it), ``radius_km``, ``extent_km``,
        ``reach_km`` (an event within it is at the installation) and, for a candidate,
        ``n_vessels``, ``standby_hours``, ``first``, ``last``. Beside ``features``:
        ``detected``, the run's ``score_factor``, ``use_inferred`` and ``radius_km``,
        and ``at_installations`` (events at one, per type). The installations are the
        host's own knowledge, and the candidates are read from all of its events, so
        another agency gets no features."""
        body = build_installations(query)
        if not access.full:
            body = {**body, "at_installations": {}, "features": []}
        return json_text(json.dumps(body), GEOJSON)
