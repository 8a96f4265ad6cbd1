"""``/api/v1/auth/...``: log in with a password (a web session), log out, and who am I.

The authentication itself (passwords, sessions, CSRF, throttling) is
:mod:`seawatch.share.auth`; these routes call it and set or clear the session cookies.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response

from seawatch.api import models
from seawatch.api.audit import audit_note
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.rest.common import SHARING_ERRORS, security
from seawatch.api.security import LOCAL_ACTIONS
from seawatch.errors import InvalidValue
from seawatch.share import auth as share_auth
from seawatch.share import roles
from seawatch.share.policy import Access
from seawatch.units import format_time


def set_session_cookies(response: Response, request: Request, session_id: str, csrf: str,
                        max_age: int) -> None:
    """The session cookie (HttpOnly) and the CSRF cookie (readable by the page), both
    SameSite=Strict and Secure over https."""
    secure = request.url.scheme == "https"
    response.set_cookie(share_auth.SESSION_COOKIE, session_id, max_age=max_age, path="/",
                        httponly=True, samesite="strict", secure=secure)
    response.set_cookie(share_auth.CSRF_COOKIE, csrf, max_age=max_age, path="/",
                        httponly=False, samesite="strict", secure=secure)


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/auth/login``, ``/auth/logout`` and ``/auth/me`` to the ``/api/v1`` router."""

    @router.post(
        "/auth/login", tags=["auth"], summary="Log in with a password (web session)",
        response_model=models.LoginResult, dependencies=[require(roles.PUBLIC)],
        responses={
            **SHARING_ERRORS,
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
            raise InvalidValue(
                "this server runs in local mode: there is no login (restart it with "
                "`seawatch serve --auth required` to use accounts)")
        client = request.client.host if request.client else None
        principal, new = share_auth.login(sec.state, body.username, body.password,
                                          client=client)
        note["principal"] = principal
        payload = {"user": principal.username, "agency": principal.agency,
                   "role": principal.role, "csrf_token": new.csrf_token,
                   "expires_at": format_time(new.expires_at)}
        response = JSONResponse(payload, headers={"Cache-Control": "no-store"})
        set_session_cookies(response, request, new.session_id, new.csrf_token,
                            int(share_auth.SESSION_TTL.total_seconds()))
        return response

    @router.post(
        "/auth/logout", tags=["auth"], summary="End the web session",
        response_model=models.LogoutResult, responses=SHARING_ERRORS,
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
                responses=SHARING_ERRORS)
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
