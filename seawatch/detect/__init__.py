"""Detectors: one module per behaviour, each a pure function ``table (+ params) -> events``.

The definitions they implement, with every parameter and its reference, are in
``docs/detectors.md``. ``events.to_events`` gives every detector's output the columns of
``seawatch.schema.EVENTS``.
"""
