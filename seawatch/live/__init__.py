"""Live feeds: AIS over UDP, TCP and NATS JetStream into a crash-safe log, compacted into the store.

One module per concern (docs/live.md is the user's guide):

=====================================  =====================================================
:mod:`seawatch.live.params`            the parameters (:class:`LiveParams`), one model
:mod:`seawatch.live.lines`             a connection's bytes cut into whole lines; fragments
                                       of unfinished messages held back
:mod:`seawatch.live.wal`               the write-ahead log: segments, framed records, CRC,
                                       recovery of a torn tail
:mod:`seawatch.live.feeds`             UDP and TCP listeners, TCP clients that reconnect
:mod:`seawatch.live.nats`              NATS JetStream: a consumer acknowledging once
                                       logged, a replay's publisher
:mod:`seawatch.live.outages`           the spans a feed had no connection
:mod:`seawatch.live.compact`           a range of the log into the store, exactly once
:mod:`seawatch.live.service`           the service: feeds, log writer, compactor, status
:mod:`seawatch.live.detect`            incremental detection: the batch detectors re-run on a
                                       window of the store after each compaction
:mod:`seawatch.live.replay`            a file played as a live feed
=====================================  =====================================================

Nothing here is imported by ``import seawatch``; the service loads the decoder and the store
when it starts.
"""

from __future__ import annotations
