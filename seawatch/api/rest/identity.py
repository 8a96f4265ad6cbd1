"""``GET /api/v1/vessels/{mmsi}/identity``: every name, call sign, IMO number, ship type,
dimensions and flag a vessel has reported, with when (:func:`seawatch.detect.identity.
identity_history`)."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from typing import Annotated

import polars as pl
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.rest.common import NOT_FOUND, MmsiPath
from seawatch.api.view import View
from seawatch.errors import NotFound
from seawatch.share.policy import Access
from seawatch.share.roles import READ


def history_json(mmsi: int, reports: pl.DataFrame) -> dict:
    """The answer: ``mmsi``, ``mmsi_problem`` (why no ship may hold the MMSI, or null:
    :func:`seawatch.detect.identity.mmsi_problems`) and ``history`` (one item per field and
    value, times as ISO 8601 UTC)."""
    from seawatch.detect.identity import IdentityParams, identity_history, mmsi_problems

    history = identity_history(reports, mmsi=mmsi).drop("mmsi").with_columns(
        pl.col("first_seen", "last_seen").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ"))
    problem = pl.select(mmsi_problems(pl.lit(mmsi, pl.Int64),
                                      list(IdentityParams().placeholder_mmsis))).item()
    return {"mmsi": mmsi, "mmsi_problem": problem, "history": history.to_dicts()}


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/vessels/{mmsi}/identity`` to the ``/api/v1`` router."""

    @router.get("/vessels/{mmsi}/identity", tags=["vessels"],
                summary="A vessel's identity history", responses=NOT_FOUND)
    def identity(mmsi: MmsiPath, access: Annotated[Access, require(READ)]) -> Response:
        """Each value the vessel's static reports gave to its name, call sign, IMO number,
        ship type (as the kind of vessel, with its label) and dimensions, and the flag of
        its MID, with ``first_seen``, ``last_seen``, ``reports`` and ``days``; another
        agency sees the reports inside its grants' data windows. A vessel the caller may
        not see is a 404 like an unknown one."""
        reports = View(query, access).identity_reports(mmsi)
        if reports is None:
            raise NotFound(f"no vessel with MMSI {mmsi} in the store")
        return JSONResponse(history_json(mmsi, reports))
