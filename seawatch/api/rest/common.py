"""What the REST endpoints share: query parameters, documented error responses, pages.

The parameter annotations (``BBoxQ``, ``StartQ``, ...) give each parameter its description
and bounds once, for every endpoint that takes it; :func:`page_members` and
:func:`page_json` write the pages (``items``, ``total``, ``limit``, ``offset``, ``next``)
column-wise around the rows that :mod:`seawatch.export` writes.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

import json
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import Response

from seawatch import export, schema
from seawatch.api import models
from seawatch.api.params import MMSI_MAX
from seawatch.api.security import Security

PAGE_MAX = 10_000
"""Largest page of positions or events one request may ask for."""
OFFSET_MAX = 10**12
"""Largest offset accepted."""
Q_MAX_CHARS = 100
"""Longest search text."""

GEOJSON = "application/geo+json"

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "A parameter is malformed or out of range."},
}
"""The documented error of every endpoint with parameters."""
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": models.Error, "description": "No such vessel or event."},
}
"""The documented errors of an endpoint of one vessel or event."""
SHARING_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "A parameter or the body is malformed."},
}
"""The documented error of the sharing endpoints (login, grants, audit, markings)."""


def json_or_geojson() -> dict[int | str, dict[str, Any]]:
    """The documented responses of a list that answers JSON or GeoJSON (``format``)."""
    return {
        **ERRORS,
        200: {
            "description": "JSON page (format=json) or GeoJSON FeatureCollection (geojson).",
            "content": {GEOJSON: {"schema": models.GEOJSON_SCHEMA}},
        },
    }


def geojson_only() -> dict[int | str, dict[str, Any]]:
    """The documented response of an endpoint answering a GeoJSON FeatureCollection."""
    return {200: {"content": {GEOJSON: {"schema": models.GEOJSON_SCHEMA}}}}


def file_responses() -> dict[int | str, dict[str, Any]]:
    """The documented responses of an export endpoint (one file per format)."""
    text = {"schema": {"type": "string"}}
    return {
        **ERRORS,
        200: {
            "description": "The file (Content-Disposition: attachment).",
            "content": {
                export.MEDIA_TYPES["geojson"]: {"schema": models.GEOJSON_SCHEMA},
                export.MEDIA_TYPES["csv"]: text,
                export.MEDIA_TYPES["kml"]: text,
                export.MEDIA_TYPES["parquet"]: {"schema": {"type": "string",
                                                           "format": "binary"}},
            },
        },
    }


# --- parameters shared by several endpoints ------------------------------------------------

BBoxQ = Annotated[
    str | None,
    Query(
        description="min_lon,min_lat,max_lon,max_lat in degrees (WGS84); min_lon > max_lon "
        "crosses the antimeridian.",
        examples=["-92,-2,-88,1"],
    ),
]
StartQ = Annotated[
    str | None,
    Query(description="Keep times >= start (ISO 8601; naive times are UTC).",
          examples=["2026-01-15T12:00:00Z"]),
]
EndQ = Annotated[
    str | None,
    Query(description="Keep times < end (ISO 8601; naive times are UTC).",
          examples=["2026-01-16T00:00:00Z"]),
]
EventStartQ = Annotated[
    str | None, Query(description="Keep events ending at or after this (ISO 8601).")
]
EventEndQ = Annotated[
    str | None, Query(description="Keep events starting before this (ISO 8601).")
]
MmsiQ = Annotated[
    str | None,
    Query(description="One MMSI or several, comma-separated.", examples=["735057000"]),
]
OffsetQ = Annotated[int, Query(ge=0, le=OFFSET_MAX, description="Rows to skip.")]
TypeQ = Annotated[
    str | None,
    Query(description="Event type(s), comma-separated: " + ", ".join(schema.EVENT_TYPES),
          examples=["encounter,loitering"]),
]
ZoneQ = Annotated[
    str | None, Query(max_length=200, description="Zone name (case-insensitive).")
]
MinScoreQ = Annotated[float | None, Query(ge=0.0, le=1.0, description="Keep score >= this.")]
SearchQ = Annotated[
    str | None,
    Query(
        max_length=Q_MAX_CHARS,
        description="MMSI or IMO prefix, or part of the name or call sign (any case).",
        examples=["manta"],
    ),
]
MmsiPath = Annotated[int, Path(ge=0, le=MMSI_MAX, description="The vessel's MMSI.")]


# --- answers -------------------------------------------------------------------------------


def page_members(total: int, limit: int, offset: int) -> dict[str, Any]:
    """The members of a page besides its items.

    >>> page_members(250, 100, 200)
    {'total': 250, 'limit': 100, 'offset': 200, 'next': None}
    """
    after = offset + limit
    return {"total": total, "limit": limit, "offset": offset,
            "next": after if after < total else None}


def next_link(request: Request, total: int, limit: int, offset: int) -> list[dict[str, str]]:
    """The ``links`` of a page: the URL of the next page (none on the last)."""
    if offset + limit >= total:
        return []
    href = str(request.url.include_query_params(offset=offset + limit, limit=limit))
    return [{"rel": "next", "href": href, "type": "application/json"}]


def json_text(text: str, media_type: str = "application/json") -> Response:
    """A response of JSON text written already (column-wise, by :mod:`seawatch.export`)."""
    return Response(content=text, media_type=media_type)


def security(request: Request) -> Security:
    """The application's :class:`~seawatch.api.security.Security` (its state and mode)."""
    return request.app.state.security


def page_json(items: str, members: dict[str, Any]) -> str:
    """A JSON page: ``items`` (a JSON array, text) and the other members.

    >>> page_json("[]", {"total": 0, "next": None})
    '{"items":[],"total":0,"next":null}'
    """
    extra = "".join(
        f',"{k}":{json.dumps(v, separators=(",", ":"), ensure_ascii=False)}'
        for k, v in members.items()
    )
    return '{"items":' + items + extra + "}"
