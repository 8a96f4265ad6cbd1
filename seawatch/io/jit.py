"""A notice when seawatch's numba kernels compile, so a first run never sits silent.

numba compiles a kernel the first time it runs and caches the machine code (beside the module,
or in ``NUMBA_CACHE_DIR``); later runs load it in milliseconds. The first run of the decoder
and encoder compiles for several seconds, and the detectors' kernels after them; without a word
a user watches a progress bar that does not move. :func:`announce_compiles` registers a numba
event listener (once per process) that logs, on the ``seawatch.jit`` logger at INFO level, a
line when seawatch's kernels start compiling, and a further line for each kernel that starts
compiling after a quiet spell, or that is still compiling, every :data:`PROGRESS_EVERY_S`
seconds (a daemon thread reports it: numba signals only the start and end of a compile). A
module names its kernels for the message with a ``JIT_LABEL`` global (``"the NMEA decoder"``);
without one the module's name is used. The command line shows these lines on stderr
(:mod:`seawatch.cli.common`); the Python API logs them, which shows nothing unless logging is
configured. A cached load logs nothing: numba emits its compile event only when it really
compiles.

Examples
--------
>>> announce_compiles() is announce_compiles()  # registered once per process
True
>>> notice_text("seawatch.io.nmea.framing", "the NMEA decoder")
'compiling the NMEA decoder: first run only, cached for later runs'
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("seawatch.jit")
"""Where the notices go (INFO)."""

PROGRESS_EVERY_S = 1.5
"""Least time between two notices about the same kernels, and most time without one while a
kernel compiles: a burst of small compiles gives one line, each kernel that starts compiling
after a quiet spell gives another, and a long compile of one kernel is reported again every
this many seconds, so a first run shows progress without flooding the terminal."""


@dataclass
class _Compile:
    """The top-level compile in progress."""

    key: str  # what the notices name: the label, or the module
    label: str | None
    module: str
    function: str
    started: float


_lock = threading.RLock()
_listener: Any = None
_last: dict[str, float] = {}  # what a notice named -> when
_depth = 0  # compiles in progress (numba compiles one at a time, nested for callees)
_current: _Compile | None = None
_compiling = threading.Event()  # set while a seawatch kernel compiles: wakes the heartbeat
_heartbeat: threading.Thread | None = None


def notice_text(module: str, label: str | None, function: str | None = None,
                seconds: float | None = None) -> str:
    """The line logged when kernels of ``module`` (named ``label``) compile: the first one in
    the process, or ``function`` later on (compiling for ``seconds`` so far).

    >>> notice_text("seawatch.io.nmea.payload", "the NMEA decoder", "decode_static")
    'still compiling the NMEA decoder (payload.decode_static)'
    >>> notice_text("seawatch.io.nmea.framing", "the NMEA decoder", "frame", 4.2)
    'still compiling the NMEA decoder (framing.frame, 4 s)'
    """
    if function is not None:
        took = "" if seconds is None or seconds < 1 else f", {seconds:.0f} s"
        return (f"still compiling {label or module} "
                f"({module.rsplit('.', 1)[-1]}.{function}{took})")
    return f"compiling {label or module}: first run only, cached for later runs"


def _now() -> float:
    """The clock of the notices (a seam for tests)."""
    return time.monotonic()


def _on_start(data: dict[str, Any]) -> None:
    global _depth, _current
    with _lock:
        _depth += 1
        if _depth != 1:  # a callee compiled for its caller: the caller was announced
            return
        function = getattr(data.get("dispatcher"), "py_func", None)
        module = getattr(function, "__module__", None) or ""
        if not module.startswith("seawatch."):
            return
        label = getattr(function, "__globals__", {}).get("JIT_LABEL")
        label = label if isinstance(label, str) else None
        key = label or module
        now = _now()
        _current = _Compile(key, label, module, getattr(function, "__name__", "?"), now)
        _start_heartbeat()
        _compiling.set()
        last = _last.get(key)
        if last is not None and now - last < PROGRESS_EVERY_S:
            return
        _last[key] = now
        logger.info(notice_text(module, label, None if last is None else _current.function))


def _on_end() -> None:
    global _depth, _current
    with _lock:
        _depth = max(_depth - 1, 0)
        if _depth == 0:
            _current = None
            _compiling.clear()


def _tick(now: float) -> None:
    """One beat of the heartbeat: a notice if the kernel compiling has gone unmentioned for
    :data:`PROGRESS_EVERY_S`."""
    with _lock:
        current = _current
        if current is None or now - _last.get(current.key, current.started) < PROGRESS_EVERY_S:
            return
        _last[current.key] = now
        logger.info(notice_text(current.module, current.label, current.function,
                                now - current.started))


def _beat() -> None:
    while True:
        _compiling.wait()  # parked, at no cost, while nothing compiles
        time.sleep(PROGRESS_EVERY_S / 3)
        _tick(_now())


def _start_heartbeat() -> None:
    """A daemon thread that reports a long compile of one kernel (numba gives no event
    between its start and its end); it waits on an event while nothing compiles."""
    global _heartbeat
    if _heartbeat is None:
        _heartbeat = threading.Thread(target=_beat, name="seawatch-jit-notice", daemon=True)
        _heartbeat.start()


def announce_compiles() -> Any:
    """Log a notice when seawatch kernels compile (see the module's docstring).

    Call it before defining kernels (the decoder's and encoder's modules do, at import).
    Registering twice does nothing; the listener is returned.
    """
    global _listener
    with _lock:
        if _listener is not None:
            return _listener
        from numba.core import event

        class _Notice(event.Listener):
            def on_start(self, ev: Any) -> None:
                _on_start(ev.data)

            def on_end(self, ev: Any) -> None:
                _on_end()

        _listener = _Notice()
        event.register("numba:compile", _listener)  # type: ignore[no-untyped-call]
        return _listener
