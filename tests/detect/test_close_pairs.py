"""The pair kernel of encounters: close pairs of samples by earth-centred cubes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from seawatch.detect.close_pairs import close_pairs
from seawatch.geo.geodesy import distance_m
from seawatch.tracks.resample import resample_samples

T0 = datetime(2026, 1, 15, tzinfo=UTC)


def test_close_pairs_matches_brute_force():
    rng = np.random.default_rng(5)
    n_vessels, n_steps = 400, 6
    rows = []
    for k in range(n_steps):
        lat = rng.uniform(-0.05, 0.05, n_vessels)
        lon = rng.uniform(179.95, 180.05, n_vessels)
        lon = (lon + 180) % 360 - 180  # across the antimeridian
        rows.append(
            pl.DataFrame(
                {
                    "mmsi": np.arange(n_vessels),
                    "ts": [T0 + timedelta(minutes=10 * k)] * n_vessels,
                    "lat": lat,
                    "lon": lon,
                }
            )
        )
    s = resample_samples(pl.concat(rows))
    i, j, _ = close_pairs(s, 500.0)
    got = {(min(a, b), max(a, b)) for a, b in zip(i.tolist(), j.tolist(), strict=True)}
    assert len(got) == len(i)  # each pair once
    want = set()
    for step in np.unique(s.step):
        idx = np.flatnonzero(s.step == step)
        ii, jj = np.triu_indices(len(idx), k=1)
        dd = distance_m(s.lat[idx[ii]], s.lon[idx[ii]], s.lat[idx[jj]], s.lon[idx[jj]])
        want |= {
            (int(idx[a]), int(idx[b])) for a, b in zip(ii[dd <= 500], jj[dd <= 500], strict=True)
        }
    assert got == want
    assert len(want) > 100
