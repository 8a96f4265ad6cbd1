"""The sharing endpoints: login, logout and ``me``; grants; the audit log; markings.

``build_router(query)`` returns the FastAPI router the app includes under ``/api/v1``. Each
route declares its one policy action with :func:`~seawatch.api.security.require`, like every
other route; what the actions allow per role is :data:`seawatch.share.roles.POLICY`. The
state-changing work is done by :mod:`seawatch.share` (grants, markings, audit, auth); these
routes parse, call it and answer.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from seawatch.api import models
from seawatch.api.params import BadRequest, parse_time
from seawatch.api.security import LOCAL_ACTIONS, Security, audit_note, http_error, require
from seawatch.api.view import View
from seawatch.share import auth as share_auth
from seawatch.share import roles
from seawatch.share.errors import AuthenticationError, RateLimited
from seawatch.share.policy import Access
from seawatch.units import format_time, parse_when

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery
    from seawatch.share.grants import Grant

AUDIT_LIMIT_MAX = 1000
"""Most audit entries one request lists."""


# --- the sharing endpoints -----------------------------------------------------------------

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "A parameter or the body is malformed."},
}


def _note_params(request: Request, **params: Any) -> None:
    audit_note(request)["params"] = params


def _grant_json(grant: "Grant", now: datetime) -> dict[str, Any]:
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


def _when(text: str | None, name: str, now: datetime) -> datetime | None:
    """A time of a request body: ISO 8601 or a duration from now (``24h``, ``7d``)."""
    if text is None or not text.strip():
        return None
    return parse_when(text, name, now)


def _set_session_cookies(response: Response, request: Request, session_id: str, csrf: str,
                         max_age: int) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(share_auth.SESSION_COOKIE, session_id, max_age=max_age, path="/",
                        httponly=True, samesite="strict", secure=secure)
    response.set_cookie(share_auth.CSRF_COOKIE, csrf, max_age=max_age, path="/",
                        httponly=False, samesite="strict", secure=secure)


def build_router(query: "StoreQuery") -> APIRouter:
    """``/api/v1/auth/...``, ``/api/v1/grants``, ``/api/v1/audit`` and
    ``/api/v1/markings/...``: login and the administration of sharing."""
    from seawatch.share.db import utcnow

    router = APIRouter(prefix="/api/v1")

    def security(request: Request) -> Security:
        return request.app.state.security  # type: ignore[no-any-return]

    # --- session ------------------------------------------------------------------------

    @router.post(
        "/auth/login", tags=["auth"], summary="Log in with a password (web session)",
        response_model=models.LoginResult, dependencies=[require(roles.PUBLIC)],
        responses={
            **ERRORS,
            401: {"model": models.Error, "description": "Wrong username or password."},
            429: {"model": models.Error,
                  "description": "Too many failures: locked (see Retry-After)."},
        },
    )
    def login(request: Request, body: Annotated[models.LoginRequest, Body()]) -> Response:
        """Check the password and open a web session: sets the HttpOnly cookie
        ``seawatch_session`` (SameSite=Strict; Secure over https) and the readable cookie
        ``seawatch_csrf``, and answers the CSRF token, which must be echoed in the
        ``X-CSRF-Token`` header of every request that changes something. Five failures in
        five minutes lock the username and the client address for 15 minutes (429)."""
        sec = security(request)
        note = audit_note(request)
        note["actor"] = body.username.strip().lower()[:64]
        if sec.local:
            raise HTTPException(
                400, "this server runs in local mode: there is no login (restart it with "
                     "`seawatch serve --auth required` to use accounts)")
        client = request.client.host if request.client else None
        try:
            principal, new = share_auth.login(sec.state, body.username, body.password,
                                              client=client)
        except RateLimited as exc:
            raise http_error(exc) from None
        except AuthenticationError as exc:
            raise http_error(exc) from None
        note["principal"] = principal
        payload = {"user": principal.username, "agency": principal.agency,
                   "role": principal.role, "csrf_token": new.csrf_token,
                   "expires_at": format_time(new.expires_at)}
        response = JSONResponse(payload, headers={"Cache-Control": "no-store"})
        _set_session_cookies(response, request, new.session_id, new.csrf_token,
                             int(share_auth.SESSION_TTL.total_seconds()))
        return response

    @router.post(
        "/auth/logout", tags=["auth"], summary="End the web session",
        response_model=models.LogoutResult, responses=ERRORS,
    )
    def logout(request: Request, _access: Annotated[Any, require(roles.SESSION)]) -> Response:
        """Ends the session of the cookie (its CSRF token in ``X-CSRF-Token``) and clears
        the cookies. With a bearer token there is no session to end (``ended: false``)."""
        ended = False
        session_id = request.cookies.get(share_auth.SESSION_COOKIE)
        if session_id and not request.headers.get("authorization") and not security(
                request).local:
            ended = share_auth.end_session(security(request).state, session_id)
        response = JSONResponse({"ended": ended})
        for name in (share_auth.SESSION_COOKIE, share_auth.CSRF_COOKIE):
            response.delete_cookie(name, path="/", samesite="strict")
        return response

    @router.get("/auth/me", tags=["auth"], summary="Who am I", response_model=models.Me,
                responses=ERRORS)
    def me(request: Request, access: Annotated[Access, require(roles.SESSION)]) -> Response:
        """The caller: user, agency, role, how it authenticated, whether its agency is the
        host (it sees all the store's data), the grants it reads through now, and the
        server's authentication mode."""
        p = access.principal
        return JSONResponse({
            "user": p.username, "agency": p.agency, "role": p.role, "auth": p.auth_method,
            "host": access.full, "grants": access.describe()["grants"],
            "mode": security(request).mode,
            "actions": sorted(a for a in roles.ACTIONS if roles.allowed(p, a)
                              and (not security(request).local or a in LOCAL_ACTIONS)),
        })

    # --- grants -------------------------------------------------------------------------

    @router.get("/grants", tags=["sharing"], summary="Grants given or received",
                response_model=models.GrantList, responses=ERRORS)
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
        return JSONResponse({"items": [_grant_json(g, now) for g in rows]})

    @router.post(
        "/grants", tags=["sharing"], summary="Grant another agency read access",
        status_code=201, response_model=models.GrantOut,
        responses={**ERRORS, 404: {"model": models.Error,
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
        until = _when(body.until, "until", now)
        if until is None:
            raise BadRequest("until is required: a time (ISO 8601) or a duration (24h, 7d)")
        zones, _ = query.zones()
        bbox = body.bbox
        grant = create_grant(
            security(request).state, grantor=access.principal.agency, grantee=body.grantee,
            expires_at=until, max_marking=body.max_marking, zone=body.zone,
            bbox=",".join(str(v) for v in bbox) if isinstance(bbox, list) else bbox,
            zones=zones, event_types=body.event_types, include_positions=body.include_positions,
            data_start=_when(body.data_start, "data_start", now),
            data_end=_when(body.data_end, "data_end", now), note=body.note,
            principal=access.principal, now=now,
        )
        _note_params(request, grant=grant.id, to=grant.grantee, area=grant.area_text(),
                     types=list(grant.event_types or []), max=grant.max_marking.label,
                     positions=grant.include_positions, until=format_time(grant.expires_at))
        return JSONResponse(_grant_json(grant, now), status_code=201)

    @router.post(
        "/grants/{grant_id}/revoke", tags=["sharing"], summary="Revoke a grant now",
        response_model=models.GrantOut,
        responses={**ERRORS,
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
        _note_params(request, grant=grant_id)
        revoked = revoke_grant(state, grant_id, principal=p)
        return JSONResponse(_grant_json(revoked, utcnow()))

    # --- audit --------------------------------------------------------------------------

    @router.get("/audit", tags=["sharing"], summary="The audit log",
                response_model=models.AuditPage, responses=ERRORS)
    def audit_log(
        request: Request,
        access: Annotated[Access, require(roles.AUDIT_READ)],
        user: Annotated[str | None, Query(max_length=128)] = None,
        agency: Annotated[str | None, Query(max_length=64, description=(
            "Only this agency (host admins; other admins always see their own)."))] = None,
        action: Annotated[str | None, Query(max_length=64, description=(
            "Only this action; a trailing * matches a prefix (grant.*)."))] = None,
        since: Annotated[str | None, Query(description="From this time (ISO 8601).")] = None,
        until: Annotated[str | None, Query(description="Before this time (ISO 8601).")] = None,
        limit: Annotated[int, Query(ge=1, le=AUDIT_LIMIT_MAX)] = 100,
    ) -> Response:
        """Audit entries, newest first: admins of the host agency see every entry, admins
        of another agency the entries of their agency."""
        from seawatch.share.audit import format_ts, show

        lo, hi = parse_time(since, "since"), parse_time(until, "until")
        if not access.full:
            agency = access.principal.agency
        rows = show(security(request).state, user=user, agency=agency, action=action,
                    since=lo, until=hi, limit=limit)
        items = [{
            "seq": e.seq, "ts": format_ts(e.ts), "actor": e.actor, "agency": e.agency,
            "action": e.action, "resource": e.resource, "params": e.params,
            "status": e.status, "client": e.client, "hash": e.hash,
        } for e in rows]
        return JSONResponse({"items": items, "limit": limit})

    # --- markings -----------------------------------------------------------------------

    @router.put(
        "/markings/events/{event_id}", tags=["sharing"], summary="Mark an event (TLP 2.0)",
        response_model=models.MarkingOut,
        responses={**ERRORS, 404: {"model": models.Error, "description": "No such event."}},
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
            raise HTTPException(404, f"no event with id {event_id[:200]!r}")
        marking = set_marking(security(request).state, "event", event_id, body.level,
                              releasable_to=body.releasable_to, principal=access.principal)
        _note_params(request, level=marking.level.label,
                     releasable_to=list(marking.releasable_to))
        return JSONResponse({
            "event_id": event_id, "marking": marking.level.label,
            "releasable_to": list(marking.releasable_to), "owner_agency": marking.owner,
            "set_by": marking.set_by, "set_at": format_time(marking.set_at),
        })

    return router


__all__ = ["AUDIT_LIMIT_MAX", "build_router"]
