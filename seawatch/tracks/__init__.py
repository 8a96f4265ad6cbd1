"""Tracks: clean positions and split each vessel's positions into segments.

Pure functions of a positions table (``seawatch.schema.POSITIONS``) returning a table:
:func:`clean` drops unusable rows and duplicates and sorts by (mmsi, ts); :func:`segment`
cleans and adds ``segment_id``. The numba kernel behind :func:`segment` compiles on first
use, so importing this package is cheap.
"""

# distance_km: kept for seawatch.detect until it moves to seawatch.geo.geodesy
from seawatch.geo.geodesy import distance_km
from seawatch.tracks.clean import clean
from seawatch.tracks.segment import SEGMENT_ID_FACTOR, segment

__all__ = ["SEGMENT_ID_FACTOR", "clean", "distance_km", "segment"]
