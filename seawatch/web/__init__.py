"""The offline web map: a static single-page app that ``seawatch serve`` shows at ``/``.

Everything it needs is in ``static/``: ``index.html``, plain JavaScript modules (``app.js``
and the modules it imports), ``style.css`` and MapLibre GL JS vendored in ``static/vendor``
(see its README for the version and how to update it). Nothing is built at run time and the
page requests nothing from any host but the server it came from. See ``docs/web.md``.

>>> (STATIC_DIR / "index.html").is_file()
True
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""The folder served at ``/static`` (``index.html`` is served at ``/``)."""

__all__ = ["STATIC_DIR"]
