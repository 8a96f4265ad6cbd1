"""The ports the detectors use: the shipped list, the user's, and anchorages found in the data.

Encounters, loitering and port visits measure distances to one table of port and anchorage
points (:func:`port_table`): the shipped list (:func:`seawatch.geo.ports`), plus the user's
(``--ports``), plus, with ``[ports] infer_anchorages``, anchorages inferred from the
positions themselves (GFW ``pipe-anchorages``, :mod:`seawatch.geo.anchorages`). Anchorage
inference counts the distinct vessels that sat still in a cell, so on positions held in
chunks of whole vessels it runs in two halves: the stationary periods of each chunk
(:func:`periods_of`), then the anchorages of all the periods at once (:func:`anchorages_of`);
the result is the one of the whole table.

Examples
--------
>>> from seawatch.detect.config import DetectConfig
>>> table = port_table(None, None, DetectConfig())
>>> table.columns
['name', 'lat', 'lon', 'iso3', 'kind', 'source']
>>> table.height > 1000
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from seawatch import schema
from seawatch.detect.params import Count, Duration, Flag, Number, Params, param
from seawatch.units import parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.detect.config import DetectConfig

ANCHORAGE_CFG = "GFW pipe-anchorages anchorage_cfg.yaml"


class PortsParams(Params):
    """Parameters of the port list (``[ports]``): anchorages inferred from the data.

    The inference is :mod:`seawatch.geo.anchorages` (docs/geo.md).
    """

    infer_anchorages: Flag = param(
        True,
        "Add anchorages inferred from the positions themselves to the shipped ports and those "
        "of --ports (used by encounters, loitering and port visits).",
        "GFW pipe-anchorages",
    )
    cell_km: Number = param(
        0.5,
        "Side of the equal-area grid cells stationary periods are grouped in (km).",
        "GFW pipe-anchorages: S2 cells of level 14, about 0.5 km",
    )
    min_vessels: Count = param(
        20,
        "Distinct vessels with a stationary period in a cell for it to be an anchorage.",
        f"{ANCHORAGE_CFG} min_unique_vessels_for_anchorage",
    )
    min_positions: Count = param(
        200,
        "Vessels with fewer positions are ignored.",
        f"{ANCHORAGE_CFG} min_required_positions",
    )
    max_speed_kn: Number = param(
        0.5,
        "Positions faster than this (knots) end a stationary period.",
        f"{ANCHORAGE_CFG} stopped_end_speed_knots",
    )
    max_distance_km: Number = param(
        0.5,
        "A stationary period stays within this distance of its first position (km).",
        f"{ANCHORAGE_CFG} stationary_period_max_distance_km",
    )
    min_duration: Duration = param(
        "12h",
        "Shortest stationary period.",
        f"{ANCHORAGE_CFG} stationary_period_min_duration_minutes = 720",
    )


def periods_of(positions: pl.DataFrame, params: PortsParams) -> pl.DataFrame:
    """The stationary periods of ``positions`` (first half of anchorage inference).

    Each vessel is handled on its own, so the periods of chunks of whole vessels are those of
    the whole table (:func:`seawatch.geo.anchorages.stationary_periods`).
    """
    from seawatch.geo.anchorages import stationary_periods

    return stationary_periods(
        positions,
        min_positions=params.min_positions,
        max_speed_kn=params.max_speed_kn,
        max_distance_km=params.max_distance_km,
        min_duration=parse_duration(params.min_duration).total_seconds() / 3600.0,
    )


def anchorages_of(periods: Sequence[pl.DataFrame], params: PortsParams) -> pl.DataFrame:
    """The anchorages of the stationary periods of every chunk (second half of inference)."""
    from seawatch.geo.anchorages import anchorages_from_periods

    return anchorages_from_periods(
        pl.concat(periods), cell_km=params.cell_km, min_vessels=params.min_vessels
    )


def port_table(
    positions: pl.DataFrame | None,
    extra: pl.DataFrame | None,
    config: DetectConfig,
    *,
    anchorages: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The ports the detectors use: shipped, plus ``extra``, plus inferred anchorages.

    Parameters
    ----------
    positions : polars.DataFrame, optional
        Positions to infer anchorages from (``config.ports.infer_anchorages``).
    extra : polars.DataFrame, optional
        A user's ports (:func:`seawatch.geo.load_ports`), added to the shipped list.
    config : DetectConfig
        ``[ports]`` section.
    anchorages : polars.DataFrame, optional
        Anchorages inferred already (:func:`anchorages_of` the stationary periods of every
        chunk of a store), used instead of inferring them from ``positions``.

    Returns
    -------
    polars.DataFrame
        Columns of :func:`seawatch.geo.ports`; inferred anchorages are named
        ``"inferred anchorage <lat>,<lon>"`` with kind ``anchorage`` and source ``inferred``.
    """
    from seawatch.geo import ports
    from seawatch.geo.portlist import PORT_COLUMNS

    parts = [ports()]
    if extra is not None and extra.height:
        missing = [c for c in ("name", "lat", "lon") if c not in extra.columns]
        if missing:
            raise schema.SchemaError(f"ports need column(s) {missing}; found: {extra.columns}")
        parts.append(
            extra.select(
                [
                    pl.col(c).cast(pl.Float64 if c in ("lat", "lon") else pl.String)
                    if c in extra.columns
                    else pl.lit(None, dtype=pl.String).alias(c)
                    for c in PORT_COLUMNS
                ]
            )
        )
    params: PortsParams = config.ports
    found = anchorages
    if found is None and params.infer_anchorages and positions is not None and positions.height:
        found = anchorages_of([periods_of(positions, params)], params)
    if params.infer_anchorages and found is not None and found.height:
        parts.append(
            found.select(
                pl.format(
                    "inferred anchorage {},{}", pl.col("lat").round(4), pl.col("lon").round(4)
                ).alias("name"),
                pl.col("lat").cast(pl.Float64),
                pl.col("lon").cast(pl.Float64),
                pl.lit(None, dtype=pl.String).alias("iso3"),
                pl.lit("anchorage").alias("kind"),
                pl.lit("inferred").alias("source"),
            )
        )
    return pl.concat(parts, how="vertical_relaxed")
