"""A user's GeoJSON file as the zone and port readers take it: the document and its features.

Both :func:`seawatch.geo.load_zones` and :func:`seawatch.geo.load_ports` read GeoJSON through
:func:`read_features`, so both refuse a file the same way: one that cannot be read as JSON text
is an :class:`~seawatch.errors.InputError`, JSON that is not a GeoJSON Feature or
FeatureCollection an :class:`~seawatch.errors.InvalidValue`, each naming the file.

Examples
--------
>>> import json, os, tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     path = Path(d, "p.geojson")
...     _ = path.write_text(json.dumps({"type": "Feature", "properties": {"name": "A"},
...                                     "geometry": {"type": "Point", "coordinates": [0, 0]}}))
...     doc, features = read_features(path)
...     _ = path.write_text("[1, 2]")
...     try:
...         read_features(path)
...     except InvalidValue as exc:
...         print(str(exc).replace(d + os.sep, ""))
p.geojson: expected a GeoJSON Feature or FeatureCollection, found a JSON list
>>> [f["properties"]["name"] for f in features]
['A']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seawatch.errors import InputError, InvalidValue

_JSON_KINDS: dict[type, str] = {
    list: "list",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def read_features(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The GeoJSON document in ``path`` and its features (a Feature is its own one).

    Parameters
    ----------
    path
        A GeoJSON file (UTF-8): a FeatureCollection, or a single Feature.

    Returns
    -------
    (document, features)
        The parsed document (for members such as ``crs``) and its features, each a JSON
        object; the readers check their properties and geometries.

    Raises
    ------
    seawatch.errors.InputError
        The file cannot be read, or is not JSON text.
    seawatch.errors.InvalidValue
        The JSON is not a Feature or FeatureCollection, or a feature is not an object.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read as GeoJSON ({exc})") from exc
    if not isinstance(doc, dict):
        found = _JSON_KINDS.get(type(doc), "value")
        raise InvalidValue(
            f"{path}: expected a GeoJSON Feature or FeatureCollection, found a JSON {found}"
        )
    if doc.get("type") == "Feature":
        features: Any = [doc]
    elif doc.get("type") == "FeatureCollection" or "features" in doc:
        features = doc.get("features") or []
    else:
        raise InvalidValue(f"{path}: expected a GeoJSON Feature or FeatureCollection")
    if not isinstance(features, list):
        raise InvalidValue(f"{path}: 'features' must be a list of GeoJSON Features")
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise InvalidValue(f"{path}: feature {i} is not a GeoJSON object")
    return doc, features
