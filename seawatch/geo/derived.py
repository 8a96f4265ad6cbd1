"""Derived geography kept on disk, so each process does not rebuild it from the shipped data.

Some geography is computed from the shipped land on first use: the distance-to-shore grids
(about 1 s for the coverage box, 2-3 s for the world) and the default zones (about 1 s).
Every ``seawatch detect`` or ``serve`` process used to pay that again. This module keeps the
result as a plain ``.npz`` of NumPy arrays (no pickle) in a cache directory, keyed by a
fingerprint of everything the result depends on: the shipped data files, the source of the
modules that compute it, and their parameters. Change any of them and the key changes, so a
stale entry is never read; it is simply left behind.

Where: ``$SEAWATCH_CACHE_DIR`` if set (``none`` turns the cache off), else
``$XDG_CACHE_HOME/seawatch``, else ``~/.cache/seawatch``. A directory that cannot be
created or written, or an entry that cannot be read (truncated, foreign), only costs the
rebuild: the result is computed in memory and used, and a warning is never raised for it.
Entries are written to a temporary file and renamed into place, so concurrent processes
never read a half-written one.

Examples
--------
>>> import numpy as np
>>> calls = []
>>> def build():
...     calls.append(1)
...     return {"x": np.arange(3)}
>>> key = fingerprint("geo/derived.py", params=("example", 1))
>>> load_or_build("doctest", key, build, directory=None)["x"].tolist()
[0, 1, 2]
>>> len(calls)
1
"""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

import numpy as np

CACHE_ENV = "SEAWATCH_CACHE_DIR"
"""Environment variable naming the cache directory; ``none`` turns the cache off."""
FORMAT = 1
"""Bumped when the layout of an entry changes."""

_PACKAGE = resources.files("seawatch")


def cache_dir() -> Path | None:
    """The cache directory to use, or None when the cache is turned off."""
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "none", "off") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "seawatch"


def fingerprint(*files: str, params: object = ()) -> str:
    """A key for a result computed from package ``files`` (paths relative to the package)
    and ``params`` (anything with a stable ``repr``).

    >>> fingerprint("geo/derived.py") == fingerprint("geo/derived.py")
    True
    >>> fingerprint("geo/derived.py", params=1) == fingerprint("geo/derived.py", params=2)
    False
    """
    h = hashlib.sha256(f"format {FORMAT}\n{params!r}\n".encode())
    for name in files:
        h.update(name.encode() + b"\0")
        h.update((_PACKAGE / name).read_bytes())
    return h.hexdigest()[:32]


def load_or_build(
    name: str,
    key: str,
    build: Callable[[], dict[str, np.ndarray]],
    directory: Path | str | None = "default",
) -> dict[str, np.ndarray]:
    """The arrays stored under ``name`` and ``key``, or ``build()``'s, stored for next time.

    Parameters
    ----------
    name
        What the entry holds (part of the file name, e.g. ``"shore-box"``).
    key
        Its :func:`fingerprint`.
    build
        Computes the arrays when no readable entry exists (a dict of NumPy arrays of plain
        dtypes: no objects).
    directory
        Where entries live; the default is :func:`cache_dir`, None keeps nothing.
    """
    where = cache_dir() if directory == "default" else (Path(directory) if directory else None)
    path = where / f"{name}-{key}.npz" if where is not None else None
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            pass  # unreadable entry: rebuilt and rewritten below
    arrays = build()
    if path is not None:
        _write(path, arrays)
    return arrays


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".npz")
    except OSError:
        return  # no writable cache: the result is still used
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy stubs type **kwds as allow_pickle
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def pack_bytes(items: Iterable[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Byte strings as one uint8 array and int64 offsets (for WKB in an ``.npz``).

    >>> data, offsets = pack_bytes([b"ab", b"", b"c"])
    >>> unpack_bytes(data, offsets)
    [b'ab', b'', b'c']
    """
    items = list(items)
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in items])
    return np.frombuffer(b"".join(items), dtype=np.uint8).copy(), offsets


def unpack_bytes(data: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    """The inverse of :func:`pack_bytes`."""
    raw = data.tobytes()
    return [raw[int(a) : int(b)] for a, b in itertools.pairwise(offsets.tolist())]
