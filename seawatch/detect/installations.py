"""Events at fixed installations: loitering and encounters by a platform, buoy or fish farm.

A supply vessel standing by an oil platform, a boat tending a fish farm or a data buoy, and
two of them side by side, are loitering and encounters by the definitions, and none is the
behaviour those definitions look for (docs/detectors.md, *installations*). So, after the
detectors, each ``loitering`` and ``encounter`` event whose location lies within
``radius_km`` (2 km; or the installation's own ``radius_km``, plus a polygon's extent) of an
installation is dropped (``score_factor = 0``, the default), or kept with its score
multiplied by ``score_factor`` and ``details.installation`` saying which installation, how
far, and the score before.

The installations are the user's (``seawatch detect --installations FILE``, or ``files`` in
``[installations]``; :func:`seawatch.geo.installations.load_installations`) and, with
``use_inferred = true``, the candidates found in the data
(:func:`seawatch.geo.installations.installations_from_periods`; found and reported, in the
run info and by ``seawatch detect``, whenever ``infer = true``).

Examples
--------
>>> import json
>>> events = pl.DataFrame({"type": ["loitering", "gap"], "mmsi": [1, 1],
...     "lat": [-3.05, -3.05], "lon": [-80.85, -80.85], "score": [0.8, 0.9],
...     "details": ['{"duration_h": 5.0}', '{"duration_h": 13.0}']})
>>> platform = pl.DataFrame({"name": ["Amistad"], "kind": ["platform"], "lat": [-3.06],
...     "lon": [-80.85], "extent_km": [0.0], "radius_km": [None], "source": ["p.geojson"]})
>>> kept, counts = at_installations(events, platform)
>>> kept["type"].to_list(), counts
(['gap'], {'loitering': 1})
>>> lowered, _ = at_installations(events, platform, score_factor=0.25)
>>> lowered["score"].to_list()
[0.2, 0.9]
>>> json.loads(lowered["details"][0])["installation"]["name"]
'Amistad'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from seawatch.geo.installations import (
    INSTALLATION_COLUMNS,
    InstallationSearch,
    installations_from_periods,
    load_installations,
)
from seawatch.params import Flag, Names, Number, param, resolve

__all__ = [
    "AFFECTED_TYPES",
    "InstallationsParams",
    "at_installations",
    "candidates_of",
    "installation_table",
    "standbys_of",
    "with_candidates",
]

AFFECTED_TYPES: tuple[str, ...] = ("loitering", "encounter")
"""The event types an installation explains: standing by and meeting there."""


class InstallationsParams(InstallationSearch):
    """Parameters of ``[installations]`` (docs/detectors.md, *installations*)."""

    files: Names = param(
        None,
        "GeoJSON files of installations (points or polygons; properties name, kind, "
        "radius_km), relative to the working directory; --installations adds one.",
        "the user's knowledge of the area (platforms, buoys, fish farms)",
        example=["installations.geojson"],
    )
    radius_km: Number = param(
        2.0,
        "A loitering or encounter event whose location lies within this distance of an "
        "installation (km; beyond a polygon's farthest corner) is at it, unless the "
        "installation gives its own radius_km.",
        "seawatch: the 500 m safety zone around an installation (UNCLOS art. 60(5)) where "
        "supply vessels stand by at its edge, plus the drift of a stand-by of hours",
    )
    score_factor: Number = param(
        0.0,
        "The score of an event at an installation is multiplied by this (0 to 1); 0 drops "
        "the event (counted in the run info).",
        "seawatch: a vessel standing by a declared installation is its work, not a "
        "transshipment; set e.g. 0.25 to keep such events, lowered, with "
        "details.installation",
    )
    infer: Flag = param(
        True,
        "Find installation candidates in the data (where the loitering and encounters of "
        "several vessels recur far from shore over days) and report them in the run info.",
        "issue 12 item 7: installations the user's file lacks",
    )
    use_inferred: Flag = param(
        False,
        "Treat the candidates found as installations (as the user's are).",
        "seawatch: off, since a candidate is a guess an officer confirms (add it to the "
        "file) before alerts there are lowered",
    )


def installation_table(
    params: InstallationsParams,
    given: pl.DataFrame | None = None,
    inferred: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The installations the events are checked against: those of ``params.files``,
    ``given`` (e.g. ``--installations``), and ``inferred`` (the candidates found in the
    data) when ``params.use_inferred``.

    Returns
    -------
    polars.DataFrame
        Columns :data:`seawatch.geo.installations.INSTALLATION_COLUMNS`.

    Raises
    ------
    seawatch.errors.InputError, seawatch.errors.InvalidValue
        A file of ``params.files`` cannot be read (:func:`seawatch.geo.installations.
        load_installations`).
    """
    parts = [load_installations(Path(f)) for f in params.files or []]
    if given is not None:
        parts.append(given)
    return with_candidates(params, _joined(parts), inferred)


def with_candidates(
    params: InstallationsParams, table: pl.DataFrame, inferred: pl.DataFrame | None
) -> pl.DataFrame:
    """``table`` (installations) plus ``inferred`` when ``params.use_inferred``."""
    if not params.use_inferred or inferred is None:
        return table
    return _joined([table, inferred])


def _joined(parts: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [
        p.select([pl.col(c).cast(t) for c, t in INSTALLATION_COLUMNS.items()])
        for p in parts
        if p.height
    ]
    return pl.concat(frames) if frames else pl.DataFrame(schema=INSTALLATION_COLUMNS)


def standbys_of(events: pl.DataFrame) -> pl.DataFrame:
    """The stand-bys of loitering and encounter events: one row per vessel and event (both
    vessels of an encounter), ``mmsi``, ``lat``, ``lon`` (the event's), ``hours``, ``start``,
    ``end``.

    >>> from datetime import datetime, UTC
    >>> t0, t1 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 6, tzinfo=UTC)
    >>> ev = pl.DataFrame({"type": ["encounter", "gap"], "mmsi": [1, 1],
    ...     "other_mmsi": [2, None], "start": [t0, t0], "end": [t1, t1],
    ...     "lat": [-3.0, -3.0], "lon": [-81.0, -81.0]})
    >>> standbys_of(ev).select("mmsi", "hours").rows()
    [(1, 6.0), (2, 6.0)]
    """
    ev = events.filter(pl.col("type").is_in(list(AFFECTED_TYPES)))
    both = pl.concat(
        [
            ev.select(pl.col("mmsi"), "lat", "lon", "start", "end"),
            ev.filter(pl.col("other_mmsi").is_not_null()).select(
                pl.col("other_mmsi").alias("mmsi"), "lat", "lon", "start", "end"
            ),
        ]
    )
    return both.with_columns(
        ((pl.col("end") - pl.col("start")).dt.total_microseconds() / 3.6e9).alias("hours")
    )


def candidates_of(
    events: pl.DataFrame, *, params: InstallationsParams | None = None
) -> pl.DataFrame:
    """Installation candidates where the loitering and encounters of several vessels recur
    (:func:`seawatch.geo.installations.installations_from_periods` of
    :func:`standbys_of` ``events``)."""
    return installations_from_periods(standbys_of(events), params=params)


def at_installations(
    events: pl.DataFrame,
    installations: pl.DataFrame,
    *,
    params: InstallationsParams | None = None,
    **overrides: Any,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Drop or lower the loitering and encounter events at an installation.

    Parameters
    ----------
    events
        Events (``seawatch.schema.EVENTS``; ``type``, ``lat``, ``lon``, ``score`` and
        ``details`` are used).
    installations
        :data:`seawatch.geo.installations.INSTALLATION_COLUMNS` (:func:`installation_table`).
    params, **overrides
        :class:`InstallationsParams` (``radius_km`` and ``score_factor`` are used).

    Returns
    -------
    (events, counts)
        The events, those of :data:`AFFECTED_TYPES` at an installation dropped
        (``score_factor = 0``) or with their score multiplied and ``details.installation``
        (``name``, ``kind``, ``source``, ``distance_km``, ``score_before``); and the number
        of events at an installation per type.
    """
    p = resolve(InstallationsParams, params, overrides, "at_installations()")
    if events.height == 0 or installations.height == 0:
        return events, {}
    from seawatch.geo import port_index

    reach = (
        installations["radius_km"].fill_null(float(p.radius_km)) + installations["extent_km"]
    ).to_numpy()
    affected = np.flatnonzero(events["type"].is_in(list(AFFECTED_TYPES)).to_numpy())
    lat = events["lat"].cast(pl.Float64).to_numpy()[affected]
    lon = events["lon"].cast(pl.Float64).to_numpy()[affected]
    index = port_index(installations)
    point, inst = index.within(lat, lon, float(reach.max()))
    # the distance of each pair, then the nearest installation reaching each event
    from seawatch.geo.geodesy import haversine_km

    ilat = installations["lat"].to_numpy()[inst]
    ilon = installations["lon"].to_numpy()[inst]
    dist = haversine_km(lat[point], lon[point], ilat, ilon)
    hit = dist <= reach[inst]
    point, inst, dist = point[hit], inst[hit], dist[hit]
    order = np.lexsort((dist, point))
    point, inst, dist = point[order], inst[order], dist[order]
    first = np.r_[True, point[1:] != point[:-1]] if len(point) else np.zeros(0, dtype=bool)
    rows = affected[point[first]]
    which, km = inst[first], dist[first]
    counts: dict[str, int] = {}
    for kind in events["type"].to_numpy()[rows]:
        counts[str(kind)] = counts.get(str(kind), 0) + 1
    factor = min(float(p.score_factor), 1.0)
    if factor == 0.0:
        drop = np.zeros(events.height, dtype=bool)
        drop[rows] = True
        return events.filter(pl.Series(~drop)), counts
    score = events["score"].cast(pl.Float64).to_numpy().copy()
    details = events["details"].to_list()
    for row, i, d in zip(rows.tolist(), which.tolist(), km.tolist(), strict=True):
        found = json.loads(details[row]) if details[row] else {}
        found["installation"] = {
            "name": installations["name"][i],
            "kind": installations["kind"][i],
            "source": installations["source"][i],
            "distance_km": round(d, 3),
            "score_before": score[row],
        }
        details[row] = json.dumps(found, separators=(",", ":"))
        score[row] = round(score[row] * factor, 6)
    return events.with_columns(
        pl.Series("score", score, dtype=events.schema["score"]),
        pl.Series("details", details, dtype=pl.String),
    ), counts
