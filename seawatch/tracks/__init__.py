"""Tracks: clean positions and split each vessel's positions into segments.

Pure functions of a positions table (``seawatch.schema.POSITIONS``) returning a table:
:func:`clean` drops unusable rows and duplicates and sorts by (mmsi, ts); :func:`segment`
cleans and adds ``segment_id``, with the parameters of :class:`SegmentParams` (defaults
written once, there); :func:`flag_outliers` adds ``outlier``: single reports that no track
explains (garbled), which the detectors ignore. The numba kernel behind :func:`segment`
compiles on first use, so importing this package is cheap.
"""

from seawatch.tracks.clean import clean
from seawatch.tracks.outliers import flag_outliers
from seawatch.tracks.segment import SEGMENT_ID_FACTOR, SegmentParams, segment

__all__ = ["SEGMENT_ID_FACTOR", "SegmentParams", "clean", "flag_outliers", "segment"]
