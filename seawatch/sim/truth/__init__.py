"""Ground truth: the event definitions of ``docs/detectors.md`` applied to the emitted data.

The truth of a scenario is not a list of what was meant to happen but what the definitions
say happened in the positions a decoder will read (noise-free coordinates; the noise is
then kept from changing any of it, see :mod:`seawatch.sim.emit`). Every definition is
applied to every track, so the truth also holds whatever happens by chance: each zone
crossing of every vessel, each port visit, and any encounter or loitering episode nobody
planted. Planted behaviours are then matched to the events found and marked ``planted``
in ``details`` with their parameters; a planted behaviour the definitions do not find is
reported by :func:`seawatch.sim.truth_pass.match_intents` (it would be a bug of the
planter).

The functions take :class:`~seawatch.sim.truth.events.Track` tables: positions of whole
tracks sorted by track and time. One module per event type, as in :mod:`seawatch.detect`:
:mod:`.zone` (zone crossings, fishing in a closed zone), :mod:`.port_visit`, :mod:`.gap`,
:mod:`.loitering`, :mod:`.encounter`; :mod:`.events` holds the raw event table. (Spoofing
truth comes from the planted identity thefts and jumps, in :mod:`seawatch.sim.truth_pass`.)

Choices where the definitions leave room (documented in ``docs/sim.md``):

- positions of a spoofed jump are left out of every per-track definition (a segmenter puts
  them in a segment of their own); a shared MMSI's two tracks are treated separately;
- port visits: the 30-minute minimum applies to visits open at the start or end too;
- fishing_in_zone: an episode is a run of positions at fishing speed inside the zones
  closed to the vessel's flag, split by a position outside them or faster than 5 kn, or by
  1 h or more between two positions at fishing speed (a pause, or a reception gap); one
  event per episode, named after the most protective zone fished in;
- encounters: grid times are multiples of 10 minutes (UTC); the mean position is the mean
  of the pair's midpoints, and each vessel's median speed the median of its interpolated
  ``sog``, over the grid steps within 500 m (as ``seawatch.detect.encounter`` does); a
  vessel is slow at a step when that ``sog`` is under 2 kn, and the slow part of a run
  within 500 m runs from its first slow step to its last.
"""

from __future__ import annotations

from seawatch.sim.truth.encounter import (
    ENCOUNTER_DISTANCE_M,
    encounter_pieces,
    encounters,
    grid_samples,
)
from seawatch.sim.truth.events import RAW_SCHEMA, Track, empty_raw, raw_events, to_events
from seawatch.sim.truth.gap import gaps, segment_breaks
from seawatch.sim.truth.loitering import drop_overlapping, loitering_candidates
from seawatch.sim.truth.port_visit import port_visits
from seawatch.sim.truth.zone import fishing_in_zone, zone_events

__all__ = ["ENCOUNTER_DISTANCE_M", "RAW_SCHEMA", "Track", "drop_overlapping", "empty_raw",
           "encounter_pieces", "encounters", "fishing_in_zone", "gaps", "grid_samples",
           "loitering_candidates", "port_visits", "raw_events", "segment_breaks", "to_events",
           "zone_events"]
