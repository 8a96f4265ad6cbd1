"""seawatch: open, offline maritime domain awareness.

Importing ``seawatch`` is cheap: the decoders, numba kernels and the store load on first use.

>>> import seawatch
>>> callable(seawatch.read_nmea)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.io.csv import read_csv
    from seawatch.io.nmea import read_nmea
    from seawatch.io.result import ReadResult
    from seawatch.store import Store

__all__ = ["ReadResult", "Store", "__version__", "read_csv", "read_nmea"]

_LAZY = {
    "read_nmea": ("seawatch.io.nmea", "read_nmea"),
    "read_csv": ("seawatch.io.csv", "read_csv"),
    "ReadResult": ("seawatch.io.result", "ReadResult"),
    "Store": ("seawatch.store", "Store"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'seawatch' has no attribute {name!r}")
