"""The web map's files: present, offline (no remote reference), vendored MapLibre intact.

These run without a browser, so CI without Chromium still checks the offline guarantee of
the files themselves; ``test_map.py`` checks it on the running page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "seawatch" / "web" / "static"
VENDOR = STATIC / "vendor"
OWN = [
    "index.html",
    "app.js",
    "auth.js",
    "mapstyle.js",
    "format.js",
    "evidence.js",
    "player.js",
    "timeline.js",
    "style.css",
]
MODULES = [name for name in OWN if name.endswith(".js")]
SVG_NS = "http://www.w3.org/2000/svg"


def test_the_app_files_are_there() -> None:
    for name in [
        *OWN,
        "vendor/maplibre-gl.js",
        "vendor/maplibre-gl.css",
        "vendor/LICENSE.txt",
        "vendor/README.md",
    ]:
        assert (STATIC / name).is_file(), name


@pytest.mark.parametrize("name", OWN)
def test_own_files_reference_no_other_host(name: str) -> None:
    text = (STATIC / name).read_text(encoding="utf-8").replace(SVG_NS, "")
    assert re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}", text) == []
    assert "@import" not in text and "fonts.googleapis" not in text


def test_index_loads_only_relative_assets() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert refs, "index.html references no assets"
    for ref in refs:
        assert ref.startswith(("static/", "#", "data:")), ref


def test_api_calls_are_relative() -> None:
    app = (STATIC / "app.js").read_text(encoding="utf-8")
    assert 'const API = "api/v1";' in app
    # every fetch goes through getJSON(path) with a path built on API
    assert app.count("fetch(") == 1
    assert re.findall(r"getJSON\(`(?!\$\{API\})", app) == []


def test_vendored_maplibre_matches_its_readme() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    version = re.search(r"^- version: (\d+\.\d+\.\d+)", readme, re.M)
    assert version, "vendor/README.md must state '- version: X.Y.Z'"
    bundle = (VENDOR / "maplibre-gl.js").read_text(encoding="utf-8")
    assert f'"{version.group(1)}"' in bundle
    licence = (VENDOR / "LICENSE.txt").read_text(encoding="utf-8")
    assert "MapLibre" in licence and "Redistribution and use" in licence
    for name in ("maplibre-gl.js", "maplibre-gl.css"):
        assert "sourceMappingURL" not in (VENDOR / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("name", MODULES)
def test_modules_parse(name: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed (the browser tests load the modules too)")
    result = subprocess.run(
        [node, "--input-type=module", "--check"],
        input=(STATIC / name).read_bytes(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
