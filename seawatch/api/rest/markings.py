"""``PUT /api/v1/markings/events/{event_id}``: set an event's TLP 2.0 marking
(:mod:`seawatch.share.markings`)."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse, Response

from seawatch.api import models
from seawatch.api.audit import note_params
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.rest.common import SHARING_ERRORS, security
from seawatch.api.view import View
from seawatch.errors import NotFound
from seawatch.share import roles
from seawatch.share.policy import Access
from seawatch.units import format_time


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/markings/events/{event_id}`` to the ``/api/v1`` router."""

    @router.put(
        "/markings/events/{event_id}", tags=["sharing"], summary="Mark an event (TLP 2.0)",
        response_model=models.MarkingOut,
        responses={**SHARING_ERRORS,
                   404: {"model": models.Error, "description": "No such event."}},
    )
    def marking_set(
        request: Request,
        access: Annotated[Access, require(roles.MARKING_SET)],
        event_id: Annotated[str, Path(max_length=500)],
        body: Annotated[models.MarkingRequest, Body()],
    ) -> Response:
        """Set an event's TLP level and releasable-to list. Admins and analysts of the
        agency that owns the event (or the host's admins)."""
        from seawatch.share.markings import set_marking

        if View(query, access).event(event_id).height == 0:
            raise NotFound(f"no event with id {event_id[:200]!r}")
        marking = set_marking(security(request).state, "event", event_id, body.level,
                              releasable_to=body.releasable_to, principal=access.principal)
        note_params(request, level=marking.level.label,
                    releasable_to=list(marking.releasable_to))
        return JSONResponse({
            "event_id": event_id, "marking": marking.level.label,
            "releasable_to": list(marking.releasable_to), "owner_agency": marking.owner,
            "set_by": marking.set_by, "set_at": format_time(marking.set_at),
        })
