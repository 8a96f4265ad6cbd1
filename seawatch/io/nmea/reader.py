"""Read NMEA AIS captures into the canonical tables, chunk by chunk.

Each chunk of whole lines goes through three numba kernels: :func:`framing.frame` (find and
check sentences, read their times), :func:`assembly.assemble` (join multi-sentence messages,
keeping open groups across chunks) and the :mod:`payload` decoders (one per table). Python
only allocates arrays and wraps the results as Polars frames; there is no per-sentence Python
loop, so throughput is that of the kernels.
"""

from __future__ import annotations

import functools
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.errors import InvalidValue
from seawatch.io import identity, plausible, sources
from seawatch.io.nmea import assembly, framing, payload
from seawatch.io.quarantine import OK, QuarantineLog, Reason
from seawatch.io.result import ReadResult
from seawatch.units import Duration, duration_us, time_us

NO_TIME = framing.NO_TIME

LEAD_LIMIT = 100_000
"""Sentences that may wait for the first time of an input.

Sentences before the first timed one take that time; their results are held back until it
is read, so that the outcome does not depend on where chunks end. If no time comes within
this many sentences, they take ``default_time`` instead (or :class:`NoTimeError` is raised),
which bounds the memory held for an input with no time at all.
"""


class NoTimeError(InvalidValue):
    """The input carries no time at all, and none was given."""


def read_nmea(
    path: str | Path,
    *,
    default_time: datetime | str | None = None,
    line_spacing: Duration | None = None,
    duration: Duration | None = None,
    source: str | None = None,
    chunk_bytes: int = sources.DEFAULT_CHUNK_BYTES,
    window: int = assembly.DEFAULT_WINDOW,
    quarantine_sample: int = 1000,
    line_numbers: bool = False,
    trust_bad_tagblocks: bool = False,
) -> ReadResult:
    """Decode an NMEA AIS file (plain, .gz, .bz2 or .zst) into the canonical tables.

    Parameters
    ----------
    path
        The capture file.
    default_time
        Receive time of the first line of a file that carries no time at all (no tag block
        ``c:``, line prefix, trailing epoch field or ``$PGHP`` line); its other lines follow
        at ``line_spacing`` or spread over ``duration`` (without either, every line gets
        ``default_time`` itself). See docs/nmea.md, "Receive time".
    line_spacing
        Time from one line to the next of such a file (a duration: ``"10ms"``, a
        ``timedelta``): line ``n`` is stamped ``default_time + (n - 1) * line_spacing``.
    duration
        Span of such a file instead: its lines are spread evenly from ``default_time`` to
        ``default_time + duration`` (the file's lines are counted first).
    source
        Name for the ``source`` column where a sentence has no tag-block station
        (default: the file name).
    chunk_bytes
        Size of the chunks the file is streamed in; memory use is a small multiple of it.
    window
        Sentences within which the fragments of a multi-sentence message must arrive.
    quarantine_sample
        Bad lines kept per reason (all of them are counted).
    line_numbers
        Add a ``line_no`` column to every table: the line of the file each message (its
        first fragment) was read from, to trace a row back to the raw data.
    trust_bad_tagblocks
        Use the time and station of tag blocks whose own checksum is wrong (by default they
        are not used: the corrupt part may be the time). For feeds known to write wrong
        tag-block checksums.

    Returns
    -------
    ReadResult
        ``positions``, ``vessels``, ``stations``, ``other_messages``, the quarantine sample
        and counts, and ``stats``.

    Examples
    --------
    >>> import tempfile, os
    >>> line = r"\\c:1700000000*5F\\!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23"
    >>> with tempfile.NamedTemporaryFile("w", suffix=".nmea", delete=False) as f:
    ...     _ = f.write(line + "\\n")
    >>> result = read_nmea(f.name)
    >>> result.positions.select("mmsi", "lat", "lon").row(0)
    (227006760, 49.47557666666667, 0.13138)
    >>> os.unlink(f.name)
    """
    chunks = list(
        iter_nmea(
            path, default_time=default_time, line_spacing=line_spacing, duration=duration,
            source=source, chunk_bytes=chunk_bytes, window=window,
            quarantine_sample=quarantine_sample, line_numbers=line_numbers,
            trust_bad_tagblocks=trust_bad_tagblocks,
        )
    )
    return ReadResult.concat(chunks)


def iter_nmea(
    path: str | Path,
    *,
    default_time: datetime | str | None = None,
    line_spacing: Duration | None = None,
    duration: Duration | None = None,
    source: str | None = None,
    chunk_bytes: int = sources.DEFAULT_CHUNK_BYTES,
    window: int = assembly.DEFAULT_WINDOW,
    quarantine_sample: int = 1000,
    line_numbers: bool = False,
    trust_bad_tagblocks: bool = False,
) -> Iterator[ReadResult]:
    """Decode an NMEA file chunk by chunk; yields one :class:`ReadResult` per chunk.

    The parameters are those of :func:`read_nmea`. Memory stays bounded by ``chunk_bytes``
    whatever the file size. Each result's ``stats["input_bytes"]`` is the number of
    (compressed) file bytes it consumed.
    """
    name = source or os.path.basename(str(path))
    decoder = NmeaDecoder(
        name, default_time=default_time, line_spacing=line_spacing, duration=duration,
        line_count=functools.partial(_count_lines, path, chunk_bytes), window=window,
        quarantine_sample=quarantine_sample, line_numbers=line_numbers,
        trust_bad_tagblocks=trust_bad_tagblocks,
    )
    done = 0
    for chunk in sources.iter_chunks(path, chunk_bytes):
        result = decoder.decode(chunk.data, chunk.first_line_no, final=chunk.final)
        if chunk.error is not None:  # the file broke off: what came before is kept
            last_line = chunk.first_line_no + sources.count_lines(chunk.data) - 1
            result.quarantine_log.add(Reason.TRUNCATED, name, max(last_line, 1),
                                      sources.truncation_note(chunk.error, chunk.cut_bytes))
            result.stats["truncated"] += 1
        result.stats["input_bytes"] = chunk.raw_bytes_done - done
        done = chunk.raw_bytes_done
        yield result


def _count_lines(path: str | Path, chunk_bytes: int) -> int:
    """Lines of a (decompressed) file, as :func:`iter_nmea` numbers them."""
    return sum(sources.count_lines(chunk.data) for chunk in sources.iter_chunks(path, chunk_bytes))


def decode_lines(
    lines: Iterable[str | bytes] | str | bytes,
    *,
    default_time: datetime | str | None = None,
    line_spacing: Duration | None = None,
    duration: Duration | None = None,
    source: str = "lines",
    line_numbers: bool = False,
    trust_bad_tagblocks: bool = False,
) -> ReadResult:
    """Decode NMEA lines held in memory (a string, bytes, or an iterable of lines).

    The parameters are those of :func:`read_nmea`.

    >>> r = decode_lines("!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23",
    ...                  default_time="2024-01-01T00:00:00Z")
    >>> r.positions["mmsi"].to_list()
    [227006760]
    """
    if isinstance(lines, str):
        data = lines.encode("utf-8", "surrogateescape")
    elif isinstance(lines, bytes | bytearray):
        data = bytes(lines)
    else:
        data = b"\n".join(
            x if isinstance(x, bytes) else x.encode("utf-8", "surrogateescape") for x in lines
        )
    decoder = NmeaDecoder(
        source, default_time=default_time, line_spacing=line_spacing, duration=duration,
        line_count=lambda: sources.count_lines(data), line_numbers=line_numbers,
        trust_bad_tagblocks=trust_bad_tagblocks,
    )
    results = [
        decoder.decode(c.data, c.first_line_no, final=c.final)
        for c in sources.iter_bytes_chunks(data)
    ]
    return ReadResult.concat(results)


def _time_us(value: datetime | str | None) -> int:
    return int(NO_TIME) if value is None else time_us(value, "default time")


_TABLES = ("positions", "vessels", "stations", "other_messages")

_SOURCE_RE = re.compile(rb"(?:^|[\\,])s:([^,*\\]*)")


class NmeaDecoder:
    """Stateful decoder of one input: carries open groups and the last time across chunks.

    The parameters are those of :func:`read_nmea`, plus ``line_count``, which returns the
    number of lines of the whole input (called only when ``duration`` spreads an untimed
    input over its lines), and ``now``, the clock that times are checked against
    (:func:`seawatch.io.plausible.latest_time_us`; the machine's clock by default).
    """

    def __init__(
        self,
        name: str,
        *,
        default_time: datetime | str | None = None,
        line_spacing: Duration | None = None,
        duration: Duration | None = None,
        line_count: Callable[[], int] | None = None,
        window: int = assembly.DEFAULT_WINDOW,
        quarantine_sample: int = 1000,
        line_numbers: bool = False,
        trust_bad_tagblocks: bool = False,
        now: datetime | None = None,
    ) -> None:
        if line_spacing is not None and duration is not None:
            raise InvalidValue("give the line spacing or the duration of an untimed input, "
                               "not both")
        if (line_spacing is not None or duration is not None) and default_time is None:
            raise InvalidValue("a line spacing or duration places the lines of an untimed "
                               "input after its first line's time: give that time too "
                               "(default_time, or --time)")
        if duration is not None and line_count is None:
            raise InvalidValue("spreading an untimed input over a duration needs its line "
                               "count")
        self.name = name
        self.line_numbers = line_numbers
        self.default_time = _time_us(default_time)
        self.line_spacing_us = 0 if line_spacing is None else duration_us(line_spacing,
                                                                          "line spacing")
        self.duration_us = None if duration is None else duration_us(duration, "duration")
        self._line_count = line_count
        self._spacing: float | None = None  # µs per line of the untimed model, once known
        self.trust_bad_tagblocks = trust_bad_tagblocks
        self.latest_us = plausible.latest_time_us(now)
        self.window = window
        self.quarantine_sample = quarantine_sample
        self.state = assembly.AssemblyState()
        self.last_time = int(NO_TIME)
        self.seen_time = False  # a time read from the input (not default_time) so far
        self._held: list[ReadResult] = []  # results of chunks waiting for the first time
        self._held_lines: list[dict[str, np.ndarray]] = []  # their rows' lines, per table
        self._held_sentences = 0
        self._carry = np.full(1, NO_TIME, np.int64)  # framing state between chunks ($PGHP)
        self._open_raw: dict[int, str] = {}  # raw lines of fragments of groups still open
        self.source_names: dict[int, str] = {0: name}
        self._row_lines: dict[str, np.ndarray] = {}  # this chunk's rows' lines, per table

    # -- one chunk -------------------------------------------------------------------------
    def decode(self, data: bytes, first_line_no: int, *, final: bool) -> ReadResult:
        buf = np.frombuffer(data, dtype=np.uint8)
        n_bang = int(np.count_nonzero(buf == 33)) if buf.size else 0
        n_lines = int(np.count_nonzero(buf == 10)) + 1 if buf.size else 0
        log = QuarantineLog(self.quarantine_sample)
        stats: Counter[str] = Counter()

        s = _SentenceArrays(n_bang)
        line_line = np.empty(n_lines, np.int64)
        line_start = np.empty(n_lines, np.int64)
        line_end = np.empty(n_lines, np.int64)
        line_kind = np.empty(n_lines, np.int8)
        counters = np.zeros(6, np.int64)
        ns, nl, lines = framing.frame(
            buf, first_line_no, s.line, s.lstart, s.lend, s.status, s.count, s.num, s.seq,
            s.chan, s.pstart, s.pend, s.fill, s.time, s.src,
            line_line, line_start, line_end, line_kind, counters, self._carry,
            self.trust_bad_tagblocks,
        )
        stats["lines"] += lines
        stats["sentences"] += ns
        kinds = np.bincount(line_kind[:nl], minlength=5)
        stats["blank_lines"] += int(kinds[framing.LINE_BLANK])
        stats["comment_lines"] += int(kinds[framing.LINE_COMMENT])
        stats["pghp_lines"] += int(kinds[framing.LINE_PGHP])
        stats["tagblock_bad_checksum"] += int(counters[0])
        stats["time_ignored_bad_tagblock"] += int(counters[5])
        for k, label in enumerate(("tagblock", "line_prefix", "trailing_field", "pghp"), 1):
            stats[f"time_from_{label}"] += int(counters[k])

        for kind, reason in ((framing.LINE_NOT_AIS, Reason.NOT_AIS),
                             (framing.LINE_TOO_LONG, Reason.LINE_TOO_LONG)):
            rows = np.flatnonzero(line_kind[:nl] == kind)
            self._quarantine(log, reason, data, line_line[rows], line_start[rows],
                             line_end[rows])

        self._reject_future_times(s, ns, stats)
        times, hold = self._fill_times(s.time[:ns], s.line[:ns], stats, final)
        status = s.status[:ns]
        for code in np.unique(status[status != OK]):
            rows = np.flatnonzero(status == code)
            self._quarantine(log, Reason(int(code)), data, s.line[rows], s.lstart[rows],
                             s.lend[rows])
        self._learn_sources(data, s, ns)

        # assemble messages
        n_chars = int((s.pend[:ns] - s.pstart[:ns])[status == OK].sum()) + self.state.open_chars()
        p6 = np.empty(max(n_chars, 1), np.uint8)
        m_off = np.empty(ns, np.int64)
        m_nchar = np.empty(ns, np.int32)
        m_fill = np.empty(ns, np.int8)
        m_time = np.empty(ns, np.int64)
        m_src = np.empty(ns, np.int64)
        m_line = np.empty(ns, np.int64)
        m_sidx = np.empty(ns, np.int64)
        qcap = 2 * ns + assembly.N_KEYS
        q_line = np.empty(qcap, np.int64)
        q_sidx = np.empty(qcap, np.int64)
        q_reason = np.empty(qcap, np.int8)
        nm, nq = assembly.assemble(
            buf, s.line, s.status, s.count, s.num, s.seq, s.chan, s.pstart, s.pend, s.fill,
            times, s.src, ns, self.window, final, *self.state.arrays(),
            p6, m_off, m_nchar, m_fill, m_time, m_src, m_line, m_sidx, q_line, q_sidx, q_reason,
        )
        stats["messages"] += nm
        for code in np.unique(q_reason[:nq]):
            rows = np.flatnonzero(q_reason[:nq] == code)
            self._quarantine_sentences(log, Reason(int(code)), data, s, q_line[rows],
                                       q_sidx[rows])

        msg = _Messages(p6, m_off[:nm], m_nchar[:nm], m_fill[:nm], m_time[:nm], m_src[:nm],
                        m_line[:nm], m_sidx[:nm])
        types = payload.message_types(p6, msg.off, msg.nchar, nm)
        for t, c in zip(*np.unique(types, return_counts=True), strict=True):
            stats[f"msg_type_{int(t)}"] += int(c)

        result = ReadResult(quarantine_log=log, stats=stats, sources=[self.name])
        bad_type = (types == 0) | (types > 27)
        self._quarantine_sentences(log, Reason.IMPOSSIBLE_VALUE, data, s,
                                   msg.line[bad_type], msg.sidx[bad_type])
        self._row_lines = {}
        result.positions = self._positions(msg, types, log, data, s, stats)
        result.vessels = self._vessels(msg, types, log, data, s)
        result.stations = self._stations(msg, types, log, data, s)
        result.other_messages = self._others(msg, types, bad_type)
        if self.line_numbers:
            self._add_line_numbers(result)
        stats["positions"] += result.positions.height
        self._keep_open_raw(data, s)
        if hold:
            self._held.append(result)
            self._held_lines.append(self._row_lines)
            self._held_sentences += ns
            return ReadResult(  # nothing yet, with the tables' columns
                positions=result.positions.clear(), vessels=result.vessels.clear(),
                stations=result.stations.clear(),
                other_messages=result.other_messages.clear(), sources=[self.name],
            )
        if self._held:
            held, self._held = self._held, []
            self._held_sentences = 0
            return ReadResult.concat([*held, result])
        return result

    @property
    def holding(self) -> bool:
        """Whether results are held back waiting for the input's first time (a chunk
        decoded with ``final=False`` whose sentences carry no time yet)."""
        return bool(self._held)

    # -- open groups, to go on in another decoder -----------------------------------------
    def open_groups(self) -> OpenGroups | None:
        """The multi-sentence groups still open after the last chunk (decoded with
        ``final=False``), None when there are none: what another decoder of the same input
        needs (:meth:`resume`) to assemble them with fragments of a later chunk, as this
        one would (their fragments so far, the sentences counted since they opened, the
        station names of their sentences, their raw lines for the quarantine)."""
        st = self.state
        keys = st.open_keys()
        if not keys.size:
            return None
        names = {int(h): self.source_names[int(h)] for h in np.unique(st.src[keys])
                 if int(h) in self.source_names}
        return OpenGroups(st, names, dict(self._open_raw))

    def resume(self, groups: OpenGroups) -> None:
        """Go on from another decoder's open groups (:meth:`open_groups`), before the first
        chunk."""
        self.state = groups.state.copy()
        self.source_names.update(groups.sources)
        self._open_raw = dict(groups.raw)

    def _keep_open_raw(self, data: bytes, s: _SentenceArrays) -> None:
        """Remember the raw lines of fragments of groups left open for the next chunk.

        A group completed or quarantined in a later chunk then shows its real first line in
        the quarantine, as it would if the input were one chunk.
        """
        st = self.state
        kept: dict[int, str] = {}
        for k, f in zip(*np.nonzero((st.active[:, None] != 0) & (st.length >= 0)), strict=True):
            line = int(st.line[k, f])
            j = int(st.sidx[k, f])
            if j >= 0:
                kept[line] = data[s.lstart[j] : s.lend[j]][:2048].decode("utf-8", "replace")
            elif line in self._open_raw:
                kept[line] = self._open_raw[line]
        self._open_raw = kept

    def _add_line_numbers(self, result: ReadResult) -> None:
        for name in _TABLES:
            frame = getattr(result, name)
            lines = pl.Series("line_no", self._row_lines[name], pl.Int64)
            setattr(result, name, frame.with_columns(lines))

    # -- times -----------------------------------------------------------------------------
    def _reject_future_times(self, s: _SentenceArrays, ns: int, stats: Counter[str]) -> None:
        """A sentence whose time is later than the clock allows is ``impossible_value``; its
        time is dropped, so no sentence after it inherits it."""
        t = s.time[:ns]
        future = t > self.latest_us
        if future.any():
            status = s.status[:ns]
            status[future & (status == OK)] = Reason.IMPOSSIBLE_VALUE
            t[future] = NO_TIME
            stats["time_in_future"] += int(future.sum())

    def _fill_times(self, t: np.ndarray, lines: np.ndarray, stats: Counter[str],
                    final: bool) -> tuple[np.ndarray, bool]:
        """Give untimed sentences the time of the sentence before them (or after, at the start).

        A receiver stamps lines in order, so the previous stamped line is the closest known
        receive time. Sentences before the first stamped line of the input take its time
        (it may come in a later chunk: then this chunk's results are held, ``hold`` is
        True); in an input with no time at all, or none within :data:`LEAD_LIMIT`
        sentences, they take the untimed model (:meth:`_untimed_us`: ``default_time`` and
        their line), or :class:`NoTimeError` is raised.

        Returns (times, hold).
        """
        t = t.copy()
        have = t != NO_TIME
        stats["time_inferred"] += int(t.size - have.sum())
        idx = np.where(have, np.arange(t.size), -1)
        np.maximum.accumulate(idx, out=idx)
        filled = np.where(idx >= 0, t[np.maximum(idx, 0)], NO_TIME) if t.size else t
        lead = idx < 0
        n_lead = int(lead.sum())
        hold = False
        if self.last_time == int(NO_TIME):
            # no time known yet: the lead sentences (and held chunks) wait for the first one
            waiting = n_lead > 0 or bool(self._held)
            if have.any() and self._held_sentences + int(np.argmax(have)) < LEAD_LIMIT:
                first = int(t[np.argmax(have)])
                filled[lead] = first
                self._release_held(first)
            elif waiting and (have.any() or final
                              or self._held_sentences + t.size >= LEAD_LIMIT):
                self._default_time_or_raise(whole_input=final and not have.any())
                filled[lead] = self._untimed_us(lines[lead])
                stats["time_default"] += n_lead
                self._release_held(None)
            elif waiting:
                hold = True
        elif n_lead:
            if self.seen_time:
                filled[lead] = self.last_time
            else:  # still before the first time of the input: the untimed model
                filled[lead] = self._untimed_us(lines[lead])
                stats["time_default"] += n_lead
        if have.any():
            self.seen_time = True
        if filled.size and not hold:
            self.last_time = int(filled[-1])
        return filled, hold

    def _untimed_us(self, lines: np.ndarray) -> np.ndarray:
        """Times of untimed lines: ``default_time`` plus the line's place times the spacing
        (``line_spacing``, or ``duration`` over the input's lines; 0 without either)."""
        if self._spacing is None:
            if self.duration_us is not None and self._line_count is not None:
                self._spacing = self.duration_us / max(self._line_count() - 1, 1)
            else:
                self._spacing = float(self.line_spacing_us)
        offset = np.rint((lines.astype(np.float64) - 1.0) * self._spacing).astype(np.int64)
        return self.default_time + offset

    def _default_time_or_raise(self, whole_input: bool) -> int:
        if self.default_time != int(NO_TIME):
            return self.default_time
        advice = ("Give the receive time of its first line and the span of the capture, over "
                  "which its lines are spread: `seawatch ingest --time 2024-05-01T00:00:00Z "
                  "--duration 1h ...` (or --line-spacing), or read_nmea(path, "
                  "default_time='2024-05-01T00:00:00Z', duration='1h').")
        if not whole_input:
            raise NoTimeError(
                f"{self.name}: the first {LEAD_LIMIT} sentences carry no time (no tag block "
                f"c:, leading timestamp, trailing epoch field or $PGHP line). {advice}"
            )
        raise NoTimeError(
            f"{self.name}: the file carries no time (no tag block c:, no leading "
            f"timestamp, no trailing epoch field, no $PGHP line). {advice}"
        )

    def _release_held(self, time_us: int | None) -> None:
        """Stamp the held results (all their sentences came before any time) and the open
        groups: with ``time_us``, the input's first time, or with the untimed model (None)."""
        for result, lines in zip(self._held, self._held_lines, strict=True):
            for name in _TABLES:
                frame = getattr(result, name)
                ts = (self._untimed_us(lines[name]) if time_us is None
                      else np.full(frame.height, time_us, np.int64))
                setattr(result, name, frame.with_columns(
                    pl.Series("ts", ts, pl.Int64).cast(schema.TS)
                ))
            if time_us is None:
                result.stats["time_default"] += result.stats["sentences"]
        self._held_lines = []
        st = self.state
        waiting = (st.active != 0) & (st.time == NO_TIME)
        st.time[waiting] = (self._untimed_us(st.line[waiting, 0]) if time_us is None
                            else time_us)

    # -- sources ---------------------------------------------------------------------------
    def _learn_sources(self, data: bytes, s: _SentenceArrays, ns: int) -> None:
        hashes = s.src[:ns]
        new = np.setdiff1d(np.unique(hashes), np.fromiter(self.source_names, np.int64))
        for h in new:
            i = int(np.argmax(hashes == h))
            line = data[s.lstart[i] : s.lend[i]]
            # the station of the tag block that precedes this sentence
            candidates = [m.group(1) for m in _SOURCE_RE.finditer(line)]
            text = candidates[0].decode("utf-8", "replace") if candidates else self.name
            for c in candidates:
                cb = np.frombuffer(c, np.uint8)
                if framing.fnv_hash(cb, 0, cb.size) == h:
                    text = c.decode("utf-8", "replace")
                    break
            self.source_names[int(h)] = text

    def _source_column(self, src: np.ndarray) -> pl.Series:
        keys = list(self.source_names)
        return (
            pl.Series("source", src, pl.Int64)
            .replace_strict(keys, [self.source_names[k] for k in keys], default=self.name,
                            return_dtype=pl.String)
        )

    # -- quarantine ------------------------------------------------------------------------
    def _quarantine(self, log: QuarantineLog, reason: Reason, data: bytes, lines: np.ndarray,
                    starts: np.ndarray, ends: np.ndarray) -> None:
        n = len(lines)
        if not n:
            return
        keep = min(n, log.wants_sample(reason))
        for i in range(keep):
            raw = data[starts[i] : ends[i]][: 2048].decode("utf-8", "replace")
            log.add(reason, self.name, int(lines[i]), raw)
        log.add_count(reason, n - keep)

    def _quarantine_sentences(self, log: QuarantineLog, reason: Reason, data: bytes,
                              s: _SentenceArrays, lines: np.ndarray, sidx: np.ndarray) -> None:
        n = len(lines)
        if not n:
            return
        keep = min(n, log.wants_sample(reason))
        for i in range(keep):
            j = int(sidx[i])
            if j >= 0:
                raw = data[s.lstart[j] : s.lend[j]][:2048].decode("utf-8", "replace")
            else:
                raw = self._open_raw.get(
                    int(lines[i]), "(fragment read in an earlier chunk of the file)"
                )
            log.add(reason, self.name, int(lines[i]), raw)
        log.add_count(reason, n - keep)

    # -- tables ----------------------------------------------------------------------------
    def _positions(self, msg: _Messages, types: np.ndarray, log: QuarantineLog, data: bytes,
                   s: _SentenceArrays, stats: Counter[str]) -> pl.DataFrame:
        idx = np.flatnonzero(np.isin(types, payload.POSITION_TYPES))
        n = idx.size
        self._row_lines["positions"] = msg.line[idx]
        if n == 0:  # the kernel is not even loaded for an input without positions
            return schema.empty(schema.POSITIONS)
        mmsi = np.empty(n, np.int64)
        lat = np.empty(n, np.float64)
        lon = np.empty(n, np.float64)
        sog = np.empty(n, np.float32)
        cog = np.empty(n, np.float32)
        heading = np.empty(n, np.int16)
        nav = np.empty(n, np.int8)
        acc = np.empty(n, np.int8)
        second = np.empty(n, np.int8)
        odd = np.empty(n, np.int8)
        status = np.empty(n, np.int8)
        payload.decode_positions(msg.p6, msg.off, msg.nchar, msg.fill, idx, mmsi, lat, lon,
                                 sog, cog, heading, nav, acc, second, odd, status)
        good = self._drop_bad(status, idx, msg, log, data, s)
        self._row_lines["positions"] = msg.line[idx[good]]
        stats["implausible_cog"] += int(np.count_nonzero(odd[good] & payload.ODD_COG))
        stats["implausible_heading"] += int(np.count_nonzero(odd[good] & payload.ODD_HEADING))
        frame = pl.DataFrame(
            {
                "mmsi": mmsi[good],
                "ts": msg.time[idx[good]],
                "lat": lat[good],
                "lon": lon[good],
                "sog": sog[good],
                "cog": cog[good],
                "heading": heading[good],
                "nav_status": nav[good],
                "msg_type": types[idx[good]],
                "source": self._source_column(msg.src[idx[good]]),
                "accuracy": acc[good].astype(bool),
                "second": second[good],
            }
        )
        return frame.select(
            "mmsi",
            _ts(),
            pl.col("lat").fill_nan(None),
            pl.col("lon").fill_nan(None),
            pl.col("sog").fill_nan(None),
            pl.col("cog").fill_nan(None),
            _neg_null("heading"),
            _neg_null("nav_status"),
            "msg_type",
            "source",
            "accuracy",
            _neg_null("second"),
            identity.mmsi_is_valid(pl.col("mmsi")),
        )

    def _vessels(self, msg: _Messages, types: np.ndarray, log: QuarantineLog, data: bytes,
                 s: _SentenceArrays) -> pl.DataFrame:
        idx = np.flatnonzero(np.isin(types, payload.STATIC_TYPES))
        n = idx.size
        self._row_lines["vessels"] = msg.line[idx]
        if n == 0:
            return schema.empty(schema.VESSELS)
        mmsi = np.empty(n, np.int64)
        imo = np.empty(n, np.int64)
        callsign = np.zeros((n, 7), np.uint8)
        name = np.zeros((n, 20), np.uint8)
        destination = np.zeros((n, 20), np.uint8)
        ship_type = np.empty(n, np.int16)
        dims = np.empty((n, 4), np.int16)
        draught = np.empty(n, np.float32)
        status = np.empty(n, np.int8)
        payload.decode_static(msg.p6, msg.off, msg.nchar, msg.fill, idx, mmsi, imo, callsign,
                              name, ship_type, dims, draught, destination, status)
        good = self._drop_bad(status, idx, msg, log, data, s)
        self._row_lines["vessels"] = msg.line[idx[good]]
        dims = dims[good]
        length = (dims[:, 0].astype(np.float32) + dims[:, 1]).astype(np.float32)
        width = (dims[:, 2].astype(np.float32) + dims[:, 3]).astype(np.float32)
        length[(dims[:, 0] < 0) | (length <= 0)] = np.nan
        width[(dims[:, 2] < 0) | (width <= 0)] = np.nan
        frame = pl.DataFrame(
            {
                "mmsi": mmsi[good],
                "ts": msg.time[idx[good]],
                "imo": imo[good],
                "callsign": _text_column(callsign[good]),
                "name": _text_column(name[good]),
                "ship_type": ship_type[good],
                "length": length,
                "width": width,
                "draught": draught[good],
                "destination": _text_column(destination[good]),
                "msg_type": types[idx[good]],
                "source": self._source_column(msg.src[idx[good]]),
            }
        )
        return frame.select(
            "mmsi",
            _ts(),
            _neg_null("imo"),
            _clean_text("callsign"),
            _clean_text("name"),
            _neg_null("ship_type"),
            pl.col("length").fill_nan(None),
            pl.col("width").fill_nan(None),
            pl.col("draught").fill_nan(None),
            _clean_text("destination"),
            identity.flag_from_mmsi(pl.col("mmsi")),
            identity.ship_type_label(_neg_null("ship_type")),
            "msg_type",
            "source",
            identity.mmsi_is_valid(pl.col("mmsi")),
        )

    def _stations(self, msg: _Messages, types: np.ndarray, log: QuarantineLog, data: bytes,
                  s: _SentenceArrays) -> pl.DataFrame:
        idx = np.flatnonzero(np.isin(types, payload.STATION_TYPES))
        n = idx.size
        self._row_lines["stations"] = msg.line[idx]
        if n == 0:
            return schema.empty(schema.STATIONS)
        mmsi = np.empty(n, np.int64)
        lat = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        name = np.zeros((n, 34), np.uint8)
        aid = np.empty(n, np.int8)
        ymdhms = np.empty((n, 6), np.int64)
        status = np.empty(n, np.int8)
        payload.decode_stations(msg.p6, msg.off, msg.nchar, msg.fill, idx, mmsi, lat, lon,
                                name, aid, ymdhms, status)
        good = self._drop_bad(status, idx, msg, log, data, s)
        self._row_lines["stations"] = msg.line[idx[good]]
        y = ymdhms[good]
        station_time = framing.civil_array_to_us(y)
        frame = pl.DataFrame(
            {
                "mmsi": mmsi[good],
                "ts": msg.time[idx[good]],
                "lat": lat[good],
                "lon": lon[good],
                "msg_type": types[idx[good]],
                "name": _text_column(name[good]),
                "aid_type": aid[good],
                "station_time": station_time,
                "source": self._source_column(msg.src[idx[good]]),
            }
        )
        return frame.select(
            "mmsi",
            _ts(),
            pl.col("lat").fill_nan(None),
            pl.col("lon").fill_nan(None),
            "msg_type",
            _clean_text("name"),
            _neg_null("aid_type"),
            pl.when(pl.col("station_time") != NO_TIME)
            .then(pl.col("station_time"))
            .cast(schema.TS)
            .alias("station_time"),
            "source",
        )

    def _others(self, msg: _Messages, types: np.ndarray, bad_type: np.ndarray) -> pl.DataFrame:
        keep = ~np.isin(types, list(payload.DECODED_TYPES)) & ~bad_type
        idx = np.flatnonzero(keep)
        n = idx.size
        self._row_lines["other_messages"] = msg.line[idx]
        if n == 0:
            return schema.empty(schema.OTHER_MESSAGES)
        mmsi = np.empty(n, np.int64)
        out = np.zeros((n, max(int(msg.nchar[idx].max()), 1)), np.uint8)
        payload.armour(msg.p6, msg.off, msg.nchar, idx, mmsi, out)
        frame = pl.DataFrame(
            {
                "mmsi": mmsi,
                "ts": msg.time[idx],
                "msg_type": types[idx],
                "payload": _text_column(out),
                "fill_bits": msg.fill[idx],
                "source": self._source_column(msg.src[idx]),
            }
        )
        return frame.select("mmsi", _ts(), "msg_type", "payload", "fill_bits", "source").select(
            _neg_null("mmsi"), pl.exclude("mmsi")
        ).select(list(schema.OTHER_MESSAGES))

    def _drop_bad(self, status: np.ndarray, idx: np.ndarray, msg: _Messages,
                  log: QuarantineLog, data: bytes, s: _SentenceArrays) -> np.ndarray:
        """Quarantine the rows whose decoding failed; the mask of the good ones."""
        good = status == OK
        if not good.all():
            for code in np.unique(status[~good]):
                rows = idx[status == code]
                self._quarantine_sentences(log, Reason(int(code)), data, s, msg.line[rows],
                                           msg.sidx[rows])
        return good


@dataclass
class OpenGroups:
    """Multi-sentence groups left open by a decoder (:meth:`NmeaDecoder.open_groups`)."""

    state: assembly.AssemblyState
    """The assembly state (the open groups' fragments, and the sentence count)."""
    sources: dict[int, str]
    """Station names of the open groups' sentences, by source id."""
    raw: dict[int, str]
    """Raw lines of the open groups' fragments, by line number (quarantine samples)."""


class _SentenceArrays:
    def __init__(self, n: int) -> None:
        self.line = np.empty(n, np.int64)
        self.lstart = np.empty(n, np.int64)
        self.lend = np.empty(n, np.int64)
        self.status = np.empty(n, np.int8)
        self.count = np.empty(n, np.int8)
        self.num = np.empty(n, np.int8)
        self.seq = np.empty(n, np.int8)
        self.chan = np.empty(n, np.int8)
        self.pstart = np.empty(n, np.int64)
        self.pend = np.empty(n, np.int64)
        self.fill = np.empty(n, np.int8)
        self.time = np.empty(n, np.int64)
        self.src = np.empty(n, np.int64)


class _Messages:
    def __init__(self, p6, off, nchar, fill, time, src, line, sidx) -> None:
        self.p6 = p6
        self.off = off
        self.nchar = nchar
        self.fill = fill
        self.time = time
        self.src = src
        self.line = line
        self.sidx = sidx


def _ts() -> pl.Expr:
    return pl.col("ts").cast(schema.TS)


def _neg_null(name: str) -> pl.Expr:
    return pl.when(pl.col(name) >= 0).then(pl.col(name)).alias(name)


def _text_column(chars: np.ndarray) -> pl.Series:
    """Fixed-width ASCII rows, NUL-padded -> a string column without the NULs (other padding
    is stripped in :func:`_clean_text`). NumPy's fixed-width bytes carry it to Polars without
    pyarrow (whose import would add a third of a second to every run)."""
    n, width = chars.shape
    rows = np.ascontiguousarray(chars).view(f"S{width}").reshape(n)
    return pl.Series(rows).cast(pl.String)


def _clean_text(name: str) -> pl.Expr:
    """Strip the padding at the end ('@' and spaces, in any mix), then leading spaces.

    Empty -> null. pyais strips '@' only where it ends the field and then spaces, so it
    keeps padding such as ``"@@@@   "`` (a destination "not available") as text.
    """
    col = pl.col(name).str.strip_chars_end("@ \x00").str.strip_chars_start(" ")
    return pl.when(col.str.len_bytes() > 0).then(col).alias(name)


