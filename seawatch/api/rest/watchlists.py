"""``/api/v1/watchlists``: the watchlists (:mod:`seawatch.share.watchlists`).

Reading (``data.read``): the lists the caller sees — the host's members every list, another
agency its own and those a live grant of the owner releases (marking, releasable-to list,
``watchlist_hit`` among the grant's event types). Importing and deleting (``alert.rule``:
admins and analysts) is for the caller's own agency. A list the caller may not see answers
404 like an unknown one; one it sees but does not own, 403; a name taken, 409. Each request
is one entry of the audit log.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from seawatch.api import models
from seawatch.api.audit import note_params
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.rest.common import SHARING_ERRORS, security
from seawatch.share import roles
from seawatch.share.policy import Access

ID_MAX = 2**62
"""Largest watchlist id accepted in a path."""
WatchlistIdPath = Annotated[int, Path(ge=1, le=ID_MAX, description="The watchlist's id.")]
ONE: dict[int | str, dict[str, Any]] = {
    **SHARING_ERRORS, 404: {"model": models.Error, "description": "No such watchlist."},
}
OWNED: dict[int | str, dict[str, Any]] = {
    **ONE, 403: {"model": models.Error, "description": "The list belongs to another agency."},
}


class WatchlistEntry(BaseModel):
    """One vessel of a list: at least one of name, IMO, call sign, MMSI."""

    name: str | None = Field(None, max_length=128, description="Vessel name.")
    imo: int | None = Field(None, ge=1_000_000, le=9_999_999, description="IMO number.")
    callsign: str | None = Field(None, max_length=32, description="Call sign.")
    mmsi: int | None = Field(None, ge=0, le=999_999_999, description="MMSI.")
    flag: str | None = Field(None, max_length=64,
                             description="Flag: ISO 3166 alpha-3 or the country's name.")
    source: str | None = Field(None, max_length=2000, description="Where it was listed.")
    reason: str | None = Field(None, max_length=2000, description="Why it is listed.")


class WatchlistRequest(BaseModel):
    """A list to import (``POST /watchlists``)."""

    name: str = Field(min_length=1, max_length=128, description="Unique name.")
    source: str = Field("", max_length=2000, description="Where the list comes from.")
    description: str = Field("", max_length=2000)
    marking: str | None = Field(None, max_length=16, description=(
        "TLP level: CLEAR, GREEN, AMBER, AMBER+STRICT, RED (default: the store's)."))
    releasable_to: list[str] = Field(default_factory=list, max_length=100,
                                     description="Agencies it may be released to.")
    replace: bool = Field(False, description="Replace the entries of the caller's list of "
                                             "that name.")
    entries: list[WatchlistEntry] = Field(min_length=1, max_length=100_000)


class WatchlistOut(BaseModel):
    id: int
    name: str
    source: str
    description: str
    owner_agency: str
    marking: str
    releasable_to: list[str]
    created_at: str
    created_by: str
    updated_at: str
    entries: int


class WatchlistItem(WatchlistEntry):
    id: int


class WatchlistDetail(WatchlistOut):
    items: list[WatchlistItem]


class WatchlistList(BaseModel):
    items: list[WatchlistOut]


class WatchlistRemoved(BaseModel):
    removed: int = Field(description="Id of the list removed.")


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add the ``/watchlists`` routes to the ``/api/v1`` router."""
    from seawatch.share import watchlists as wl

    def state(request: Request) -> Any:
        return security(request).state

    @router.get("/watchlists", tags=["watchlists"], summary="Watchlists",
                response_model=WatchlistList, responses=SHARING_ERRORS)
    def watchlists(request: Request,
                   access: Annotated[Access, require(roles.READ)]) -> Response:
        """The lists the caller sees, with their marking and number of entries."""
        rows = wl.list_watchlists(state(request), access)
        return JSONResponse({"items": [w.as_json() for w in rows]})

    @router.get("/watchlists/{watchlist_id}", tags=["watchlists"], summary="One watchlist",
                response_model=WatchlistDetail, responses=ONE)
    def watchlist(request: Request, access: Annotated[Access, require(roles.READ)],
                  watchlist_id: WatchlistIdPath) -> Response:
        """A list and its entries."""
        found = wl.get_watchlist(state(request), watchlist_id, access)
        return JSONResponse(found.as_json(with_entries=True))

    @router.post("/watchlists", tags=["watchlists"], summary="Import a watchlist",
                 status_code=201, response_model=WatchlistOut,
                 responses={**OWNED, 409: {"model": models.Error,
                                           "description": "The name is taken."}})
    def watchlist_import(request: Request,
                         access: Annotated[Access, require(roles.ALERT_RULE)],
                         body: Annotated[WatchlistRequest, Body()]) -> Response:
        """A list of the caller's agency; ``seawatch detect`` matches it next time."""
        rows = wl.parse_rows([e.model_dump() for e in body.entries], where="body")
        (made,) = wl.import_watchlists(
            state(request), rows, name=body.name, source=body.source,
            description=body.description, marking=body.marking,
            releasable_to=body.releasable_to, replace=body.replace,
            principal=access.principal)
        note_params(request, verb="import", watchlist=made.id, name=made.name,
                    entries=made.entries, marking=made.marking.level.label)
        return JSONResponse(made.as_json(), status_code=201)

    @router.delete("/watchlists/{watchlist_id}", tags=["watchlists"],
                   summary="Delete a watchlist", response_model=WatchlistRemoved,
                   responses=OWNED)
    def watchlist_delete(request: Request,
                         access: Annotated[Access, require(roles.ALERT_RULE)],
                         watchlist_id: WatchlistIdPath) -> Response:
        """Delete one of the caller's agency's lists and its entries."""
        wl.get_watchlist(state(request), watchlist_id, access)  # hidden: 404
        removed = wl.delete_watchlist(state(request), watchlist_id, access.principal)
        note_params(request, verb="delete", watchlist=removed)
        return JSONResponse({"removed": removed})
