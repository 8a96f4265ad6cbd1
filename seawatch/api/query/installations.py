"""Fixed installations of a store's detection run: what ``GET /api/v1/installations``
answers.

The detection run checks each loitering and encounter event against fixed installations
(platforms, buoys, fish farms: the user's file, and with ``[installations] use_inferred``
the candidates found in the data) and drops or lowers those at one
(:mod:`seawatch.detect.installations`, docs/detectors.md). It records in its run info
(``Store.events_info()["installations"]``) the user's installations it checked (``table``),
the candidates it found (``candidates``), how many events of each type were at one
(``at_installations``), and its parameters (``config.installations``). This module turns
that record into GeoJSON for the map: one Point per installation or candidate, with the
radius within which an event is at it. Nothing is computed again: the answer is the run's.

Examples
--------
>>> import tempfile
>>> from seawatch.api.query import StoreQuery
>>> from seawatch.store import Store
>>> path = tempfile.mkdtemp()
>>> _ = Store(path)
>>> fc = build_installations(StoreQuery(path))
>>> fc["detected"], fc["features"]
(False, [])
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from seawatch.units import format_time

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery

CANDIDATE_KIND = "candidate"
"""``kind`` of an installation candidate found in the data."""


def build_installations(query: StoreQuery) -> dict[str, Any]:
    """The installations and candidates of the store's detection run, as GeoJSON.

    Returns
    -------
    dict
        A FeatureCollection of Points. Each feature's properties: ``name``, ``kind``
        (the file's, e.g. ``platform``; ``candidate`` for one found in the data),
        ``source`` (the file name, or ``inferred``), ``candidate`` (bool), ``used``
        (whether events were checked against it: always for the user's, for a candidate
        only with ``use_inferred``), ``radius_km`` (its own, else the run's),
        ``extent_km`` (0 for a point; a polygon's farthest corner from its centre),
        ``reach_km`` (``radius_km + extent_km``: an event whose location lies within it
        is at the installation) and, for a candidate, ``n_vessels``, ``standby_hours``,
        ``first`` and ``last``. Beside ``features``: ``detected`` (a run recorded
        installations), ``score_factor``, ``use_inferred``, ``radius_km`` (the run's
        parameters) and ``at_installations`` (events at an installation, per type:
        dropped when ``score_factor`` is 0, else kept lowered).
    """
    run = query.store.events_info() or {}
    info = run.get("installations")
    params = (run.get("config") or {}).get("installations") or {}
    radius = float(params.get("radius_km", 2.0))
    use_inferred = bool(params.get("use_inferred", False))
    features: list[dict[str, Any]] = []
    if isinstance(info, dict):
        for row in info.get("table") or []:
            features.append(_feature(row, radius, candidate=False, used=True))
        for row in info.get("candidates") or []:
            row = {"kind": CANDIDATE_KIND, "source": "inferred", "extent_km": 0.0, **row}
            features.append(_feature(row, radius, candidate=True, used=use_inferred))
    return {
        "type": "FeatureCollection",
        "detected": isinstance(info, dict),
        "score_factor": params.get("score_factor"),
        "use_inferred": use_inferred,
        "radius_km": radius,
        "at_installations": (info or {}).get("at_installations") or {},
        "features": features,
    }


def _feature(row: dict[str, Any], radius: float, *, candidate: bool, used: bool) -> dict[str, Any]:
    """One installation (a run info row) as a GeoJSON Point feature."""
    own = row.get("radius_km")
    extent = float(row.get("extent_km") or 0.0)
    reach = (radius if own is None else float(own)) + extent
    props: dict[str, Any] = {
        "name": row.get("name"),
        "kind": row.get("kind"),
        "source": row.get("source"),
        "candidate": candidate,
        "used": used,
        "radius_km": radius if own is None else float(own),
        "extent_km": extent,
        "reach_km": round(reach, 3),
    }
    if candidate:
        for key in ("n_vessels", "standby_hours", "first", "last"):
            value = row.get(key)
            props[key] = format_time(value) if isinstance(value, datetime) else value
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [float(row["lon"]), float(row["lat"])]},
        "properties": props,
    }
