"""The ports the detectors use: the shipped list, the user's, and anchorages found in the data.

Encounters, loitering and port visits measure distances to one table of port and anchorage
points (:func:`port_table`): the shipped list (:func:`seawatch.geo.ports`), plus the user's
(``--ports``), plus, with ``[ports] infer_anchorages``, anchorages inferred from the
positions themselves (after GFW ``pipe-anchorages``, at a day scale: three vessels still for
two hours in one cell near shore, :mod:`seawatch.geo.anchorages`). Anchorage
inference counts the distinct vessels that sat still in a cell, so on positions held in
chunks of whole vessels it runs in two halves (the pipeline's first pass over the chunks):
the stationary periods of each chunk (:func:`seawatch.geo.anchorages.stationary_periods`),
then the anchorages of all the periods at once
(:func:`seawatch.geo.anchorages.anchorages_from_periods`); the result is the one of the whole
table. Their parameters are the ``[ports]`` section (:class:`PortsParams`).

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

from typing import TYPE_CHECKING

import polars as pl

from seawatch import schema
from seawatch.geo.anchorages import AnchorageParams, infer_anchorages
from seawatch.params import Flag, Number, param

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.detect.config import DetectConfig


class PortsParams(AnchorageParams):
    """Parameters of the port list (``[ports]``): anchorages inferred from the data.

    Whether to infer them, and the parameters of the inference,
    :class:`seawatch.geo.anchorages.AnchorageParams` (docs/geo.md).
    """

    infer_anchorages: Flag = param(
        True,
        "Add anchorages inferred from the positions themselves to the shipped ports and those "
        "of --ports (used by encounters, loitering and port visits).",
        "GFW pipe-anchorages, at seawatch's day scale (docs/geo.md)",
    )
    known_port_km: Number = param(
        5.0,
        "An inferred anchorage within this distance of a listed port point (shipped or "
        "--ports) is that port's, and is not added (km).",
        "seawatch: beyond port visits' exit distance (4 km, GFW pipe-anchorages), so a point "
        "beside a known port does not stretch the area where passing by counts as a visit; "
        "farther out, a roadstead or a long harbour's berths the list lacks (Kaohsiung's lie "
        "8 km from its World Port Index point)",
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
        Anchorages inferred already (from the stationary periods of every chunk of a store,
        :func:`seawatch.geo.anchorages.anchorages_from_periods`), used instead of inferring
        them from ``positions``.

    Returns
    -------
    polars.DataFrame
        Columns of :func:`seawatch.geo.ports`; inferred anchorages (those more than
        ``known_port_km`` from every listed port) are named ``"inferred anchorage
        <lat>,<lon>"`` with kind ``anchorage`` and source ``inferred``.
    """
    from seawatch.geo import ports
    from seawatch.geo.portlist import PORT_COLUMNS

    parts = [ports(world=True)]
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
        found = infer_anchorages(positions, params=params)
    if params.infer_anchorages and found is not None and found.height:
        from seawatch.geo import port_index

        known_km, _ = port_index(pl.concat(parts, how="vertical_relaxed")).nearest(
            found["lat"].to_numpy(), found["lon"].to_numpy()
        )
        found = found.filter(pl.Series(known_km > float(params.known_port_km)))
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
