"""``/api/v1/grants``: list the grants given or received, grant another agency read access,
revoke a grant. The grants themselves are :mod:`seawatch.share.grants`."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from seawatch.api import models
from seawatch.api.audit import note_params
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.rest.common import SHARING_ERRORS, security
from seawatch.errors import InvalidValue
from seawatch.share import roles
from seawatch.share.policy import Access
from seawatch.units import format_time, parse_when

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.share.grants import Grant


def grant_json(grant: "Grant", now: datetime) -> dict[str, Any]:
    """A grant as the API answers it, with its status at ``now``."""
    return {
        "id": grant.id,
        "grantor": grant.grantor,
        "grantee": grant.grantee,
        "area": grant.area_text(),
        "area_kind": grant.area_kind,
        "zone": grant.zone_name,
        "bbox": list(grant.bbox) if grant.bbox is not None else None,
        "event_types": list(grant.event_types) if grant.event_types else None,
        "include_positions": grant.include_positions,
        "max_marking": grant.max_marking.label,
        "data_start": format_time(grant.data_start),
        "data_end": format_time(grant.data_end),
        "expires_at": format_time(grant.expires_at),
        "created_at": format_time(grant.created_at),
        "created_by": grant.created_by,
        "revoked_at": format_time(grant.revoked_at),
        "revoked_by": grant.revoked_by,
        "note": grant.note,
        "status": grant.status(now),
    }


def body_time(text: str | None, name: str, now: datetime) -> datetime | None:
    """A time of a request body: ISO 8601 or a duration from now (``24h``, ``7d``)."""
    if text is None or not text.strip():
        return None
    return parse_when(text, name, now)


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/grants`` (list, create) and ``/grants/{grant_id}/revoke`` to the ``/api/v1``
    router."""
    from seawatch.share.db import utcnow

    @router.get("/grants", tags=["sharing"], summary="Grants given or received",
                response_model=models.GrantList, responses=SHARING_ERRORS)
    def grants(
        request: Request,
        access: Annotated[Access, require(roles.GRANT_LIST)],
        live: Annotated[bool, Query(description="Only grants active now.")] = False,
    ) -> Response:
        """Grants the caller's agency gave or received (the host agency: all), newest
        first, each with its status now (``active``, ``expired``, ``revoked``)."""
        from seawatch.share.grants import list_grants

        now = utcnow()
        p = access.principal
        rows = list_grants(security(request).state, live_at=now if live else None,
                           principal=None if access.full else p,
                           agency=None if access.full else p.agency)
        return JSONResponse({"items": [grant_json(g, now) for g in rows]})

    @router.post(
        "/grants", tags=["sharing"], summary="Grant another agency read access",
        status_code=201, response_model=models.GrantOut,
        responses={**SHARING_ERRORS, 404: {"model": models.Error,
                                           "description": "Unknown agency or zone."}},
    )
    def grant_create(
        request: Request,
        access: Annotated[Access, require(roles.GRANT_CREATE)],
        body: Annotated[models.GrantRequest, Body()],
    ) -> Response:
        """Give ``grantee`` read access to the caller's agency's data in a scope (zone or
        box, event types, highest marking, optional positions and data window) until
        ``until`` (ISO 8601 or a duration: ``24h``, ``7d``). Admins only; the host's data is
        granted by the host's admins."""
        from seawatch.share.grants import create_grant

        now = utcnow()
        until = body_time(body.until, "until", now)
        if until is None:
            raise InvalidValue("until is required: a time (ISO 8601) or a duration (24h, 7d)")
        zones, _ = query.zones()
        bbox = body.bbox
        grant = create_grant(
            security(request).state, grantor=access.principal.agency, grantee=body.grantee,
            expires_at=until, max_marking=body.max_marking, zone=body.zone,
            bbox=",".join(str(v) for v in bbox) if isinstance(bbox, list) else bbox,
            zones=zones, event_types=body.event_types, include_positions=body.include_positions,
            data_start=body_time(body.data_start, "data_start", now),
            data_end=body_time(body.data_end, "data_end", now), note=body.note,
            principal=access.principal, now=now,
        )
        note_params(request, grant=grant.id, to=grant.grantee, area=grant.area_text(),
                    types=list(grant.event_types or []), max=grant.max_marking.label,
                    positions=grant.include_positions, until=format_time(grant.expires_at))
        return JSONResponse(grant_json(grant, now), status_code=201)

    @router.post(
        "/grants/{grant_id}/revoke", tags=["sharing"], summary="Revoke a grant now",
        response_model=models.GrantOut,
        responses={**SHARING_ERRORS,
                   404: {"model": models.Error, "description": "No such grant."},
                   409: {"model": models.Error, "description": "Already revoked."}},
    )
    def grant_revoke(
        request: Request,
        access: Annotated[Access, require(roles.GRANT_REVOKE)],
        grant_id: Annotated[int, Path(ge=1, le=2**62)],
    ) -> Response:
        """Revoke a grant at once: the grantee's next request no longer sees through it.
        Admins of the granting agency, or of the host."""
        from seawatch.share.errors import NotFound
        from seawatch.share.grants import get_grant, revoke_grant

        state = security(request).state
        p = access.principal
        grant = get_grant(state, grant_id)
        if not access.full and p.agency not in (grant.grantor, grant.grantee):
            raise NotFound(f"unknown grant id {grant_id}")
        note_params(request, grant=grant_id)
        revoked = revoke_grant(state, grant_id, principal=p)
        return JSONResponse(grant_json(revoked, utcnow()))
