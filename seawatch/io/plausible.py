"""What a decoded value can be: the checks the readers apply before rows reach the tables.

A corrupt line can still decode: a bit flip that the NMEA checksum does not catch (about 1 %
of flipped lines), a receiver whose clock is set years ahead, an export with a name of five
million characters. The readers check what they decode against these bounds, and a value that
cannot be true never reaches the tables silently:

- a **position** off the globe (latitude beyond ±90, longitude beyond ±180, other than the
  "not available" 91 and 181) makes the row ``impossible_value`` (quarantined, counted);
- a **receive time** before AIS existed (:data:`seawatch.schema.MIN_EPOCH_S`, 1990) or more
  than :data:`FUTURE_TOLERANCE` after the clock of the machine reading it makes the row
  ``impossible_value``;
- a **speed, course or heading** outside its range (a course of 370°, a heading of 400, a
  CSV speed of -3 or 250 knots) is nulled and counted in the reader's ``stats`` under
  ``implausible_sog``, ``implausible_cog`` and ``implausible_heading``: the position beside it
  is kept;
- a **text field** longer than :data:`MAX_TEXT_CHARS` is cut to it and counted under
  ``text_capped``.

Examples
--------
>>> from datetime import UTC, datetime
>>> latest_time_us(datetime(2026, 1, 1, tzinfo=UTC)) // 1_000_000
1767312000
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

FUTURE_TOLERANCE = timedelta(days=1)
"""How far after the reading machine's clock a receive time may be: more cannot be true (a
receiver clock set wrong, a corrupt time field, a tag block ``c:`` with a flipped digit). A day
leaves room for a reader's or a receiver's clock, or time zone, set wrong by hours."""

MAX_TEXT_CHARS = 100
"""Longest text kept in a name, call sign or destination: AIS carries at most 20 characters
(34 in an aid to navigation's name with its extension), so more in an export is not a name."""

def latest_time_us(now: datetime | None = None) -> int:
    """µs since the epoch of the latest plausible receive time: ``now`` (the machine's clock by
    default) plus :data:`FUTURE_TOLERANCE`."""
    clock = now.timestamp() if now is not None else time.time()
    return int((clock + FUTURE_TOLERANCE.total_seconds()) * 1_000_000)
