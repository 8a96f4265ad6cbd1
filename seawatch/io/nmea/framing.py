"""Framing: find the AIS sentences in a chunk of raw capture bytes, check them, read their time.

One pass of a numba kernel over the bytes of whole lines. It understands what real captures
put around NMEA 0183 AIS sentences:

- any talker (``!AIVDM``, ``!BSVDM``, ``!ABVDO``, ``!B2VDM`` ...), VDM and VDO;
- NMEA 4.10 tag blocks before a sentence (``\\s:station,c:unixtime*hh\\``; ``c:`` in seconds
  or milliseconds);
- line prefixes: a leading ISO 8601 time (``2024-01-02 03:04:05.6``, ``2024-01-02T03:04:05Z``)
  or epoch seconds/milliseconds, followed by a separator and maybe a receiver id;
- trailing receiver fields after the checksum (``*hh,1357134218`` or libais/NAIS style
  ``*hh,d-109,S2105,...,1325394060``): the first plausible epoch-seconds field is a time;
- Gatehouse ``$PGHP`` lines, whose time applies to the sentence that follows;
- several sentences on one line, blank lines, ``#`` comments, CR/LF endings.

It writes one row per sentence (status, fragment fields, payload span, time, source hash) and
one row per line that holds no sentence, so nothing is dropped without a reason.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba.extending import register_jitable

from seawatch import schema
from seawatch.io.jit import announce_compiles
from seawatch.io.quarantine import OK, Reason

JIT_LABEL = "the NMEA decoder"
"""How the notice of a first compile names these kernels (:mod:`seawatch.io.jit`)."""
announce_compiles()
nt = nb.types

NO_TIME = np.int64(np.iinfo(np.int64).min)
"""Marker of a missing time in the µs time arrays."""

BAD_TIME = np.int64(np.iinfo(np.int64).min + 1)
"""Marker of a time field that is present but unreadable or impossible."""

MAX_LINE = 4096
"""Lines longer than this are quarantined whole (no real NMEA line comes close)."""

# time bounds for a plausible AIS time: 1990-01-01 .. 2100-01-01 UTC, in seconds
MIN_EPOCH_S = schema.MIN_EPOCH_S
MAX_EPOCH_S = schema.MAX_EPOCH_S

# line kinds for lines without sentences
LINE_BLANK = 0
LINE_COMMENT = 1
LINE_PGHP = 2
LINE_NOT_AIS = 3
LINE_TOO_LONG = 4

# channel codes
CHANNELS = ("", "A", "B", "1", "2", "?")

# The helpers that only kernels call are ``register_jitable``: compiled into their callers
# (whose cached machine code holds them), nothing is loaded for them when this module is
# imported, and their callers' constant arguments are typed as plain integers (numba tries an
# overload without literal types first), so each compiles once, not once per constant. They
# once had explicit signatures instead, which made numba load each one's cache entry at
# import (13 of the 25 kernels an ingest loaded, ~4 ms each; docs/benchmarks.md, start-up).
# LLVM inlines them into :func:`frame`. :func:`fnv_hash`, which the reader also calls from
# Python, keeps its signature.
_BYTES = nt.Array(nt.uint8, 1, "C", readonly=True)
"""A chunk's bytes, as :func:`fnv_hash` sees them."""
_SPAN = (_BYTES, nt.int64, nt.int64)
"""``(buf, a, b)``: the bytes ``buf[a:b]``."""


@nb.njit(cache=True, nogil=True, inline="always")
def _is_digit(c: int) -> bool:
    return 48 <= c <= 57


@nb.njit(cache=True, nogil=True, inline="always")
def _is_upper(c: int) -> bool:
    return 65 <= c <= 90


@nb.njit(cache=True, nogil=True, inline="always")
def _hexval(c: int) -> int:
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1


@register_jitable
def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@register_jitable
def days_in_month(y: int, m: int) -> int:
    """Days in month ``m`` (1-12) of year ``y`` (proleptic Gregorian)."""
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        return 29 if leap else 28
    if m == 4 or m == 6 or m == 9 or m == 11:
        return 30
    return 31


@register_jitable
def civil_to_us(y: int, mo: int, d: int, h: int, mi: int, s: int, us: int) -> np.int64:
    """µs since the epoch of a UTC calendar time; NO_TIME when a field is out of range.

    A day past the end of its month (30 February) is out of range too, not the next month.
    """
    if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60:
        return NO_TIME
    if d > days_in_month(y, mo):
        return NO_TIME
    if h < 0 or mi < 0 or s < 0 or us < 0:
        return NO_TIME
    days = days_from_civil(y, mo, d)
    secs = days * 86400 + h * 3600 + mi * 60 + s
    if secs < MIN_EPOCH_S or secs >= MAX_EPOCH_S:
        return NO_TIME
    return np.int64(secs) * 1_000_000 + us


@nb.njit(cache=True, nogil=True)
def civil_array_to_us(ymdhms):
    """Rows of (year, month, day, hour, minute, second) -> µs since the epoch or NO_TIME.

    These are the UTC fields of a base station report (message 4), where second 60 means
    "not available" (61-63 are unused), so a second of 60 or more gives NO_TIME.
    """
    out = np.empty(ymdhms.shape[0], np.int64)
    for r in range(ymdhms.shape[0]):
        if ymdhms[r, 5] >= 60:
            out[r] = NO_TIME
            continue
        out[r] = civil_to_us(ymdhms[r, 0], ymdhms[r, 1], ymdhms[r, 2], ymdhms[r, 3],
                             ymdhms[r, 4], ymdhms[r, 5], 0)
    return out


@register_jitable
def _read_uint(buf, a: int, b: int):
    """Unsigned integer in buf[a:b]; (value, end) with end == a when there are no digits."""
    v = 0
    i = a
    while i < b and _is_digit(buf[i]) and i - a < 18:
        v = v * 10 + (buf[i] - 48)
        i += 1
    return v, i


@register_jitable
def _epoch_digits_to_us(buf, a: int, b: int):
    """Epoch seconds (10 digits, optional fraction) or milliseconds (13 digits) at buf[a:b].

    Returns (time_us, end); time_us is NO_TIME if the text is not a plausible epoch time.
    """
    v, i = _read_uint(buf, a, b)
    n = i - a
    if n == 13 or n == 12:  # milliseconds
        t = v * 1000
        if v // 1000 < MIN_EPOCH_S or v // 1000 >= MAX_EPOCH_S:
            return NO_TIME, i
        return np.int64(t), i
    if n < 9 or n > 10:
        return NO_TIME, i
    if v < MIN_EPOCH_S or v >= MAX_EPOCH_S:
        return NO_TIME, i
    us = 0
    if i < b and buf[i] == 46:  # '.'
        i += 1
        scale = 100000
        while i < b and _is_digit(buf[i]):
            if scale > 0:
                us += (buf[i] - 48) * scale
                scale //= 10
            i += 1
    return np.int64(v) * 1_000_000 + us, i


@register_jitable
def _iso_to_us(buf, a: int, b: int):
    """ISO 8601 time ``YYYY-MM-DD[T _]HH:MM:SS[.f][Z|±hh[:mm]]`` at buf[a:b]; (time_us, end).

    A UTC offset is applied (``03:04:05+02:00`` is 01:04:05 UTC); no offset means UTC.
    """
    if b - a < 19:
        return NO_TIME, a
    for k in (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18):
        if not _is_digit(buf[a + k]):
            return NO_TIME, a
    if buf[a + 4] != 45 or buf[a + 7] != 45:  # '-'
        return NO_TIME, a
    sep = buf[a + 10]
    if sep != 84 and sep != 32 and sep != 95:  # 'T' ' ' '_'
        return NO_TIME, a
    if buf[a + 13] != 58 or buf[a + 16] != 58:  # ':'
        return NO_TIME, a
    y, _ = _read_uint(buf, a, a + 4)
    mo, _ = _read_uint(buf, a + 5, a + 7)
    d, _ = _read_uint(buf, a + 8, a + 10)
    h, _ = _read_uint(buf, a + 11, a + 13)
    mi, _ = _read_uint(buf, a + 14, a + 16)
    s, _ = _read_uint(buf, a + 17, a + 19)
    i = a + 19
    us = 0
    if i < b and (buf[i] == 46 or buf[i] == 44):  # '.' or ','
        i += 1
        scale = 100000
        while i < b and _is_digit(buf[i]):
            if scale > 0:
                us += (buf[i] - 48) * scale
                scale //= 10
            i += 1
    offset_s = 0
    if i < b and buf[i] == 90:  # 'Z'
        i += 1
    elif i + 3 <= b and (buf[i] == 43 or buf[i] == 45) and _is_digit(buf[i + 1]) \
            and _is_digit(buf[i + 2]):  # UTC offset '+hh', '+hhmm', '+hh:mm' (or '-')
        oh = (buf[i + 1] - 48) * 10 + buf[i + 2] - 48
        om = 0
        j = i + 3
        k = j + 1 if j < b and buf[j] == 58 else j  # ':'
        if k + 2 <= b and _is_digit(buf[k]) and _is_digit(buf[k + 1]):
            om = (buf[k] - 48) * 10 + buf[k + 1] - 48
            j = k + 2
        if oh > 23 or om > 59:
            return NO_TIME, a
        offset_s = (oh * 3600 + om * 60) * (1 if buf[i] == 43 else -1)
        i = j
    t = civil_to_us(y, mo, d, h, mi, s, us)
    if t != NO_TIME and offset_s != 0:
        t = t - np.int64(offset_s) * 1_000_000  # local time minus its offset is UTC
    return t, i


@register_jitable
def _prefix_time(buf, a: int, b: int) -> np.int64:
    """Time written at the start of a line before its first sentence, or NO_TIME."""
    # skip an opening bracket or quote
    while a < b and (buf[a] == 91 or buf[a] == 34 or buf[a] == 39 or buf[a] == 40):
        a += 1
    t, _ = _iso_to_us(buf, a, b)
    if t != NO_TIME:
        return t
    t, _ = _epoch_digits_to_us(buf, a, b)
    return t


@register_jitable
def _trailing_time(buf, a: int, b: int) -> np.int64:
    """First comma-separated field of buf[a:b] that is a plausible epoch time in seconds."""
    i = a
    while i < b:
        # field starts at i, ends at next ','
        j = i
        while j < b and buf[j] != 44:
            j += 1
        if j - i >= 9:
            t, end = _epoch_digits_to_us(buf, i, j)
            if t != NO_TIME and end == j:
                return t
        i = j + 1
    return NO_TIME


@register_jitable
def _pghp_time(buf, a: int, b: int) -> np.int64:
    """Time of a Gatehouse ``$PGHP,1,yyyy,mm,dd,hh,mi,ss,ms,...`` line."""
    i = a + 6  # after '$PGHP,'
    vals = np.zeros(8, np.int64)
    k = 0
    while k < 8 and i < b:
        v, j = _read_uint(buf, i, b)
        if j == i:
            return NO_TIME
        vals[k] = v
        k += 1
        i = j + 1
    if k < 8 or vals[0] != 1:
        return NO_TIME
    return civil_to_us(vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], vals[7] * 1000)


@nb.njit(nt.int64(*_SPAN), cache=True, nogil=True)
def fnv_hash(buf, a: int, b: int) -> np.int64:
    """64-bit FNV-1a hash of ``buf[a:b]`` as a positive int64, never 0 (0: no source): the
    id of a tag block's ``s:`` source, which the reader maps back to its text.

    >>> text = np.frombuffer(b"s:rx1", dtype=np.uint8)
    >>> fnv_hash(text, 2, 5) == fnv_hash(np.frombuffer(b"rx1", dtype=np.uint8), 0, 3)
    True
    """
    h = np.uint64(14695981039346656037)
    for i in range(a, b):
        h = (h ^ np.uint64(buf[i])) * np.uint64(1099511628211)
    v = np.int64(h & np.uint64(0x7FFFFFFFFFFFFFFF))
    return v if v != 0 else np.int64(1)


@register_jitable
def _checksum_ok(buf, a: int, star: int, b: int) -> bool:
    """True when the XOR of buf[a:star] equals the 1-2 hex digits after the '*' at ``star``."""
    if star < 0 or star + 1 >= b:
        return False
    v = _hexval(buf[star + 1])
    if v < 0:
        return False
    if star + 2 < b and _hexval(buf[star + 2]) >= 0:
        v = v * 16 + _hexval(buf[star + 2])
    x = 0
    for i in range(a, star):
        x ^= buf[i]
    return x == v


@register_jitable
def _parse_tag_block(buf, a: int, b: int, out):
    """Tag block content buf[a:b] (between the backslashes). Writes out[0]=time, out[1..2]=src.

    Returns 0 when the tag block's checksum is right, 1 when wrong or missing.
    """
    star = -1
    for i in range(a, b):
        if buf[i] == 42:
            star = i
            break
    end = star if star >= 0 else b
    bad = 0 if _checksum_ok(buf, a, star, b) else 1
    i = a
    while i < end:
        j = i
        while j < end and buf[j] != 44:
            j += 1
        if j - i >= 2 and buf[i + 1] == 58:  # 'x:'
            key = buf[i]
            if key == 99:  # 'c'
                t, e = _epoch_digits_to_us(buf, i + 2, j)
                out[0] = t if (e == j and t != NO_TIME) else BAD_TIME
            elif key == 115:  # 's'
                out[1] = i + 2
                out[2] = j
        i = j + 1
    return bad


@register_jitable
def _valid_armour(c: int) -> bool:
    return (48 <= c <= 87) or (96 <= c <= 119)


@nb.njit(cache=True, nogil=True)
def frame(
    buf,
    first_line_no: int,
    # per-sentence outputs (capacity: number of '!' in buf)
    s_line, s_lstart, s_lend, s_status, s_count, s_num, s_seq, s_chan,
    s_pstart, s_pend, s_fill, s_time, s_src,
    # per-line outputs for lines without sentences (capacity: number of lines)
    l_line, l_lstart, l_lend, l_kind,
    counters,
    carry,
    trust_bad_tags,
):
    """Scan ``buf`` (whole lines) and fill the sentence and line arrays.

    Returns (number of sentences, number of sentence-less lines, number of lines).
    ``counters``: [0] tag blocks with a bad checksum, [1] sentences whose time came from
    a tag block, [2] from a line prefix, [3] from trailing fields, [4] from $PGHP, [5] tag
    blocks with a bad checksum whose time was not used.
    ``carry`` is state kept from one chunk to the next: [0] the time of a ``$PGHP`` line
    not yet used by a sentence (NO_TIME if none), so a ``$PGHP`` line that ends a chunk
    still stamps the sentence that starts the next one.
    A tag block whose own checksum is wrong is not used (its time and station may be the
    corrupt part) unless ``trust_bad_tags`` is true.
    """
    n = buf.shape[0]
    ns = 0
    nl = 0
    line_no = first_line_no
    pos = 0
    pghp = carry[0]
    tb = np.empty(3, np.int64)
    fstart = np.empty(8, np.int64)
    fend = np.empty(8, np.int64)
    while pos < n:
        end = pos
        while end < n and buf[end] != 10:
            end += 1
        a = pos
        b = end
        pos = end + 1
        # trim whitespace, CR and NUL at both ends
        while a < b and (buf[a] <= 32):
            a += 1
        while b > a and (buf[b - 1] <= 32):
            b -= 1
        this_line = line_no
        line_no += 1
        if a == b:
            l_line[nl] = this_line
            l_lstart[nl] = a
            l_lend[nl] = b
            l_kind[nl] = LINE_BLANK
            nl += 1
            continue
        if b - a > MAX_LINE:
            l_line[nl] = this_line
            l_lstart[nl] = a
            l_lend[nl] = b
            l_kind[nl] = LINE_TOO_LONG
            nl += 1
            continue
        if buf[a] == 35:  # '#'
            l_line[nl] = this_line
            l_lstart[nl] = a
            l_lend[nl] = b
            l_kind[nl] = LINE_COMMENT
            nl += 1
            continue
        # sentences in this line
        found = 0
        region = a  # where text not yet claimed by a sentence starts
        line_time = NO_TIME
        line_time_done = False
        p = a
        while p + 6 < b:
            if not (
                buf[p] == 33
                and (_is_upper(buf[p + 1]) or _is_digit(buf[p + 1]))
                and (_is_upper(buf[p + 2]) or _is_digit(buf[p + 2]))
                and buf[p + 3] == 86  # V
                and buf[p + 4] == 68  # D
                and (buf[p + 5] == 77 or buf[p + 5] == 79)  # M / O
                and buf[p + 6] == 44
            ):
                # a Gatehouse line?
                if p == a and b - a > 6 and buf[a] == 36 and buf[a + 1] == 80 \
                        and buf[a + 2] == 71 and buf[a + 3] == 72 and buf[a + 4] == 80:
                    break
                p += 1
                continue
            # tag block right before the sentence?
            t_time = NO_TIME
            src = np.int64(0)
            tag_start = p
            if p - 1 >= region and buf[p - 1] == 92:  # '\'
                q = p - 2
                while q >= region and buf[q] != 92:
                    q -= 1
                if q >= region:
                    tag_start = q
                    tb[0] = NO_TIME
                    tb[1] = -1
                    tb[2] = -1
                    if _parse_tag_block(buf, q + 1, p - 1, tb) != 0:
                        counters[0] += 1
                        if not trust_bad_tags:
                            if tb[0] != NO_TIME:
                                counters[5] += 1
                            tb[0] = NO_TIME
                            tb[1] = -1
                    t_time = tb[0]
                    if tb[1] >= 0 and tb[2] > tb[1]:
                        src = fnv_hash(buf, tb[1], tb[2])
            if not line_time_done:
                line_time_done = True
                if tag_start > region:
                    line_time = _prefix_time(buf, region, tag_start)
            # the sentence body: fields up to '*'
            q = p + 7
            fstart[0] = p + 7
            nf = 1
            star = -1
            while q < b:
                c = buf[q]
                if c == 42:
                    star = q
                    break
                if c == 44:
                    if nf < 8:
                        fend[nf - 1] = q
                        fstart[nf] = q + 1
                    nf += 1
                elif c == 33 or c == 92:  # next sentence or tag block starts: no checksum
                    break
                q += 1
            sentence_end = q
            status = OK
            if star < 0 or star + 1 >= b or _hexval(buf[star + 1]) < 0:
                status = Reason.MALFORMED
            else:
                sentence_end = star + 2
                if sentence_end < b and _hexval(buf[sentence_end]) >= 0:
                    sentence_end += 1
                if not _checksum_ok(buf, p + 1, star, b):
                    status = Reason.BAD_CHECKSUM
            if nf <= 8:
                fend[nf - 1] = star if star >= 0 else q
            count = 0
            num = 0
            seq = -1
            chan = 0
            fill = 0
            pstart = 0
            pend = 0
            if status == OK and nf != 6:
                status = Reason.MALFORMED
            if status == OK:
                # fields: 0 count, 1 num, 2 seq, 3 channel, 4 payload, 5 fill
                if fend[0] - fstart[0] == 1 and _is_digit(buf[fstart[0]]):
                    count = buf[fstart[0]] - 48
                if fend[1] - fstart[1] == 1 and _is_digit(buf[fstart[1]]):
                    num = buf[fstart[1]] - 48
                if count < 1 or num < 1 or num > count:
                    status = Reason.MALFORMED
                w = fend[2] - fstart[2]
                if w == 1 and _is_digit(buf[fstart[2]]):
                    seq = buf[fstart[2]] - 48
                elif w != 0:
                    status = Reason.MALFORMED
                w = fend[3] - fstart[3]
                if w == 1:
                    ch = buf[fstart[3]]
                    if ch == 65:
                        chan = 1
                    elif ch == 66:
                        chan = 2
                    elif ch == 49:
                        chan = 3
                    elif ch == 50:
                        chan = 4
                    else:
                        chan = 5
                elif w != 0:
                    chan = 5
                pstart = fstart[4]
                pend = fend[4]
                if status == OK:
                    w = fend[5] - fstart[5]
                    if w == 1 and _is_digit(buf[fstart[5]]):
                        fill = buf[fstart[5]] - 48
                        if fill > 5:
                            status = Reason.BAD_FILL_BITS
                    else:
                        status = Reason.BAD_FILL_BITS
                if status == OK:
                    if pend == pstart:
                        status = Reason.EMPTY_PAYLOAD
                    else:
                        for k in range(pstart, pend):
                            if not _valid_armour(buf[k]):
                                status = Reason.BAD_PAYLOAD_CHAR
                                break
            # time of the sentence
            t = NO_TIME
            if t_time != NO_TIME:
                if t_time == BAD_TIME:
                    status = Reason.IMPOSSIBLE_VALUE if status == OK else status
                else:
                    t = t_time
                    counters[1] += 1
            if t == NO_TIME and line_time != NO_TIME:
                t = line_time
                counters[2] += 1
            # trailing receiver fields up to the next sentence on the line
            nxt = sentence_end
            while nxt < b and not (buf[nxt] == 33 or buf[nxt] == 92):
                nxt += 1
            if t == NO_TIME and nxt > sentence_end:
                tt = _trailing_time(buf, sentence_end, nxt)
                if tt != NO_TIME:
                    t = tt
                    counters[3] += 1
            if t == NO_TIME and pghp != NO_TIME:
                t = pghp
                counters[4] += 1
            pghp = NO_TIME
            s_line[ns] = this_line
            s_lstart[ns] = a
            s_lend[ns] = b
            s_status[ns] = status
            s_count[ns] = count
            s_num[ns] = num
            s_seq[ns] = seq
            s_chan[ns] = chan
            s_pstart[ns] = pstart
            s_pend[ns] = pend
            s_fill[ns] = fill
            s_time[ns] = t
            s_src[ns] = src
            ns += 1
            found += 1
            region = nxt
            p = max(sentence_end, p + 1)
        if found == 0:
            kind = LINE_NOT_AIS
            if b - a > 6 and buf[a] == 36 and buf[a + 1] == 80 and buf[a + 2] == 71 \
                    and buf[a + 3] == 72 and buf[a + 4] == 80 and buf[a + 5] == 44:
                tp = _pghp_time(buf, a, b)
                if tp != NO_TIME:
                    pghp = tp
                    kind = LINE_PGHP
            l_line[nl] = this_line
            l_lstart[nl] = a
            l_lend[nl] = b
            l_kind[nl] = kind
            nl += 1
    carry[0] = pghp
    return ns, nl, line_no - first_line_no
