"""Opening a store directory: create it or check its format, finish what a killed writer left,
and read the snapshot ``CURRENT`` names.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> root = Path(tempfile.mkdtemp()) / "new.store"
>>> current = CurrentSnapshot(root)
>>> open_store(root, create=True, current=current)  # nothing was left over
[]
>>> current.get().id, (root / layout.CURRENT).read_text()
(0, '00000000.json\\n')
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

from seawatch.store import layout
from seawatch.store.layout import FILE_TABLES, Snapshot, StoreError


class CurrentSnapshot:
    """The snapshot ``CURRENT`` names, read again only when ``CURRENT`` has moved on.

    Parameters
    ----------
    root
        The store's directory.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: tuple[str, Snapshot] | None = None

    def get(self) -> Snapshot:
        """The current snapshot.

        Raises
        ------
        StoreError
            ``CURRENT`` is missing, names no snapshot, or the snapshot is not valid JSON.
        """
        root = self.root
        for attempt in range(5):
            try:
                name = (root / layout.CURRENT).read_text(encoding="utf-8").strip()
            except FileNotFoundError as exc:
                raise StoreError(f"{root} is damaged: {layout.CURRENT} is missing") from exc
            if self._cache is not None and self._cache[0] == name:
                return self._cache[1]
            try:
                obj = layout.read_json(root / layout.SNAPSHOTS / name)
            except FileNotFoundError:
                if attempt < 4:  # a writer replaced it between our two reads
                    time.sleep(0.01)
                    continue
                raise StoreError(
                    f"{root} is damaged: {layout.CURRENT} names {name}, which does not exist"
                ) from None
            except ValueError as exc:
                raise StoreError(f"{root}: snapshot {name} is not valid JSON: {exc}") from exc
            snapshot = Snapshot.from_json(obj)
            self._cache = (name, snapshot)
            return snapshot
        raise AssertionError("unreachable")  # pragma: no cover

    def set(self, snapshot: Snapshot) -> None:
        """Remember ``snapshot``, which this process has just made current."""
        self._cache = (layout.snapshot_name(snapshot.id), snapshot)

    def forget(self) -> None:
        """Read ``CURRENT`` and the snapshot again on the next :meth:`get`."""
        self._cache = None


def open_store(root: Path, create: bool, current: CurrentSnapshot) -> list[str]:
    """Open the store at ``root`` (creating it when allowed) and recover it; return the
    paths (relative, sorted) that recovery deleted as leftovers of an interrupted writer.

    Raises
    ------
    StoreError
        ``root`` is a file; holds no store and ``create`` is False; is a non-empty directory
        that is not a store; has a damaged or newer-format marker; or is damaged.
    """
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root} is a file, not a seawatch store directory")
    marker = root / layout.MARKER
    if marker.is_file():
        check_marker(root)
    elif not create:
        raise StoreError(
            f"no seawatch store at {root} ({layout.MARKER} missing); "
            "open it with create=True to make one"
        )
    elif root.exists() and not _is_blank(root):
        raise StoreError(
            f"{root} is not a seawatch store ({layout.MARKER} missing) and is not empty; "
            "give a new or empty directory"
        )
    else:
        root.mkdir(parents=True, exist_ok=True)
        marker_obj = {"format": layout.FORMAT_NAME, "version": layout.FORMAT_VERSION}
        layout.write_json(marker, marker_obj, root)
    return recover(root, current)


def check_marker(root: Path) -> None:
    """Refuse a store whose marker file is damaged, of another format, or of a newer version.

    Raises
    ------
    StoreError
        With what is wrong (and, for a newer version, that seawatch needs an upgrade).
    """
    marker = root / layout.MARKER
    try:
        obj = layout.read_json(marker)
        fmt, version = obj["format"], int(obj["version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{marker} is not a valid seawatch store marker: {exc}") from exc
    if fmt != layout.FORMAT_NAME:
        raise StoreError(f"{marker}: format {fmt!r}, expected {layout.FORMAT_NAME!r}")
    if version > layout.FORMAT_VERSION:
        raise StoreError(
            f"{root} has store format version {version}; this seawatch reads "
            f"versions up to {layout.FORMAT_VERSION}: upgrade seawatch"
        )


def recover(root: Path, current: CurrentSnapshot) -> list[str]:
    """Finish creation, and delete the leftovers of an interrupted writer; return them.

    Skipped (nothing deleted) on a read-only directory and while another process holds the
    write lock (its files are not leftovers). Deletes everything in ``staging/``, every file
    under the table folders the current snapshot does not list (and folders left empty),
    temporary marker files, and snapshots other than the current one.
    """
    if not os.access(root, os.W_OK):  # a read-only copy: read it as it is
        return []
    with layout.write_lock(root) as held:
        if not held:  # another process is writing: its files are not leftovers
            return []
        for sub in (layout.SNAPSHOTS, layout.STAGING):
            (root / sub).mkdir(exist_ok=True)
        if not (root / layout.CURRENT).exists():
            initialise(root)
        snapshot = current.get()
        live = snapshot.live_paths()
        removed: list[str] = []
        for child in (root / layout.STAGING).iterdir():
            removed.append(child.relative_to(root).as_posix())
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        for table in FILE_TABLES:
            folder = root / table
            if not folder.is_dir():
                continue
            for dirpath, _dirnames, filenames in os.walk(folder, topdown=False):
                for filename in filenames:
                    rel = (Path(dirpath) / filename).relative_to(root).as_posix()
                    if rel not in live:
                        (root / rel).unlink()
                        removed.append(rel)
                if Path(dirpath) != folder:
                    with contextlib.suppress(OSError):
                        os.rmdir(dirpath)  # only succeeds when empty
        for path in root.glob(f".{layout.MARKER}.*.tmp"):
            path.unlink()
            removed.append(path.name)
        current_name = layout.snapshot_name(snapshot.id)
        for path in (root / layout.SNAPSHOTS).iterdir():
            if path.name != current_name and (
                layout.snapshot_id_of(path.name) is not None or path.name.endswith(".tmp")
            ):
                path.unlink()
                removed.append(path.relative_to(root).as_posix())
        return sorted(removed)


def initialise(root: Path) -> None:
    """Write the empty snapshot 0 and point CURRENT at it (creation, or its resumption).

    Raises
    ------
    StoreError
        ``CURRENT`` is missing although later snapshots exist (the store is damaged).
    """
    later = [
        p.name
        for p in (root / layout.SNAPSHOTS).iterdir()
        if (layout.snapshot_id_of(p.name) or 0) > 0
    ]
    if later:
        raise StoreError(
            f"{root} is damaged: {layout.CURRENT} is missing but snapshots {sorted(later)} "
            f"exist; restore {layout.CURRENT} (it holds the name of the newest snapshot)"
        )
    empty = Snapshot.empty()
    empty.created_at = layout.utc_now_iso()
    staging = root / layout.STAGING
    name = layout.snapshot_name(0)
    layout.write_json(root / layout.SNAPSHOTS / name, empty.to_json(), staging)
    layout.atomic_write(root / layout.CURRENT, name.encode() + b"\n", staging)


def _is_blank(root: Path) -> bool:
    """True for an empty directory, or one holding only what an interrupted creation left."""
    for child in root.iterdir():
        leftover_temp = child.name.startswith(f".{layout.MARKER}.") and child.name.endswith(".tmp")
        empty_staging = child.name == layout.STAGING and child.is_dir() and not any(child.iterdir())
        if not (leftover_temp or empty_staging):
            return False
    return True
