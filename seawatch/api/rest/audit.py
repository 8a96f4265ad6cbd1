"""``GET /api/v1/audit``: the audit log (:mod:`seawatch.share.audit`), newest first."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from seawatch.api import models
from seawatch.api.params import parse_time
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.rest.common import SHARING_ERRORS, security
from seawatch.share import roles
from seawatch.share.policy import Access

AUDIT_LIMIT_MAX = 1000
"""Most audit entries one request lists."""


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/audit`` to the ``/api/v1`` router."""

    @router.get("/audit", tags=["sharing"], summary="The audit log",
                response_model=models.AuditPage, responses=SHARING_ERRORS)
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
