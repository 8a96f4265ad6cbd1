"""The audit of every API request: one hash-chained entry per request under ``/api/`` and
``/ogc``, allowed or denied.

:class:`AuditMiddleware` appends the entry (:func:`seawatch.share.audit.record`): who,
agency, action, path, the query parameters (cut to :data:`AUDIT_PARAM_CHARS`), status and
client address (with ``via``, the proxy, when a trusted proxy named the client). The
route's guard (:mod:`seawatch.api.policy`) and the route itself leave
who and what in the request's note (:func:`audit_note`, :func:`note_params`). The entry is
written before the response starts; when it cannot be written the response is a 503 and no
data leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from seawatch.api.security import Security

log = logging.getLogger("seawatch.api")

AUDIT_SCOPE_KEY = "seawatch.audit"
"""Key of the ASGI scope entry through which a route's guard tells the audit who and what."""
PEER_SCOPE_KEY = "seawatch.peer"
"""Scope key of the TCP peer when a trusted proxy named the client (set by
:class:`seawatch.api.security.ClientAddressMiddleware`)."""
AUDIT_PARAM_CHARS = 500
"""Query parameter values are cut to this many characters in the audit log."""


def audit_note(request: Request) -> dict[str, Any]:
    """The request's audit entry in the making (a dict in the ASGI scope): a route adds the
    actor, the action or parameters to it; :class:`AuditMiddleware` writes it."""
    note = request.scope.get(AUDIT_SCOPE_KEY)
    if note is None:
        note = request.scope[AUDIT_SCOPE_KEY] = {}
    return note


def note_params(request: Request, **params: Any) -> None:
    """Record what a request changed (a grant's id and scope, a marking) in its audit entry,
    beside the query parameters."""
    audit_note(request)["params"] = params


def audited(path: str) -> bool:
    """Whether requests to ``path`` are audited: the API (``/api/...``) and ``/ogc``."""
    return path.startswith("/api/") or path == "/ogc" or path.startswith("/ogc/")


def query_params(scope: Scope) -> dict[str, Any]:
    """The query parameters of a request for its audit entry: names cut to 100 characters,
    values to :data:`AUDIT_PARAM_CHARS`, repeated names as lists.

    >>> query_params({"query_string": b"bbox=1,2,3,4&type=gap&type=loitering"})
    {'bbox': '1,2,3,4', 'type': ['gap', 'loitering']}
    """
    raw = scope.get("query_string", b"").decode("latin-1")
    out: dict[str, Any] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        name = name[:100]
        value = value[:AUDIT_PARAM_CHARS]
        if name in out:
            prior = out[name]
            out[name] = [*prior, value] if isinstance(prior, list) else [prior, value]
        else:
            out[name] = value
    return out


class AuditMiddleware:
    """Appends one audit entry per API request (before its response starts).

    The route's guard leaves the action and the principal in the scope (key
    :data:`AUDIT_SCOPE_KEY`); a request that reaches no route is recorded as ``unrouted``.
    When the entry cannot be written, the response becomes a 503 without its body: data
    never leaves unaudited.
    """

    def __init__(self, app: ASGIApp, security: Security) -> None:
        self.app = app
        self.security = security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not audited(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        from anyio import to_thread

        note: dict[str, Any] = {}
        scope[AUDIT_SCOPE_KEY] = note
        recorded = False
        blocked = False

        async def record(status: int) -> bool:
            try:
                await to_thread.run_sync(self._record, scope, note, status)
                return True
            except Exception:
                log.exception("cannot write the audit entry of %s %s", scope.get("method"),
                              scope.get("path"))
                return False

        async def send_audited(message: Message) -> None:
            nonlocal recorded, blocked
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                if not await record(int(message["status"])):
                    blocked = True
                    body = b'{"detail":"the audit log cannot be written; try again later"}'
                    await send({"type": "http.response.start", "status": 503, "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ]})
                    await send({"type": "http.response.body", "body": body})
                    return
            if blocked:
                return
            await send(message)

        try:
            await self.app(scope, receive, send_audited)
        except Exception:
            if not recorded:
                recorded = True
                await record(500)
            raise

    def _record(self, scope: Scope, note: Mapping[str, Any], status: int) -> None:
        from seawatch.share.audit import record

        params: dict[str, Any] = query_params(scope)
        extra = note.get("params")
        if extra:
            params = {**params, "request": extra}
        peer = scope.get(PEER_SCOPE_KEY)
        if peer:  # the client is what a trusted proxy reported; keep the proxy too
            params = {**params, "via": peer[0]}
        client = scope.get("client")
        record(
            self.security.state,
            note.get("action") or "unrouted",
            principal=note.get("principal"),
            actor=note.get("actor"),
            resource=str(scope.get("path", ""))[:1000],
            params=params,
            status=status,
            client=client[0] if client else None,
        )


__all__ = ["AUDIT_SCOPE_KEY", "AuditMiddleware", "audit_note", "audited", "note_params"]
