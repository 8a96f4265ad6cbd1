"""NMEA 0183 AIS decoding: ``read_nmea`` for files, ``decode_lines`` for text in memory.

See :mod:`seawatch.io.nmea.reader` for how the kernels fit together and ``docs/nmea.md`` for
what is supported. The reader (and with it the decoder's numba kernels) is imported on first
use, so ``seawatch.io.nmea.encode`` alone does not load the decoder.

>>> from seawatch.io.nmea import decode_lines
>>> decode_lines("!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23",
...              default_time="2024-01-01T00:00:00Z").positions.height
1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.io.nmea.reader import (
        NmeaDecoder,
        NoTimeError,
        decode_lines,
        iter_nmea,
        read_nmea,
    )

__all__ = ["NmeaDecoder", "NoTimeError", "decode_lines", "iter_nmea", "read_nmea"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from seawatch.io.nmea import reader

        return getattr(reader, name)
    raise AttributeError(f"module 'seawatch.io.nmea' has no attribute {name!r}")
