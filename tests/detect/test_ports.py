"""The port table the detectors use: shipped, the user's, and anchorages inferred."""

from __future__ import annotations

import polars as pl

from seawatch.detect.config import DetectConfig
from seawatch.detect.ports import port_table
from seawatch.geo.geodesy import flat_destination

MANTA = (-0.9333, -80.7167)  # a shipped port point is within 1 km of this


def anchorages(*points):
    return pl.DataFrame({"lat": [p[0] for p in points], "lon": [p[1] for p in points]})


def test_an_inferred_anchorage_beside_a_listed_port_is_that_port_s():
    """An anchorage found 1 km from a listed port point adds nothing but a wider area where
    passing by counts as a port visit (the simulator's seed 3 had two such false visits by
    Paita); one 30 km along the coast, or in the user's --ports list's absence, is added."""
    beside = flat_destination(*MANTA, 1.0, 0.0)
    away = flat_destination(*MANTA, 30.0, 200.0)
    cfg = DetectConfig()
    shipped = port_table(None, None, cfg).height
    table = port_table(None, None, cfg, anchorages=anchorages(beside, away))
    added = table.filter(pl.col("source") == "inferred")
    assert table.height == shipped + 1 and added.height == 1
    assert added["lat"][0] == away[0]
    # the user's ports count as listed
    user = pl.DataFrame({"name": ["Cove"], "lat": [away[0]], "lon": [away[1] + 0.01]})
    assert port_table(None, user, cfg, anchorages=anchorages(away)).filter(
        pl.col("source") == "inferred").height == 0
    # known_port_km = 0 adds every anchorage found
    every = DetectConfig.from_dict({"ports": {"known_port_km": 0}})
    assert port_table(None, None, every, anchorages=anchorages(beside, away)).height == (
        shipped + 2
    )
