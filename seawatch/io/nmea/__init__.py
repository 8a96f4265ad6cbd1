"""NMEA 0183 AIS decoding: ``read_nmea`` for files, ``decode_lines`` for text in memory.

See :mod:`seawatch.io.nmea.reader` for how the kernels fit together and ``docs/nmea.md`` for
what is supported.
"""

from seawatch.io.nmea.reader import NmeaDecoder, NoTimeError, decode_lines, iter_nmea, read_nmea

__all__ = ["NmeaDecoder", "NoTimeError", "decode_lines", "iter_nmea", "read_nmea"]
