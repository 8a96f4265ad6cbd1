#!/usr/bin/env bash
# Refresh the vendored MapLibre GL JS in seawatch/web/static/vendor from the npm registry.
#
#   seawatch/web/vendor.sh [VERSION]      (default: the version in vendor/README.md)
#
# Needs npm (only to download the package tarball; nothing is built). Copies the UMD bundle,
# its stylesheet and its licence, strips the sourceMappingURL comment (the .map files are not
# shipped, and a browser with developer tools open would otherwise ask the server for them),
# and prints the SHA-256 of what it wrote for vendor/README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/static/vendor"
version="${1:-$(sed -n 's/^- version: \([0-9][0-9.]*\).*/\1/p' "$dest/README.md")}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "maplibre-gl@$version" >/dev/null)
tar -xzf "$tmp"/maplibre-gl-*.tgz -C "$tmp"
dist="$tmp/package/dist"
sed '/^\/\/# sourceMappingURL=/d' "$dist/maplibre-gl.js" >"$dest/maplibre-gl.js"
sed '/sourceMappingURL=/d' "$dist/maplibre-gl.css" >"$dest/maplibre-gl.css"
cp "$dist/LICENSE.txt" "$dest/LICENSE.txt"
echo "maplibre-gl $(node -p "require('$tmp/package/package.json').version" 2>/dev/null || echo "$version")"
(cd "$dest" && sha256sum maplibre-gl.js maplibre-gl.css LICENSE.txt)
