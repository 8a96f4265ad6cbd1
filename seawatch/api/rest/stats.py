"""``GET /api/v1/stats``: counts, time span and days of what the caller sees."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from seawatch.api import models
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.view import View
from seawatch.share.policy import Access
from seawatch.share.roles import READ


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/stats`` to the ``/api/v1`` router."""

    @router.get("/stats", response_model=models.Stats, tags=["store"],
                summary="Store statistics")
    def stats(access: Annotated[Access, require(READ)]) -> Response:
        """Counts of positions, vessels and events, time span, days, events per type, and
        whether the events predate the latest ingest (``detection.stale``). Counted over
        what the caller sees; the store's size, inputs and detection run only for the
        host agency."""
        return JSONResponse(View(query, access).stats())
