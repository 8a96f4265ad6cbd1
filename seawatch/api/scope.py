"""Narrowing a positions query to what another agency's grants can release.

A partner reads positions only where a live grant releases them (its area, its data window).
:meth:`~seawatch.share.policy.Access.filter_positions` decides that exactly, row by row; the
helpers here only make the scan before it cheap: with one grant, :func:`narrowed_scope` cuts
the query's box and window to the grant's, so the query index can answer it; with several,
:func:`grants_prefilter` pushes the union of their boxes and windows into the scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from seawatch.units import BBox

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.share.grants import Grant

Scope = tuple[datetime | None, datetime | None, BBox | None]
"""``(start, end, bbox)`` of a positions query."""

EMPTY_SCOPE: Scope = (None, None, (0.0, 1.0, 0.0, -1.0))
"""What :func:`narrowed_scope` answers when the query and the grant cannot meet."""


def narrowed_scope(
    grant: Grant,
    start: datetime | None,
    end: datetime | None,
    bbox: BBox | None,
) -> Scope | None:
    """``(start, end, bbox)`` of a positions query narrowed to what one grant can release:
    the query's box cut to the grant area's bounds and its window ``[start, end)`` cut to
    the grant's data window (whose end is inclusive). A superset of what the grant releases
    inside the query, so :meth:`~seawatch.share.policy.Access.filter_positions` on its rows
    is exact, and a box or window the query index can answer. :data:`EMPTY_SCOPE` when they
    cannot meet; None when either box crosses the antimeridian (the caller scans instead).

    >>> from types import SimpleNamespace
    >>> g = SimpleNamespace(area_kind="bbox", area=None, bbox=(-92.0, -2.0, -88.0, 2.0),
    ...                     data_start=None, data_end=None)
    >>> narrowed_scope(g, None, None, (-90.0, 0.0, -80.0, 5.0))
    (None, None, (-90.0, 0.0, -88.0, 2.0))
    >>> narrowed_scope(g, None, None, (-80.0, 0.0, -70.0, 5.0)) == EMPTY_SCOPE
    True
    """
    import shapely

    box = bbox
    if grant.area_kind != "all":
        if grant.area_kind == "bbox" and grant.bbox is not None:
            bounds = tuple(float(v) for v in grant.bbox)
        elif grant.area is not None:
            bounds = tuple(float(v) for v in shapely.bounds(grant.area))
        else:
            return EMPTY_SCOPE  # a zone the server does not know releases nothing
        if bounds[0] > bounds[2] or (bbox is not None and bbox[0] > bbox[2]):
            return None
        if bbox is None:
            box = bounds  # type: ignore[assignment]
        else:
            box = (max(bbox[0], bounds[0]), max(bbox[1], bounds[1]),
                   min(bbox[2], bounds[2]), min(bbox[3], bounds[3]))
            if box[0] > box[2] or box[1] > box[3]:
                return EMPTY_SCOPE
    if grant.data_start is not None:
        first = _aware(grant.data_start)
        start = first if start is None else max(_aware(start), first)
    if grant.data_end is not None:
        stop = _aware(grant.data_end) + timedelta(microseconds=1)
        end = stop if end is None else min(_aware(end), stop)
    if start is not None and end is not None and start >= end:
        return EMPTY_SCOPE
    return start, end, box


def _aware(value: datetime) -> datetime:
    """A datetime as aware UTC (naive ones are UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def grants_prefilter(grants: Sequence[Grant]) -> pl.Expr:
    """A cheap superset of what the grants release (their areas' boxes and data windows),
    pushed into the positions scan before the exact
    :meth:`~seawatch.share.policy.Access.filter_positions`."""
    import shapely

    expr = pl.lit(False)
    for g in grants:
        cond = pl.lit(True)
        if g.area_kind != "all":
            area = g.area
            if area is None:
                continue
            if g.area_kind == "bbox" and g.bbox is not None and g.bbox[0] > g.bbox[2]:
                x0, y0, x1, y1 = g.bbox
                lon_ok = (pl.col("lon") >= x0) | (pl.col("lon") <= x1)
            else:
                x0, y0, x1, y1 = (float(v) for v in shapely.bounds(area))
                lon_ok = pl.col("lon").is_between(x0, x1)
            cond = cond & pl.col("lat").is_between(y0, y1) & lon_ok
        if g.data_start is not None:
            cond = cond & (pl.col("ts") >= pl.lit(g.data_start))
        if g.data_end is not None:
            cond = cond & (pl.col("ts") <= pl.lit(g.data_end))
        expr = expr | cond
    return expr
