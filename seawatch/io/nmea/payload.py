"""Payload decoding: read the fields of assembled AIS messages, bit by bit, per table.

Field positions follow ITU-R M.1371-5 (as tabulated in gpsd's AIVDM document). Each kernel
takes the 6-bit payload buffer built by :mod:`assembly`, the messages' offsets and an index
array of the messages it decodes, and fills one row per message. "Not available" codes become
NaN / -1 here and nulls in the tables; a message too short for its type is ``wrong_length``
and one with a latitude or longitude no report can carry is ``impossible_value``.
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

# A message is decoded when every field seawatch reads from it is complete (ITU-R M.1371-5
# bit positions): a position report cut short in its radio-status bits, which real
# transceivers and receivers produce, still carries a whole position. Shorter ones are
# ``wrong_length``. Type 5 is the exception: 420 bits (4 short of the standard, as libais
# accepts) leaves the last destination character's low bits to read as 0.
MIN_BITS_POSITION_A = 143  # types 1-3: through the UTC second (bits 137-142)
MIN_BITS_18 = 139  # class B position: through the UTC second (bits 133-138)
MIN_BITS_19 = 301  # extended class B: through the dimensions (bits 295-300)
MIN_BITS_27 = 94  # long range: through the course (bits 85-93)
MIN_BITS_4 = 134  # base station: through the latitude (bits 107-133)
MIN_BITS_5 = 420
MIN_BITS_21 = 219  # aid to navigation: through the latitude (bits 192-218)
MIN_BITS_24A = 160  # through the name (bits 40-159)
MIN_BITS_24B = 162  # through the dimensions (bits 132-161)

POSITION_TYPES = (1, 2, 3, 18, 19, 27)
STATIC_TYPES = (5, 19, 24)
STATION_TYPES = (4, 21)
DECODED_TYPES = frozenset(POSITION_TYPES + STATIC_TYPES + STATION_TYPES)

LAT_NA = 91 * 600_000
LON_NA = 181 * 600_000

ODD_COG = 1
"""Flag of :func:`decode_positions`: a course in the range ITU-R M.1371 leaves unused (3601-4095
tenths, 361-511 in message 27), nulled (see :mod:`seawatch.io.plausible`)."""
ODD_HEADING = 2
"""Flag of :func:`decode_positions`: a heading of 360-510 (unused), nulled."""

# The field readers below are ``register_jitable``: the kernels call them with constant bit
# positions, and a plain jitted function compiles one version per distinct constant (52 of
# ``bits``), which made the first run minutes long; numba types an overload's arguments
# without their literal values first, so each compiles once. They are compiled into their
# callers, whose cached machine code holds them: nothing is loaded for them at import (with
# explicit signatures, as before, numba loaded each one's cache entry when this module was
# imported). LLVM still inlines them and folds the constants.


@register_jitable
def bits(p6, off, nchar, start, width):
    """Unsigned value of ``width`` bits from bit ``start`` of a message; missing bits read 0."""
    v = 0
    pos = start
    end = start + width
    while pos < end:
        ci = pos // 6
        bit_in = pos - ci * 6
        take = 6 - bit_in
        if take > end - pos:
            take = end - pos
        c = np.int64(p6[off + ci]) if ci < nchar else np.int64(0)
        v = (v << take) | ((c >> (6 - bit_in - take)) & ((1 << take) - 1))
        pos += take
    return v


@register_jitable
def sbits(p6, off, nchar, start, width):
    """Signed (two's complement) value of ``width`` bits."""
    v = bits(p6, off, nchar, start, width)
    if v & (1 << (width - 1)):
        v -= 1 << width
    return v


@register_jitable
def text(p6, off, nchar, start, nchars, out, row, col0):
    """ITU 6-bit text of ``nchars`` characters into ``out[row, col0:]`` as ASCII bytes."""
    for c in range(nchars):
        v = bits(p6, off, nchar, start + 6 * c, 6)
        out[row, col0 + c] = v + 64 if v < 32 else v


@nb.njit(cache=True, nogil=True)
def message_types(p6, m_off, m_nchar, n):
    out = np.zeros(n, np.int8)
    for i in range(n):
        out[i] = p6[m_off[i]] if m_nchar[i] > 0 else 0
    return out


@nb.njit(cache=True, nogil=True)
def decode_positions(p6, m_off, m_nchar, m_fill, idx, mmsi, lat, lon, sog, cog, heading,
                     nav_status, accuracy, second, odd, status):
    """Messages 1, 2, 3 (class A), 18, 19 (class B) and 27 (long range) -> position rows.

    ``odd`` gets :data:`ODD_COG` and :data:`ODD_HEADING` for values in a field's unused range.
    """
    nan = np.nan
    for r in range(idx.shape[0]):
        m = idx[r]
        off = m_off[m]
        n = m_nchar[m]
        nbits = n * 6 - m_fill[m]
        t = p6[off]
        status[r] = OK
        odd[r] = 0
        mmsi[r] = bits(p6, off, n, 8, 30)
        if t == 27:
            if nbits < MIN_BITS_27:
                status[r] = Reason.WRONG_LENGTH
                continue
            accuracy[r] = bits(p6, off, n, 38, 1)
            nav_status[r] = bits(p6, off, n, 40, 4)
            x = sbits(p6, off, n, 44, 18)
            y = sbits(p6, off, n, 62, 17)
            s = bits(p6, off, n, 79, 6)
            c = bits(p6, off, n, 85, 9)
            second[r] = -1
            heading[r] = -1
            if (abs(y) > 90 * 600 and y != 91 * 600) or (abs(x) > 180 * 600 and x != 181 * 600):
                status[r] = Reason.IMPOSSIBLE_VALUE
                continue
            lat[r] = nan if y == 91 * 600 else y / 600.0
            lon[r] = nan if x == 181 * 600 else x / 600.0
            sog[r] = nan if s == 63 else s
            cog[r] = nan if c >= 360 else c
            if c > 360:
                odd[r] = ODD_COG
            continue
        if t == 19:
            if nbits < MIN_BITS_19:
                status[r] = Reason.WRONG_LENGTH
                continue
        elif nbits < (MIN_BITS_18 if t == 18 else MIN_BITS_POSITION_A):
            status[r] = Reason.WRONG_LENGTH
            continue
        if t == 18 or t == 19:
            nav_status[r] = -1
            s = bits(p6, off, n, 46, 10)
            accuracy[r] = bits(p6, off, n, 56, 1)
            x = sbits(p6, off, n, 57, 28)
            y = sbits(p6, off, n, 85, 27)
            c = bits(p6, off, n, 112, 12)
            h = bits(p6, off, n, 124, 9)
            second[r] = bits(p6, off, n, 133, 6)
        else:
            nav_status[r] = bits(p6, off, n, 38, 4)
            s = bits(p6, off, n, 50, 10)
            accuracy[r] = bits(p6, off, n, 60, 1)
            x = sbits(p6, off, n, 61, 28)
            y = sbits(p6, off, n, 89, 27)
            c = bits(p6, off, n, 116, 12)
            h = bits(p6, off, n, 128, 9)
            second[r] = bits(p6, off, n, 137, 6)
        if (abs(y) > 90 * 600_000 and y != LAT_NA) or (abs(x) > 180 * 600_000 and x != LON_NA):
            status[r] = Reason.IMPOSSIBLE_VALUE
            continue
        lat[r] = nan if y == LAT_NA else y / 600_000.0
        lon[r] = nan if x == LON_NA else x / 600_000.0
        sog[r] = nan if s == 1023 else s / 10.0
        cog[r] = nan if c >= 3600 else c / 10.0
        heading[r] = -1 if h >= 360 else h
        odd[r] = (ODD_COG if c > 3600 else 0) | (ODD_HEADING if 360 <= h < 511 else 0)


@nb.njit(cache=True, nogil=True)
def decode_static(p6, m_off, m_nchar, m_fill, idx,
                  mmsi, imo, callsign, name, ship_type, dims, draught, destination, status):
    """Messages 5, 19 and 24 A/B -> identity rows.

    ``callsign`` (n x 7), ``name`` (n x 20) and ``destination`` (n x 20) receive raw ASCII;
    a row whose message lacks a field leaves it as zeros (null). ``dims`` (n x 4) holds
    bow, stern, port, starboard or -1.
    """
    for r in range(idx.shape[0]):
        m = idx[r]
        off = m_off[m]
        n = m_nchar[m]
        nbits = n * 6 - m_fill[m]
        t = p6[off]
        status[r] = OK
        mmsi[r] = bits(p6, off, n, 8, 30)
        imo[r] = -1
        ship_type[r] = -1
        draught[r] = np.nan
        for j in range(4):
            dims[r, j] = -1
        if t == 5:
            if nbits < MIN_BITS_5:
                status[r] = Reason.WRONG_LENGTH
                continue
            v = bits(p6, off, n, 40, 30)
            imo[r] = v if v > 0 else -1
            text(p6, off, n, 70, 7, callsign, r, 0)
            text(p6, off, n, 112, 20, name, r, 0)
            ship_type[r] = bits(p6, off, n, 232, 8)
            dims[r, 0] = bits(p6, off, n, 240, 9)
            dims[r, 1] = bits(p6, off, n, 249, 9)
            dims[r, 2] = bits(p6, off, n, 258, 6)
            dims[r, 3] = bits(p6, off, n, 264, 6)
            d = bits(p6, off, n, 294, 8)
            draught[r] = d / 10.0 if d > 0 else np.nan
            text(p6, off, n, 302, 20, destination, r, 0)
        elif t == 19:
            if nbits < MIN_BITS_19:
                status[r] = Reason.WRONG_LENGTH
                continue
            text(p6, off, n, 143, 20, name, r, 0)
            ship_type[r] = bits(p6, off, n, 263, 8)
            dims[r, 0] = bits(p6, off, n, 271, 9)
            dims[r, 1] = bits(p6, off, n, 280, 9)
            dims[r, 2] = bits(p6, off, n, 289, 6)
            dims[r, 3] = bits(p6, off, n, 295, 6)
        else:  # 24
            if nbits < 40:
                status[r] = Reason.WRONG_LENGTH
                continue
            part = bits(p6, off, n, 38, 2)
            if part == 0:
                if nbits < MIN_BITS_24A:
                    status[r] = Reason.WRONG_LENGTH
                    continue
                text(p6, off, n, 40, 20, name, r, 0)
            elif part == 1:
                if nbits < MIN_BITS_24B:
                    status[r] = Reason.WRONG_LENGTH
                    continue
                ship_type[r] = bits(p6, off, n, 40, 8)
                text(p6, off, n, 90, 7, callsign, r, 0)
                mm = mmsi[r]
                if not (980_000_000 <= mm < 990_000_000):  # auxiliary craft: mothership id
                    dims[r, 0] = bits(p6, off, n, 132, 9)
                    dims[r, 1] = bits(p6, off, n, 141, 9)
                    dims[r, 2] = bits(p6, off, n, 150, 6)
                    dims[r, 3] = bits(p6, off, n, 156, 6)
            else:
                status[r] = Reason.IMPOSSIBLE_VALUE


@nb.njit(cache=True, nogil=True)
def decode_stations(p6, m_off, m_nchar, m_fill, idx,
                    mmsi, lat, lon, name, aid_type, ymdhms, status):
    """Messages 4 (base station) and 21 (aid to navigation) -> station rows.

    ``name`` is n x 34 (20 characters plus the 14 of the name extension); ``ymdhms`` n x 6.
    """
    nan = np.nan
    for r in range(idx.shape[0]):
        m = idx[r]
        off = m_off[m]
        n = m_nchar[m]
        nbits = n * 6 - m_fill[m]
        t = p6[off]
        status[r] = OK
        mmsi[r] = bits(p6, off, n, 8, 30)
        aid_type[r] = -1
        for j in range(6):
            ymdhms[r, j] = -1
        if t == 4:
            if nbits < MIN_BITS_4:
                status[r] = Reason.WRONG_LENGTH
                continue
            ymdhms[r, 0] = bits(p6, off, n, 38, 14)
            ymdhms[r, 1] = bits(p6, off, n, 52, 4)
            ymdhms[r, 2] = bits(p6, off, n, 56, 5)
            ymdhms[r, 3] = bits(p6, off, n, 61, 5)
            ymdhms[r, 4] = bits(p6, off, n, 66, 6)
            ymdhms[r, 5] = bits(p6, off, n, 72, 6)
            x = sbits(p6, off, n, 79, 28)
            y = sbits(p6, off, n, 107, 27)
        else:
            if nbits < MIN_BITS_21:
                status[r] = Reason.WRONG_LENGTH
                continue
            aid_type[r] = bits(p6, off, n, 38, 5)
            text(p6, off, n, 43, 20, name, r, 0)
            x = sbits(p6, off, n, 164, 28)
            y = sbits(p6, off, n, 192, 27)
            # The name extension (bit 272 on, up to 14 characters) continues a name that
            # fills its 20 characters; it has no '@' padding, and spare bits follow it up to
            # a byte boundary (ITU-R M.1371-5, table 74). So it is read only after a full
            # name (no '@' at its end) and only up to its first '@' (as gpsd does).
            ext = (nbits - 272) // 6
            if ext > 14:
                ext = 14
            if ext > 0 and name[r, 19] != 64:
                text(p6, off, n, 272, ext, name, r, 20)
                for c in range(20, 20 + ext):
                    if name[r, c] == 64:
                        for c2 in range(c, 20 + ext):
                            name[r, c2] = 0
                        break
        if (abs(y) > 90 * 600_000 and y != LAT_NA) or (abs(x) > 180 * 600_000 and x != LON_NA):
            status[r] = Reason.IMPOSSIBLE_VALUE
            continue
        lat[r] = nan if y == LAT_NA else y / 600_000.0
        lon[r] = nan if x == LON_NA else x / 600_000.0


@nb.njit(cache=True, nogil=True)
def armour(p6, m_off, m_nchar, idx, mmsi, out):
    """Re-armour the payloads of messages kept undecoded (``other_messages``): row ``r`` of
    ``out`` (zeroed, as wide as the longest) gets message ``idx[r]``."""
    for r in range(idx.shape[0]):
        m = idx[r]
        off = m_off[m]
        n = m_nchar[m]
        mmsi[r] = bits(p6, off, n, 8, 30) if n * 6 >= 38 else -1
        for j in range(n):
            c = p6[off + j] + 48
            if c > 87:
                c += 8
            out[r, j] = c
