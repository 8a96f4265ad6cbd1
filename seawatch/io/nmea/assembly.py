"""Assembly: turn good sentences into messages, joining multi-sentence groups.

A message longer than one sentence (type 5, most 6/8/19/21/24 variants) is sent as 2-9
fragments sharing a sequence id on one channel. Fragments are joined on
(channel, sequence id, fragment count): fragment 1 opens a group, fragments 2..n fill it in
any order, and the group is emitted when complete. A group that has not completed within
``window`` sentences is quarantined as ``incomplete_group``; a fragment that has no open group
to join (or repeats a fragment the group has) is an ``orphan_fragment``.

Open groups live in :class:`AssemblyState`, which persists between chunks, so a group split
across a chunk boundary is joined as if the input were one piece; memory is bounded by the
number of (channel, sequence, count) keys, 660.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba.extending import register_jitable

from seawatch.io.jit import announce_compiles
from seawatch.io.quarantine import OK, Reason

JIT_LABEL = "the NMEA decoder"
"""How the notice of a first compile names these kernels (:mod:`seawatch.io.jit`)."""
announce_compiles()

N_CHAN = 6
N_SEQ = 11  # -1 (empty) .. 9
N_COUNT = 10
N_KEYS = N_CHAN * N_SEQ * N_COUNT
MAX_FRAG_CHARS = 128
"""Longest fragment payload kept in an open group; longer fragments are malformed."""

DEFAULT_WINDOW = 1000
"""Sentences within which a group must complete (see docs/nmea.md)."""


class AssemblyState:
    """Open multi-sentence groups carried from one chunk to the next."""

    def __init__(self) -> None:
        self.active = np.zeros(N_KEYS, np.int8)
        self.count = np.zeros(N_KEYS, np.int8)
        self.have = np.zeros(N_KEYS, np.int8)
        self.start = np.zeros(N_KEYS, np.int64)
        self.time = np.zeros(N_KEYS, np.int64)
        self.src = np.zeros(N_KEYS, np.int64)
        self.line = np.zeros((N_KEYS, 9), np.int64)
        self.sidx = np.full((N_KEYS, 9), -1, np.int64)
        self.length = np.full((N_KEYS, 9), -1, np.int32)
        self.fill = np.zeros((N_KEYS, 9), np.int8)
        self.payload = np.zeros((N_KEYS, 9, MAX_FRAG_CHARS), np.uint8)
        self.ordinal = np.zeros(1, np.int64)

    NAMES: tuple[str, ...] = (
        "active", "count", "have", "start", "time", "src", "line", "sidx", "length", "fill",
        "payload", "ordinal",
    )
    """The state's arrays, in the order of :meth:`arrays`."""

    def open_chars(self) -> int:
        return int(self.length[self.length > 0].sum())

    def copy(self) -> AssemblyState:
        """A copy (its arrays copied)."""
        out = AssemblyState()
        for name in self.NAMES:
            setattr(out, name, getattr(self, name).copy())
        return out

    def open_keys(self) -> np.ndarray:
        """The keys of the groups open now."""
        return np.flatnonzero(self.active)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (
            self.active, self.count, self.have, self.start, self.time, self.src, self.line,
            self.sidx, self.length, self.fill, self.payload, self.ordinal,
        )


@nb.njit(cache=True, nogil=True, inline="always")
def _six(c: int) -> int:
    v = c - 48
    if v > 40:
        v -= 8
    return v


@register_jitable  # compiled into assemble: nothing loaded at import (see framing.py)
def _close_incomplete(k, st_active, st_count, st_line, st_sidx, st_length,
                      q_line, q_sidx, q_reason, nq):
    """Quarantine the open group at key k as incomplete (one entry, at its first fragment)
    and clear it."""
    first = -1
    for f in range(9):
        if st_length[k, f] >= 0:
            first = f
            break
    if first >= 0:
        q_line[nq] = st_line[k, first]
        q_sidx[nq] = st_sidx[k, first]
        q_reason[nq] = Reason.INCOMPLETE_GROUP
        nq += 1
    st_active[k] = 0
    for f in range(9):
        st_length[k, f] = -1
        st_sidx[k, f] = -1
    return nq


@nb.njit(cache=True, nogil=True)
def assemble(
    buf, s_line, s_status, s_count, s_num, s_seq, s_chan, s_pstart, s_pend, s_fill,
    s_time, s_src, n_sent, window, final,
    st_active, st_count, st_have, st_start, st_time, st_src, st_line, st_sidx, st_length,
    st_fill, st_payload, st_ordinal,
    p6, m_off, m_nchar, m_fill, m_time, m_src, m_line, m_sidx,
    q_line, q_sidx, q_reason,
):
    """Join the chunk's good sentences into messages. Returns (messages, quarantined).

    ``p6`` receives each message's payload as 6-bit values at ``m_off`` (``m_nchar`` long);
    ``m_sidx`` is the chunk sentence index of its first fragment, or -1 if that fragment came
    in an earlier chunk. Quarantine entries carry the line number and sentence index.
    """
    nm = 0
    nq = 0
    w = 0  # write position in p6
    # fragments left from the previous chunk no longer have a sentence index here
    for k in range(N_KEYS):
        for f in range(9):
            st_sidx[k, f] = -1
    ordinal = st_ordinal[0]
    for i in range(n_sent):
        if s_status[i] != OK:
            continue
        ordinal += 1
        count = s_count[i]
        if count == 1:
            a = s_pstart[i]
            b = s_pend[i]
            m_off[nm] = w
            for j in range(a, b):
                p6[w] = _six(buf[j])
                w += 1
            m_nchar[nm] = b - a
            m_fill[nm] = s_fill[i]
            m_time[nm] = s_time[i]
            m_src[nm] = s_src[i]
            m_line[nm] = s_line[i]
            m_sidx[nm] = i
            nm += 1
            continue
        k = (s_chan[i] * N_SEQ + (s_seq[i] + 1)) * N_COUNT + count
        num = s_num[i]
        if st_active[k] and ordinal - st_start[k] > window:
            nq = _close_incomplete(k, st_active, st_count, st_line, st_sidx, st_length,
                                   q_line, q_sidx, q_reason, nq)
        plen = s_pend[i] - s_pstart[i]
        if plen > MAX_FRAG_CHARS:
            q_line[nq] = s_line[i]
            q_sidx[nq] = i
            q_reason[nq] = Reason.WRONG_LENGTH
            nq += 1
            continue
        if num == 1:
            if st_active[k]:
                nq = _close_incomplete(k, st_active, st_count, st_line, st_sidx, st_length,
                                       q_line, q_sidx, q_reason, nq)
            st_active[k] = 1
            st_count[k] = count
            st_have[k] = 0
            st_start[k] = ordinal
            st_time[k] = s_time[i]
            st_src[k] = s_src[i]
        elif not st_active[k] or st_length[k, num - 1] >= 0:
            q_line[nq] = s_line[i]
            q_sidx[nq] = i
            q_reason[nq] = Reason.ORPHAN_FRAGMENT
            nq += 1
            continue
        f = num - 1
        st_line[k, f] = s_line[i]
        st_sidx[k, f] = i
        st_length[k, f] = plen
        st_fill[k, f] = s_fill[i]
        a = s_pstart[i]
        for j in range(plen):
            st_payload[k, f, j] = _six(buf[a + j])
        if st_src[k] == 0:
            st_src[k] = s_src[i]
        st_have[k] += 1
        if st_have[k] == count:
            m_off[nm] = w
            total = 0
            for g in range(count):
                n = st_length[k, g]
                for j in range(n):
                    p6[w] = st_payload[k, g, j]
                    w += 1
                total += n
            m_nchar[nm] = total
            m_fill[nm] = st_fill[k, count - 1]
            m_time[nm] = st_time[k]
            m_src[nm] = st_src[k]
            m_line[nm] = st_line[k, 0]
            m_sidx[nm] = st_sidx[k, 0]
            nm += 1
            st_active[k] = 0
            for g in range(9):
                st_length[k, g] = -1
                st_sidx[k, g] = -1
    # groups that ran out of time, or every open group at the end of the input
    for k in range(N_KEYS):
        if st_active[k] and (final or ordinal - st_start[k] > window):
            nq = _close_incomplete(k, st_active, st_count, st_line, st_sidx, st_length,
                                   q_line, q_sidx, q_reason, nq)
    st_ordinal[0] = ordinal
    return nm, nq
