"""The parameters of ``seawatch live``: one model, every default written once (docs/live.md).

>>> p = LiveParams()
>>> p.fsync, p.fsync_max_ms, p.compact_every_s
(True, 50, 60)
>>> print(parameter_table().splitlines()[2])  # doctest: +ELLIPSIS
| `wal_segment_mb` | 64 | ...
"""

from __future__ import annotations

from seawatch.params import Count, Flag, Number, Params, param, reference_of


class LiveParams(Params):
    """How ``seawatch live`` logs, acknowledges, compacts and watches its feeds."""

    wal_segment_mb: Number = param(
        64, "Size (MiB) at which the write-ahead log starts a new segment file; a segment is "
        "deleted once every record in it is in the store.", "docs/live.md, write-ahead log")
    fsync: Flag = param(
        True, "fsync each batch before acknowledging it (false: acknowledged once written to "
        "the operating system: survives a crash of seawatch, not a power cut).",
        "docs/live.md, fsync policy")
    fsync_max_ms: Number = param(
        50, "Longest a received line waits before its batch is written and fsynced "
        "(milliseconds): the acknowledgement latency.", "docs/live.md, fsync policy")
    fsync_max_lines: Count = param(
        5000, "A batch is written and fsynced as soon as it holds this many lines, whatever "
        "its age.", "docs/live.md, fsync policy")
    max_pending_mb: Number = param(
        64, "Most received bytes (MiB) waiting for the log: past it TCP feeds stop reading "
        "(the sender waits) and UDP datagrams are dropped and counted.",
        "docs/live.md, limits")
    compact_every_s: Number = param(
        60, "Seconds between two compactions of the log into the store (each one commits a "
        "snapshot and adds a part file to each day it touches).", "docs/live.md, compaction")
    compact_every_lines: Count = param(
        500_000, "A compaction starts early once this many lines are waiting in the log.",
        "docs/live.md, compaction")
    compact_max_lines: Count = param(
        2_000_000, "Most lines one compaction takes (about 100 bytes each in memory); after a "
        "long time without compaction the log is compacted in several steps.",
        "docs/live.md, compaction")
    day_parts: Count = param(
        16, "Most part files one table's day holds; past it the smallest half (plus one) "
        "are merged into one, so a row is rewritten a few times a day, not at each "
        "compaction.", "docs/live.md, compaction")
    part_merge_rows: Count = param(
        2_000_000, "Most rows a merge of parts sorts at once (about 200 bytes each in memory); "
        "a bigger merge goes in ranges of MMSI.", "docs/live.md, compaction")
    group_hold_s: Number = param(
        2, "Longest the first fragments of a multi-sentence message are held back waiting "
        "for the rest; then they are logged as they are (and assembled at compaction if the "
        "rest comes within the decoder's window, else quarantined as an incomplete group).",
        "docs/live.md, feeds")
    idle_timeout_s: Number = param(
        120, "A TCP connection that delivers nothing for this long is closed (a client that "
        "connects and sends nothing; a server that went quiet is reconnected).",
        "docs/live.md, bad input")
    max_clients: Count = param(
        64, "Most simultaneous clients of one TCP listener; more are refused and counted.",
        "docs/live.md, limits")
    reconnect_min_s: Number = param(
        1, "First wait before reconnecting a --connect feed; doubled after each failure.",
        "docs/live.md, feeds")
    reconnect_max_s: Number = param(
        60, "Longest wait between two reconnection attempts.", "docs/live.md, feeds")
    connect_timeout_s: Number = param(
        10, "Longest one connection attempt of a --connect feed may take.",
        "docs/live.md, feeds")
    detect_every_s: Number = param(
        0, "Least seconds between two runs of incremental detection (--detect): 0 runs it "
        "after each compaction that added positions; more groups compactions into one run.",
        "docs/live.md, incremental detection")
    hot: Flag = param(
        True, "With --detect: raise the zone crossings a new position decides at once from "
        "the acknowledged stream (the hot path), before the store, as provisional events the "
        "API serves until the store's detection run confirms or drops them.",
        "docs/live.md, the hot path")
    hot_process: Flag = param(
        False, "Run the hot path in a process of its own, which reads the acknowledged records "
        "from the log (false: in a thread of the service, where its decoding and kernel hold "
        "the interpreter lock the feeds' event loop needs). Off by default: on 2 shared cores "
        "the process lost no fewer datagrams than the thread (docs/benchmarks.md); a machine "
        "with a core to spare is where it pays.", "docs/live.md, the hot path")
    hot_nice: Count = param(
        10, "With hot_process: the niceness the hot path's process adds to its own (0-19): "
        "higher leaves the cores to the service reading the feeds when they are short, at the "
        "price of the hot events' delay.", "docs/live.md, the hot path")
    hot_publish_ms: Number = param(
        150, "Least milliseconds between two writes of the hot events file (written only "
        "when it changed): the part of an event's latency after its batch is acknowledged.",
        "docs/live.md, the hot path")
    hot_forget_h: Number = param(
        24, "A vessel not heard for this many hours is dropped from the hot path's memory "
        "(its last position and zones); its next position starts anew, as a track does after "
        "[segment] max_gap_h (24 h).", "docs/live.md, the hot path")
    nats_stream: str = param(
        "AIS", "JetStream stream a nats:// feed reads (and `seawatch replay --to nats://` "
        "publishes to); created, capturing the feed's subject, when no stream holds that "
        "subject. A feed's URL may name another: nats://HOST:PORT/SUBJECT?stream=NAME.",
        "docs/live.md, NATS JetStream")
    nats_durable: str = param(
        "seawatch", "Durable consumer a nats:// feed reads through (created when absent): "
        "JetStream remembers what it acknowledged across restarts. URL: ?durable=NAME.",
        "docs/live.md, NATS JetStream")
    nats_batch: Count = param(
        500, "Most messages one pull of a nats:// feed asks JetStream for.",
        "docs/live.md, NATS JetStream")
    nats_ack_wait_s: Number = param(
        30, "Seconds JetStream waits for the acknowledgement of a delivered message before "
        "delivering it again (set when the consumer is created).",
        "docs/live.md, NATS JetStream")
    nats_max_ack_pending: Count = param(
        20_000, "Most messages delivered and not yet acknowledged (set when the consumer is "
        "created): what the feed holds between receipt and fsync, and what is delivered again "
        "after a crash.", "docs/live.md, NATS JetStream")
    status_every_s: Number = param(
        10, "Seconds between two status lines (and rewrites of status.json).",
        "docs/live.md, status")


def parameter_table() -> str:
    """The Markdown table of the parameters, as docs/live.md shows it."""
    rows = ["| parameter | default | meaning | reference |", "|---|---|---|---|"]
    for key, field in LiveParams.model_fields.items():
        default = field.get_default()
        shown = ("true" if default else "false") if isinstance(default, bool) else repr(default)
        rows.append(f"| `{key}` | {shown} | {field.description} | {reference_of(field)} |")
    return "\n".join(rows)
