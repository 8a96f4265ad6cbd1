"""Known places for the geo tests, as (lat, lon) degrees."""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"

MANTA = (-0.95, -80.68)  # city, on land (Eloy Alfaro air base)
OFF_MANTA = (-0.95, -81.17)  # 50 km west of Manta, at sea
SANTA_CRUZ = (-0.62, -90.35)  # interior of Isla Santa Cruz, Galápagos
PUERTO_AYORA = (-0.755, -90.31)  # harbour of Puerto Ayora, Santa Cruz
OPEN_OCEAN = (-5.0, -95.0)
