"""``GET /api/v1/watch``: today's watch list, the vessels ordered by risk, each with the
breakdown of its risk (:mod:`seawatch.risk`), computed from the events the caller sees."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.view import View
from seawatch.errors import InvalidValue
from seawatch.share.policy import Access
from seawatch.share.roles import READ

WATCH_TOP_MAX = 1000
"""Most vessels one answer lists."""


class Reason(BaseModel):
    signal: str = Field(description="The signal (an event type).")
    contribution: float = Field(description="Its share of the risk, 0 to 1.")
    count: int = Field(description="The vessel's events of that type that day.")
    events: list[str] = Field(description="Ids of the events counted (the strongest).")


class WatchItem(BaseModel):
    mmsi: int
    name: str | None = None
    risk: float = Field(description="1 - prod(1 - contribution) over the breakdown.")
    breakdown: list[Reason] = Field(description="Why this vessel, strongest first.")


class WatchList(BaseModel):
    day: str | None = Field(description="The UTC day (YYYY-MM-DD); null without events.")
    items: list[WatchItem]


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/watch`` to the ``/api/v1`` router."""

    @router.get("/watch", response_model=WatchList, tags=["events"],
                summary="Today's watch list: vessels by risk, with why")
    def watch(
        access: Annotated[Access, require(READ)],
        day: Annotated[str | None, Query(
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="The UTC day, YYYY-MM-DD (default: the day of the latest event "
            "the caller sees).")] = None,
        top: Annotated[int, Query(ge=1, le=WATCH_TOP_MAX, description=(
            "Vessels listed, highest risk first."))] = 20,
    ) -> Response:
        """The vessels of the events overlapping ``day``, highest risk first, each with
        ``risk`` and ``breakdown`` (signal, contribution, count, evidence event ids); see
        docs/risk.md. Another agency's risk is computed from the events it may see only."""
        from seawatch.risk import watch_list, with_names

        try:
            wanted = date.fromisoformat(day) if day else None
        except ValueError:
            raise InvalidValue(f"day must be a date YYYY-MM-DD, got {day!r}") from None
        view = View(query, access)
        ranked, shown = watch_list(view.events(), wanted, top, query.risk_params)
        if ranked.height:
            import polars as pl

            ids = ranked["mmsi"].to_list()
            names = pl.DataFrame(
                [{"mmsi": v["mmsi"], "name": v.get("name")} for v in view.identities(ids)],
                schema={"mmsi": pl.Int64, "name": pl.String})
            ranked = with_names(ranked, names)
        elif "name" not in ranked.columns:
            ranked = ranked.with_columns(name=None)
        items = ranked.select("mmsi", "name", "risk", "breakdown").to_dicts()
        return JSONResponse({"day": shown.isoformat() if shown else None, "items": items})
