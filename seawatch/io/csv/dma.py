"""Danish Maritime Authority ``aisdk`` exports (http://aisdata.ais.dk/), one file per day.

Columns: ``# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,
COG,Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing
device,Draught,Destination,ETA,Data source type`` and, in later years, ``A,B,C,D`` (metres
from the antenna to bow, stern, port and starboard; rows that leave these four out
altogether are read too). Some copies add a leading unnamed index
column; columns are found by name, so it does no harm.

- Times are ``dd/mm/yyyy HH:MM:SS`` UTC.
- Latitude 91 and longitude 181 mean 'not available' and become null.
- 'Unknown', 'Undefined' and 'Unknown value' are placeholders and become null, except that a
  class A navigational status of 'Unknown value' is ITU code 15 ('not defined').
- 'Navigational status' and 'Ship type' are names; they become ITU codes
  (``values.NAV_STATUS_TEXTS``, ``values.DMA_SHIP_TYPE_TEXTS``: Fishing 30, Cargo 70, ...).
- 'Type of mobile': 'Class A' and 'Class B' rows are vessels ('Class B' rows have no
  navigational status); 'Base Station' and 'AtoN' rows go to the stations table as messages
  4 and 21.

DMA's terms ask for the attribution "Contains data from the Danish Maritime Authority that is
used in accordance with the conditions for the use of Danish public data."

Examples
--------
>>> DMA.time_formats
('%d/%m/%Y %H:%M:%S',)
"""

from __future__ import annotations

from seawatch.io.csv.generic import CsvFormat

DMA = CsvFormat(
    name="dma",
    columns={
        "ts": "# Timestamp",
        "mobile_type": "Type of mobile",
        "mmsi": "MMSI",
        "lat": "Latitude",
        "lon": "Longitude",
        "nav_status": "Navigational status",
        "sog": "SOG",
        "cog": "COG",
        "heading": "Heading",
        "imo": "IMO",
        "callsign": "Callsign",
        "name": "Name",
        "ship_type": "Ship type",
        "width": "Width",
        "length": "Length",
        "draught": "Draught",
        "destination": "Destination",
        "to_bow": "A",
        "to_stern": "B",
        "to_port": "C",
        "to_starboard": "D",
    },
    signature=("typeofmobile",),
    time_formats=("%d/%m/%Y %H:%M:%S",),
    station_types={"basestation": 4, "aton": 21},
    no_nav_status_types=("classb",),
    optional_tail=("a", "b", "c", "d"),
)
"""The DMA aisdk layout."""
