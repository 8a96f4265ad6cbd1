"""Derive the reference data shipped inside the package from ../shared/data.

Run from the repository root: ``python scripts/build_reference_data.py [SHARED_DATA_DIR]``.
The outputs are committed under ``seawatch/data/`` with their licences in
``seawatch/data/LICENSES/``; ``seawatch/data/README.md`` says where each came from.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "seawatch" / "data"


def build_mid(shared: Path) -> None:
    src = shared / "geo" / "mid" / "mid-country.csv"
    rows = list(csv.DictReader(src.open(encoding="utf-8")))
    with (OUT / "mid.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["mid", "iso_a3", "name"])
        for row in sorted(rows, key=lambda r: int(r["mid"])):
            writer.writerow([row["mid"], row["iso_a3"], row["name"]])
    licences = OUT / "LICENSES"
    licences.mkdir(exist_ok=True)
    for name in (
        "LICENSE-mobiml-BSD-3-Clause",
        "LICENSE-libais-Apache-2.0",
        "LICENSE-i18n-iso-countries-MIT",
    ):
        shutil.copyfile(shared / "geo" / "mid" / name, licences / name)


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    if not shared.is_dir():
        sys.exit(f"shared data not found at {shared}; pass its path as the first argument")
    OUT.mkdir(parents=True, exist_ok=True)
    build_mid(shared)
    print(f"wrote reference data to {OUT}")


if __name__ == "__main__":
    main()
