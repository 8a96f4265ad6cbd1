"""Build NMEA 0183 AIS text for tests: checksums, sentences, tag blocks, armouring.

Written from NMEA 0183 / IEC 61162-1 (checksum = XOR of the characters between the start
delimiter and ``*``) and ITU-R M.1371 (6-bit armouring), independently of seawatch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise

from pyais.bit_vector import _SIXBIT_CHAR

SIXBIT_ALPHABET = "".join(_SIXBIT_CHAR)
"""The 64 characters of AIS 6-bit text, in code order ('@' is 0)."""


def checksum(body: str) -> str:
    """Two hex digits: XOR of the characters of ``body`` (between ``!``/``\\`` and ``*``)."""
    x = 0
    for c in body.encode("latin-1"):
        x ^= c
    return f"{x:02X}"


def armour_bits(bits: str) -> tuple[str, int]:
    """A string of '0'/'1' -> (6-bit armoured payload, fill bits)."""
    fill = -len(bits) % 6
    bits += "0" * fill
    chars = []
    for i in range(0, len(bits), 6):
        v = int(bits[i : i + 6], 2)
        chars.append(chr(v + 48 if v < 40 else v + 56))
    return "".join(chars), fill


def payload_bits(data: bytes, nbits: int) -> str:
    """The first ``nbits`` bits of ``data`` as a '0'/'1' string."""
    return "".join(f"{b:08b}" for b in data)[:nbits]


def sentence(payload: str, fill: int, *, count: int = 1, num: int = 1, seq: str = "",
             channel: str = "A", talker: str = "AI", kind: str = "VDM") -> str:
    """One ``!xxVDM,count,num,seq,channel,payload,fill*hh`` sentence."""
    body = f"{talker}{kind},{count},{num},{seq},{channel},{payload},{fill}"
    return f"!{body}*{checksum(body)}"


def tag_block(**fields: object) -> str:
    """An NMEA 4.10 tag block ``\\k:v,...*hh\\`` with a correct checksum."""
    body = ",".join(f"{k}:{v}" for k, v in fields.items())
    return f"\\{body}*{checksum(body)}\\"


def split_payload(payload: str, cuts: Sequence[int]) -> list[str]:
    """``payload`` cut at the given (sorted, distinct, inner) positions."""
    edges = [0, *cuts, len(payload)]
    return [payload[a:b] for a, b in pairwise(edges)]


def sentences(payload: str, fill: int, cuts: Sequence[int] = (), *, seq: str = "",
              channel: str = "A", talker: str = "AI", kind: str = "VDM") -> list[str]:
    """The sentences of one message split at ``cuts``; the fill bits go on the last one."""
    parts = split_payload(payload, cuts)
    n = len(parts)
    return [
        sentence(p, fill if i == n else 0, count=n, num=i, seq=seq, channel=channel,
                 talker=talker, kind=kind)
        for i, p in enumerate(parts, 1)
    ]


def pghp(t: datetime) -> str:
    """A Gatehouse ``$PGHP,1,...`` line stamping the sentence that follows it."""
    body = (f"PGHP,1,{t.year},{t.month},{t.day},{t.hour},{t.minute},{t.second},"
            f"{t.microsecond // 1000},219,,2190077,1,00")
    return f"${body}*{checksum(body)}"


def us(t: datetime) -> int:
    """µs since the epoch of an aware datetime."""
    d = t - datetime(1970, 1, 1, tzinfo=UTC)
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds
