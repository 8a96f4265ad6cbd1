"""MarineCadastre.gov AIS exports (US NOAA / BOEM / USCG), the daily ``AIS_YYYY_MM_DD.csv``.

Columns: ``MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,
Status,Length,Width,Draft,Cargo,TransceiverClass``. Times are ISO 8601 UTC
(``2023-01-11T00:00:00``); ``IMO`` is written ``IMO9307839``; ``VesselType`` and ``Status``
are ITU codes; sizes are metres. AIS 'not available' values (heading 511, course 360, speed
102.3) become null, and so do zero sizes, ship type 0 and IMO 0. ``TransceiverClass`` B
rows get no navigational status (class B reports carry none); ``Cargo`` is not read (no
canonical column holds it).

The data is US-government public domain; see https://marinecadastre.gov/ais/.

Examples
--------
>>> MARINECADASTRE.columns["ts"]
'BaseDateTime'
"""

from __future__ import annotations

from seawatch.io.csv.generic import CsvFormat

MARINECADASTRE = CsvFormat(
    name="marinecadastre",
    columns={
        "mmsi": "MMSI",
        "ts": "BaseDateTime",
        "lat": "LAT",
        "lon": "LON",
        "sog": "SOG",
        "cog": "COG",
        "heading": "Heading",
        "nav_status": "Status",
        "imo": "IMO",
        "callsign": "CallSign",
        "name": "VesselName",
        "ship_type": "VesselType",
        "length": "Length",
        "width": "Width",
        "draught": "Draft",
        "mobile_type": "TransceiverClass",
    },
    signature=("basedatetime",),
    no_nav_status_types=("b",),
)
"""The MarineCadastre layout."""
