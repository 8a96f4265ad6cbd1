"""``GET /api/v1/stream``: Server-Sent Events of the store's changes and the alerts' (see
:mod:`seawatch.api.stream`)."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.stream import Stream, StreamHub
from seawatch.errors import Unavailable
from seawatch.share.policy import Access
from seawatch.share.roles import READ

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "Server-Sent Events: `hello`, `store`, `alert`, keep-alive comments.",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}},
    429: {"description": "The caller already holds as many streams as it may."},
}


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/stream`` to the ``/api/v1`` router."""

    @router.get("/stream", tags=["stream"], summary="Live changes (Server-Sent Events)",
                response_class=StreamingResponse, responses=STREAM_DOC)
    async def stream(
        request: Request,
        access: Annotated[Access, require(READ)],
        last_event_id: Annotated[str | None, Header(
            max_length=100, description="The id of the last message received (sent by "
            "EventSource when it reconnects).")] = None,
    ) -> StreamingResponse:
        """Messages as the store and the alerts change: ``hello`` first (the snapshot and
        alerts version, and what to reload after a reconnection: ``resync``), then a
        ``store`` message per new snapshot (``moved``: the latest positions of the vessels
        that moved, as ``/vessels`` shows them to the caller; ``new_events``: how many
        events the caller sees now that it did not) and an ``alert`` message per alert
        raised or changed that the caller may see (``change``, ``alert``)."""
        hub: StreamHub = request.app.state.streams
        if hub.closing.is_set():
            raise Unavailable("the server is stopping")
        principal = access.principal
        caller = (principal.agency, principal.username)
        holding = hub.hold(caller)
        holding.__enter__()  # refused here (429) before the response starts

        async def body() -> Any:
            try:
                async for text in Stream(hub, access, last_event_id).run():
                    yield text
            finally:
                holding.__exit__(None, None, None)

        return StreamingResponse(body(), media_type="text/event-stream", headers={
            "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
